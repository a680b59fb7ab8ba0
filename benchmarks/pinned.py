"""`python -m benchmarks.pinned CPUS -m MODULE [ARGS...]`: MODULE run as `python
-m MODULE ARGS` would run it, on the CPUs given (comma-separated, e.g. `1` or
`2,3`) and no others, from its first line: every thread it starts, the model
runtime's included, inherits that affinity, and `inference.backends.cores()`
(the model's threads by default) counts those CPUs.

Used by `benchmarks.networked` to give the worker, and the model measured
alone, the same core(s), apart from the embedded AWS's (docs/performance.md,
"A worker across a network")."""

from __future__ import annotations

import os
import runpy
import sys


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python -m benchmarks.pinned CPUS -m MODULE [ARGS...]")
    cpus = {int(cpu) for cpu in argv[0].split(",") if cpu.strip()}
    os.sched_setaffinity(0, cpus)
    module = argv[2]
    sys.argv = [module, *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
