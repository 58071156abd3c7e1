"""The survey jobs on a frozen clock walked across the end of summer time: cadence, reminders, closing."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from bot.db import session_scope
from bot.outbox.models import OutboxMessage
from bot.scheduler.registry import JobContext, build_registry
from bot.settings import Settings
from bot.surveys import scheduled, service
from bot.surveys.models import SurveyResult, SurveyRun
from bot.surveys.schedule import WorkingHours
from bot.teams.config import ReviewsConfig
from bot.teams.service import set_timezone
from tests.survey_factories import MEMBERS, SECRET, answer, apply_survey_teams, pulse_answers, utc

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = {MEMBERS[1]: "America/New_York", MEMBERS[2]: "Asia/Tokyo"}  # everyone else: the team's Berlin


@pytest.fixture
def ctx(engine: Engine) -> JobContext:
    with session_scope(engine) as session:
        apply_survey_teams(session)
        set_timezone(session=session, slack_id=MEMBERS[2], timezone="Asia/Tokyo")
    return JobContext(settings=Settings(sei_secret_key=SECRET.decode()), engine=engine)


def tick(ctx: JobContext, now: datetime) -> None:
    """One scheduler round; on the hour twice, as two schedulers sharing the database would run it."""
    for _ in range(2 if now.minute == 0 else 1):
        scheduled.open_due_surveys(ctx, now)
        scheduled.send_survey_reminders(ctx, now)
        scheduled.close_due_surveys(ctx, now)


def survey_weeks(start: datetime, end: datetime) -> list[datetime]:
    """Every 30 minutes while a run is open (Tuesday to Friday of weeks 43 and 45), every 6 hours otherwise."""
    moments, now = [], start
    while now < end:
        moments.append(now)
        busy = now.isocalendar().week in (43, 45) and 1 <= now.weekday() <= 4  # Tuesday to Friday
        now += timedelta(minutes=30) if busy else timedelta(hours=6)
    return moments


def outbox(engine: Engine, prefix: str) -> list[OutboxMessage]:
    """Team A's outbox rows whose key starts with ``prefix`` (team B runs on its own cadence too)."""
    with session_scope(engine) as session:
        team_a = set(session.scalars(select(SurveyRun.id).where(SurveyRun.team_id == "team-a")))
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix)))  # type: ignore[attr-defined]
        return sorted((r for r in rows if int(r.key.split(":")[1]) in team_a), key=lambda r: r.key)


def test_three_weeks_across_the_dst_change(ctx: JobContext) -> None:
    engine = ctx.engine
    for now in survey_weeks(utc(2026, 10, 19), utc(2026, 11, 9)):  # summer time ends on Sunday 25 October
        tick(ctx, now)
        if now == utc(2026, 10, 20, 12):  # the early birds answer the first run at once
            with session_scope(engine) as session:
                run = session.scalars(select(SurveyRun).where(SurveyRun.team_id == "team-a")).one()
                for member in MEMBERS[3:8]:
                    answer(session, run, member, pulse_answers(4), now)

    with session_scope(engine) as session:
        runs = list(
            session.scalars(select(SurveyRun).where(SurveyRun.team_id == "team-a").order_by(SurveyRun.opened_at))
        )
        results = {r.run_id: r for r in session.scalars(select(SurveyResult))}
    # Every other Tuesday at 10:00 Berlin time, summer time (UTC+2) and then winter time (UTC+1).
    assert [r.opened_at for r in runs] == [utc(2026, 10, 20, 8), utc(2026, 11, 3, 9)]
    assert [r.closes_at for r in runs] == [utc(2026, 10, 23, 8), utc(2026, 11, 6, 9)]
    assert [r.key for r in runs] == ["survey:team-a:2026-10-20", "survey:team-a:2026-11-03"]
    assert all(r.status == "closed" for r in runs)
    assert [(results[r.id].week, results[r.id].responses, results[r.id].shown) for r in runs] == [
        ("2026-W43", 5, True),
        ("2026-W45", 0, False),
    ]

    invitations = outbox(engine, "survey-invite:")
    assert len(invitations) == 2 * len(MEMBERS)  # once per person and run, though every job ran twice
    assert {i.not_before for i in invitations} == {runs[0].opened_at, runs[1].opened_at}

    reminders = outbox(engine, "survey-remind:")
    per_person: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for row in reminders:
        _, run_id, slack_id, _ = row.key.split(":")
        per_person[(int(run_id), slack_id)].append(row.not_before)
    first, second = runs[0].id, runs[1].id
    # Those who answered got no reminder; everyone else exactly two per run.
    assert sorted(s for r, s in per_person if r == first) == sorted(MEMBERS[:3])
    assert sorted(s for r, s in per_person if r == second) == sorted(MEMBERS)
    assert {len(times) for times in per_person.values()} == {2}
    reviews = ReviewsConfig()
    for (run_id, slack_id), times in per_person.items():
        hours = WorkingHours.from_config(reviews, ZONES.get(slack_id, "Europe/Berlin"))
        run = next(r for r in runs if r.id == run_id)
        for moment in times:
            assert hours.contains(moment), f"{slack_id} reminded at {moment} outside their working hours"
            assert run.opened_at < moment < run.closes_at - timedelta(hours=1)
    # Tokyo's working day is Berlin's night: its reminders come at 09:00 Tokyo time.
    assert {t.astimezone(ZoneInfo("Asia/Tokyo")).hour for t in per_person[(second, MEMBERS[2])]} == {9}

    posted = outbox(engine, "survey-results:")
    assert [p.channel for p in posted] == ["C0SURVEYA1", "C0SURVEYA1"]
    assert [c.key for c in outbox(engine, "survey-chart:")] == [f"survey-chart:{first}"]


def test_an_opening_missed_by_far_is_skipped_and_a_late_one_still_happens(ctx: JobContext) -> None:
    # Team B's cadence is Tuesday 10:00 UTC, team A's 10:00 Berlin (09:00 UTC in November).
    assert scheduled.open_due_surveys(ctx, utc(2026, 11, 3, 22, 30)) == "opened 0 survey(s)"  # 12.5 h late
    assert scheduled.open_due_surveys(ctx, utc(2026, 11, 17, 13)) == "opened 2 survey(s): team-a, team-b"
    with session_scope(ctx.engine) as session:
        run = session.scalars(select(SurveyRun).where(SurveyRun.team_id == "team-a")).one()
    assert run.opened_at == utc(2026, 11, 17, 9) and run.closes_at == utc(2026, 11, 20, 9)


def test_a_manual_survey_holds_back_the_cadence_and_reminders_respect_skip(ctx: JobContext) -> None:
    from tests.survey_factories import open_pulse

    with session_scope(ctx.engine) as session:
        run = open_pulse(session, utc(2026, 11, 16, 9), template="enps")
        service.skip(session=session, run=run, slack_id=MEMBERS[0], now=utc(2026, 11, 16, 9))
    assert scheduled.open_due_surveys(ctx, utc(2026, 11, 17, 9, 5)) == "opened 0 survey(s)"  # B's is at 10:00
    scheduled.send_survey_reminders(ctx, utc(2026, 11, 17, 9, 10))  # Tue 10:10 Berlin: first reminder due
    reminded = {row.channel for row in outbox(ctx.engine, "survey-remind:")}
    assert MEMBERS[0] not in reminded and MEMBERS[3] in reminded
    assert MEMBERS[1] not in reminded  # 04:10 in New York


def test_the_jobs_are_registered_with_fixed_ids() -> None:
    registry = build_registry()
    for job_id in ("survey-open", "survey-remind", "survey-close"):
        spec = registry.get(job_id)
        assert spec is not None and spec.func.__module__ == "bot.surveys.scheduled"
