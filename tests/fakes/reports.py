"""Hand-built ``DoraReport``s for tests of what people see (blocks, chart, terminal table)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.metrics.periods import Window
from bot.metrics.report import (
    ChangeFailure,
    DoraReport,
    Figures,
    Frequency,
    LeadTime,
    Recovery,
    Restore,
    Rework,
    WeekPoint,
)

HOUR = 3600.0
END = datetime(2026, 10, 31, tzinfo=UTC)


def figures(
    window: Window,
    *,
    deployments: int = 5,
    per_week: float | None = 1.2,
    lead_s: float | None = 10 * HOUR,
    stages: dict[str, float | None] | None = None,
    failed: int = 1,
    recovery_s: float | None = 3 * HOUR,
    tiers: tuple[str | None, str | None, str | None, str | None] = ("high", "elite", "low", "high"),
) -> Figures:
    """Figures for one window; pass ``deployments=0, lead_s=None…`` for an empty one."""
    days = window.days
    stages = (
        stages
        if stages is not None
        else {"coding_s": HOUR, "pickup_s": 2 * HOUR, "review_s": HOUR, "deploy_s": 4 * HOUR}
    )
    return Figures(
        window=window,
        frequency=Frequency(
            deployments, deployments / days if deployments else 0.0, per_week, min(deployments, 4), tiers[0]
        ),
        lead_time=LeadTime(4 if lead_s else 0, lead_s, lead_s * 2.5 if lead_s else None, 0, stages, tiers[1]),
        change_failure_rate=ChangeFailure(failed, deployments, failed / deployments if deployments else None, tiers[2]),
        recovery_time=Recovery(1 if recovery_s else 0, 0, recovery_s, recovery_s, None, tiers[3]),
        time_to_restore=Restore(2, 1, 2.5 * HOUR, 4 * HOUR),
        rework_rate=Rework(1, deployments, 1 / deployments if deployments else None),
    )


def weekly(window: Window, *, empty: bool = False) -> list[WeekPoint]:
    """Weekly points across a window (Mondays), with a gap week without changes."""
    monday = window.start.date() - timedelta(days=window.start.weekday())
    points = []
    week = 0
    while monday < window.end.date():
        iso = monday.isocalendar()
        gap = empty or week == 2
        points.append(
            WeekPoint(
                week=f"{iso.year}-W{iso.week:02d}",
                start=monday,
                deployments=0 if empty else week % 3 + 1,
                lead_time_median_s=None if gap else (8 + week) * HOUR,
                lead_time_p90_s=None if gap else (20 + 2 * week) * HOUR,
                change_failure_rate=None if empty else (0.25 if week == 1 else 0.0),
                recovery_times_s=() if empty or week != 1 else (3 * HOUR,),
            )
        )
        monday += timedelta(days=7)
        week += 1
    return points


def sample_report(
    *, days: int = 30, end: datetime = END, timezone: str = "Europe/Berlin", **overrides: object
) -> DoraReport:
    """Team A's report for the ``days`` before ``end``: current numbers better than the previous ones but CFR."""
    window = Window(end - timedelta(days=days), end, timezone)
    report = DoraReport(
        team_id="team-a",
        team_name="Team A",
        profile="dora-2023",
        profile_title="DORA 2023",
        period_key=f"{days}d",
        period_label=f"last {days} days",
        current=figures(window),
        previous=figures(
            window.previous(),
            deployments=3,
            per_week=0.8,
            lead_s=13.5 * HOUR,
            failed=0,
            tiers=("high", "elite", "elite", None),
            recovery_s=3 * HOUR,
        ),
        weekly=weekly(window),
        targets={"lead_time_hours": 48.0, "change_failure_rate": 0.1},
    )
    return replace(report, **overrides)  # type: ignore[arg-type]


def empty_report(*, days: int = 30) -> DoraReport:
    """A team with no deployments, changes or incidents at all."""
    window = Window(END - timedelta(days=days), END, "UTC")
    none = dict(
        deployments=0, per_week=0.0, lead_s=None, stages={}, failed=0, recovery_s=None, tiers=("low", None, None, None)
    )
    current = figures(window, **none)  # type: ignore[arg-type]
    current = replace(current, time_to_restore=Restore(0, 0, None, None))
    return sample_report(
        days=days,
        timezone="UTC",
        current=current,
        previous=replace(figures(window.previous(), **none), time_to_restore=Restore(0, 0, None, None)),  # type: ignore[arg-type]
        weekly=weekly(window, empty=True),
        no_data_hint="No production deployments seen in this period: is `production.environments` right for team-a?",
    )
