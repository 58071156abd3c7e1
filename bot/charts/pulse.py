"""The pulse chart as PNG bytes: diverging stacked bars per question and the trend of the index.

matplotlib's object API on the Agg canvas only (no pyplot, no global state), so charts can be drawn
from several threads at once; the look is the ``/dora`` chart's.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.charts.dora import BLUE, DPI, GREY, STYLE
from bot.surveys.compute import PulseResults, QuestionResult
from bot.surveys.enums import QuestionKind

NEGATIVE = ("#c0392b", "#e6836f")  # strongly … mildly unfavourable
NEUTRAL = "#d5d7db"
POSITIVE = ("#7fbf7b", "#1b7837")  # mildly … strongly favourable
WIDTH_IN = 10.0


def _segments(result: QuestionResult) -> tuple[list[tuple[float, str]], float, list[tuple[float, str]]]:
    """Percentages left of centre (outermost first), the neutral share, and right of centre (innermost first)."""
    counts = list(result.distribution or ())
    total = sum(counts) or 1
    share = [100 * c / total for c in counts]
    if result.kind == QuestionKind.ENPS:
        return [(sum(share[0:7]), NEGATIVE[0])], sum(share[7:9]), [(sum(share[9:11]), POSITIVE[1])]
    return (
        [(share[0], NEGATIVE[0]), (share[1], NEGATIVE[1])],
        share[2],
        [(share[3], POSITIVE[0]), (share[4], POSITIVE[1])],
    )


def _draw_bars(ax: Axes, questions: Sequence[QuestionResult]) -> None:
    labels = []
    for row, result in enumerate(reversed(questions)):
        negative, neutral, positive = _segments(result)
        left = -neutral / 2 - sum(p for p, _ in negative)
        for width, colour in [*negative, (neutral, NEUTRAL), *positive]:
            ax.barh(row, width, left=left, color=colour, height=0.7, edgecolor="white", linewidth=0.5)
            left += width
        figure = f"eNPS {result.enps:+.0f}" if result.kind == QuestionKind.ENPS else f"{result.mean:.1f}"
        labels.append(textwrap.shorten(result.text, 44, placeholder="…") + f"  ({figure})")
    ax.set_yticks(range(len(labels)), labels)
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_xlim(-100, 100)
    ax.set_xticks([-100, -50, 0, 50, 100], ["100 %", "50 %", "0", "50 %", "100 %"])
    ax.set_title("Answers: unfavourable ← neutral → favourable", loc="left")


def _draw_trend(ax: Axes, history: Sequence[tuple[str, float]], label: str) -> None:
    xs = list(range(len(history)))
    ax.plot(xs, [v for _, v in history], marker="o", color=BLUE, linewidth=1.8)
    ax.set_xticks(xs, [name for name, _ in history], rotation=45, ha="right")
    if label.startswith("eNPS"):
        ax.set_ylim(-100, 100)
    else:
        ax.set_ylim(1, 5)
    ax.grid(axis="y", color="#e5e5e5")
    ax.set_title(label, loc="left")


def pulse_chart(team_name: str, results: PulseResults, history: Sequence[tuple[str, float]]) -> bytes:
    """A PNG of a shown run: one diverging bar per rated question, and the index (or eNPS) over past runs.

    ``history`` is ``(label, value)`` per shown run, oldest first, this run included.
    """
    if not results.shown:
        raise ValueError("a run below the anonymity threshold has no chart")
    questions = [q for q in results.questions if q.shown]
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(WIDTH_IN, max(3.0, 0.4 * len(questions) + 1.3)), dpi=DPI)
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(1, 3, wspace=0.6)
        bars = fig.add_subplot(grid[0, :2])
        trend = fig.add_subplot(grid[0, 2])
        _draw_bars(bars, questions)
        label = "eNPS by survey" if results.index is None else "Pulse index by survey"
        _draw_trend(trend, history, label)
        fig.suptitle(f"{team_name} · {results.title} · {results.responses} answers", x=0.01, ha="left", fontsize=10)
        fig.subplots_adjust(left=0.37, right=0.98, bottom=0.2, top=0.84)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
