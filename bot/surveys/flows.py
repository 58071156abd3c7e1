"""Survey steps that reach people: opening with DM invitations, reminders, closing with the results.

Everything sent here goes through the outbox in the same transaction as the change that decided it,
so a crash cannot lose an invitation or send one twice. Outbox keys name runs and people only for
invitations and reminders (who was asked), never for answers: the thanks after answering is an
interactive reply made by the listener, so no table records when anyone answered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.charts.pulse import pulse_chart
from bot.outbox.service import enqueue
from bot.surveys import blocks, schedule, service
from bot.surveys.compute import PulseResults
from bot.surveys.models import SurveyRun
from bot.surveys.templates import Template, questions_from_data
from bot.teams.config import TeamConfig
from bot.teams.service import get_team, timezones_of

log = logging.getLogger(__name__)


def closes_label(moment: datetime, timezone: str) -> str:
    """A time each reader sees in their own zone (Slack date formatting), with the team's as fallback."""
    fallback = f"{service.format_local(moment, timezone)} {moment.astimezone(ZoneInfo(timezone)):%Z}"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def run_info(run: SurveyRun, team: TeamConfig) -> blocks.RunInfo:
    """What people are told about a run."""
    return blocks.RunInfo(
        run_id=run.id or 0,
        team_name=team.name,
        title=run.title,
        closes=closes_label(run.closes_at, team.timezone),
        questions=questions_from_data(run.questions),
        threshold=run.threshold,
        reminders=team.survey.reminders > 0,
    )


def _queue_dm(session: Session, key: str, slack_id: str, text: str, message: list[dict], at: datetime) -> None:
    """A DM through the outbox, sent no earlier than ``at`` (for a reminder: inside working hours)."""
    enqueue(
        session=session,
        key=key,
        method="dm",
        channel=slack_id,
        payload={"text": text, "blocks": message},
        not_before=at,
    )


def start_survey(
    *,
    session: Session,
    team: TeamConfig,
    template: Template,
    now: datetime,
    opened_by: str | None = None,
    key: str | None = None,
) -> SurveyRun:
    """Open a run and queue one DM invitation per member."""
    run = service.open_run(session=session, team=team, template=template, now=now, key=key, opened_by=opened_by)
    text, invitation = blocks.invitation(run_info(run, team))
    for person in service.participants(session=session, run=run):
        _queue_dm(session, f"survey-invite:{run.id}:{person.slack_id}", person.slack_id, text, invitation, now)
    log.info("opened survey run %s for %s (%s)", run.id, team.id, run.template)
    return run


def working_hours_of(
    *, session: Session, team: TeamConfig, slack_ids: Sequence[str]
) -> dict[str, schedule.WorkingHours]:
    """Each person's working hours: the team's working day in their own time zone (else the team's)."""
    zones = timezones_of(session=session, slack_ids=list(slack_ids))
    return {s: schedule.WorkingHours.from_config(team.reviews, zones.get(s) or team.timezone) for s in slack_ids}


def send_reminders(*, session: Session, run: SurveyRun, team: TeamConfig, now: datetime, secret: bytes) -> int:
    """Queue the reminders due now to people who have not answered; returns how many."""

    def hours_of(slack_ids: list[str]) -> dict[str, schedule.WorkingHours]:
        return working_hours_of(session=session, team=team, slack_ids=slack_ids)

    due = service.people_to_remind(
        session=session, run=run, now=now, allowed=team.survey.reminders, hours_of=hours_of, secret=secret
    )
    if not due:
        return 0
    text, message = blocks.reminder(run_info(run, team))
    for person in due:
        key = f"survey-remind:{run.id}:{person.slack_id}:{person.reminders_sent + 1}"
        _queue_dm(session, key, person.slack_id, text, message, now)
        service.mark_reminded(session=session, row=person)
    return len(due)


@dataclass(frozen=True)
class PulseReport:
    """What ``/pulse TEAM`` shows: the open run's status, the latest closed run's results and chart."""

    open_line: str | None
    text: str | None
    blocks: list[dict]
    chart: bytes | None
    chart_title: str


def _chart(*, session: Session, run: SurveyRun, team: TeamConfig, results: PulseResults) -> bytes | None:
    if not results.shown:
        return None
    history = [
        (f"{s.opened_at.astimezone(ZoneInfo(team.timezone)):%-d %b}", s.headline)
        for s in service.sentiment_history(session=session, team_id=team.id, template=run.template)
        if s.shown and s.headline is not None
    ]
    return pulse_chart(team.name, results, history)


def close_survey(*, session: Session, run: SurveyRun, now: datetime) -> PulseResults:
    """Close a run and queue its results (and chart, when shown) for the team's channel."""
    team = get_team(session=session, team_id=run.team_id)
    results = service.close_run(session=session, run=run, now=now, timezone=team.timezone)
    text, message = blocks.results_message(team.name, results, service.format_local(now, team.timezone))
    enqueue(
        session=session,
        key=f"survey-results:{run.id}",
        method="chat.postMessage",
        channel=team.channel,
        payload={"text": text, "blocks": message, "unfurl_links": False},
    )
    png = _chart(session=session, run=run, team=team, results=results)
    if png is not None:
        enqueue(
            session=session,
            key=f"survey-chart:{run.id}",
            method="files.upload_v2",
            channel=team.channel,
            payload={
                "content": png,
                "filename": f"pulse-{team.id}-{run.id}.png",
                "title": f"{team.name} · {run.title}",
            },
        )
    log.info("closed survey run %s for %s: %s", run.id, team.id, "shown" if results.shown else "below threshold")
    return results


def pulse_report(*, session: Session, team: TeamConfig, now: datetime) -> PulseReport:
    """The answer to ``/pulse TEAM``; live figures of an open run are never shown, only its count."""
    open_line = None
    current = service.open_run_of_team(session=session, team_id=team.id)
    if current is not None:
        count = service.response_count(session=session, run=current)
        closes = closes_label(current.closes_at, team.timezone)
        open_line = blocks.open_run_line(team.name, current.title, closes, count, current.threshold)
    last = service.latest_closed_run(session=session, team_id=team.id)
    if last is None:
        return PulseReport(open_line, None, [], None, "")
    results = service.results_for_run(session=session, run=last, timezone=team.timezone)
    closed = service.format_local(last.closed_at or now, team.timezone)
    text, message = blocks.results_message(team.name, results, closed)
    chart = _chart(session=session, run=last, team=team, results=results)
    return PulseReport(open_line, text, message, chart, f"{team.name} · {last.title}")


# --- what a person's clicks and submissions lead to ------------------------------------------------


def survey_view(
    *, session: Session, run_id: int, slack_id: str, meta: blocks.AnswerMeta, secret: bytes, now: datetime
) -> dict:
    """The modal a click on *Take the survey* opens: the survey (with the person's own answers), or why not."""
    run = service.get_run(session=session, run_id=run_id)
    if run is None:
        return blocks.notice_modal("Pulse check", "I cannot find this survey any more. Nothing to do here, thank you!")
    team = get_team(session=session, team_id=run.team_id)
    try:
        service.require_participant(session=session, run=run, slack_id=slack_id, now=now)
    except service.SurveyError as exc:
        return blocks.notice_modal("Pulse check", str(exc))
    mine = service.own_answers(session=session, run=run, slack_id=slack_id, secret=secret)
    return blocks.answer_modal(run_info(run, team), meta, mine)


@dataclass(frozen=True)
class Submitted:
    """The outcome of a survey submission: stored (new or updated), or problems to show in the modal."""

    errors: dict[str, str]
    notice: str | None = None
    created: bool = False
    info: blocks.RunInfo | None = None


def submit_answers(
    *, session: Session, meta: blocks.AnswerMeta, slack_id: str, values: dict, secret: bytes, now: datetime
) -> Submitted:
    """Store a submitted survey; problems come back by block id, a closed survey as a friendly notice."""
    run = service.get_run(session=session, run_id=meta.run)
    if run is None:
        return Submitted({}, notice="I cannot find this survey any more, so your answers were not stored.")
    answers, comment = blocks.read_answer_modal(values, questions_from_data(run.questions))
    try:
        created = service.record_response(
            session=session, run=run, slack_id=slack_id, answers=answers, comment=comment, secret=secret, now=now
        )
    except service.InvalidAnswersError as exc:
        return Submitted(blocks.answer_errors(exc.problems))
    except service.SurveyError as exc:
        return Submitted({}, notice=str(exc))
    return Submitted({}, created=created, info=run_info(run, get_team(session=session, team_id=run.team_id)))


def _open_run_for(session: Session, run_id: int, slack_id: str, now: datetime) -> SurveyRun:
    run = service.get_run(session=session, run_id=run_id)
    if run is None:
        raise service.SurveyNotOpenError("I cannot find this survey any more. Nothing to do here, thank you!")
    service.require_participant(session=session, run=run, slack_id=slack_id, now=now)
    return run


def remind_later(*, session: Session, run_id: int, slack_id: str, now: datetime) -> tuple[str, list[dict]]:
    """*Remind me later*: the next reminder moves to the person's next working morning (or a few hours)."""
    run = _open_run_for(session, run_id, slack_id, now)
    team = get_team(session=session, team_id=run.team_id)
    hours = working_hours_of(session=session, team=team, slack_ids=[slack_id])[slack_id]
    when = schedule.remind_later_at(now, run.closes_at, hours)
    if when is not None:
        service.remind_later(session=session, run=run, slack_id=slack_id, at=when, now=now)
    return blocks.reminding_later(run_info(run, team), None if when is None else closes_label(when, team.timezone))


def skip_survey(*, session: Session, run_id: int, slack_id: str, now: datetime) -> tuple[str, list[dict]]:
    """*Skip this one*: no reminders for this run; the person may still answer."""
    run = _open_run_for(session, run_id, slack_id, now)
    service.skip(session=session, run=run, slack_id=slack_id, now=now)
    return blocks.skipped(run_info(run, get_team(session=session, team_id=run.team_id)))
