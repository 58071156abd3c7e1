"""``/dora``: ack at once with what is being computed (or why not), then post the report and its chart.

``/dora [TEAM] [PERIOD]`` posts the four keys in the channel and uploads the weekly chart there;
``/dora TEAM explain METRIC`` and the buttons under a report answer only the person who asked
(through the ``response_url``); ``/dora help`` and every mistake are answered in the ack itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import errors_told_to_user
from bot.charts.dora import render_dora_chart
from bot.db import session_scope, utcnow
from bot.errors import UserFacingError
from bot.handlers.pacing import POST_PACER
from bot.metrics.blocks import (
    build_dora_blocks,
    build_explain_blocks,
    build_help_blocks,
    explain_text,
    help_text,
)
from bot.metrics.command import DoraCommand, DoraRef, parse_dora_text
from bot.metrics.display import has_any_data, report_text, report_title
from bot.metrics.enums import DoraAction
from bot.metrics.explain import metric_name
from bot.metrics.periods import Period
from bot.metrics.service import build_report, explain_metric
from bot.teams.config import TeamConfig
from bot.teams.models import Team
from bot.teams.service import team_for_channel, team_for_command

log = logging.getLogger(__name__)

# Errors that mean "the bot cannot post or share in this conversation" (private channel, DM…).
NOT_HERE = {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}


@dataclass(frozen=True)
class DoraPlan:
    """A parsed ``/dora`` resolved against the teams: what to compute, for whom."""

    command: DoraCommand
    team: TeamConfig | None


def plan_dora(engine: Engine, text: str, channel_id: str | None) -> DoraPlan:
    """Parse the text and find the team (named, or the channel's); ``UserFacingError`` otherwise."""
    command = parse_dora_text(text)
    if command.kind == "help":
        return DoraPlan(command, None)
    if command.kind == "explain":
        command = replace(command, metric=metric_name(command.metric or ""))
    with session_scope(engine) as session:
        team = team_for_command(session=session, team_id=command.team_id, channel_id=channel_id)
    return DoraPlan(command, team)


def _help_blocks(engine: Engine, channel_id: str | None) -> tuple[list[dict[str, Any]], str]:
    with session_scope(engine) as session:
        teams = list(session.scalars(select(Team.id).order_by(Team.id)))
        here = team_for_channel(session=session, channel_id=channel_id) if channel_id else None
    channel_team = here.id if here else None
    return build_help_blocks(channel_team=channel_team, teams=teams), help_text(channel_team=channel_team, teams=teams)


def ack_dora_command(ack: Ack, command: dict[str, Any], context: dict[str, Any]) -> None:
    """Answer within 3 s: what is being computed, the help, or what was wrong with the text."""
    engine: Engine = context["engine"]
    try:
        plan = plan_dora(engine, command.get("text", ""), command.get("channel_id"))
    except UserFacingError as exc:  # answered in the ack itself, before any work starts
        ack(text=f":warning: {exc}")
        return
    if plan.command.kind == "help":
        blocks, text = _help_blocks(engine, command.get("channel_id"))
        ack(text=text, blocks=blocks)
    elif plan.command.kind == "explain" and plan.team is not None:
        metric, period = plan.command.metric, plan.command.period.label
        ack(text=f":mag: Looking up what is behind `{metric}` for {plan.team.id} ({period})…")
    elif plan.team is not None:
        ack(text=f":hourglass_flowing_sand: Crunching the {plan.command.period.label} for {plan.team.id}…")


def handle_dora_command(
    body: dict[str, Any],
    command: dict[str, Any],
    client: WebClient,
    respond: Respond,
    context: dict[str, Any],
    logger: logging.Logger,
) -> None:
    """After the ack: post the report and chart in the channel, or answer an explanation privately."""
    with errors_told_to_user(body, respond, logger):
        try:  # parsed again (one indexed query): the lazy listener gets the request, not the ack's state
            plan = plan_dora(context["engine"], command.get("text", ""), command.get("channel_id"))
        except UserFacingError:
            return  # the ack already said what was wrong
        if plan.team is None:
            return  # help: answered in the ack
        if plan.command.kind == "explain":
            _explain(context["engine"], plan.team, plan.command.metric or "", plan.command.period, respond)
        else:
            post_report(context["engine"], client, respond, plan.team, plan.command, command["channel_id"])


def post_report(
    engine: Engine, client: WebClient, respond: Respond, team: TeamConfig, command: DoraCommand, channel_id: str
) -> None:
    """Compute the report; post it and upload the chart, or say privately why there is nothing to show."""
    as_of = utcnow()
    with session_scope(engine) as session:
        report = build_report(session=session, team=team, period=command.period, as_of=as_of)
    if not has_any_data(report.current):
        hint = report.no_data_hint or "No deployments, changes or incidents recorded in this period."
        respond(
            text=f"Nothing to show for {team.id} in the {command.period.label} yet. {hint} "
            f"Try a longer period: `/dora {team.id} 90d`.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    blocks, text = build_dora_blocks(report), report_text(report)
    POST_PACER.wait(channel_id)
    try:
        client.chat_postMessage(channel=channel_id, text=text, blocks=blocks, unfurl_links=False)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_HERE:
            raise
        # Not a member here (private channel, DM): the response_url still reaches the channel.
        respond(text=text, blocks=blocks, response_type="in_channel", replace_original=False)
    png = render_dora_chart(report)
    try:
        client.files_upload_v2(
            channel=channel_id,
            content=png,
            filename=f"dora-{team.id}-{command.period.key}.png",
            title=report_title(report),
            alt_txt=f"Weekly deployments, lead time, change failure rate and recovery time for {team.name}",
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_HERE:
            raise
        respond(
            text="The chart could not be shared here: invite me (`/invite @sei-bot`) to get it next time.",
            response_type="ephemeral",
            replace_original=False,
        )


def _explain(
    engine: Engine, team: TeamConfig, metric: str, period: Period, respond: Respond, as_of: datetime | None = None
) -> None:
    with session_scope(engine) as session:
        explanation = explain_metric(session=session, team=team, metric=metric, period=period, as_of=as_of or utcnow())
    respond(
        text=explain_text(explanation),
        blocks=build_explain_blocks(explanation),
        response_type="ephemeral",
        replace_original=False,
    )


def ack_dora_explain_click(ack: Ack) -> None:
    """A report's explain button: nothing to show in the message itself."""
    ack()


def handle_dora_explain_click(
    body: dict[str, Any], action: dict[str, Any], respond: Respond, context: dict[str, Any], logger: logging.Logger
) -> None:
    """Show the person who clicked the records behind the number, for the report's own window."""
    with errors_told_to_user(body, respond, logger):
        ref = DoraRef.from_value(action.get("value", ""))
        with session_scope(context["engine"]) as session:
            team = team_for_command(session=session, team_id=ref.team_id, channel_id=None)
        _explain(context["engine"], team, ref.metric, ref.period, respond, as_of=ref.as_of)


def register(app: App) -> None:
    """``/dora`` and the explain buttons under its reports."""
    app.command("/dora")(ack=ack_dora_command, lazy=[handle_dora_command])
    for action_id in DoraAction:
        app.action(action_id.value)(ack=ack_dora_explain_click, lazy=[handle_dora_explain_click])
