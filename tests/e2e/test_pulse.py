"""Pulse surveys end to end: signed requests into the real app over HTTP, the outbox delivered to the
fake Slack, and what people saw (DMs, modals, results) and what the database kept."""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.outbox.sender import drain_outbox
from bot.surveys.enums import PulseAction, PulseView
from bot.surveys.models import SurveyResponse, SurveyRun
from tests.fakes.driver import DriverResponse
from tests.fakes.live_app import LiveApp
from tests.survey_factories import ADMIN, LEAD, MEMBERS, OUTSIDER, TEAMS_YML

TEAM_CHANNEL = "C0SURVEYA1"


@pytest.fixture
def teams_yml() -> str:
    return TEAMS_YML


def deliver(app: LiveApp) -> None:
    """Run the outbox sender until everything due is delivered."""
    report = drain_outbox(app.settings, app.engine, max_seconds=30)
    assert report.dead == 0, report.describe()


def invitation_of(app: LiveApp, user_id: str) -> tuple[str, dict[str, Any]]:
    """The DM channel and the (latest version of the) invitation a person got."""
    [opened] = [c for c in app.slack.calls_to("conversations.open") if c.args.get("users") == user_id][:1]
    channel = opened.response["channel"]["id"]
    messages = app.slack.messages_in(channel)
    assert messages, f"no DM reached {user_id}"
    return channel, messages[0]


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(
        e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
    )


def click(app: LiveApp, user_id: str, action_id: str = PulseAction.TAKE) -> DriverResponse:
    """Click a button of the person's invitation DM, as Slack would send it."""
    channel, message = invitation_of(app, user_id)
    return app.driver.block_action(
        action_id,
        value=button(message, action_id)["value"],
        user_id=user_id,
        channel_id=channel,
        message=message,
        block_id="pulse-invitation",
    )


def opened_view(app: LiveApp, trigger_id: str) -> dict[str, Any]:
    """The view the bot opened with this trigger_id."""
    [call] = app.slack.wait_for("views.open", predicate=lambda c: c.args.get("trigger_id") == trigger_id)
    assert call.ok, call.response
    return call.args["view"]


def fill(view: dict[str, Any], value: int, text: str | None = None, **overrides: Any) -> dict[str, Any]:
    """``state.values`` of the survey modal, every rated question answered ``value``."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        qid = block["block_id"].removeprefix("pulse-q-")
        if element["type"] == "plain_text_input":
            state = {"type": "plain_text_input", "value": overrides.get(qid, text)}
        else:
            chosen = str(overrides.get(qid, value))
            option = next((o for o in element["options"] if o["value"] == chosen), {"value": chosen})
            state = {"type": element["type"], "selected_option": option}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def submit(app: LiveApp, user_id: str, view: dict[str, Any], values: dict[str, Any]) -> DriverResponse:
    return app.driver.view_submission(
        PulseView.ANSWER, values=values, user_id=user_id, private_metadata=view["private_metadata"]
    )


def answer(app: LiveApp, user_id: str, value: int, text: str | None = None) -> DriverResponse:
    """Click *Take the survey* and submit the modal it opened."""
    reply = click(app, user_id)
    assert reply.status == 200 and reply.elapsed < 3
    view = opened_view(app, reply.trigger_id or "")
    return submit(app, user_id, view, fill(view, value, text))


def responses(app: LiveApp) -> list[SurveyResponse]:
    with app.session() as session:
        return list(session.scalars(select(SurveyResponse)))


def start(app: LiveApp) -> None:
    """A lead opens team A's survey; the outbox delivers the invitations."""
    before = len(app.slack.response_posts)
    reply = app.driver.command("/pulse", "start team-a", user_id=LEAD, channel_id=TEAM_CHANNEL)
    assert reply.status == 200 and reply.elapsed < 3
    assert reply.ack_text == ":hourglass_flowing_sand: Opening Team A's survey and sending the invitations…"
    confirmation = app.slack.wait_for_response_posts(before + 1)[before]
    assert "8 invitations are on their way by DM" in confirmation.body["text"]
    assert confirmation.body["response_type"] == "ephemeral"
    deliver(app)


def test_a_survey_from_invitation_to_results(live_app: LiveApp) -> None:
    start(live_app)
    posts = live_app.slack.calls_to("chat.postMessage")
    assert len(posts) == 8 and all(p.ok for p in posts)
    assert {p.args["channel"] for p in posts} == {
        c.response["channel"]["id"] for c in live_app.slack.calls_to("conversations.open")
    }
    _, invitation = invitation_of(live_app, MEMBERS[1])
    assert "Team A's developer experience pulse is open until" in invitation["text"]
    assert "results are shown only when 5 or more people answered" in invitation["text"]
    assert [e["text"]["text"] for e in invitation["blocks"][1]["elements"]] == [
        "Take the survey",
        "Remind me later",
        "Skip this one",
    ]

    # Take the survey: the modal opens with this click's trigger_id, within its 3 seconds.
    reply = click(live_app, MEMBERS[1])
    assert reply.status == 200 and reply.elapsed < 3
    view = opened_view(live_app, reply.trigger_id or "")
    assert view["callback_id"] == PulseView.ANSWER and view["submit"]["text"] == "Send answers"

    stored = submit(live_app, MEMBERS[1], view, fill(view, 2, "Waiting for CI"))
    assert stored.status == 200 and stored.text == ""  # an empty ack closes the modal
    [row] = responses(live_app)
    assert row.answers["flow"] == 2 and row.answers["slowdown"] == "Waiting for CI"
    [thanks] = live_app.slack.wait_for("chat.update")
    assert thanks.args["text"].startswith("✓ Thanks, your answers are in. You can change them until")

    # A second submission replaces the first: still one response, the new answers.
    reply = click(live_app, MEMBERS[1])
    view = opened_view(live_app, reply.trigger_id or "")
    assert view["submit"]["text"] == "Update answers"
    flow = next(b for b in view["blocks"] if b.get("block_id") == "pulse-q-flow")
    assert flow["element"]["initial_option"]["value"] == "2"  # their own answers come back to change
    assert submit(live_app, MEMBERS[1], view, fill(view, 4, "Flaky tests")).status == 200
    [row] = responses(live_app)
    assert row.answers["flow"] == 4 and row.answers["slowdown"] == "Flaky tests"
    live_app.slack.wait_for("chat.update", 2)
    assert live_app.slack.calls_to("chat.update")[-1].args["text"].startswith("✓ Your answers are updated.")

    for member, value in zip(MEMBERS[2:6], (3, 4, 5, 4), strict=True):
        assert answer(live_app, member, value).status == 200
    assert len(responses(live_app)) == 5

    # While open, /pulse shows the count only, never figures.
    status = live_app.driver.command("/pulse", "team-a", user_id=MEMBERS[7], channel_id=TEAM_CHANNEL)
    assert status.ack_text == ":hourglass_flowing_sand: Gathering Team A's pulse results…"
    [open_answer] = live_app.slack.wait_for_response_posts(2)[1:]
    assert "5 answers so far. Results are shown when it closes." in open_answer.body["text"]
    assert open_answer.body["response_type"] == "ephemeral"

    closing = live_app.driver.command("/pulse", "close team-a", user_id=ADMIN, channel_id=TEAM_CHANNEL)
    assert closing.ack_text == ":hourglass_flowing_sand: Closing Team A's survey…"
    closed = live_app.slack.wait_for_response_posts(3)[2]
    assert "the results are on their way to <#C0SURVEYA1>" in closed.body["text"]
    deliver(live_app)
    [results] = [p for p in live_app.slack.calls_to("chat.postMessage") if p.args["channel"] == TEAM_CHANNEL]
    shown = json.dumps(results.args["blocks"], ensure_ascii=False)
    assert results.args["text"] == "Team A · Developer experience pulse: Pulse index 4.0 / 5 · 5 of 8 answered (62 %)"
    assert "5 of 8 answered (62 %)" in shown
    assert "> Flaky tests" in shown and "Waiting for CI" not in shown  # the replaced answer is gone
    assert not [m for m in (*MEMBERS, ADMIN) if m in shown]  # no names, admins included
    [chart] = live_app.slack.shared_png(TEAM_CHANNEL)
    assert chart.data.startswith(b"\x89PNG")

    # After closing: answers cannot be changed, and the button says so kindly.
    late = click(live_app, MEMBERS[6])
    notice = opened_view(live_app, late.trigger_id or "")
    assert notice["callback_id"] == PulseView.NOTICE
    assert "has closed, so it no longer takes answers" in json.dumps(notice)
    assert live_app.slack.block_kit_violations == []


def test_results_on_demand_with_the_chart_in_the_channel(live_app: LiveApp) -> None:
    start(live_app)
    for member, value in zip(MEMBERS[:5], (4, 4, 5, 3, 4), strict=True):
        answer(live_app, member, value)
    live_app.driver.command("/pulse", "close team-a", user_id=LEAD, channel_id=TEAM_CHANNEL)
    live_app.slack.wait_for_response_posts(2)
    reply = live_app.driver.command("/pulse", "", user_id=OUTSIDER, channel_id=TEAM_CHANNEL)
    assert reply.status == 200 and reply.elapsed < 3
    shown = live_app.slack.wait_for_response_posts(3)[2]
    assert shown.body["response_type"] == "in_channel"
    assert shown.body["text"] == "Team A · Developer experience pulse: Pulse index 4.0 / 5 · 5 of 8 answered (62 %)"
    live_app.slack.wait_for("files.completeUploadExternal")
    assert [f.channel for f in live_app.slack.shared_files] == [TEAM_CHANNEL]


def test_below_the_threshold_only_the_count_is_said(live_app: LiveApp) -> None:
    start(live_app)
    for member in MEMBERS[:3]:
        answer(live_app, member, 1, "my manager")
    live_app.driver.command("/pulse", "team-a", user_id=MEMBERS[5], channel_id=TEAM_CHANNEL)
    status = live_app.slack.wait_for_response_posts(2)[1]
    assert status.body["text"].endswith("3 answers so far; results appear at 5. 2 more needed.")
    live_app.driver.command("/pulse", "close team-a", user_id=LEAD, channel_id=TEAM_CHANNEL)
    live_app.slack.wait_for_response_posts(3)
    deliver(live_app)
    [posted] = [p for p in live_app.slack.calls_to("chat.postMessage") if p.args["channel"] == TEAM_CHANNEL]
    assert "3 answers: results are only shown from 5" in posted.args["text"]
    assert "my manager" not in json.dumps(posted.args) and len(posted.args["blocks"]) == 1
    assert live_app.slack.shared_files == []
    assert responses(live_app) == []  # answers that can never be shown are not kept


def test_a_malformed_submission_gets_inline_errors_and_stores_nothing(live_app: LiveApp) -> None:
    start(live_app)
    reply = click(live_app, MEMBERS[2])
    view = opened_view(live_app, reply.trigger_id or "")
    values = fill(view, 3, **{"flow": 9})
    del values["pulse-q-satisfaction"]
    values["pulse-q-slowdown"]["pulse-q-slowdown"]["value"] = "x" * 1200
    answer_reply = submit(live_app, MEMBERS[2], view, values)
    assert answer_reply.status == 200 and answer_reply.elapsed < 3
    assert answer_reply.json() == {
        "response_action": "errors",
        "errors": {
            "pulse-q-flow": "Please pick a value from 1 to 5.",
            "pulse-q-satisfaction": "Please answer this question.",
            "pulse-q-slowdown": "Please keep it under 1000 characters.",
        },
    }
    broken = live_app.driver.view_submission(PulseView.ANSWER, values={}, user_id=MEMBERS[2], private_metadata="{oops")
    assert broken.json()["response_action"] == "update"
    assert "lost track of its survey" in json.dumps(broken.json()["view"])
    assert responses(live_app) == []


def test_a_double_click_opens_the_modal_for_each_click_and_stores_one_response(live_app: LiveApp) -> None:
    start(live_app)
    clicks = [click(live_app, MEMBERS[3]) for _ in range(2)]
    views = [opened_view(live_app, c.trigger_id or "") for c in clicks]
    assert len({c.trigger_id for c in clicks}) == 2
    replies: list[DriverResponse] = []

    def send(view: dict[str, Any], value: int) -> None:
        replies.append(submit(live_app, MEMBERS[3], view, fill(view, value)))

    threads = [threading.Thread(target=send, args=(v, n)) for v, n in zip(views, (2, 5), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in replies] == [200, 200]
    [row] = responses(live_app)
    assert row.answers["flow"] in (2, 5)


def test_people_outside_the_team_can_neither_answer_nor_manage(live_app: LiveApp) -> None:
    start(live_app)
    with live_app.session() as session:
        run_id = session.scalars(select(SurveyRun.id)).one()
    reply = live_app.driver.block_action(
        PulseAction.TAKE, value=json.dumps({"run": run_id}), user_id=OUTSIDER, channel_id="D0OUTSIDE1"
    )
    notice = opened_view(live_app, reply.trigger_id or "")
    assert notice["callback_id"] == PulseView.NOTICE and "went to the members of `team-a`" in json.dumps(notice)
    forged = live_app.driver.view_submission(
        PulseView.ANSWER, values={}, user_id=OUTSIDER, private_metadata=json.dumps({"run": run_id})
    )
    assert "were not among them" in json.dumps(forged.json())
    refused = live_app.driver.command("/pulse", "close team-a", user_id=OUTSIDER, channel_id=TEAM_CHANNEL)
    assert refused.ack_text.startswith(":warning: Sorry, only Team A's leads (<@U0SURVEY01>) and sei-bot admins")
    member = live_app.driver.command("/pulse", "start team-a enps", user_id=MEMBERS[4], channel_id=TEAM_CHANNEL)
    assert "only Team A's leads" in member.ack_text
    assert responses(live_app) == []


def test_skip_and_remind_later_answer_in_the_dm(live_app: LiveApp) -> None:
    live_app.slack.add_user(MEMBERS[5], tz="Asia/Tokyo")
    start(live_app)
    skipped = click(live_app, MEMBERS[4], PulseAction.SKIP)
    assert skipped.status == 200
    later = click(live_app, MEMBERS[5], PulseAction.REMIND_LATER)
    assert later.status == 200
    posts = live_app.slack.wait_for_response_posts(3)[1:]
    texts = sorted(p.body["text"] for p in posts)
    assert texts[0].startswith("OK, I'll remind you <!date^") and texts[1].startswith("OK, no reminders for Team A")
    assert all(p.body.get("replace_original") for p in posts)
    with live_app.session() as session:
        from bot.teams.service import person_by_slack_id

        assert person_by_slack_id(session=session, slack_id=MEMBERS[5]).timezone == "Asia/Tokyo"


def test_admins_create_a_template_from_a_modal_and_start_it(live_app: LiveApp) -> None:
    reply = live_app.driver.command("/pulse", "template new", user_id=ADMIN, channel_id=TEAM_CHANNEL)
    assert reply.status == 200
    form = opened_view(live_app, reply.trigger_id or "")
    assert form["callback_id"] == PulseView.NEW_TEMPLATE

    def field(block_id: str, value: str) -> dict[str, Any]:
        return {block_id: {block_id: {"type": "plain_text_input", "value": value}}}

    values = {
        **field("pulse-template-key", "Bad Key!"),
        **field("pulse-template-title", "Onboarding check"),
        **field("pulse-template-statements", "I know who to ask.\nMy laptop worked on day one."),
        **field("pulse-template-low", "No"),
        **field("pulse-template-high", "Yes"),
    }
    wrong = live_app.driver.view_submission(PulseView.NEW_TEMPLATE, values=values, user_id=ADMIN)
    assert wrong.json() == {
        "response_action": "errors",
        "errors": {"pulse-template-key": "Use lower-case letters, digits, '-' or '_' (up to 64)."},
    }
    values.update(field("pulse-template-key", "onboarding"))
    made = live_app.driver.view_submission(PulseView.NEW_TEMPLATE, values=values, user_id=ADMIN)
    assert made.json()["response_action"] == "update"
    assert "`onboarding` is ready with 2 questions" in json.dumps(made.json())
    not_admin = live_app.driver.view_submission(PulseView.NEW_TEMPLATE, values=values, user_id=LEAD)
    assert "only sei-bot admins" in json.dumps(not_admin.json())
    listed = live_app.driver.command("/pulse", "templates", user_id=LEAD, channel_id=TEAM_CHANNEL)
    assert "`onboarding`: Onboarding check (2 questions, slack)" in listed.ack_text
    started = live_app.driver.command("/pulse", "start team-a onboarding", user_id=LEAD, channel_id=TEAM_CHANNEL)
    assert "Opening Team A's survey" in started.ack_text
    live_app.slack.wait_for_response_posts()
    with live_app.session() as session:
        assert session.scalars(select(SurveyRun.template)).one() == "onboarding"


def test_the_cadence_opens_a_survey_and_the_close_job_posts_its_results(live_app: LiveApp) -> None:
    from datetime import timedelta

    from bot.db import utcnow
    from bot.scheduler.registry import JobContext
    from bot.surveys import scheduled
    from bot.teams.config import parse_teams_yaml
    from bot.teams.service import apply_config

    # Team A's cadence is moved to "every week, today, ten minutes ago" (Berlin time).
    due = (utcnow() - timedelta(minutes=10)).astimezone(ZoneInfo("Europe/Berlin"))
    cadence = f'survey: {{template: enps, every_weeks: 1, day: {due:%A}, time: "{due:%H:%M}", open_days: 3}}'
    text = re.sub(r"survey: \{.*\}", cadence, TEAMS_YML)
    text = text.replace(f"members: [{OUTSIDER}]", f"members: [{OUTSIDER}]\n    survey: {{enabled: false}}")
    with live_app.session() as session:
        apply_config(session=session, config=parse_teams_yaml(text))
    ctx = JobContext(settings=live_app.settings, engine=live_app.engine)
    assert scheduled.open_due_surveys(ctx) == "opened 1 survey(s): team-a"
    assert scheduled.open_due_surveys(ctx) == "opened 0 survey(s)"  # a second scheduler finds it done
    deliver(live_app)
    assert len([c for c in live_app.slack.calls_to("chat.postMessage") if c.ok]) == len(MEMBERS)
    for member, score in zip(MEMBERS[:6], (10, 9, 9, 7, 3, 10), strict=True):
        assert answer(live_app, member, score).status == 200

    with live_app.session() as session:
        run = session.scalars(select(SurveyRun).where(SurveyRun.team_id == "team-a")).one()
    assert scheduled.close_due_surveys(ctx, run.closes_at - timedelta(minutes=1)) == "closed 0 survey(s)"
    assert scheduled.close_due_surveys(ctx, run.closes_at) == "closed 1 survey(s)"
    deliver(live_app)
    [results] = [p for p in live_app.slack.calls_to("chat.postMessage") if p.args["channel"] == TEAM_CHANNEL]
    assert results.args["text"] == "Team A · Employee Net Promoter Score: eNPS +50 · 6 of 8 answered (75 %)"
    assert [f.channel for f in live_app.slack.shared_files] == [TEAM_CHANNEL]


def test_starting_twice_or_closing_nothing_is_explained_privately(live_app: LiveApp) -> None:
    nothing = live_app.driver.command("/pulse", "close team-a", user_id=LEAD, channel_id=TEAM_CHANNEL)
    assert nothing.ack_text == ":hourglass_flowing_sand: Closing Team A's survey…"
    [answer_] = live_app.slack.wait_for_response_posts()
    assert answer_.body["text"] == "Team A has no survey open right now: `/pulse start team-a`."
    assert answer_.body["response_type"] == "ephemeral"
    start(live_app)
    again = live_app.driver.command("/pulse", "start team-a quarterly", user_id=ADMIN, channel_id=TEAM_CHANNEL)
    assert again.status == 200
    refused = live_app.slack.wait_for_response_posts(3)[2]
    assert refused.body["text"].startswith("Team A already has a survey open (Developer experience pulse) until")
    with live_app.session() as session:
        assert session.scalars(select(SurveyRun.template)).all() == ["pulse"]
    unknown = live_app.driver.command("/pulse", "start team-a nope", user_id=LEAD, channel_id=TEAM_CHANNEL)
    assert unknown.ack_text.startswith(":warning: There is no survey template `nope`. Templates: enps, pulse")


def test_no_log_line_at_info_names_who_answered(live_app: LiveApp, caplog: pytest.LogCaptureFixture) -> None:
    start(live_app)
    caplog.set_level(logging.INFO)
    caplog.clear()
    for member in MEMBERS[:5]:
        assert answer(live_app, member, 4, "a comment").status == 200
    live_app.driver.command("/pulse", "close team-a", user_id=LEAD, channel_id=TEAM_CHANNEL)
    deliver(live_app)
    logged = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert not [m for m in MEMBERS if m in logged], logged
