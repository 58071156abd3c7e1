"""Survey runs in the database: templates, opening, answers, closing. Keyword-only; never commits.

Anonymity (see also ``models.py``):

- A response row holds a random id, the run, the answers and the comment. While the run is open it
  also holds ``respondent_hash`` = HMAC(server secret, run salt + Slack id), so its author can change
  their answers and nobody answers twice. Who has answered is *derived* from those hashes, never
  written down: answering changes no other row, so no row of the participants table (or its
  PostgreSQL ``xmin``) moves at the moment someone answers.
- Closing a run destroys the salt and the hashes, rewrites the answers in a random order under new
  ids (so neither SQLite's ``rowid`` nor PostgreSQL's row order and ``xmin`` keep the order in which
  people answered), deletes the participant rows (who was reminded, who skipped) and keeps only
  counts. A run that closes below the threshold keeps no answers at all: they could never be shown.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.errors import PermissionDeniedError, UserFacingError
from bot.surveys import compute, schedule
from bot.surveys.compute import Previous, PulseResults, Response
from bot.surveys.enums import ParticipantStatus, RunStatus
from bot.surveys.models import SurveyParticipant, SurveyResponse, SurveyResult, SurveyRun, SurveyTemplate
from bot.surveys.templates import BUILT_IN, TEMPLATE_KEY, Template, questions_from_data
from bot.teams.config import QuestionConfig, SurveyTemplateConfig, TeamConfig
from bot.teams.models import Person

log = logging.getLogger(__name__)


class SurveyError(UserFacingError):
    """A survey request that cannot be done; the message says why, kindly."""


class UnknownTemplateError(SurveyError):
    """No template with this key; the message lists the ones there are."""


class SurveyAlreadyOpenError(SurveyError):
    """The team already has an open survey."""


class SurveyNotOpenError(SurveyError):
    """The survey closed (or never existed): answers are no longer taken."""


class NotInvitedError(SurveyError):
    """The person was not invited to this survey."""


class InvalidAnswersError(ValueError):
    """A submission with problems, by question id (shown inline in the modal)."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the answers")


# --- templates -------------------------------------------------------------------------------------


def _template_from_row(row: SurveyTemplate) -> Template:
    return Template(key=row.key, title=row.title, questions=questions_from_data(row.questions), source=row.source)


def resolve_template(*, session: Session, key: str) -> Template:
    """The template with this key: ``teams.yml`` and admin-made ones first, then the built-ins."""
    key = key.strip().lower()
    row = session.scalars(select(SurveyTemplate).where(col(SurveyTemplate.key) == key)).first()
    if row is not None:
        return _template_from_row(row)
    if key in BUILT_IN:
        return BUILT_IN[key]
    known = ", ".join(t.key for t in list_templates(session=session))
    raise UnknownTemplateError(f"There is no survey template `{key}`. Templates: {known}.")


def list_templates(*, session: Session) -> list[Template]:
    """Every template that can be started, by key."""
    found = {t.key: t for t in BUILT_IN.values()}
    for row in session.scalars(select(SurveyTemplate)):
        found[row.key] = _template_from_row(row)
    return [found[key] for key in sorted(found)]


def create_template(
    *, session: Session, key: str, title: str, questions: Sequence[QuestionConfig], created_by: str
) -> Template:
    """Store a template an admin made in Slack; its key must be new (``SurveyError`` otherwise)."""
    if not TEMPLATE_KEY.match(key):
        raise SurveyError(f"`{key}` cannot be a template key: use lower-case letters, digits, '-' or '_'.")
    taken = (
        key in BUILT_IN or session.scalars(select(col(SurveyTemplate.id)).where(col(SurveyTemplate.key) == key)).first()
    )
    if taken:
        raise SurveyError(f"A template called `{key}` already exists: pick another key.")
    config = SurveyTemplateConfig(title=title, questions=list(questions))  # validates the questions
    row = SurveyTemplate(
        key=key,
        title=config.title,
        questions=[q.model_dump() for q in config.questions],
        created_by=created_by,
        source="slack",
    )
    session.add(row)
    session.flush()
    return _template_from_row(row)


def sync_config_templates(*, session: Session, templates: Mapping[str, SurveyTemplateConfig]) -> None:
    """Make the ``teams.yml`` templates in the table match the file (admin-made ones are left alone)."""
    rows = {r.key: r for r in session.scalars(select(SurveyTemplate))}
    for key, config in templates.items():
        row = rows.get(key) or SurveyTemplate(key=key, title=config.title)
        if row.source == "slack" and row.id is not None:
            log.warning("teams.yml template %s replaces the one created in Slack", key)
        row.title, row.source = config.title, "teams.yml"
        row.questions = [q.model_dump() for q in config.questions]
        session.add(row)
    for key, row in rows.items():
        if row.source == "teams.yml" and key not in templates:
            session.delete(row)
    session.flush()


# --- who may do what ------------------------------------------------------------------------------


def require_manager(*, session: Session, team: TeamConfig, slack_id: str) -> None:
    """Starting and closing a team's surveys is for its leads and the admins (``PermissionDeniedError``)."""
    if slack_id in team.leads:
        return
    person = session.scalars(select(Person).where(col(Person.slack_id) == slack_id)).first()
    if person is not None and person.is_admin:
        return
    leads = ", ".join(f"<@{lead}>" for lead in team.leads) or "none named in teams.yml"
    raise PermissionDeniedError(
        f"Sorry, only {team.name}'s leads ({leads}) and sei-bot admins can start or close its surveys."
    )


def require_admin(*, session: Session, slack_id: str) -> None:
    """Creating survey templates is for the admins of ``teams.yml`` (``PermissionDeniedError``)."""
    person = session.scalars(select(Person).where(col(Person.slack_id) == slack_id)).first()
    if person is None or not person.is_admin:
        raise PermissionDeniedError("Sorry, only sei-bot admins (`admins:` in teams.yml) can create survey templates.")


# --- runs ------------------------------------------------------------------------------------------


def get_run(*, session: Session, run_id: int) -> SurveyRun | None:
    """A run by id."""
    return session.get(SurveyRun, run_id)


def open_run_of_team(*, session: Session, team_id: str) -> SurveyRun | None:
    """The team's open run, if any."""
    return session.scalars(
        select(SurveyRun).where(col(SurveyRun.team_id) == team_id, col(SurveyRun.status) == RunStatus.OPEN)
    ).first()


def latest_closed_run(*, session: Session, team_id: str) -> SurveyRun | None:
    """The team's most recently closed run."""
    return session.scalars(
        select(SurveyRun)
        .where(col(SurveyRun.team_id) == team_id, col(SurveyRun.status) == RunStatus.CLOSED)
        .order_by(col(SurveyRun.closed_at).desc(), col(SurveyRun.id).desc())
    ).first()


def open_run(
    *,
    session: Session,
    team: TeamConfig,
    template: Template,
    now: datetime,
    key: str | None = None,
    opened_by: str | None = None,
) -> SurveyRun:
    """Open a run for the team's members now; it closes ``open_days`` later at the same local time."""
    current = open_run_of_team(session=session, team_id=team.id)
    if current is not None:
        raise SurveyAlreadyOpenError(
            f"{team.name} already has a survey open ({current.title}) until "
            f"{format_local(current.closes_at, team.timezone)}. Close it first with `/pulse close {team.id}`."
        )
    run = SurveyRun(
        key=key or f"survey:{team.id}:{now.isoformat(timespec='seconds')}",
        team_id=team.id,
        template=template.key,
        title=template.title,
        questions=template.questions_data(),
        threshold=compute.effective_threshold(team.anonymity_threshold),
        status=RunStatus.OPEN,
        opened_at=now,
        closes_at=schedule.add_local_days(now, team.survey.open_days, ZoneInfo(team.timezone)),
        opened_by=opened_by,
        salt=secrets.token_hex(32),
    )
    session.add(run)
    session.flush()
    assert run.id is not None  # given by the flush
    session.add_all(SurveyParticipant(run_id=run.id, slack_id=m) for m in dict.fromkeys(team.members))
    session.flush()
    return run


def format_local(moment: datetime, timezone: str) -> str:
    """``Fri 27 Nov 10:00`` in a zone (for messages)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def is_accepting(run: SurveyRun, now: datetime) -> bool:
    """True while the run takes answers (open and not past its closing time)."""
    return run.status == RunStatus.OPEN and run.salt is not None and now < run.closes_at


def participants(*, session: Session, run: SurveyRun) -> list[SurveyParticipant]:
    """The people invited to a run, by Slack id."""
    return list(
        session.scalars(
            select(SurveyParticipant)
            .where(col(SurveyParticipant.run_id) == run.id)
            .order_by(col(SurveyParticipant.slack_id))
        )
    )


def participant(*, session: Session, run: SurveyRun, slack_id: str) -> SurveyParticipant | None:
    """One invited person's row (``None`` when they were not invited)."""
    return session.scalars(
        select(SurveyParticipant).where(
            col(SurveyParticipant.run_id) == run.id, col(SurveyParticipant.slack_id) == slack_id
        )
    ).first()


# --- answers ---------------------------------------------------------------------------------------


def respondent_hash(secret: bytes, salt: str, slack_id: str) -> str:
    """HMAC-SHA256 of the run's salt and the Slack id: finds a respondent's row only while the salt exists."""
    return hmac.new(secret, f"{salt}:{slack_id}".encode(), hashlib.sha256).hexdigest()


def require_participant(*, session: Session, run: SurveyRun, slack_id: str, now: datetime) -> None:
    """``SurveyNotOpenError`` when the run takes no answers, ``NotInvitedError`` when it was not sent to them."""
    if not is_accepting(run, now):
        raise SurveyNotOpenError(f"The survey “{run.title}” has closed, so it no longer takes answers. Thank you!")
    if participant(session=session, run=run, slack_id=slack_id) is None:
        raise NotInvitedError(
            f"The survey “{run.title}” went to the members of `{run.team_id}` when it opened, "
            "and you were not among them, so it cannot take your answers."
        )


def _own_row(*, session: Session, run: SurveyRun, slack_id: str, secret: bytes) -> SurveyResponse | None:
    digest = respondent_hash(secret, run.salt or "", slack_id)
    return session.scalars(
        select(SurveyResponse).where(
            col(SurveyResponse.run_id) == run.id, col(SurveyResponse.respondent_hash) == digest
        )
    ).first()


def own_answers(*, session: Session, run: SurveyRun, slack_id: str, secret: bytes) -> Response | None:
    """A person's own answers to an open run (to fill the modal when they change them)."""
    if run.salt is None:
        return None
    row = _own_row(session=session, run=run, slack_id=slack_id, secret=secret)
    return None if row is None else Response(answers=dict(row.answers), comment=row.comment)


def record_response(
    *,
    session: Session,
    run: SurveyRun,
    slack_id: str,
    answers: Mapping[str, Any],
    comment: str | None,
    secret: bytes,
    now: datetime,
) -> bool:
    """Store a person's answers, replacing their earlier ones; ``True`` when they are new.

    Raises ``SurveyNotOpenError``/``NotInvitedError`` (user-facing) or ``InvalidAnswersError``.
    """
    # The run's row is locked until this answer commits, and closing takes the same lock: an answer
    # is either in the closed results or refused, never stored beside them with its hash.
    session.refresh(run, with_for_update=True)
    require_participant(session=session, run=run, slack_id=slack_id, now=now)
    problems = compute.validate_answers(questions_from_data(run.questions), answers, comment)
    if problems:
        raise InvalidAnswersError(problems)
    clean = {k: v.strip() if isinstance(v, str) else v for k, v in answers.items() if v not in (None, "")}
    comment = comment.strip() if comment and comment.strip() else None
    row = _own_row(session=session, run=run, slack_id=slack_id, secret=secret)
    if row is not None:
        row.answers, row.comment = clean, comment
        session.add(row)
        session.flush()
        return False
    digest = respondent_hash(secret, run.salt or "", slack_id)
    # An upsert, because the same person can submit twice at once (a double click): the later wins.
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(SurveyResponse).values(
        id=str(uuid.uuid4()), run_id=run.id, respondent_hash=digest, answers=clean, comment=comment
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["run_id", "respondent_hash"], set_={"answers": clean, "comment": comment}
        )
    )
    return True


def answered(*, session: Session, run: SurveyRun, slack_ids: Sequence[str], secret: bytes) -> set[str]:
    """Which of these people have answered an open run (derived from the hashes; empty once closed)."""
    if run.salt is None:
        return set()
    stored = set(
        session.scalars(
            select(col(SurveyResponse.respondent_hash)).where(
                col(SurveyResponse.run_id) == run.id,
                col(SurveyResponse.respondent_hash).is_not(None),
            )
        )
    )
    salt = run.salt
    return {s for s in slack_ids if respondent_hash(secret, salt, s) in stored}


def response_count(*, session: Session, run: SurveyRun) -> int:
    """How many people have answered (the only live figure of an open run)."""
    return (
        session.scalar(select(func.count()).select_from(SurveyResponse).where(col(SurveyResponse.run_id) == run.id))
        or 0
    )


def skip(*, session: Session, run: SurveyRun, slack_id: str, now: datetime) -> None:
    """The person does not want this run's reminders (they may still answer)."""
    require_participant(session=session, run=run, slack_id=slack_id, now=now)
    row = participant(session=session, run=run, slack_id=slack_id)
    assert row is not None  # checked above
    row.status, row.remind_after = ParticipantStatus.SKIPPED, None
    session.add(row)
    session.flush()


def remind_later(*, session: Session, run: SurveyRun, slack_id: str, at: datetime, now: datetime) -> None:
    """The person's next reminder comes at ``at`` instead of its usual time."""
    require_participant(session=session, run=run, slack_id=slack_id, now=now)
    row = participant(session=session, run=run, slack_id=slack_id)
    assert row is not None
    row.status, row.remind_after = ParticipantStatus.INVITED, at
    session.add(row)
    session.flush()


def people_to_remind(
    *,
    session: Session,
    run: SurveyRun,
    now: datetime,
    allowed: int,
    hours_of: Callable[[list[str]], Mapping[str, schedule.WorkingHours]],
    secret: bytes,
) -> list[SurveyParticipant]:
    """Participants who have not answered or skipped and whose next reminder is due now, in their hours.

    SQL narrows the run to people whose reminder time has come; only they are checked for an answer
    (an HMAC each) and for their working hours (``hours_of`` is asked about them alone).
    """
    if allowed <= 0 or now >= run.closes_at - schedule.LAST_CALL:
        return []
    passed = sum(schedule.reminder_due(run.opened_at, run.closes_at, allowed, k) <= now for k in range(1, allowed + 1))
    time_has_come = or_(
        col(SurveyParticipant.remind_after) <= now,
        and_(col(SurveyParticipant.remind_after).is_(None), col(SurveyParticipant.reminders_sent) < passed),
    )
    rows = list(
        session.scalars(
            select(SurveyParticipant)
            .where(
                col(SurveyParticipant.run_id) == run.id,
                col(SurveyParticipant.status) == ParticipantStatus.INVITED,
                col(SurveyParticipant.reminders_sent) < allowed,
                time_has_come,
            )
            .order_by(col(SurveyParticipant.slack_id))
        )
    )
    if not rows:
        return []
    done = answered(session=session, run=run, slack_ids=[r.slack_id for r in rows], secret=secret)
    waiting = [r for r in rows if r.slack_id not in done]
    hours = hours_of([r.slack_id for r in waiting])
    return [
        r
        for r in waiting
        if schedule.should_remind(
            now=now,
            opened_at=run.opened_at,
            closes_at=run.closes_at,
            allowed=allowed,
            sent=r.reminders_sent,
            remind_after=r.remind_after,
            hours=hours[r.slack_id],
        )
    ]


def mark_reminded(*, session: Session, row: SurveyParticipant) -> bool:
    """Count a reminder as queued; ``False`` when another scheduler counted this one already."""
    counted: Any = session.execute(
        update(SurveyParticipant)
        .where(col(SurveyParticipant.id) == row.id, col(SurveyParticipant.reminders_sent) == row.reminders_sent)
        .values(reminders_sent=row.reminders_sent + 1, remind_after=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    return bool(counted.rowcount)


# --- closing and results ---------------------------------------------------------------------------


def _responses(session: Session, run: SurveyRun) -> list[Response]:
    rows = session.scalars(select(SurveyResponse).where(col(SurveyResponse.run_id) == run.id))
    return [Response(answers=dict(r.answers), comment=r.comment) for r in rows]


def previous_figures(*, session: Session, run: SurveyRun, timezone: str) -> Previous | None:
    """The last shown run of the same team and template before this one, for changes."""
    found = session.execute(
        select(SurveyResult, SurveyRun)
        .join(SurveyRun, col(SurveyRun.id) == col(SurveyResult.run_id))
        .where(
            col(SurveyRun.team_id) == run.team_id,
            col(SurveyRun.template) == run.template,
            col(SurveyRun.opened_at) < run.opened_at,
            col(SurveyResult.shown).is_(True),
        )
        .order_by(col(SurveyRun.opened_at).desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    result, earlier = found
    local = earlier.opened_at.astimezone(ZoneInfo(timezone))
    return compute.previous_from_figures(result.index_value, result.questions, label=f"{local.day} {local:%b}")


def close_run(*, session: Session, run: SurveyRun, now: datetime, timezone: str) -> PulseResults:
    """Close a run: compute and keep its results, then cut every link between people and answers."""
    session.refresh(run, with_for_update=True)  # waits for answers being stored (see record_response)
    if run.status == RunStatus.CLOSED:
        return results_for_run(session=session, run=run, timezone=timezone)
    assert run.id is not None  # a stored run
    invited = session.scalar(
        select(func.count()).select_from(SurveyParticipant).where(col(SurveyParticipant.run_id) == run.id)
    )
    responses = _responses(session, run)
    results = compute.summarize(
        title=run.title,
        questions=questions_from_data(run.questions),
        responses=responses,
        invited=invited or 0,
        threshold=run.threshold,
        previous=previous_figures(session=session, run=run, timezone=timezone),
    )
    session.add(
        SurveyResult(
            run_id=run.id,
            team_id=run.team_id,
            week=schedule.iso_week(run.opened_at, timezone),
            invited=results.invited,
            responses=results.responses,
            shown=results.shown,
            index_value=results.index if results.shown else None,
            questions=results.stored_figures() if results.shown else {},
        )
    )
    session.execute(delete(SurveyResponse).where(col(SurveyResponse.run_id) == run.id))
    if results.shown:
        random.SystemRandom().shuffle(responses)
        session.add_all(
            SurveyResponse(
                id=str(uuid.uuid4()), run_id=run.id, respondent_hash=None, answers=dict(r.answers), comment=r.comment
            )
            for r in responses
        )
    session.execute(delete(SurveyParticipant).where(col(SurveyParticipant.run_id) == run.id))
    run.status, run.closed_at, run.salt = RunStatus.CLOSED, now, None
    session.add(run)
    session.flush()
    return results


def results_for_run(*, session: Session, run: SurveyRun, timezone: str) -> PulseResults:
    """The results of a closed run, exactly as computed when it closed."""
    stored = session.scalars(select(SurveyResult).where(col(SurveyResult.run_id) == run.id)).first()
    if run.status != RunStatus.CLOSED or stored is None:
        raise SurveyError("This survey is still open: its results are shown once it closes.")
    if not stored.shown:
        return PulseResults(
            run.title, run.threshold, stored.invited, stored.responses, shown=False, response_rate=_rate(stored)
        )
    return compute.summarize(
        title=run.title,
        questions=questions_from_data(run.questions),
        responses=_responses(session, run),
        invited=stored.invited,
        threshold=run.threshold,
        previous=previous_figures(session=session, run=run, timezone=timezone),
    )


def _rate(result: SurveyResult) -> float | None:
    return round(result.responses / result.invited, 4) if result.invited else None


@dataclass(frozen=True)
class Sentiment:
    """A closed run's stored results, for the digest, the insight engine and trend charts."""

    run_id: int
    team_id: str
    week: str  # ISO week of the opening, in the team's time zone
    template: str
    title: str
    opened_at: datetime
    invited: int
    responses: int
    shown: bool
    index: float | None
    questions: Mapping[str, Any]  # question id → text, kind, answered, mean, distribution, enps, change

    @property
    def headline(self) -> float | None:
        """The index (1–5), or the eNPS of a survey without 1–5 questions."""
        if self.index is not None:
            return self.index
        return next((f["enps"] for f in self.questions.values() if f.get("enps") is not None), None)


def sentiment_history(
    *, session: Session, team_id: str, template: str | None = None, weeks: Sequence[str] | None = None, limit: int = 12
) -> list[Sentiment]:
    """A team's closed-run results, oldest first (the last ``limit``; optionally one template or some weeks).

    Runs below the threshold are included with ``shown=False`` and no figures, so a caller can say
    "too few answers" rather than "no survey".
    """
    query = (
        select(SurveyResult, SurveyRun)
        .join(SurveyRun, col(SurveyRun.id) == col(SurveyResult.run_id))
        .where(col(SurveyResult.team_id) == team_id)
        .order_by(col(SurveyRun.opened_at).desc())
        .limit(limit)
    )
    if template is not None:
        query = query.where(col(SurveyRun.template) == template)
    if weeks is not None:
        query = query.where(col(SurveyResult.week).in_(list(weeks)))
    rows = session.execute(query).all()
    return [
        Sentiment(
            run_id=run.id or 0,
            team_id=result.team_id,
            week=result.week,
            template=run.template,
            title=run.title,
            opened_at=run.opened_at,
            invited=result.invited,
            responses=result.responses,
            shown=result.shown,
            index=result.index_value,
            questions=result.questions,
        )
        for result, run in reversed(rows)
    ]
