"""The ``/dora`` chart: four small weekly panels as PNG bytes (matplotlib's object API on Agg).

Deployments (bars), median lead time (line with the p90 as a band), change failure rate (bars) and
recovery times (one dot per recovered failure). A week or panel without data says so instead of
drawing a zero. No pyplot: no global state, safe in the listener threads.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.metrics.display import format_window
from bot.metrics.report import DoraReport, WeekPoint

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.6, 100  # 800 × 460 px: sharp in Slack's preview, small to upload
BLUE, GREEN, RED, GREY = "#3b6fb6", "#2f9e6b", "#d1495b", "#8a8f98"
STYLE: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": GREY,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
}


def _hours(seconds: float | None) -> float:
    return math.nan if seconds is None else seconds / 3600


def _labels(weeks: list[WeekPoint]) -> list[str]:
    return [w.start.strftime("%b %-d") for w in weeks]


def _no_data(ax: Axes, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=GREY)


def _deployments(ax: Axes, weeks: list[WeekPoint], xs: list[int]) -> None:
    ax.set_title("Deployments per week")
    counts = [w.deployments for w in weeks]
    ax.bar(xs, counts, color=BLUE, width=0.7)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*counts, 1]) * 1.2)
    if not any(counts):
        _no_data(ax, "no production deployments")


def _lead_time(ax: Axes, weeks: list[WeekPoint], xs: list[int]) -> None:
    ax.set_title("Lead time for changes (h): median, p90 band")
    median = [_hours(w.lead_time_median_s) for w in weeks]
    p90 = [_hours(w.lead_time_p90_s) for w in weeks]
    if all(math.isnan(v) for v in median):
        _no_data(ax, "no changes deployed")
        return
    high = [m if math.isnan(p) else p for p, m in zip(p90, median, strict=True)]
    ax.fill_between(xs, median, high, color=GREEN, alpha=0.18, linewidth=0, label="p90")
    ax.plot(xs, median, color=GREEN, marker="o", markersize=3, linewidth=1.5, label="median")
    ax.set_ylim(bottom=0)


def _failure_rate(ax: Axes, weeks: list[WeekPoint], xs: list[int]) -> None:
    ax.set_title("Change failure rate (%)")
    rates = [w.change_failure_rate for w in weeks]
    shown = [0.0 if r is None else r * 100 for r in rates]
    ax.bar(xs, shown, color=RED, width=0.7)
    for x, r in zip(xs, rates, strict=True) if len(weeks) <= 16 else ():
        # An empty bar is ambiguous: say whether the week had 0 % or no deployments at all.
        ax.text(x, 0, "–" if r is None else ("0" if r == 0 else ""), ha="center", va="bottom", color=GREY)
    ax.set_ylim(0, max([*shown, 10.0]) * 1.2)
    if all(r is None for r in rates):
        _no_data(ax, "no deployments")


def _recovery(ax: Axes, weeks: list[WeekPoint], xs: list[int]) -> None:
    ax.set_title("Recovery time (h), each failure")
    points = [(x, t / 3600) for x, w in zip(xs, weeks, strict=True) for t in w.recovery_times_s]
    if not points:
        _no_data(ax, "no recovered failures")
        ax.set_ylim(0, 1)
        return
    ax.scatter([p[0] for p in points], [p[1] for p in points], color=BLUE, s=14, zorder=3)
    ax.set_ylim(0, max(p[1] for p in points) * 1.2 or 1)


def render_dora_chart(report: DoraReport, *, dpi: int = DPI) -> bytes:
    """PNG bytes of the four weekly panels of a report (an explicit "no data" where there is none)."""
    weeks = list(report.weekly)
    xs = list(range(len(weeks)))
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        # A fixed layout: constrained layout costs a third of the rendering time for the same result here.
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=dpi)
        fig.subplots_adjust(left=0.06, right=0.98, top=0.87, bottom=0.08, hspace=0.35, wspace=0.15)
        FigureCanvasAgg(fig)
        fig.suptitle(
            f"{report.team_name} · {report.period_label} ({format_window(report.current.window)}) · weekly",
            fontsize=10,
        )
        axes = fig.subplots(2, 2, sharex=True)
        for draw, ax in zip((_deployments, _lead_time, _failure_rate, _recovery), axes.flat, strict=True):
            draw(ax, weeks, xs)
        # The x axis is shared: set its ticks once, at most 8 labels (ticks dominate rendering time).
        step = max(1, math.ceil(len(weeks) / 8))
        bottom = axes[1][0]
        bottom.set_xticks(xs[::step], _labels(weeks)[::step])
        bottom.tick_params(axis="x", labelsize=7)
        axes[1][1].tick_params(axis="x", labelsize=7)
        if not weeks:
            bottom.set_xlim(-0.5, 0.5)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
