"""The ``/dora`` message, explanation and help: what a person reads, within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.metrics.blocks import build_dora_blocks, build_explain_blocks, build_help_blocks
from bot.metrics.command import DoraRef
from bot.metrics.enums import DoraAction
from bot.metrics.report import ExplainLine, Explanation
from tests.fakes.block_kit import message_problems
from tests.fakes.reports import empty_report, sample_report


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _section(blocks: list[dict], block_id: str) -> str:
    [block] = [b for b in blocks if b.get("block_id") == block_id]
    return "\n".join(f["text"] for f in block.get("fields", [])) or block["text"]["text"]


def test_report_message_shows_the_four_keys_with_units_trends_and_tiers() -> None:
    blocks = build_dora_blocks(sample_report())
    assert message_problems(blocks) == []
    assert blocks[0]["text"]["text"] == "📦 Team A · DORA, last 30 days"
    assert "profile: DORA 2023" in blocks[1]["elements"][0]["text"]

    frequency = _section(blocks, "dora-metric-deployment-frequency")
    assert "1.2 / week" in frequency and "▲ +0.4 :large_green_circle:" in frequency and "*High*" in frequency
    lead = _section(blocks, "dora-metric-lead-time")
    # Lower lead time is better: a down arrow in green.
    assert "10.0 h" in lead and "▼ −3.5 h :large_green_circle:" in lead and "*Elite*" in lead
    assert "coding 1 h · pickup 2 h · review 1 h · deploy 4 h" in lead
    cfr = _section(blocks, "dora-metric-change-failure-rate")
    assert "20 %" in cfr and "▲ +20 pts :red_circle:" in cfr and "1 of 5 deployments" in cfr
    recovery = _section(blocks, "dora-metric-recovery-time")
    assert "3.0 h" in recovery and "no change" in recovery and "1 recovered · 0 open" in recovery
    drag = _section(blocks, "dora-drag")
    assert "deploy stage" in drag and "`/dora team-a explain lead-time`" in drag


def test_explain_buttons_carry_the_report_window() -> None:
    report = sample_report()
    [actions] = [b for b in build_dora_blocks(report) if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [a.value for a in DoraAction]
    refs = [DoraRef.from_value(e["value"]) for e in actions["elements"]]
    assert {r.as_of for r in refs} == {report.current.window.end}
    assert [r.metric for r in refs] == ["deployment-frequency", "lead-time", "change-failure-rate", "recovery-time"]


def test_no_data_is_said_plainly_with_the_hint() -> None:
    blocks = build_dora_blocks(empty_report())
    assert message_problems(blocks) == []
    text = _texts(blocks)
    assert "no data" in text and "_no tier_" in text
    assert "is `production.environments` right for team-a?" in text
    assert not any(b.get("block_id") == "dora-drag" for b in blocks)


def test_hostile_team_names_stay_inside_the_limits() -> None:
    report = replace(sample_report(), team_name="<!channel> " + "x" * 300, profile_title="<b>&")
    blocks = build_dora_blocks(report)
    assert message_problems(blocks) == []
    assert "<b>" not in blocks[1]["elements"][0]["text"]


def test_explanation_of_many_records_fits_one_message() -> None:
    lines = [
        ExplainLine(f"#{i} Oct 5 18:00 abc123f PRs #2 #3 " + "y" * 120, ok=i % 7 != 0, url=f"https://ci/{i}")
        for i in range(400)
    ]
    explanation = Explanation("change-failure-rate", "Change failure rate 20 % = 57 failed of 400", lines, more=10)
    blocks = build_explain_blocks(explanation)
    assert message_problems(blocks) == []
    text = _texts(blocks)
    assert "✗ #0 Oct 5" in text and "✓ #1 Oct 5" in text and "<https://ci/1|↗>" in text
    shown = text.count("abc123f")
    assert f"…and {400 - shown + 10} more not listed." in text


def test_empty_explanation_says_so() -> None:
    blocks = build_explain_blocks(Explanation("recovery-time", "Recovery time: no failed deployments", []))
    assert message_problems(blocks) == [] and "Nothing recorded in this period." in _texts(blocks)


def test_help_names_the_channel_team_and_every_team() -> None:
    blocks = build_help_blocks(channel_team="team-a", teams=["team-a", "team-b"])
    assert message_problems(blocks) == []
    text = _texts(blocks)
    assert "In this channel the team is *team-a*" in text and "`team-b`" in text and "quarter" in text
    lonely = _texts(build_help_blocks(channel_team=None, teams=[]))
    assert "This channel has no team" in lonely and "sei-bot teams apply" in lonely
