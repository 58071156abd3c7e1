"""What a person asked ``/dora`` for, parsed from the command text; any text parses or explains itself.

``/dora`` · ``/dora team-a`` · ``/dora 90d`` · ``/dora team-a quarter`` · ``/dora team-a explain lead-time``
· ``/dora explain cfr 7d`` · ``/dora help``. The state a report button carries is a ``DoraRef``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.errors import UserFacingError
from bot.metrics.periods import BadPeriodError, Period, parse_period
from bot.teams.config import TEAM_ID

USAGE = "`/dora [TEAM] [PERIOD]`, `/dora TEAM explain METRIC` or `/dora help`"
HELP_WORDS = {"help", "?", "-h", "--help", "usage"}
MAX_ECHO = 40
DEFAULT_PERIOD = parse_period(None)


def quote(text: str) -> str:
    """User text made safe to echo in mrkdwn: shortened, no formatting characters."""
    text = " ".join(text.split())
    if len(text) > MAX_ECHO:
        text = text[: MAX_ECHO - 1] + "…"
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, entity)
    return "`" + text.replace("`", "'") + "`"


@dataclass(frozen=True)
class DoraCommand:
    """A parsed ``/dora``: a report, an explanation of one metric, or help."""

    kind: Literal["report", "explain", "help"]
    team_id: str | None = None
    period: Period = DEFAULT_PERIOD
    metric: str | None = None


def _looks_like_period(word: str) -> bool:
    return bool(re.fullmatch(r"\d+\s*[a-z]*|quarter|q|qtd", word))


def _team(word: str) -> str:
    if not TEAM_ID.fullmatch(word):
        raise UserFacingError(f"{quote(word)} is not a team or a period. Use {USAGE}.")
    return word


def parse_dora_text(text: str | None) -> DoraCommand:
    """Parse the text after ``/dora``; ``UserFacingError`` says what is valid for anything else."""
    words = (text or "").strip().lower().split()
    if not words:
        return DoraCommand("report")
    if words[0] in HELP_WORDS:
        return DoraCommand("help")
    if "explain" in words:
        at = words.index("explain")
        before, after = words[:at], words[at + 1 :]
        if len(before) > 1 or not after or len(after) > 2:
            raise UserFacingError("To see the records behind a number, use `/dora TEAM explain METRIC [PERIOD]`.")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,59}", after[0]):
            raise UserFacingError(f"{quote(after[0])} is not a metric name. `/dora help` lists them.")
        explain_period = parse_period(after[1]) if len(after) == 2 else DEFAULT_PERIOD
        return DoraCommand("explain", _team(before[0]) if before else None, explain_period, after[0])
    if len(words) > 2:
        raise UserFacingError(f"That is more than I understand. Use {USAGE}.")
    team_id: str | None = None
    period: Period | None = None
    for word in words:
        if period is None and _looks_like_period(word):
            period = parse_period(word)  # raises BadPeriodError naming the valid periods
        elif team_id is None:
            team_id = _team(word)
        else:
            raise UserFacingError(f"{quote(' '.join(words))}: give one team and one period. Use {USAGE}.")
    return DoraCommand("report", team_id, period or DEFAULT_PERIOD)


@dataclass(frozen=True)
class DoraRef:
    """What an explain button under a report refers to: team, period, metric and the report's end.

    Carried in the button ``value`` as ``team-a|30d|lead-time|1761955200`` (well under 2000 chars).
    """

    team_id: str
    period_key: str
    metric: str
    as_of: datetime

    def to_value(self) -> str:
        """The button value."""
        return f"{self.team_id}|{self.period_key}|{self.metric}|{int(self.as_of.timestamp())}"

    @classmethod
    def from_value(cls, value: str) -> DoraRef:
        """Parse a button value; ``UserFacingError`` if it was tampered with or is from an old version."""
        parts = (value or "").split("|")
        if len(parts) != 4 or not TEAM_ID.fullmatch(parts[0]) or not parts[3].isdigit():
            raise UserFacingError("This button is out of date. Run `/dora` again.")
        try:
            parse_period(parts[1])
        except BadPeriodError as exc:
            raise UserFacingError("This button is out of date. Run `/dora` again.") from exc
        return cls(parts[0], parts[1], parts[2], datetime.fromtimestamp(int(parts[3]), UTC))

    @property
    def period(self) -> Period:
        """The reporting period."""
        return parse_period(self.period_key)
