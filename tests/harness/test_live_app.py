"""The harness drives the real app over HTTP: signatures are checked, events are acknowledged once."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlmodel import select

from bot.ingest.models import SlackEventSeen
from tests.fakes.live_app import LiveApp


def test_driver_sends_the_fields_slack_sends(live_app: LiveApp, fixtures_dir: Path) -> None:
    logs = fixtures_dir / "slack/java-slack-sdk-json-logs"
    reply = live_app.driver.command("/nothing-registered", "x")
    command_keys = set(json.loads((logs / "app-backend/slash-commands/SlashCommandPayload.json").read_text()))
    assert set(reply.sent) <= command_keys
    assert {"command", "text", "channel_id", "user_id", "response_url", "trigger_id"} <= set(reply.sent)

    block_keys = set(json.loads((logs / "app-backend/interactive-components/BlockActionPayload.json").read_text()))
    assert set(live_app.driver.block_action("x-y", value="1").sent) <= block_keys

    event_keys = set(json.loads((logs / "events/AppHomeOpenedPayload.json").read_text()))
    assert set(live_app.driver.event({"type": "tokens_revoked"}).sent) <= event_keys


def test_signed_requests_pass_and_forged_or_stale_ones_get_401(live_app: LiveApp) -> None:
    ok = live_app.driver.url_verification("abc123")
    assert ok.status == 200 and "abc123" in ok.text
    forged = live_app.driver.event({"type": "app_uninstalled"}, forge=True)
    stale = live_app.driver.event({"type": "app_uninstalled"}, timestamp=time.time() - 6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    with live_app.session() as session:
        assert session.scalars(select(SlackEventSeen)).all() == []


def test_event_retries_are_acknowledged_and_recorded_once(live_app: LiveApp) -> None:
    first = live_app.driver.event({"type": "member_joined_channel", "user": "U01AAAAAAA"}, event_id="Ev0001")
    retry = live_app.driver.event(
        {"type": "member_joined_channel", "user": "U01AAAAAAA"}, event_id="Ev0001", retry_num=1
    )
    assert (first.status, retry.status) == (200, 200)
    with live_app.session() as session:
        assert [e.event_id for e in session.scalars(select(SlackEventSeen))] == ["Ev0001"]
