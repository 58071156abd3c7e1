"""``python -m bench [NAME ...]`` (``make bench``): run benchmarks and append their results to BENCHMARKS.md.

Every module of this package with a ``run() -> str`` function is a benchmark; ``run`` returns a
Markdown section. The machine is small and noisy, so each benchmark measures a baseline in the
same run and reports both.
"""

from __future__ import annotations

import importlib
import pkgutil
import platform
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
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    for name in names:
        print(f"== {name}", file=sys.stderr)
        section = importlib.import_module(f"bench.{name}").run()
        block = f"\n## {name} ({stamp}, {machine})\n\nReproduce: `.venv/bin/python -m bench {name}`\n\n{section}\n"
        print(block)
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmarks\n\nAppended by `python -m bench`; newest last.\n")
        with RESULTS.open("a") as out:
            out.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
