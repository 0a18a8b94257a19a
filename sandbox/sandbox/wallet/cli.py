"""`paguito-sandbox wallet --port P [--host H] [--public-url URL] [--data-dir DIR] [--reset]
[--password NAME=SECRET ...]`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from sandbox.wallet.config import WalletConfig
from sandbox.wallet.passwords import PasswordError, parse_passwords
from shared.logging import configure_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "4000")))
    parser.add_argument(
        "--public-url", default=None, help="base URL clients see (default http://127.0.0.1:PORT)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("DATA_DIR", ".data/wallet")),
        help="SQLite file and the platform key pair (default $DATA_DIR or .data/wallet)",
    )
    parser.add_argument("--reset", action="store_true", help="wipe the database and re-seed")
    parser.add_argument(
        "--wait-seconds", type=int, default=5, help="GNAP continue `wait` (Rafiki: 5)"
    )
    parser.add_argument(
        "--settle-delay", type=float, default=0.5, help="seconds before a payment settles"
    )
    parser.add_argument("--token-ttl", type=int, default=600, help="access token lifetime (s)")
    parser.add_argument("--quote-ttl", type=int, default=300, help="quote lifetime (s)")
    parser.add_argument(
        "--password",
        action="append",
        default=[os.environ["WALLET_PASSWORDS"]] if os.environ.get("WALLET_PASSWORDS") else [],
        metavar="NAME=PASSWORD",
        help="a wallet's consent-page password (repeatable; also $WALLET_PASSWORDS as "
        "comma-separated pairs); other wallets get a random one per run",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))


def run(args: argparse.Namespace) -> None:
    from sandbox.wallet.app import create_app

    try:
        passwords = parse_passwords(args.password)
    except PasswordError as exc:
        raise SystemExit(f"--password: {exc}") from None
    public_url = args.public_url or f"http://127.0.0.1:{args.port}"
    config = WalletConfig(
        public_url=public_url,
        data_dir=args.data_dir,
        wait_seconds=args.wait_seconds,
        settle_delay=args.settle_delay,
        token_ttl_seconds=args.token_ttl,
        quote_ttl_seconds=args.quote_ttl,
        passwords=passwords,
    )
    configure_logging("sandbox-wallet", args.log_level)
    uvicorn.run(
        create_app(config, reset=args.reset),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
    )
