"""How a ``DoraReport`` reads to a person: values with units, trends, tiers; shared by Slack and the terminal.

Pure functions of the report: no Slack, no database. Rounding happens only here (DESIGN.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.metrics.compute import format_duration as format_duration_compact
from bot.metrics.periods import Window
from bot.metrics.report import STAGES, DoraReport, Figures

TIER_TITLES = {"elite": "Elite", "high": "High", "medium": "Medium", "low": "Low"}


def format_duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``10.0 h``, ``3.5 d``; ``no data`` for ``None``."""
    if seconds is None:
        return "no data"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def format_rate(rate: float | None) -> str:
    """A fraction as a percentage (``8.3 %``, ``20 %``); ``no data`` for ``None``."""
    if rate is None:
        return "no data"
    percent = rate * 100
    return f"{percent:.0f} %" if abs(percent - round(percent)) < 0.05 else f"{percent:.1f} %"


def format_per_week(per_week: float | None) -> str:
    """Deployments per week: ``2.8 / week``."""
    return "no data" if per_week is None else f"{per_week:.1f} / week"


def format_window(window: Window) -> str:
    """``Oct 1 – Oct 30`` in the team's time zone (the end is exclusive, so its last day is shown)."""
    tz = ZoneInfo(window.timezone)
    first = window.start.astimezone(tz)
    last = (window.end - timedelta(microseconds=1)).astimezone(tz)
    left = first.strftime("%b %-d") + (f", {first.year}" if first.year != last.year else "")
    return f"{left} – {last.strftime('%b %-d')}"


@dataclass(frozen=True)
class Trend:
    """The change against the previous period: ``arrow`` ▲▼→, ``delta`` with units, ``better`` or not."""

    arrow: str
    delta: str
    better: bool | None  # None: no comparison possible, or no change

    @property
    def words(self) -> str:
        """The trend for plain text (screen readers, notifications)."""
        if not self.delta:
            return "no earlier data"
        if self.better is None:
            return "no change"
        direction = "up" if self.arrow == "▲" else "down"
        return f"{direction} {self.delta.lstrip('+−')}, {'better' if self.better else 'worse'}"

    def label(self, *, better: str, worse: str) -> str:
        """``▼ −3.5 h`` followed by ``better`` or ``worse`` (an emoji, a word)."""
        if not self.delta:
            return "— no earlier data"
        if self.better is None:
            return "→ no change"
        return f"{self.arrow} {self.delta} {better if self.better else worse}"


NO_TREND = Trend("—", "", None)


def trend(current: float | None, previous: float | None, *, lower_is_better: bool, unit: str) -> Trend:
    """Compare two figures; ``unit`` is ``duration``, ``pts`` (a rate, in percentage points) or ``count``."""
    if current is None or previous is None:
        return NO_TREND
    diff = current - previous
    if unit == "duration":
        shown = format_duration(abs(diff))
        tiny = abs(diff) < 60
    elif unit == "pts":
        shown = format_rate(abs(diff)).replace(" %", " pts")
        tiny = abs(diff) < 0.0005
    else:
        shown = f"{abs(diff):.1f}"
        tiny = abs(diff) < 0.05
    if tiny:
        return Trend("→", "0", None)
    sign = "+" if diff > 0 else "−"
    better = (diff < 0) if lower_is_better else (diff > 0)
    return Trend("▲" if diff > 0 else "▼", f"{sign}{shown}", better)


@dataclass(frozen=True)
class MetricRow:
    """One line of the report: the metric, its value, trend, tier and a detail."""

    key: str  # the metric name ``/dora TEAM explain`` takes
    title: str
    value: str
    trend: Trend
    tier: str | None
    detail: str


def stage_breakdown(figures: Figures) -> str:
    """``coding 1 h · pickup 2 h · review 1 h · deploy 4 h`` (stages without data are left out)."""
    parts = [
        f"{stage} {format_duration_compact(figures.lead_time.stages.get(f'{stage}_s'))}"
        for stage in STAGES
        if figures.lead_time.stages.get(f"{stage}_s") is not None
    ]
    return " · ".join(parts)


def metric_rows(report: DoraReport) -> list[MetricRow]:
    """The four keys of a report, in the order people read them."""
    cur, prev = report.current, report.previous
    f, lt, cfr, rec = cur.frequency, cur.lead_time, cur.change_failure_rate, cur.recovery_time
    targets = report.targets or {}
    lead_detail = stage_breakdown(cur)
    if lt.changes:
        lead_detail = f"{lt.changes} changes · p90 {format_duration(lt.p90_s)}" + (
            f" · {lead_detail}" if lead_detail else ""
        )
    lead_target, cfr_target = targets.get("lead_time_hours"), targets.get("change_failure_rate")
    if lead_target:
        lead_detail += f" · target {format_duration_compact(lead_target * 3600)}"
    cfr_detail = f"{cfr.failed} of {cfr.deployments} deployments" if cfr.deployments else "no deployments"
    if cfr_target is not None:
        cfr_detail += f" · target {format_rate(cfr_target)}"
    rec_detail = f"{rec.recovered} recovered · {rec.open} open"
    if rec.open and rec.oldest_open_s is not None:
        rec_detail += f" (oldest {format_duration(rec.oldest_open_s)})"
    return [
        MetricRow(
            "deployment-frequency",
            "Deployment frequency",
            format_per_week(f.per_week),
            trend(f.per_week, prev.frequency.per_week, lower_is_better=False, unit="count"),
            f.tier,
            f"{f.deployments} deployments · {f.deploy_days} deploy days",
        ),
        MetricRow(
            "lead-time",
            "Lead time for changes",
            format_duration(lt.median_s),
            trend(lt.median_s, prev.lead_time.median_s, lower_is_better=True, unit="duration"),
            lt.tier,
            lead_detail or "no changes deployed",
        ),
        MetricRow(
            "change-failure-rate",
            "Change failure rate",
            format_rate(cfr.rate),
            trend(cfr.rate, prev.change_failure_rate.rate, lower_is_better=True, unit="pts"),
            cfr.tier,
            cfr_detail,
        ),
        MetricRow(
            "recovery-time",
            "Recovery time",
            format_duration(rec.median_s),
            trend(rec.median_s, prev.recovery_time.median_s, lower_is_better=True, unit="duration"),
            rec.tier,
            rec_detail,
        ),
    ]


def secondary_line(report: DoraReport) -> str:
    """Time to restore service and rework rate, the figures beside the four keys."""
    ttr, rework = report.current.time_to_restore, report.current.rework_rate
    restore = (
        f"Time to restore service {format_duration(ttr.median_s)} ({ttr.resolved} resolved · {ttr.open} open)"
        if ttr.resolved or ttr.open
        else "Time to restore service: no incidents"
    )
    return f"{restore} · Rework rate {format_rate(rework.rate)}"


def biggest_drag(report: DoraReport) -> str | None:
    """``deploy stage (4 h median of 10 h lead time)``: the slowest lead-time stage, if known."""
    lt = report.current.lead_time
    stage = lt.slowest_stage
    if stage is None or lt.median_s is None:
        return None
    seconds = lt.stages.get(f"{stage}_s")
    return f"{stage} stage ({format_duration_compact(seconds)} median of {format_duration(lt.median_s)} lead time)"


def has_any_data(figures: Figures) -> bool:
    """True when the window saw any deployment, change or incident at all."""
    return bool(
        figures.frequency.deployments
        or figures.lead_time.changes
        or figures.time_to_restore.resolved
        or figures.time_to_restore.open
        or figures.recovery_time.open
    )


def report_title(report: DoraReport) -> str:
    """``Team A · DORA, last 30 days (Oct 1 – Oct 30)``."""
    return f"{report.team_name} · DORA, {report.period_label} ({format_window(report.current.window)})"


def report_text(report: DoraReport) -> str:
    """The whole report as plain sentences (Slack's ``text`` fallback: notifications, screen readers)."""
    parts = []
    for row in metric_rows(report):
        tier = TIER_TITLES.get(row.tier or "", "no tier")
        parts.append(f"{row.title} {row.value} ({row.trend.words}; {tier}; {row.detail})")
    text = f"{report_title(report)}, profile {report.profile_title}. " + ". ".join(parts) + "."
    drag = biggest_drag(report)
    if drag:
        text += f" Biggest drag: {drag}."
    return text
