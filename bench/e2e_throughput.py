"""Messages per second end to end: the sandbox phone → ws_bot → llm_back (offline parser) →
the reply back at the phone, vs llm_back answering the same messages directly, in one run.

`uv run python -m bench e2e_throughput [--users U] [--messages M] [--one-process]`

U onboarded users each send M messages as fast as the phone delivers them (a mix of a payment
to someone unknown, thanks and a question, each answered with one message). The clock stops
when the last reply reaches the phone. The baseline sends the same texts straight to llm_back
with the same number of clients in parallel: the ratio is the share of llm_back's own rate the
whole pipeline keeps (signature check, durable inbox, per-user ordering, Graph calls).

Beside the rates it prints the CPU each process spent per message during the end-to-end run
(user + system time, all threads, from psutil), less what each spends idle over as long
(measured just before: ws_bot's poller and followers tick even with nothing to do): ws_bot's
own (issue 12 aims at ≤ 4 ms), and the sandbox phone's and llm_back's, on the same two cores.
ws_bot runs as the compose file deploys it, a ROLE=webhook process beside a ROLE=worker
process (both printed, and their sum); `--one-process` runs it as one ROLE=all process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from bench._stack import spawner
from tests.op_api.harness import start_wallet
from tests.support.processes import TEST_TOKEN, ServiceProcess, console_script
from tests.ws_bot.conftest import pointer
from tests.ws_bot.support import Phone, fake_backends, start_stack

IDLE_SECONDS = 3.0
TEXTS = ["send 5 to Bob", "gracias", "what can you do?"]


def _direct(llm_url: str, users: list[str], messages: int) -> float:
    """llm_back alone: the same texts, one client per user; messages per second."""

    def one_user(wa_id: str) -> None:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as c:
            for i in range(messages):
                body = {"wa_id": wa_id, "name": "U", "message": TEXTS[i % len(TEXTS)]}
                c.post(f"{llm_url}/webhook/whatsapp", json=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(one_user, users))
    return len(users) * messages / (time.perf_counter() - started)


def _cpu_seconds(process: ServiceProcess) -> float:
    assert process.proc is not None
    times = psutil.Process(process.proc.pid).cpu_times()
    return float(times.user + times.system)


def _end_to_end(phone: Phone, users: list[str], messages: int, timeout: float) -> float:
    before = {u: phone.count(u) for u in users}

    def one_user(wa_id: str) -> None:
        for i in range(messages):
            phone.say(wa_id, TEXTS[i % len(TEXTS)])

    started = time.perf_counter()
    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(one_user, users))
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            replies = sum(
                1 for m in client.get(f"{phone.url}/api/messages").json() if m["direction"] == "out"
            )
            if replies - sum(before.values()) >= len(users) * messages:
                break
            time.sleep(0.05)
        else:
            raise TimeoutError("not every message was answered")
    return len(users) * messages / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--messages", type=int, default=15)
    parser.add_argument(
        "--worker-concurrency", default=None, help="ws_bot's WORKER_CONCURRENCY (default: its own)"
    )
    parser.add_argument("--one-process", action="store_true", help="ws_bot as one ROLE=all process")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp, spawner(Path(tmp)) as spawn:
        wallet_proc, wallet = start_wallet(Path(tmp) / "wallet")
        try:
            llm = spawn("llm_back", [console_script("llm-back")], {"OPENAI_API_KEY": ""})
            # No payment reaches op_api in this mix; onboarding links each user's wallet (issue
            # 17), which the contract-speaking fake op_api answers.
            links = fake_backends(spawn)
            stack = start_stack(
                spawn,
                llm_url=llm.url,
                op_url=links.url,
                wallet_base=wallet.url,
                extra_env={
                    "RATE_LIMIT_MESSAGES": "100000",
                    **(
                        {"WORKER_CONCURRENCY": args.worker_concurrency}
                        if args.worker_concurrency
                        else {}
                    ),
                },
                worker_process=not args.one_process,
            )
            users = [str(15551000000 + i) for i in range(args.users)]
            # A wallet each: a wallet is linked to one number at a time.
            own = {u: wallet.add_wallet(f"u{u}", "10.00") for u in users}
            with ThreadPoolExecutor(len(users)) as pool:
                list(pool.map(lambda u: stack.phone.onboard(u, "U", pointer(own[u])), users))
            direct = _direct(llm.url, users, args.messages)
            bot = {"ws_bot": stack.bot}
            if stack.worker is not None:
                bot = {"ws_bot webhook": stack.bot, "ws_bot worker": stack.worker}
            processes = {**bot, "phone": stack.phone_proc, "llm_back": llm}
            idle_from = {name: _cpu_seconds(p) for name, p in processes.items()}
            time.sleep(IDLE_SECONDS)
            before = {name: _cpu_seconds(p) for name, p in processes.items()}
            idle_rate = {name: (before[name] - idle_from[name]) / IDLE_SECONDS for name in before}
            e2e = _end_to_end(stack.phone, users, args.messages, timeout=300)
            duration = args.users * args.messages / e2e
            spent = {
                name: _cpu_seconds(p) - before[name] - idle_rate[name] * duration
                for name, p in processes.items()
            }
        finally:
            wallet_proc.stop()
    total = args.users * args.messages
    print(f"end to end with the offline parser: {args.users} users × {args.messages} messages")
    print(f"  phone → ws_bot → llm_back → reply: {e2e:7.1f} messages/s ({total} in all)")
    print(f"  llm_back alone, same texts:        {direct:7.1f} messages/s")
    print(f"  ratio end to end / llm_back alone: {e2e / direct:.2f}")
    print("  CPU per message during the end-to-end run (user + system, all threads, idle less):")
    for name, seconds in spent.items():
        print(f"    {name:14} {seconds * 1000 / total:6.2f} ms")
    if len(bot) > 1:
        both = sum(spent[name] for name in bot)
        print(f"    {'ws_bot, both':14} {both * 1000 / total:6.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
