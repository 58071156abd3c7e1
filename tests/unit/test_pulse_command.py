"""``/pulse`` text: every form it accepts, and a helpful refusal for anything else."""

from __future__ import annotations

import pytest

from bot.errors import UserFacingError
from bot.surveys.command import PulseCommand, parse_pulse_text


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", PulseCommand("results")),
        ("  Team-A ", PulseCommand("results", "team-a")),
        ("help", PulseCommand("help")),
        ("start team-a", PulseCommand("start", "team-a")),
        ("start team-a enps", PulseCommand("start", "team-a", "enps")),
        ("close team-a", PulseCommand("close", "team-a")),
        ("templates", PulseCommand("templates")),
        ("template new", PulseCommand("new-template")),
    ],
)
def test_the_forms_it_understands(text: str, parsed: PulseCommand) -> None:
    assert parse_pulse_text(text) == parsed


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("start", "`/pulse start TEAM [TEMPLATE]`"),
        ("start team-a pulse extra", "`/pulse start TEAM [TEMPLATE]`"),
        ("start team-a <!here>", "is not a template key"),
        ("close", "`/pulse close TEAM`"),
        ("template edit", "`/pulse template new`"),
        ("team-a 30d", "That is more than I understand"),
        ("Team*A", "is not a team id"),
    ],
)
def test_anything_else_is_refused_with_the_right_form(text: str, says: str) -> None:
    with pytest.raises(UserFacingError, match=None) as caught:
        parse_pulse_text(text)
    assert says in str(caught.value)
    assert "<!here>" not in str(caught.value)
