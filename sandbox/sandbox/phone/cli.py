"""`paguito-sandbox phone --port P --webhook-url URL --app-secret S`: the fake WhatsApp."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

import uvicorn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8090")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("PHONE_WEBHOOK_URL", "http://127.0.0.1:8080/webhook"),
        help="Where ws_bot receives webhooks (its CALLBACK_URL + /webhook).",
    )
    parser.add_argument(
        "--app-secret",
        default=os.environ.get("META_APP_SECRET", ""),
        help="Signs webhooks (X-Hub-Signature-256); must equal ws_bot's META_APP_SECRET.",
    )
    parser.add_argument(
        "--phone-id",
        default=os.environ.get("META_PHONE_ID", "100000000000001"),
        help="The business phone number id; must equal ws_bot's META_PHONE_ID.",
    )
    parser.add_argument("--display-phone", default="15550001234")
    parser.add_argument(
        "--access-token",
        default=os.environ.get("META_ACCESS_TOKEN") or None,
        help="When set, Graph API calls must carry 'Authorization: Bearer <token>'.",
    )
    parser.add_argument(
        "--no-status-webhooks",
        action="store_true",
        help="Do not send status webhooks (sent/delivered/read/failed) for the bot's messages.",
    )
    parser.add_argument(
        "--api-version",
        action="append",
        default=None,
        help="A Graph API version the fake answers (repeatable; default: v24.0, ws_bot's pin).",
    )
    parser.add_argument(
        "--templates",
        type=Path,
        default=os.environ.get("PHONE_TEMPLATES") or None,
        help="Directory of message template definitions (default: the ones ws_bot ships).",
    )


def shipped_templates() -> Path | None:
    """ws_bot's template definitions, when ws_bot is installed beside the sandbox."""
    spec = importlib.util.find_spec("ws_bot")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "wa_templates"


def run(args: argparse.Namespace) -> None:
    from sandbox.phone.app import PINNED_VERSIONS, PhoneConfig, create_app

    if not args.app_secret:
        raise SystemExit("phone: --app-secret (or META_APP_SECRET) is required to sign webhooks")
    app = create_app(
        PhoneConfig(
            webhook_url=args.webhook_url,
            app_secret=args.app_secret,
            phone_id=args.phone_id,
            display_phone=args.display_phone,
            access_token=args.access_token,
            status_webhooks=not args.no_status_webhooks,
            api_versions=tuple(args.api_version or PINNED_VERSIONS),
            templates_dir=Path(args.templates) if args.templates else shipped_templates(),
        )
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
