"""`paguito-sandbox demo`: run the whole stack on the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from sandbox.demo.stack import DemoConfig, DemoError, DemoStack, Ports


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Ports()
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".data"),
        help="where state, logs and the dev config live (default .data)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--openai",
        choices=["auto", "fake", "real", "off"],
        default="auto",
        help="auto: OpenAI when OPENAI_API_KEY is set, else the offline parser",
    )
    for name, port in vars(defaults).items():
        parser.add_argument(
            f"--{name.replace('_', '-')}-port",
            type=int,
            default=port,
            dest=f"{name}_port",
            help=f"port for {name} (default {port})",
        )


def run(args: argparse.Namespace) -> None:
    ports = Ports(**{name: getattr(args, f"{name}_port") for name in vars(Ports())})
    stack = DemoStack(
        DemoConfig(data_dir=args.data_dir, host=args.host, ports=ports, openai=args.openai)
    )
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("Starting Paguito on the sandbox…", flush=True)
    try:
        stack.start()
    except DemoError as exc:
        print(f"\n{exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(stack.summary())
    # Printed on purpose (never logged): the sign-in a person types on the consent page.
    passwords = stack.wallet_passwords()
    width = max(map(len, passwords), default=0)
    print("\nWallet passwords for the consent page (new each run; also on the balances page):")
    print("\n".join(f"  {name.ljust(width)}  {pw}" for name, pw in passwords.items()))
    print(f"\nOpen the chat page: {stack.chat_url}\nCtrl-C stops everything.", flush=True)
    try:
        while not stopping:
            dead = stack.dead()
            if dead:
                names = ", ".join(p.name for p in dead)
                print(
                    f"\n{names} stopped unexpectedly; see {dead[0].log_path}. Stopping the rest.",
                    file=sys.stderr,
                )
                stack.stop()
                raise SystemExit(1)
            time.sleep(0.5)
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        print("Stopped.")
