"""`python tests/support/modules_probe.py OUT module:function`: run a service's console entry
point unchanged and, each time the process gets SIGUSR1, write the names of every module it has
imported so far to OUT (sorted, one a line). How tests see what a service loads at idle without
the service growing an endpoint or a setting for it.

Run as a script (not `-m`) so that importing it loads nothing of the test packages; its own
folder leaves the import path so that its neighbours cannot shadow a service's imports.
"""

import importlib
import signal
import sys
from pathlib import Path
from types import FrameType

sys.path.pop(0)


def main() -> None:
    out, entry = Path(sys.argv[1]), sys.argv[2]

    def dump(_signum: int, _frame: FrameType | None) -> None:
        written = out.with_suffix(".partial")
        written.write_text("".join(f"{name}\n" for name in sorted(sys.modules)))
        written.replace(out)  # a reader never sees half a list

    signal.signal(signal.SIGUSR1, dump)
    module, _, function = entry.partition(":")
    sys.argv = [entry]
    getattr(importlib.import_module(module), function)()


if __name__ == "__main__":
    main()
