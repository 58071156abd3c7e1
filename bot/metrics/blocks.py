"""Block Kit for ``/dora``: the report, an explanation, help. Pure functions of plain data.

Each builder returns ``list[dict]`` within Slack's limits (50 blocks, 3000 chars a section). The
plain ``text`` fallback (notifications, screen readers) is ``display.report_text`` for the report
and the ``*_text`` functions here for the rest.
"""

from __future__ import annotations

from typing import Any

from bot.metrics.command import USAGE, DoraRef
from bot.metrics.display import (
    TIER_TITLES,
    MetricRow,
    biggest_drag,
    format_window,
    metric_rows,
    secondary_line,
)
from bot.metrics.enums import DoraAction, DoraBlock
from bot.metrics.periods import PERIOD_HELP
from bot.metrics.report import DoraReport, Explanation

SECTION_LIMIT = 3000
MESSAGE_BLOCKS = 50
# Tiers get shapes, trends get colours (green is better whatever the direction), so they never clash.
TIER_BADGES = {"elite": ":gem:", "high": ":small_blue_diamond:", "medium": ":small_orange_diamond:", "low": ":warning:"}
EXPLAINABLE = ("deployment-frequency", "lead-time", "change-failure-rate", "recovery-time")
EXPLAIN_LABELS = {
    "deployment-frequency": "Which deployments?",
    "lead-time": "Which changes?",
    "change-failure-rate": "Which failed?",
    "recovery-time": "Which recoveries?",
}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit), "emoji": True}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _context(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "context", "elements": [_mrkdwn(text)]}
    if block_id:
        block["block_id"] = block_id
    return block


def tier_badge(tier: str | None) -> str:
    """``:gem: *Elite*``; ``_no tier_`` without data."""
    if tier is None:
        return "_no tier_"
    return f"{TIER_BADGES.get(tier, '')} *{TIER_TITLES.get(tier, tier.title())}*".strip()


def _metric_section(row: MetricRow) -> dict[str, Any]:
    change = row.trend.label(better=":large_green_circle:", worse=":red_circle:")
    return {
        "type": "section",
        "block_id": f"{DoraBlock.METRIC}-{row.key}",
        "fields": [
            _mrkdwn(f"*{row.title}*\n{row.value}   {change}"),
            _mrkdwn(f"{tier_badge(row.tier)}\n{escape(row.detail)}"),
        ],
    }


def build_dora_blocks(report: DoraReport) -> list[dict[str, Any]]:
    """The ``/dora`` report: header, period, the four keys, secondary figures, biggest drag, explain buttons."""
    window = report.current.window
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": DoraBlock.HEADER,
            "text": _plain(f"📦 {report.team_name} · DORA, {report.period_label}", 150),
        },
        _context(
            f"{format_window(window)} · compared with {format_window(window.previous())} · "
            f"profile: {escape(report.profile_title)}",
            DoraBlock.PERIOD,
        ),
        {"type": "divider"},
        *(_metric_section(row) for row in metric_rows(report)),
        _context(secondary_line(report), DoraBlock.SECONDARY),
    ]
    drag = biggest_drag(report)
    if drag:
        blocks.append(
            {
                "type": "section",
                "block_id": DoraBlock.DRAG,
                "text": _mrkdwn(
                    f":snail: *Biggest drag:* {drag}. `/dora {report.team_id} explain lead-time` lists the changes."
                ),
            }
        )
    if report.no_data_hint:
        blocks.append(_context(f":mag: {escape(report.no_data_hint)}", DoraBlock.HINT))
    blocks.append(
        {
            "type": "actions",
            "block_id": DoraBlock.EXPLAIN,
            "elements": [
                {
                    "type": "button",
                    "action_id": DoraAction.explain(metric),
                    "text": _plain(EXPLAIN_LABELS[metric], 75),
                    "value": DoraRef(report.team_id, report.period_key, metric, window.end).to_value(),
                }
                for metric in EXPLAINABLE
            ],
        }
    )
    return blocks


def build_explain_blocks(explanation: Explanation) -> list[dict[str, Any]]:
    """The records behind one number: a headline, then ✓/✗ lines in sections of at most 3000 chars."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(f"*{escape(explanation.headline)}*")}]
    chunk: list[str] = []
    size = 0
    room = MESSAGE_BLOCKS - 3  # headline, a possible "more" line, a spare
    shown = 0
    for line in explanation.lines:
        mark = {True: "✓", False: "✗", None: "•"}[line.ok]
        text = f"{mark} {escape(line.text)}"
        if line.url:
            text += f" <{line.url}|↗>"
        text = _clip(text, SECTION_LIMIT)
        if size + len(text) + 1 > SECTION_LIMIT:
            if len(blocks) >= room:
                break
            blocks.append({"type": "section", "text": _mrkdwn("\n".join(chunk))})
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
        shown += 1
    if chunk:
        blocks.append({"type": "section", "text": _mrkdwn("\n".join(chunk))})
    hidden = explanation.more + len(explanation.lines) - shown
    if hidden:
        blocks.append(_context(f"…and {hidden} more not listed."))
    if not explanation.lines:
        blocks.append(_context("Nothing recorded in this period."))
    return blocks


def explain_text(explanation: Explanation) -> str:
    """Plain-text fallback of an explanation: the headline and the first lines."""
    lines = [explanation.headline, *(line.text for line in explanation.lines[:10])]
    return _clip("\n".join(lines), 3000)


def build_help_blocks(*, channel_team: str | None, teams: list[str]) -> list[dict[str, Any]]:
    """What ``/dora`` takes, with this workspace's teams and this channel's default."""
    here = (
        f"In this channel the team is *{escape(channel_team)}*."
        if channel_team
        else "This channel has no team: name one, or set `channel:` for a team in teams.yml."
    )
    team_list = ", ".join(f"`{t}`" for t in teams) if teams else "none yet (run `sei-bot teams apply teams.yml`)"
    return [
        {
            "type": "section",
            "text": _mrkdwn(
                "*`/dora` shows your team's four DORA keys* with trend, tier and a chart.\n"
                "• `/dora` or `/dora TEAM [PERIOD]`: the report, posted in this channel\n"
                "• `/dora TEAM explain METRIC`: the deployments, changes and incidents behind a number "
                "(only you see it)\n"
                f"• Periods: {PERIOD_HELP}\n"
                "• Metrics: `deployment-frequency`, `lead-time`, `change-failure-rate`, `recovery-time`, "
                "`time-to-restore`, `rework-rate`"
            ),
        },
        _context(f"{here} Teams: {team_list}. Usage: {USAGE}"),
    ]


def help_text(*, channel_team: str | None, teams: list[str]) -> str:
    """Plain-text fallback of the help."""
    default = f" (here: {channel_team})" if channel_team else ""
    return f"/dora [TEAM{default}] [PERIOD: {PERIOD_HELP}] · /dora TEAM explain METRIC · teams: {', '.join(teams)}"
