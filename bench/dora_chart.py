"""One ``/dora`` chart: ``render_dora_chart`` against a naive pyplot rendering of the same panels.

Target: ≤ 150 ms a chart. The baseline is what one writes first: pyplot, default figure size,
constrained layout, saved at 200 dpi.
"""

from __future__ import annotations

import io
import math
import os
import statistics
import time

from bot.charts.dora import render_dora_chart
from bot.metrics.report import DoraReport
from tests.fakes.reports import sample_report

ROUNDS = 15


def naive_pyplot_chart(report: DoraReport) -> bytes:
    """The same four panels the obvious way (global pyplot state, default layout engine, print DPI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weeks = report.weekly
    xs = range(len(weeks))
    fig, axes = plt.subplots(2, 2, layout="constrained")
    axes[0][0].bar(xs, [w.deployments for w in weeks])
    axes[0][1].plot(xs, [(w.lead_time_median_s or 0) / 3600 for w in weeks])
    axes[1][0].bar(xs, [(w.change_failure_rate or 0) * 100 for w in weeks])
    axes[1][1].scatter(
        [x for x, w in zip(xs, weeks, strict=True) for _ in w.recovery_times_s],
        [t / 3600 for w in weeks for t in w.recovery_times_s],
    )
    for ax in axes.flat:
        ax.set_xticks(list(xs), [w.start.strftime("%b %-d") for w in weeks])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=200)
    plt.close(fig)
    return buffer.getvalue()


def run() -> str:
    """Both renderers in turn (A, B, A, B…) so that they share the machine's noise; wall and CPU time."""
    report = sample_report(days=90)
    renderers = {
        "render_dora_chart (object API, fixed layout, 100 dpi)": render_dora_chart,
        "baseline: pyplot, constrained layout, 200 dpi": naive_pyplot_chart,
    }
    wall: dict[str, list[float]] = {name: [] for name in renderers}
    cpu: dict[str, list[float]] = {name: [] for name in renderers}
    sizes: dict[str, int] = {}
    for render in renderers.values():
        render(report)  # warm-up: font cache, imports
    load = os.getloadavg()[0]
    for _ in range(ROUNDS):
        for name, render in renderers.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            sizes[name] = len(render(report))
            wall[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() - started_cpu) * 1000)
    rows = [
        f"| {name} | {statistics.median(wall[name]):.0f} | {sorted(wall[name])[math.ceil(ROUNDS * 0.9) - 1]:.0f} | "
        f"{statistics.median(cpu[name]):.0f} | {sizes[name] // 1024} |"
        for name in renderers
    ]
    return (
        f"One chart of a 90-day report (13 weekly points), {ROUNDS} renders each, interleaved, after a "
        f"warm-up; load average {load:.1f} on {os.cpu_count()} cores at the start. Target: ≤ 150 ms.\n\n"
        "| renderer | median wall ms | p90 wall ms | median CPU ms | PNG KiB |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
