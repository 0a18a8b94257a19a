"""`python -m bench [name ...]`: run every benchmark module in bench/ (or the ones named)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = argv or discover()
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        try:
            entry()
        except Exception as exc:
            failed.append(name)
            print(f"!!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"({time.perf_counter() - started:.1f}s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
