"""`paguito-sandbox <stand-in> --port P`: local stand-ins that speak the real protocols.

- `wallet` — an Open Payments wallet provider (wallet addresses, GNAP auth server, resource
  server, consent and balances pages).
- `phone`  — a fake WhatsApp Cloud API with a chat page that plays users' phones.
- `openai` — a fake OpenAI API (chat completions, transcriptions, speech, vision).
- `demo`   — not a stand-in: starts all of the above plus the three services.

Each stand-in lives in its own module exposing `add_arguments(parser)` and `run(args)`; they are
imported only when chosen, so one stand-in's dependencies never slow another's start.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Protocol, cast

STAND_INS: dict[str, tuple[str, str]] = {
    "wallet": ("sandbox.wallet.cli", "Open Payments wallet provider (ASE)"),
    "phone": ("sandbox.phone.cli", "WhatsApp Cloud API and chat page"),
    "openai": ("sandbox.openai_api.cli", "OpenAI API stand-in"),
    "demo": ("sandbox.demo.cli", "Run the whole stack on the sandbox until Ctrl-C"),
}


class StandIn(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> None: ...


def _load(module: str) -> StandIn:
    return cast(StandIn, importlib.import_module(module))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="paguito-sandbox", description="Local stand-ins for Meta, the wallet and OpenAI."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="STAND_IN")
    for name, (module, help_text) in STAND_INS.items():
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(_module=module)
        try:
            _load(module).add_arguments(sub)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
    args = parser.parse_args(argv)
    _load(args._module).run(args)


if __name__ == "__main__":
    main()
