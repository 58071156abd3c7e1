"""``python -m bench [NAME ...]`` (``make bench``): run benchmarks and append their results to BENCHMARKS.md.

Every module of this package with a ``run() -> str`` function is a benchmark; ``run`` returns a
Markdown section; options after a single name go to its ``run(options)`` (``python -m bench metrics
--db sqlite --scale 0.05``). The machine is small and noisy, so each benchmark measures a baseline in
the same run and reports both.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import bench

RESULTS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def available() -> list[str]:
    """Names of the benchmark modules."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if not info.name.startswith("_") and hasattr(importlib.import_module(f"bench.{info.name}"), "run"):
            names.append(info.name)
    return sorted(names)


def main(argv: list[str]) -> int:
    named = list(itertools.takewhile(lambda arg: not arg.startswith("-"), argv))
    options = argv[len(named) :]
    if options and len(named) != 1:
        print("options follow exactly one benchmark name, e.g. `python -m bench metrics --db sqlite`", file=sys.stderr)
        return 2
    names = named or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    for name in names:
        print(f"== {name}", file=sys.stderr)
        module = importlib.import_module(f"bench.{name}")
        section = module.run(options) if options else module.run()
        command = shlex.join([".venv/bin/python", "-m", "bench", name, *options])
        block = f"\n## {name} ({stamp}, {machine})\n\nReproduce: `{command}`\n\n{section}\n"
        print(block)
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmarks\n\nAppended by `python -m bench`; newest last.\n")
        with RESULTS.open("a") as out:
            out.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
