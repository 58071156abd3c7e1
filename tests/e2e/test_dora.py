"""``/dora`` end to end: signed requests into the real app over HTTP, numbers from rows in the database,
and what reached the fake Slack (messages, the chart, ephemeral answers)."""

from __future__ import annotations

import json
import struct
import time
from datetime import timedelta

import pytest

from bot.db import utcnow
from tests.factories import History
from tests.fakes.live_app import LiveApp

H = timedelta(hours=1)
TEAM_A_CHANNEL = "C0123ABCD"


@pytest.fixture
def seeded(live_app: LiveApp) -> LiveApp:
    """Team A's last month (acme/api): three production deployments, one failed and recovered.

    Lead times 26 h, 8 h and 2 h (median 8 h); the incident opened 1 h after the second
    deployment and was resolved 3 h later, so recovery took 4 h; CFR 1 of 3.
    """
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    d1, d2, d3 = now - timedelta(days=20), now - timedelta(days=12), now - timedelta(days=5)
    with live_app.session() as session:
        h = History(session)
        h.deploy(now - timedelta(days=40), "base00")  # the baseline, in the previous window
        h.merge(1, d1 - 2 * H, "m1", first_commit=d1 - 26 * H, review_at=d1 - 4 * H)
        h.deploy(d1, "m1")
        h.merge(2, d2 - 1 * H, "m2", first_commit=d2 - 8 * H, review_at=d2 - 2 * H)
        h.deploy(d2, "m2")
        h.incident("INC-7", d2 + 1 * H, d2 + 4 * H)
        h.merge(3, d3 - 1 * H, "m3", first_commit=d3 - 2 * H)
        h.deploy(d3, "m3")
    return live_app


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _message_text(call_args: dict) -> str:
    return json.dumps(call_args["blocks"], ensure_ascii=False) + call_args["text"]


def test_dora_acks_at_once_then_posts_the_numbers_and_the_chart(seeded: LiveApp) -> None:
    reply = seeded.driver.command("/dora", "team-a")

    assert reply.status == 200 and reply.elapsed < 3
    assert reply.ack_text == ":hourglass_flowing_sand: Crunching the last 30 days for team-a…"
    [post] = seeded.slack.wait_for("chat.postMessage")
    assert post.args["channel"] == TEAM_A_CHANNEL and post.ok
    shown = _message_text(post.args)
    assert "Team A · DORA, last 30 days" in shown
    assert "0.7 / week" in shown and "3 deployments" in shown  # 3 in 30 days
    assert "8.0 h" in shown and "3 changes" in shown  # median of 26 h, 8 h, 2 h
    assert "33.3 %" in shown and "1 of 3 deployments" in shown
    assert "4.0 h" in shown and "1 recovered · 0 open" in shown
    assert "Lead time for changes 8.0 h" in post.args["text"]  # the plain-text fallback reads well

    seeded.slack.wait_for("files.completeUploadExternal")
    [chart] = seeded.slack.shared_png(TEAM_A_CHANNEL)
    assert _png_size(chart.data) == (800, 460) and chart.title.startswith("Team A · DORA")
    assert seeded.slack.block_kit_violations == []
    assert seeded.slack.peak_posts_per_second(TEAM_A_CHANNEL) <= 1


def test_default_team_is_the_channels_and_concurrent_runs_are_paced(seeded: LiveApp) -> None:
    replies = [seeded.driver.command("/dora", "7d", channel_id=TEAM_A_CHANNEL) for _ in range(3)]
    assert all(r.status == 200 and r.elapsed < 3 for r in replies)
    assert "Crunching the last 7 days for team-a" in replies[0].ack_text
    posts = seeded.slack.wait_for("chat.postMessage", 3, timeout=15)
    assert {p.args["channel"] for p in posts} == {TEAM_A_CHANNEL}
    assert seeded.slack.peak_posts_per_second(TEAM_A_CHANNEL) <= 1


@pytest.mark.parametrize(
    ("text", "channel", "says"),
    [
        ("team-z", TEAM_A_CHANNEL, "Unknown team `team-z`. Teams: team-a, team-b."),
        ("team-a 45x", TEAM_A_CHANNEL, "`45x` is not a period I know. Try 7d, 30d (default), 90d, quarter"),
        ("", "C0NOTEAM1", "This channel belongs to no team, so name one: `/dora team-a`. Teams: `team-a`, `team-b`."),
        ("';DROP TABLE team;-- <!here> " + "z" * 3000, TEAM_A_CHANNEL, "Use `/dora [TEAM] [PERIOD]`"),
    ],
)
def test_mistakes_get_a_helpful_private_answer_and_nothing_is_posted(
    seeded: LiveApp, text: str, channel: str, says: str
) -> None:
    reply = seeded.driver.command("/dora", text, channel_id=channel)
    assert reply.status == 200 and reply.elapsed < 3
    assert says in reply.ack_text
    assert "<!here>" not in reply.ack_text
    seeded.stop()
    assert seeded.slack.calls_to("chat.postMessage") == [] and seeded.slack.shared_files == []


def test_a_team_without_data_is_told_what_to_check(seeded: LiveApp) -> None:
    reply = seeded.driver.command("/dora", "team-b")
    assert "Crunching the last 30 days for team-b" in reply.ack_text
    [answer] = seeded.slack.wait_for_response_posts()
    assert answer.body["response_type"] == "ephemeral"
    assert "Nothing to show for team-b in the last 30 days yet." in answer.body["text"]
    assert "acme/mobile" in answer.body["text"]  # the hint names where deployments would come from
    seeded.stop()
    assert seeded.slack.calls_to("chat.postMessage") == []


def test_forged_or_stale_requests_get_401_and_nothing_happens(seeded: LiveApp) -> None:
    forged = seeded.driver.command("/dora", "team-a", forge=True)
    stale = seeded.driver.command("/dora", "team-a", timestamp=time.time() - 6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    seeded.stop()
    assert seeded.slack.calls == [] and seeded.slack.response_posts == []


def test_help_lists_the_forms_and_the_teams(seeded: LiveApp) -> None:
    reply = seeded.driver.command("/dora", "help", channel_id=TEAM_A_CHANNEL)
    assert reply.status == 200 and reply.elapsed < 3
    blocks = json.dumps(reply.json()["blocks"])
    assert "/dora TEAM explain METRIC" in blocks and "In this channel the team is *team-a*" in blocks
    assert "`team-b`" in blocks and "quarter" in blocks


def test_explain_answers_only_the_asker_with_the_records(seeded: LiveApp) -> None:
    reply = seeded.driver.command("/dora", "team-a explain change-failure-rate")
    assert reply.status == 200 and "Looking up what is behind `change-failure-rate` for team-a" in reply.ack_text
    [answer] = seeded.slack.wait_for_response_posts()
    assert answer.status == 200 and answer.body["response_type"] == "ephemeral"
    assert answer.url == reply.response_url
    shown = json.dumps(answer.body["blocks"], ensure_ascii=False)
    assert "= 1 failed of 3 production deployments" in shown
    assert "INC-7" in shown and "✗" in shown and "✓" in shown
    assert seeded.slack.calls_to("chat.postMessage") == []
    assert seeded.slack.block_kit_violations == []


def test_unknown_metric_is_answered_in_the_ack_and_aliases_work(seeded: LiveApp) -> None:
    reply = seeded.driver.command("/dora", "team-a explain happiness")
    assert "`happiness` is not one of them" in reply.ack_text and "`lead-time`" in reply.ack_text
    alias = seeded.driver.command("/dora", "team-a explain cfr 90d")
    assert "Looking up what is behind `change-failure-rate` for team-a (last 90 days)" in alias.ack_text
    [answer] = seeded.slack.wait_for_response_posts()
    assert answer.url == alias.response_url and "Change failure rate" in answer.body["text"]


def test_explain_button_under_a_report_shows_the_changes(seeded: LiveApp) -> None:
    seeded.driver.command("/dora", "team-a")
    [post] = seeded.slack.wait_for("chat.postMessage")
    message = seeded.slack.messages_in(TEAM_A_CHANNEL)[0]
    [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
    button = next(e for e in actions["elements"] if e["action_id"] == "dora-explain-lead-time")

    click = seeded.driver.block_action(button["action_id"], value=button["value"], message=message)
    assert click.status == 200 and click.elapsed < 3
    answers = seeded.slack.wait_for_response_posts(1)
    mine = [a for a in answers if a.url == click.response_url]
    assert mine and mine[0].body["response_type"] == "ephemeral"
    shown = json.dumps(mine[0].body["blocks"], ensure_ascii=False)
    assert "#1" in shown and "#2" in shown and "#3" in shown


def test_chart_where_the_bot_is_not_a_member_says_how_to_fix_it(seeded: LiveApp) -> None:
    seeded.slack.leave_channel(TEAM_A_CHANNEL)
    seeded.driver.command("/dora", "team-a")
    seeded.slack.wait_for("chat.postMessage")
    [answer] = seeded.slack.wait_for_response_posts()
    assert "/invite @sei-bot" in answer.body["text"] and answer.body["response_type"] == "ephemeral"
    assert seeded.slack.shared_files == []
