"""`op-api keygen` (or `python -m op_api.keygen`): a new Ed25519 key for the platform.

Prints the private key PEM (for PRIVATE_KEY_PATH / PRIVATE_KEY_CONTENT), the key id (KEY_ID)
and the public JWK to register at the platform's wallet address.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys

from op_api.client.keys import SigningKey


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="op-api keygen", description=__doc__)
    parser.add_argument("--key-id", help="key id to use (default: a random UUID)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    key = SigningKey.generate(args.key_id)
    pem = key.private_pem()
    if args.json:
        out = {
            "keyId": key.key_id,
            "privateKeyPem": pem,
            "privateKeyBase64": base64.b64encode(pem.encode()).decode(),
            "jwk": key.public_jwk(),
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    sys.stdout.write(pem)
    sys.stdout.write(f"\nKEY_ID={key.key_id}\n")
    sys.stdout.write("PRIVATE_KEY_CONTENT (base64 PEM)=")
    sys.stdout.write(base64.b64encode(pem.encode()).decode() + "\n")
    sys.stdout.write("\nPublic JWK to register at the wallet:\n")
    sys.stdout.write(json.dumps(key.public_jwk(), indent=2) + "\n")


if __name__ == "__main__":
    main()
