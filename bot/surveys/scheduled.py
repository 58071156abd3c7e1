"""Survey jobs: open runs on each team's cadence, remind in people's working hours, close runs that are due.

The jobs poll: each run asks "what should have happened by now?" and does what has not, so a run
missed while no scheduler was up still happens (opening only while it is still worth it). Opening
and closing are guarded by ``run_once`` keys; reminders by outbox keys that count them. ``now`` can
be given, so tests can walk the clock across a DST change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from bot.db import session_scope, utcnow
from bot.scheduler.registry import JobContext, JobRegistry, every
from bot.scheduler.service import run_once
from bot.surveys import flows, schedule, service
from bot.surveys.enums import RunStatus
from bot.surveys.models import SurveyRun
from bot.teams.config import TeamConfig
from bot.teams.service import get_team, list_teams

OPEN_JOB, REMIND_JOB, CLOSE_JOB = "survey-open", "survey-remind", "survey-close"
# A scheduled opening found later than this (a scheduler was down) is skipped: invitations arriving
# with hours left would only annoy.
LATEST_OPENING = timedelta(hours=12)


def _late_limit(team: TeamConfig) -> timedelta:
    return min(LATEST_OPENING, timedelta(days=team.survey.open_days) / 2)


def open_due_surveys(ctx: JobContext, now: datetime | None = None) -> str:
    """Open every team's survey whose cadence time has come, and queue its invitations."""
    now = now or utcnow()
    with session_scope(ctx.engine) as session:
        teams = [t for t in list_teams(session=session) if t.survey.enabled and t.members]
    opened = []
    for team in teams:
        opening = schedule.latest_opening(team.survey, team.timezone, now)
        if opening is None or now - opening > _late_limit(team):
            continue
        key = schedule.run_key(team.id, opening, team.timezone)
        with run_once(engine=ctx.engine, job_id=OPEN_JOB, key=key, now=now) as claim:
            if claim is None:
                continue
            session = claim.session
            if service.open_run_of_team(session=session, team_id=team.id) is not None:
                claim.detail = "skipped: the team already has a survey open"
                continue
            template = service.resolve_template(session=session, key=team.survey.template)
            flows.start_survey(session=session, team=team, template=template, now=opening, key=key)
            opened.append(team.id)
    return f"opened {len(opened)} survey(s){': ' + ', '.join(opened) if opened else ''}"


def _open_run_ids(ctx: JobContext, *, due_before: datetime | None = None) -> list[int]:
    query = select(col(SurveyRun.id)).where(col(SurveyRun.status) == RunStatus.OPEN)
    if due_before is not None:
        query = query.where(col(SurveyRun.closes_at) <= due_before)
    with session_scope(ctx.engine) as session:
        return [run_id for run_id in session.scalars(query.order_by(col(SurveyRun.id))) if run_id is not None]


def send_survey_reminders(ctx: JobContext, now: datetime | None = None) -> str:
    """Queue the reminders that are due now, in each person's working hours, at most the team's number."""
    now = now or utcnow()
    secret = ctx.settings.secret_key()
    sent = 0
    for run_id in _open_run_ids(ctx):
        with session_scope(ctx.engine) as session:
            run = session.get(SurveyRun, run_id)
            if run is None or not service.is_accepting(run, now):
                continue
            team = get_team(session=session, team_id=run.team_id)
            sent += flows.send_reminders(session=session, run=run, team=team, now=now, secret=secret)
    return f"queued {sent} reminder(s)"


def close_due_surveys(ctx: JobContext, now: datetime | None = None) -> str:
    """Close every run whose closing time has passed and queue its results for the team's channel."""
    now = now or utcnow()
    closed = 0
    for run_id in _open_run_ids(ctx, due_before=now):
        with run_once(engine=ctx.engine, job_id=CLOSE_JOB, key=f"survey-close:{run_id}", now=now) as claim:
            if claim is None:
                continue
            run = claim.session.get(SurveyRun, run_id)
            if run is None or run.status != RunStatus.OPEN:
                continue
            flows.close_survey(session=claim.session, run=run, now=now)
            closed += 1
    return f"closed {closed} survey(s)"


def register_jobs(registry: JobRegistry) -> None:
    """Declare the survey jobs."""
    registry.register_job(
        OPEN_JOB,
        open_due_surveys,
        every(minutes=5),
        "Open each team's pulse survey when its cadence comes round and queue the DM invitations",
        misfire_grace_time=300,
    )
    registry.register_job(
        REMIND_JOB,
        send_survey_reminders,
        every(minutes=10),
        "Remind people who have not answered an open survey, in their working hours (at most twice)",
        misfire_grace_time=600,
    )
    registry.register_job(
        CLOSE_JOB,
        close_due_surveys,
        every(minutes=5),
        "Close surveys whose time is up and post their results to the team's channel",
        misfire_grace_time=300,
    )
