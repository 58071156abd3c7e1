"""The results of the metric engine as plain data, and their ``report --json`` form.

Durations are seconds, rates fractions; ``None`` means *no data* (never 0, never the best tier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.metrics.periods import Window

STAGES = ("coding", "pickup", "review", "deploy")


@dataclass(frozen=True)
class Frequency:
    """Deployment frequency over every calendar day of the window."""

    deployments: int
    per_day: float | None
    per_week: float | None
    deploy_days: int
    tier: str | None


@dataclass(frozen=True)
class LeadTime:
    """Lead time for changes deployed in the window; stage medians keyed ``coding_s`` … ``deploy_s``."""

    changes: int
    median_s: float | None
    p90_s: float | None
    excluded_negative: int
    stages: dict[str, float | None]
    tier: str | None

    @property
    def slowest_stage(self) -> str | None:
        """The stage with the largest median (``deploy``…), or ``None`` without data."""
        known = {k.removesuffix("_s"): v for k, v in self.stages.items() if v is not None}
        return max(known, key=lambda k: known[k]) if known else None


@dataclass(frozen=True)
class ChangeFailure:
    """Change failure rate: distinct failed deployments ÷ production deployments."""

    failed: int
    deployments: int
    rate: float | None
    tier: str | None


@dataclass(frozen=True)
class Recovery:
    """Failed deployment recovery time over failures recovered in the window."""

    recovered: int
    open: int
    median_s: float | None
    p90_s: float | None
    oldest_open_s: float | None
    tier: str | None


@dataclass(frozen=True)
class Restore:
    """Time to restore service: incident opened → resolved."""

    resolved: int
    open: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class Rework:
    """Deployment rework rate: share of deployments whose change set is a revert, hotfix or fix."""

    reworked: int
    deployments: int
    rate: float | None


@dataclass(frozen=True)
class Figures:
    """Every DORA figure for one window."""

    window: Window
    frequency: Frequency
    lead_time: LeadTime
    change_failure_rate: ChangeFailure
    recovery_time: Recovery
    time_to_restore: Restore
    rework_rate: Rework

    def to_json(self) -> dict[str, Any]:
        """The keys of DESIGN.md §2 (``report --json``) for this window."""
        f, lt, cfr, rec, ttr = (
            self.frequency,
            self.lead_time,
            self.change_failure_rate,
            self.recovery_time,
            self.time_to_restore,
        )
        return {
            "start": self.window.start.isoformat(),
            "end": self.window.end.isoformat(),
            "deployment_frequency": {
                "deployments": f.deployments,
                "per_day": _r(f.per_day),
                "per_week": _r(f.per_week),
                "deploy_days": f.deploy_days,
                "tier": f.tier,
            },
            "lead_time": {
                "changes": lt.changes,
                "median_s": lt.median_s,
                "p90_s": lt.p90_s,
                "excluded_negative": lt.excluded_negative,
                "stages": dict(lt.stages),
                "tier": lt.tier,
            },
            "change_failure_rate": {
                "failed": cfr.failed,
                "deployments": cfr.deployments,
                "rate": _r(cfr.rate),
                "tier": cfr.tier,
            },
            "recovery_time": {
                "recovered": rec.recovered,
                "open": rec.open,
                "median_s": rec.median_s,
                "p90_s": rec.p90_s,
                "oldest_open_s": rec.oldest_open_s,
                "tier": rec.tier,
            },
            "time_to_restore": {
                "resolved": ttr.resolved,
                "open": ttr.open,
                "median_s": ttr.median_s,
                "p90_s": ttr.p90_s,
            },
            "rework_rate": {
                "reworked": self.rework_rate.reworked,
                "deployments": self.rework_rate.deployments,
                "rate": _r(self.rework_rate.rate),
            },
        }


@dataclass(frozen=True)
class WeekPoint:
    """One ISO week (team time zone) of the chart; weeks cut by the window are partial."""

    week: str  # 2026-W47
    start: date  # Monday of the week
    deployments: int
    lead_time_median_s: float | None
    lead_time_p90_s: float | None
    change_failure_rate: float | None
    recovery_times_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class DoraReport:
    """What ``/dora`` and ``sei-bot report`` show: the current and previous windows and the weekly series."""

    team_id: str
    team_name: str
    profile: str
    profile_title: str
    period_key: str
    period_label: str
    current: Figures
    previous: Figures
    weekly: list[WeekPoint] = field(default_factory=list)
    targets: dict[str, float | None] = field(default_factory=dict)
    no_data_hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``report --json`` document of DESIGN.md §2."""
        return {
            "team": self.team_id,
            "profile": self.profile,
            "period": self.period_key,
            **self.current.to_json(),
            "previous": self.previous.to_json(),
            "weekly": [
                {
                    "week": w.week,
                    "deployments": w.deployments,
                    "lead_time_median_s": w.lead_time_median_s,
                    "change_failure_rate": _r(w.change_failure_rate),
                }
                for w in self.weekly
            ],
        }


@dataclass(frozen=True)
class ExplainLine:
    """One record behind a number: ``ok`` False marks a failure, None a neutral line."""

    text: str
    ok: bool | None = None
    url: str | None = None


@dataclass(frozen=True)
class Explanation:
    """The records behind one metric (``/dora TEAM explain METRIC``)."""

    metric: str
    headline: str
    lines: list[ExplainLine]
    more: int = 0  # records not listed


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
