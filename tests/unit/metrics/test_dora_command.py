"""``/dora`` text: every form people type parses; anything else says what is valid, and never crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserFacingError
from bot.metrics.command import DoraRef, parse_dora_text, quote


@pytest.mark.parametrize(
    ("text", "kind", "team", "period", "metric"),
    [
        ("", "report", None, "30d", None),
        ("   ", "report", None, "30d", None),
        ("team-a", "report", "team-a", "30d", None),
        ("Team-A 7d", "report", "team-a", "7d", None),
        ("90d", "report", None, "90d", None),
        ("quarter team-b", "report", "team-b", "quarter", None),
        ("team-a 2w", "report", "team-a", "14d", None),
        ("help", "help", None, "30d", None),
        ("team-a explain change-failure-rate", "explain", "team-a", "30d", "change-failure-rate"),
        ("explain cfr 7d", "explain", None, "7d", "cfr"),
    ],
)
def test_forms_people_type(text: str, kind: str, team: str | None, period: str, metric: str | None) -> None:
    command = parse_dora_text(text)
    assert (command.kind, command.team_id, command.period.key, command.metric) == (kind, team, period, metric)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("team-a 45x", "is not a period I know. Try 7d, 30d"),
        ("team-a 999d", "is not a period I know"),
        ("team-a 30d extra", "Use `/dora [TEAM] [PERIOD]`"),
        ("team-a explain", "/dora TEAM explain METRIC"),
        ("<!channel> *bold*", "is not a team or a period"),
        ("team-a explain <!channel>", "`&lt;!channel&gt;` is not a metric name"),
    ],
)
def test_mistakes_explain_what_is_valid(text: str, says: str) -> None:
    with pytest.raises(UserFacingError, match=None) as excinfo:
        parse_dora_text(text)
    assert says in str(excinfo.value)


def test_echoed_text_cannot_ping_or_format() -> None:
    with pytest.raises(UserFacingError) as excinfo:
        parse_dora_text("<!channel>")
    message = str(excinfo.value)
    assert "<!channel>" not in message and "&lt;!channel&gt;" in message
    assert quote("x" * 500).endswith("…`") and len(quote("x" * 500)) < 50


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_a_user_facing_error(text: str) -> None:
    try:
        command = parse_dora_text(text)
    except UserFacingError as exc:
        assert str(exc)
        assert len(str(exc)) < 400
    else:
        assert command.kind in ("report", "explain", "help")


def test_button_state_round_trips_and_refuses_tampering() -> None:
    ref = DoraRef("team-a", "quarter", "lead-time", datetime(2026, 10, 31, tzinfo=UTC))
    assert DoraRef.from_value(ref.to_value()) == ref
    assert len(ref.to_value()) < 2000
    for bad in ("", "team-a|30d", "Team A|30d|lead-time|1", "team-a|5y|lead-time|1", "team-a|30d|lt|soon"):
        with pytest.raises(UserFacingError, match="out of date"):
            DoraRef.from_value(bad)
