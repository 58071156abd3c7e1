"""The fake Slack Web API behaves like Slack for the calls the bot makes (through the real slack_sdk)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.slack_api import FakeSlack

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def client(slack: FakeSlack, **kwargs: object) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.base_url, **kwargs)  # type: ignore[arg-type]


def test_post_message_is_recorded_with_its_blocks_and_answered_like_slack(
    fake_slack: FakeSlack, fixtures_dir: Path
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    answer = client(fake_slack).chat_postMessage(channel="C0123ABCD", text="hello", blocks=blocks)

    example = json.loads((fixtures_dir / "slack/method-reference/chat.postMessage.json").read_text())
    assert set(example["examples"]["success"]["example"]) <= set(answer.data)  # type: ignore[arg-type]
    assert answer["channel"] == "C0123ABCD"
    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"] == blocks and call.token == fake_slack.bot_token
    assert fake_slack.messages_in("C0123ABCD")[0]["text"] == "hello"


def test_wrong_or_missing_token_is_refused(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="xoxb-wrong", base_url=fake_slack.base_url).auth_test()
    assert excinfo.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake_slack.base_url).chat_postMessage(channel="C1", text="x")
    assert excinfo.value.response["error"] == "not_authed"


def test_update_changes_the_stored_message_and_unknown_ts_fails(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    ts = web.chat_postMessage(channel="D0AAA", text="before")["ts"]
    web.chat_update(channel="D0AAA", ts=ts, text="after")
    assert [m["text"] for m in fake_slack.messages_in("D0AAA")] == ["after"]
    with pytest.raises(SlackApiError) as excinfo:
        web.chat_update(channel="D0AAA", ts="1.000001", text="x")
    assert excinfo.value.response["error"] == "message_not_found"


def test_block_kit_limits_are_enforced_and_recorded(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    too_many = [{"type": "divider"}] * 51
    long_header = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    long_button = [
        {
            "type": "actions",
            "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}],
        }
    ]
    for blocks in (too_many, long_header, long_button):
        with pytest.raises(SlackApiError) as excinfo:
            web.chat_postMessage(channel="C1", text="t", blocks=blocks)
        assert excinfo.value.response["error"] == "invalid_blocks"
    problems = "\n".join(fake_slack.block_kit_violations)
    assert "51 blocks > 50" in problems and "151 chars > 150" in problems and "76 chars > 75" in problems


def test_files_upload_v2_goes_through_the_fake_upload_url(fake_slack: FakeSlack) -> None:
    answer = client(fake_slack).files_upload_v2(
        channel="C0123ABCD", content=PNG, filename="dora.png", title="DORA", initial_comment="chart"
    )
    assert answer["file"]["title"] == "DORA"
    url_call = fake_slack.calls_to("files.getUploadURLExternal")[0]
    assert url_call.response["upload_url"].startswith(fake_slack.url + "/upload/v1/")
    [shared] = fake_slack.shared_png("C0123ABCD")
    assert shared.data == PNG and shared.initial_comment == "chart" and shared.filename == "dora.png"


def test_files_cannot_be_shared_where_the_bot_is_not_a_member(fake_slack: FakeSlack) -> None:
    fake_slack.leave_channel("C0999")
    with pytest.raises(SlackApiError) as excinfo:
        client(fake_slack).files_upload_v2(channel="C0999", content=PNG, filename="x.png")
    assert excinfo.value.response["error"] == "not_in_channel"
    assert fake_slack.shared_files == []


def test_trigger_id_works_once_and_only_for_three_seconds(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Survey"}, "blocks": []}
    trigger = fake_slack.issue_trigger_id()
    opened = web.views_open(trigger_id=trigger, view=view)["view"]
    with pytest.raises(SlackApiError) as excinfo:
        web.views_open(trigger_id=trigger, view=view)
    assert excinfo.value.response["error"] == "exchanged_trigger_id"
    late = fake_slack.issue_trigger_id()
    fake_slack.advance(3.5)
    with pytest.raises(SlackApiError) as excinfo:
        web.views_open(trigger_id=late, view=view)
    assert excinfo.value.response["error"] == "expired_trigger_id"
    # views.update with a stale hash conflicts, with the current one succeeds.
    updated = web.views_update(view_id=opened["id"], hash=opened["hash"], view=view)["view"]
    with pytest.raises(SlackApiError) as excinfo:
        web.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert excinfo.value.response["error"] == "hash_conflict"
    assert updated["id"] == opened["id"]


def test_modal_title_over_24_chars_is_refused(fake_slack: FakeSlack) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "A title that is far too long"}, "blocks": []}
    with pytest.raises(SlackApiError):
        client(fake_slack).views_open(trigger_id=fake_slack.issue_trigger_id(), view=view)
    assert any("view.title" in v for v in fake_slack.block_kit_violations)


def test_response_url_takes_five_posts_within_thirty_minutes(fake_slack: FakeSlack) -> None:
    url = fake_slack.issue_response_url()
    hook = WebhookClient(url)
    statuses = [hook.send(text=f"reply {i}", response_type="ephemeral").status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert [p.body["text"] for p in fake_slack.response_posts[:2]] == ["reply 0", "reply 1"]
    other = fake_slack.issue_response_url()
    fake_slack.advance(31 * 60)
    assert WebhookClient(other).send(text="late").status_code == 404


def test_injected_429_is_retried_after_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.inject("chat.postMessage", status=429, retry_after=1)
    web = client(fake_slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    assert web.chat_postMessage(channel="C1", text="x")["ok"]
    assert time.monotonic() - started >= 0.9
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]


def test_injected_errors_and_delays(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    fake_slack.inject("users.info", error="user_not_visible")
    fake_slack.inject("chat.postEphemeral", status=503)
    fake_slack.inject("auth.test", delay=0.3, times=None)
    fake_slack.add_user("U01AAAAAAA", email="alice@example.com", tz="Europe/Berlin")
    with pytest.raises(SlackApiError) as excinfo:
        web.users_info(user="U01AAAAAAA")
    assert excinfo.value.response["error"] == "user_not_visible"
    assert web.users_info(user="U01AAAAAAA")["user"]["tz"] == "Europe/Berlin"
    with pytest.raises(SlackApiError) as excinfo:
        web.chat_postEphemeral(channel="C1", user="U01AAAAAAA", text="x")
    assert excinfo.value.response.status_code == 503
    for _ in range(2):
        started = time.monotonic()
        web.auth_test()
        assert time.monotonic() - started >= 0.3


def test_users_lookup_by_email_and_dm_open(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    fake_slack.add_user("U01BBBBBBB", email="bob@example.com")
    assert web.users_lookupByEmail(email="BOB@example.com")["user"]["id"] == "U01BBBBBBB"
    with pytest.raises(SlackApiError) as excinfo:
        web.users_lookupByEmail(email="nobody@example.com")
    assert excinfo.value.response["error"] == "users_not_found"
    assert web.conversations_open(users="U01BBBBBBB")["channel"]["id"].startswith("D")


def test_post_rate_is_measured_and_can_be_enforced(fixtures_dir: Path) -> None:
    with FakeSlack(fixtures_dir=fixtures_dir, enforce_post_rate=True) as slack:
        web = client(slack)
        web.chat_postMessage(channel="C1", text="one")
        with pytest.raises(SlackApiError) as excinfo:
            web.chat_postMessage(channel="C1", text="two")
        assert excinfo.value.response.status_code == 429
        web.chat_postMessage(channel="C2", text="other channel")
        assert slack.peak_posts_per_second("C1") == 1
        slack.advance(1.0)
        web.chat_postMessage(channel="C1", text="three")
        assert len(slack.post_times("C1")) == 2


def test_unknown_method_and_bad_upload_url(fake_slack: FakeSlack) -> None:
    response = httpx.post(
        fake_slack.url + "/api/nope.nothing", headers={"Authorization": f"Bearer {fake_slack.bot_token}"}
    )
    assert response.json() == {"ok": False, "error": "unknown_method", "req_method": "nope.nothing"}
    assert httpx.post(fake_slack.url + "/upload/v1/FNOPE", content=b"x").status_code == 404
