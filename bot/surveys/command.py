"""What a person asked ``/pulse`` for, parsed from the command text.

``/pulse`` · ``/pulse team-a`` · ``/pulse start team-a [TEMPLATE]`` · ``/pulse close team-a``
· ``/pulse templates`` · ``/pulse template new`` · ``/pulse help``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.errors import UserFacingError
from bot.surveys.templates import TEMPLATE_KEY
from bot.teams.config import TEAM_ID

USAGE = (
    "`/pulse [TEAM]` for results, `/pulse start TEAM [TEMPLATE]`, `/pulse close TEAM`, "
    "`/pulse templates`, `/pulse template new` or `/pulse help`"
)
HELP_WORDS = {"help", "?", "-h", "--help", "usage"}


@dataclass(frozen=True)
class PulseCommand:
    """A parsed ``/pulse``."""

    kind: Literal["results", "start", "close", "templates", "new-template", "help"]
    team_id: str | None = None
    template: str | None = None


def _echo(word: str) -> str:
    word = word[:40].replace("`", "'").replace("<", "&lt;").replace(">", "&gt;")
    return f"`{word}`"


def _team(word: str) -> str:
    if not TEAM_ID.fullmatch(word):
        raise UserFacingError(f"{_echo(word)} is not a team id. Use {USAGE}.")
    return word


def parse_pulse_text(text: str | None) -> PulseCommand:
    """Parse the text after ``/pulse``; ``UserFacingError`` says what is valid for anything else."""
    words = (text or "").strip().lower().split()
    if not words:
        return PulseCommand("results")
    verb, rest = words[0], words[1:]
    if verb in HELP_WORDS:
        return PulseCommand("help")
    if verb == "start":
        if not 1 <= len(rest) <= 2:
            raise UserFacingError(
                "To open a survey, use `/pulse start TEAM [TEMPLATE]` (`/pulse templates` lists them)."
            )
        template = rest[1] if len(rest) == 2 else None
        if template is not None and not TEMPLATE_KEY.fullmatch(template):
            raise UserFacingError(f"{_echo(template)} is not a template key. `/pulse templates` lists them.")
        return PulseCommand("start", _team(rest[0]), template)
    if verb == "close":
        if len(rest) != 1:
            raise UserFacingError("To close a survey now, use `/pulse close TEAM`.")
        return PulseCommand("close", _team(rest[0]))
    if verb == "templates" and not rest:
        return PulseCommand("templates")
    if verb == "template":
        if rest == ["new"]:
            return PulseCommand("new-template")
        raise UserFacingError("To create a survey template, use `/pulse template new`.")
    if len(words) == 1:
        return PulseCommand("results", _team(verb))
    raise UserFacingError(f"That is more than I understand. Use {USAGE}.")
