"""``/pulse``, the survey invitation's buttons and the survey modal.

- ``/pulse [TEAM]`` acks at once, then shows the latest closed survey's results in the channel with
  its chart, and the open survey's answer count (never its figures).
- ``/pulse start TEAM [TEMPLATE]`` and ``/pulse close TEAM`` are for the team's leads and admins:
  checked in the ack, done after it. ``/pulse templates`` and ``/pulse help`` are answered in the ack;
  ``/pulse template new`` opens the admins' form with the command's ``trigger_id``.
- *Take the survey* opens the modal with the click's ``trigger_id`` (3 s, once) right away.
- A submitted survey is checked and stored before the ack, so problems come back inline
  (``response_action: errors``) and "thanks" only follows a stored answer.

Nothing here logs who answered: listeners log no user ids.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.app import errors_told_to_user
from bot.db import session_scope, utcnow
from bot.errors import UserFacingError
from bot.handlers.dora import NOT_HERE
from bot.settings import Settings
from bot.surveys import blocks, flows, service
from bot.surveys.command import PulseCommand, parse_pulse_text
from bot.surveys.enums import PulseAction, PulseBlock, PulseView
from bot.teams.config import TeamConfig
from bot.teams.service import person_by_slack_id, set_timezone, team_for_channel, team_for_command

log = logging.getLogger(__name__)


# --- /pulse ----------------------------------------------------------------------------------------


def _plan(engine: Engine, command: PulseCommand, user_id: str, channel_id: str | None) -> TeamConfig | None:
    """Resolve the team and check what this command may do (the team, permissions, the template)."""
    if command.kind in ("help", "templates"):
        return None
    with session_scope(engine) as session:
        if command.kind == "new-template":
            service.require_admin(session=session, slack_id=user_id)
            return None
        team = team_for_command(session=session, team_id=command.team_id, channel_id=channel_id, command="/pulse")
        if command.kind in ("start", "close"):
            service.require_manager(session=session, team=team, slack_id=user_id)
        if command.kind == "start":
            service.resolve_template(session=session, key=command.template or team.survey.template)
        # Whether a survey is open is checked by the work itself: the lazy listener runs alongside this
        # ack, and a check here could already see the survey this very command opened or closed.
        return team


def ack_pulse_command(ack: Ack, command: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
    """Answer within 3 s: help, templates, the admins' form, what is being done, or why not."""
    engine: Engine = context["engine"]
    try:
        parsed = parse_pulse_text(command.get("text"))
        team = _plan(engine, parsed, command["user_id"], command.get("channel_id"))
    except UserFacingError as exc:
        ack(text=f":warning: {exc}")
        return
    if parsed.kind == "help":
        with session_scope(engine) as session:
            here = team_for_channel(session=session, channel_id=command.get("channel_id") or "")
        ack(text=blocks.help_text(here.id if here else None))
    elif parsed.kind == "templates":
        with session_scope(engine) as session:
            ack(text=blocks.templates_text(service.list_templates(session=session)))
    elif parsed.kind == "new-template":
        ack()
        client.views_open(trigger_id=command["trigger_id"], view=blocks.template_modal())
    elif parsed.kind == "start" and team is not None:
        ack(text=f":hourglass_flowing_sand: Opening {team.name}'s survey and sending the invitations…")
    elif parsed.kind == "close" and team is not None:
        ack(text=f":hourglass_flowing_sand: Closing {team.name}'s survey…")
    elif team is not None:
        ack(text=f":hourglass_flowing_sand: Gathering {team.name}'s pulse results…")


def handle_pulse_command(
    body: dict[str, Any],
    command: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: dict[str, Any],
    logger: logging.Logger,
) -> None:
    """After the ack: open or close a survey, or show results and upload the chart."""
    with errors_told_to_user(body, respond, logger):
        engine: Engine = context["engine"]
        try:  # checked again: the lazy listener gets the request, not the ack's state
            parsed = parse_pulse_text(command.get("text"))
            team = _plan(engine, parsed, command["user_id"], command.get("channel_id"))
        except UserFacingError:
            return  # the ack already said what was wrong
        if team is None:
            return  # answered in the ack
        if parsed.kind == "start":
            _start(engine, team, parsed.template or team.survey.template, command["user_id"], respond)
        elif parsed.kind == "close":
            _close(engine, team, respond)
        else:
            _show(engine, client, team, command["channel_id"], respond)


def _start(engine: Engine, team: TeamConfig, template_key: str, user_id: str, respond: Respond) -> None:
    with session_scope(engine) as session:
        template = service.resolve_template(session=session, key=template_key)
        run = flows.start_survey(session=session, team=team, template=template, now=utcnow(), opened_by=user_id)
        invited = len(service.participants(session=session, run=run))
        closes = flows.closes_label(run.closes_at, team.timezone)
    respond(
        text=f":white_check_mark: {team.name}'s “{run.title}” is open until {closes}: {invited} invitations are on "
        f"their way by DM. Results are posted in <#{team.channel}> when it closes, if {run.threshold} or more "
        "people answered.",
        response_type="ephemeral",
        replace_original=False,
    )


def _close(engine: Engine, team: TeamConfig, respond: Respond) -> None:
    with session_scope(engine) as session:
        run = service.open_run_of_team(session=session, team_id=team.id)
        if run is None:
            raise service.SurveyNotOpenError(f"{team.name} has no survey open right now: `/pulse start {team.id}`.")
        results = flows.close_survey(session=session, run=run, now=utcnow())
    outcome = (
        f"the results are on their way to <#{team.channel}>."
        if results.shown
        else f"only {results.responses} answered, fewer than {results.threshold}, so no results are shown."
    )
    respond(text=f":lock: {team.name}'s survey is closed: {outcome}", response_type="ephemeral", replace_original=False)


def _show(engine: Engine, client: WebClient, team: TeamConfig, channel_id: str, respond: Respond) -> None:
    with session_scope(engine) as session:
        report = flows.pulse_report(session=session, team=team, now=utcnow())
    if report.text is None:
        first = report.open_line or f"No pulse survey has run for {team.name} yet."
        respond(
            text=f"{first} Leads can open one with `/pulse start {team.id}`." if not report.open_line else first,
            response_type="ephemeral",
            replace_original=False,
        )
        return
    message = list(report.blocks)
    if report.open_line:
        message.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": report.open_line}]})
    respond(text=report.text, blocks=message, response_type="in_channel", replace_original=False)
    if report.chart is None:
        return
    try:
        client.files_upload_v2(
            channel=channel_id,
            content=report.chart,
            filename=f"pulse-{team.id}.png",
            title=report.chart_title,
            alt_txt=f"Answers per question and the pulse index over time for {team.name}",
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_HERE:
            raise
        respond(
            text="I could not share the chart here: invite me to this channel (`/invite @sei-bot`) to get charts.",
            response_type="ephemeral",
            replace_original=False,
        )


# --- invitation buttons ----------------------------------------------------------------------------


def ack_pulse_click(ack: Ack) -> None:
    """Acknowledge a survey button at once; the work follows."""
    ack()


def _run_id(action: dict[str, Any]) -> int:
    try:
        return blocks.RunRef.model_validate_json(action.get("value") or "").run
    except ValidationError as exc:
        raise UserFacingError("This button is no longer valid. Open the survey from its latest message.") from exc


def handle_pulse_take_click(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: dict[str, Any],
    logger: logging.Logger,
) -> None:
    """Open the survey (or a friendly notice) with this click's ``trigger_id`` before it expires."""
    with errors_told_to_user(body, respond, logger):
        settings: Settings = context["settings"]
        container = body.get("container") or {}
        meta = blocks.AnswerMeta(
            run=_run_id(action), channel=container.get("channel_id"), ts=container.get("message_ts")
        )
        with session_scope(context["engine"]) as session:
            view = flows.survey_view(
                session=session,
                run_id=meta.run,
                slack_id=body["user"]["id"],
                meta=meta,
                secret=settings.secret_key(),
                now=utcnow(),
            )
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("expired_trigger_id", "exchanged_trigger_id"):
                raise
            raise UserFacingError(
                "Slack did not let me open the survey in time. Please click the button again."
            ) from exc


def _learn_timezone(engine: Engine, client: WebClient, user_id: str) -> None:
    """Remember the person's Slack time zone (for their working hours) when it is not known yet."""
    with session_scope(engine) as session:
        person = person_by_slack_id(session=session, slack_id=user_id)
        if person is None or person.timezone is not None:
            return
    try:
        zone = client.users_info(user=user_id)["user"].get("tz")
    except SlackApiError:
        return  # the team's zone stands in
    if zone:
        with session_scope(engine) as session:
            set_timezone(session=session, slack_id=user_id, timezone=zone)


def handle_pulse_remind_later_click(
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: dict[str, Any],
    logger: logging.Logger,
) -> None:
    """Move the person's next reminder to their next working morning and say when in the DM."""
    with errors_told_to_user(body, respond, logger):
        run_id, user_id = _run_id(action), body["user"]["id"]
        _learn_timezone(context["engine"], client, user_id)
        with session_scope(context["engine"]) as session:
            text, message = flows.remind_later(session=session, run_id=run_id, slack_id=user_id, now=utcnow())
        respond(text=text, blocks=message, replace_original=True)


def handle_pulse_skip_click(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, context: dict[str, Any], logger: logging.Logger
) -> None:
    """No more reminders for this survey; the DM keeps a way back in."""
    with errors_told_to_user(body, respond, logger):
        with session_scope(context["engine"]) as session:
            text, message = flows.skip_survey(
                session=session, run_id=_run_id(action), slack_id=body["user"]["id"], now=utcnow()
            )
        respond(text=text, blocks=message, replace_original=True)


# --- modals ----------------------------------------------------------------------------------------


def _notice(ack: Ack, message: str) -> None:
    ack(response_action="update", view=blocks.notice_modal("Pulse check", message))


def handle_pulse_answer_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Check and store the answers, then ack: problems inline, a closed survey as a notice, else close it.

    After the ack, the invitation DM the modal came from says the answers are in.
    """
    settings: Settings = context["settings"]
    try:
        meta = blocks.AnswerMeta.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        _notice(ack, "This form lost track of its survey. Please open it again from the invitation.")
        return
    values = (view.get("state") or {}).get("values") or {}
    with session_scope(context["engine"]) as session:
        outcome = flows.submit_answers(
            session=session,
            meta=meta,
            slack_id=body["user"]["id"],
            values=values,
            secret=settings.secret_key(),
            now=utcnow(),
        )
    if outcome.errors:
        ack(response_action="errors", errors=outcome.errors)
        return
    if outcome.notice is not None or outcome.info is None:
        _notice(ack, outcome.notice or "")
        return
    ack()
    if meta.channel and meta.ts:
        text, message = blocks.answered(outcome.info, updated=not outcome.created)
        client.chat_update(channel=meta.channel, ts=meta.ts, text=text, blocks=message)


def handle_pulse_template_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]
) -> None:
    """Create the template an admin described, or show what to fix next to the field."""
    values = (view.get("state") or {}).get("values") or {}
    try:
        form = blocks.read_template_modal(values)
        with session_scope(context["engine"]) as session:
            service.require_admin(session=session, slack_id=body["user"]["id"])
            service.create_template(
                session=session,
                key=form.key,
                title=form.title,
                questions=form.questions,
                created_by=body["user"]["id"],
            )
    except blocks.TemplateFormError as exc:
        ack(response_action="errors", errors=exc.errors)
        return
    except UserFacingError as exc:
        ack(response_action="errors", errors={PulseBlock.TEMPLATE_KEY: str(exc)})
        return
    ack(
        response_action="update",
        view=blocks.notice_modal(
            "Template created",
            f"`{form.key}` is ready with {len(form.questions)} questions: `/pulse start TEAM {form.key}`.",
        ),
    )


def register(app: App) -> None:
    """``/pulse``, the invitation buttons and the two modals."""
    app.command("/pulse")(ack=ack_pulse_command, lazy=[handle_pulse_command])
    app.action(PulseAction.TAKE.value)(ack=ack_pulse_click, lazy=[handle_pulse_take_click])
    app.action(PulseAction.REMIND_LATER.value)(ack=ack_pulse_click, lazy=[handle_pulse_remind_later_click])
    app.action(PulseAction.SKIP.value)(ack=ack_pulse_click, lazy=[handle_pulse_skip_click])
    app.view(PulseView.ANSWER.value)(handle_pulse_answer_submission)
    app.view(PulseView.NEW_TEMPLATE.value)(handle_pulse_template_submission)
