"""No secret leaves op_api (logs, responses); keygen; abandoned idempotent initiations."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from op_api.client import load_private_key
from op_api.client.keys import SigningKey
from op_api.deps import Deps, ServiceError
from op_api.initiation import fingerprint, send_payment
from op_api.sealing import TokenSealer
from op_api.settings import Settings
from op_api.store import PaymentStore, utcnow
from shared.contracts import SendPaymentRequest
from shared.db import create_engine
from tests.op_api.harness import OpApi, Wallet, run_async
from tests.support.processes import console_script

Start = Callable[..., OpApi]

SEALER = TokenSealer.from_secret("tests")


def _tokens(exchanges: list[dict[str, object]]) -> set[str]:
    """Every GNAP token value the wallet handed out."""
    found: set[str] = set()
    for exchange in exchanges:
        body = str(exchange.get("response_body") or "")
        found.update(re.findall(r'"value":"([A-Za-z0-9_\-]{16,})"', body))
    return found


def test_no_token_or_key_in_logs_or_responses(wallet: Wallet, op_api: Start) -> None:
    api = op_api()
    seen = len(wallet.exchanges())
    payment = api.start(wallet.address("alice"), wallet.address("bob"), "1.10")
    wallet.answer(payment["confirmationUrl"])
    final = api.until_final(payment["paymentId"])
    assert final["status"] == "completed"
    tokens = _tokens(wallet.exchanges()[seen:])
    assert len(tokens) >= 3  # incoming-payment, quote, outgoing-payment and continuation tokens
    pem = (wallet.data_dir / "paguito-private-key.pem").read_text()
    secret_lines = [line for line in pem.splitlines() if "-----" not in line]
    logs = api.proc.logs()
    responses = json.dumps([payment, final])
    for secret in [*tokens, *secret_lines]:
        assert secret not in logs
        assert secret not in responses


def test_keygen_prints_a_usable_key_and_jwk() -> None:
    done = subprocess.run(
        [console_script("op-api"), "keygen", "--json", "--key-id", "k-test"],
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    )
    out = json.loads(done.stdout)
    key = SigningKey("k-test", load_private_key(out["privateKeyBase64"]))
    assert key.public_jwk() == out["jwk"]
    assert out["jwk"]["kid"] == "k-test"
    assert out["jwk"]["crv"] == "Ed25519"
    assert load_private_key(out["privateKeyPem"])
    plain = subprocess.run(
        [console_script("op-api"), "keygen"], capture_output=True, check=True, text=True
    ).stdout
    assert "BEGIN PRIVATE KEY" in plain
    assert "KEY_ID=" in plain


def test_an_abandoned_initiation_does_not_block_its_key(tmp_path: Path) -> None:
    run_async(_abandoned(tmp_path))


async def _abandoned(tmp_path: Path) -> None:
    """A placeholder left by a crashed initiator is replaced, not returned."""
    settings = Settings(
        internal_api_token="t" * 20,
        wallet_address_url="https://wallet.test/p",
        allow_insecure_http=False,
        data_dir=tmp_path,
    )
    engine = create_engine(None, tmp_path / "db.sqlite3")
    store = await PaymentStore.open(
        engine.url.render_as_string(hide_password=False), Path("unused"), sealer=SEALER
    )
    await store.create_schema()
    request = SendPaymentRequest.model_validate(
        {
            "senderWalletUrl": "https://wallet.test/a",
            "receiverWalletUrl": "https://wallet.test/b",
            "amount": "1",
            "idempotencyKey": "crashed",
        }
    )
    old = utcnow() - timedelta(minutes=5)
    await store.insert(
        id="ghost",
        idempotency_key="crashed",
        fingerprint=fingerprint(request),
        expires_at=old,
        created_at=old,
        updated_at=old,
    )

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"code": "not_found", "description": "x"}})

    from op_api.client import OpenPaymentsClient

    client = OpenPaymentsClient(
        "https://wallet.test/p",
        SigningKey.generate(),
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
    )
    deps = Deps(settings=settings, client=client, store=store)
    with pytest.raises(ServiceError) as refused:  # the fake wallets do not exist
        await send_payment(deps, request)
    assert refused.value.status_code == 422
    assert await store.get("ghost") is None
    assert await store.get_by_key("crashed") is None  # the failed retry left nothing behind
    await engine.dispose()


def test_missing_key_settings_fail_fast_with_the_variable_name(tmp_path: Path) -> None:
    from tests.support.processes import service_env

    for env, expected in [
        ({}, "WALLET_ADDRESS_URL"),
        ({"WALLET_ADDRESS_URL": "https://w.example/p"}, "KEY_ID"),
        (
            {"WALLET_ADDRESS_URL": "https://w.example/p", "KEY_ID": "k"},
            "PRIVATE_KEY_CONTENT or PRIVATE_KEY_PATH",
        ),
        (
            {
                "WALLET_ADDRESS_URL": "https://w.example/p",
                "KEY_ID": "k",
                "PRIVATE_KEY_CONTENT": "x",
            },
            "neither PEM nor base64",
        ),
        ({"WALLET_ADDRESS_URL": "http://w.example/p", "KEY_ID": "k"}, "ALLOW_INSECURE_HTTP"),
    ]:
        done = subprocess.run(
            [console_script("op-api")],
            env=service_env({**env, "DATA_DIR": str(tmp_path)}),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2, (env, done.stderr)
        assert expected in done.stderr, (env, done.stderr)
