"""Resident memory of each service, idle and after traffic, vs a bare FastAPI app, in one run.

`uv run python -m bench memory [--payments N] [--messages M] [--one-process]`

The whole stack runs on the sandbox (SQLite, offline parser), each service started from its own
production install, made as its Dockerfile makes it (`uv sync --frozen --no-dev --package
<member> --no-editable --compile-bytecode`, from the uv cache): the development environment
holds the test tools' packages too, and some of them change what a service imports (httpx loads
its CLI, rich and pygments, whenever they are installed), so only a production install gives the
figure a deployment sees. Memory is read (RSS, psutil) right after start-up and again after N
complete payments through the chat (onboarding, quote, Confirm, approval, receipt) plus M extra
messages. The baseline is a bare FastAPI app under uvicorn, the floor any of these services
starts from: the ratio is each service's RSS / the bare app's. ws_bot runs as the compose file
deploys it, a ROLE=webhook process beside a ROLE=worker process, each measured on its own
(`--one-process`: one ROLE=all process).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from bench._stack import bare_app
from tests.support.processes import BIN, ServiceProcess
from tests.trust.support import Replicated, ask_and_confirm, pointer, replicated_stack

MIB = 1024 * 1024


def rss(proc: ServiceProcess) -> float:
    """RSS of the process and any children (uvicorn reloaders, workers), in MiB."""
    assert proc.proc is not None
    root = psutil.Process(proc.proc.pid)
    total: int = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    return total / MIB


MEMBERS = {"ws_bot": "ws-bot", "llm_back": "llm-back", "op_api": "op-api"}


def production_install(member: str, where: Path) -> Path:
    """A virtualenv holding only `member` and its runtime dependencies; its bin directory."""
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(where)}
    # uv caches the wheels it builds of workspace members, keyed on their pyproject.toml, not
    # their code: without a rebuild the install can hold an older commit's code.
    fresh = ["--reinstall-package", "paguito-shared", "--reinstall-package", member]
    # Compiled to bytecode, as the Dockerfile's UV_COMPILE_BYTECODE=1 does: without it, every
    # first import, at start-up and on the first messages, parses source and keeps the parser's
    # memory (ws_bot measured 75.0 → 82.0 MiB, idle → after 100 payments, against 71.2 → 75.8).
    sync = [
        "uv",
        "sync",
        "--frozen",
        "--no-dev",
        "--package",
        member,
        "--no-editable",
        "--compile-bytecode",
    ]
    subprocess.run(
        [*sync, "--quiet", *fresh],
        env=env,
        check=True,
        timeout=600,
    )
    return where / "bin"


def from_production(running: ServiceProcess, bin_dir: Path) -> None:
    """Restart `running` from the production install in `bin_dir`: same port, settings and data."""
    running.stop()
    running.args = [
        str(bin_dir / Path(a).name) if a.startswith(str(BIN)) else a for a in running.args
    ]
    running.start()


def _pay(stack: Replicated, wa_id: str, messages: int) -> None:
    phone, wallet = stack.phone, stack.wallet
    # A wallet of their own: a wallet is linked to one number at a time (issue 17).
    phone.onboard(wa_id, "Mem", pointer(wallet.add_wallet(f"m{wa_id}", "100.00")))
    url = ask_and_confirm(phone, wa_id, "send 1 to " + pointer(wallet.address("bob")), 60)
    n = phone.count(wa_id)
    wallet.answer(url)
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=60)
    for i in range(messages):
        phone.say(wa_id, ["gracias", "what can you do?", "history"][i % 3])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--payments", type=int, default=8)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--one-process", action="store_true", help="ws_bot as one ROLE=all process")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with (
        tempfile.TemporaryDirectory(prefix="mem-bench-") as tmp,
        replicated_stack(
            Path(tmp),
            replicas=1,
            bot_env={"RATE_LIMIT_MESSAGES": "1000"},
            worker_process=not args.one_process,
        ) as stack,
    ):
        bare = bare_app(stack.spawn)
        bots = {"ws_bot": stack.bots[0]}
        if stack.worker is not None:
            bots = {"ws_bot webhook": stack.bots[0], "ws_bot worker": stack.worker}
        services = {
            **bots,
            "llm_back": stack.llm,
            "op_api": stack.ops[0].proc,
            "bare FastAPI": bare,
        }
        installs = {m: production_install(m, Path(tmp) / m) for m in MEMBERS.values()}
        for name, proc in services.items():
            if proc is not bare:
                member = MEMBERS["ws_bot" if name.startswith("ws_bot") else name]
                from_production(proc, installs[member])
        idle = {name: rss(p) for name, p in services.items()}
        users = [str(15552000000 + uuid.uuid4().int % 10**6) for _ in range(args.payments)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda u: _pay(stack, u, args.messages), users))
        busy = {name: rss(p) for name, p in services.items()}
    base = busy["bare FastAPI"]
    print(
        f"resident memory (RSS) of each production install, idle and after {args.payments}"
        " payments through the chat"
    )
    for name in services:
        print(
            f"  {name:14s} idle {idle[name]:6.1f} MiB   after traffic {busy[name]:6.1f} MiB"
            f"   ratio to bare {busy[name] / base:.2f}"
        )
    print("aim: idle ≤ 75 MiB, after 100 payments ≤ 80 MiB, for each service")


if __name__ == "__main__":
    main(sys.argv[1:])
