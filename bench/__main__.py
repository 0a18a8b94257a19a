"""`python -m bench [name ...]`: run every benchmark module in bench/ (or the ones named).

`python -m bench <name> --option value …` runs one benchmark with its own options."""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType


class Terminated(BaseException):
    """SIGTERM, raised where the benchmark is: its `finally` blocks stop the services it
    started (without this, Python exits on SIGTERM at once and they run on, orphaned, skewing
    whatever is measured next)."""


def _terminate(signum: int, _: FrameType | None) -> None:
    raise Terminated(signum)


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    named = list(itertools.takewhile(lambda arg: not arg.startswith("-"), argv))
    options = argv[len(named) :]
    if options and len(named) != 1:
        print("options go to one benchmark: python -m bench <name> --option value …")
        return 2
    names = named or discover()
    signal.signal(signal.SIGTERM, _terminate)
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        # Each benchmark parses its own options from sys.argv: it sees only the ones given
        # after its name, never the names given to this runner.
        saved, sys.argv = sys.argv, [f"bench/{name}.py", *options]
        try:
            entry()
        except (Exception, SystemExit) as exc:
            failed.append(name)
            print(f"!!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
        finally:
            sys.argv = saved
        print(f"({time.perf_counter() - started:.1f}s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except Terminated:
        print("\nterminated; every service it started is stopped", file=sys.stderr)
        raise SystemExit(128 + signal.SIGTERM) from None
