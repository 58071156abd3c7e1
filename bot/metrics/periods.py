"""Reporting periods: ``7d``, ``30d``, ``90d``, ``quarter``, ``Nd``, ``Nw``; windows are ``[start, end)``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UserFacingError

PERIOD_HELP = "7d, 30d (default), 90d, quarter, or any Nd / Nw up to 365 days"
MAX_DAYS = 365


class BadPeriodError(UserFacingError):
    """A period the bot does not understand; the message lists the valid forms."""

    def __init__(self, text: str):
        super().__init__(f"`{text}` is not a period I know. Try {PERIOD_HELP}.")


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[start, end)`` in UTC, with the team time zone used for bucketing."""

    start: datetime
    end: datetime
    timezone: str = "UTC"

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return (self.end - self.start).total_seconds()

    @property
    def days(self) -> float:
        """Length in days (fractional for windows that do not start at midnight)."""
        return self.seconds / 86400

    def previous(self) -> Window:
        """The window of equal length just before this one."""
        return Window(self.start - (self.end - self.start), self.start, self.timezone)

    def contains(self, moment: datetime | None) -> bool:
        """True when ``moment`` lies in ``[start, end)``."""
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class Period:
    """A reporting period as the user typed it."""

    key: str
    days: int | None  # None for calendar periods (quarter)

    @property
    def label(self) -> str:
        """Human wording: ``last 30 days`` / ``this quarter``."""
        if self.key == "quarter":
            return "this quarter"
        if self.days == 7:
            return "last 7 days"
        return f"last {self.days} days"

    def window(self, as_of: datetime, timezone: str = "UTC") -> Window:
        """The window ending at ``as_of``."""
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        end = as_of.astimezone(UTC)
        if self.days is not None:
            return Window(end - timedelta(days=self.days), end, timezone)
        local = end.astimezone(ZoneInfo(timezone))
        first_month = 3 * ((local.month - 1) // 3) + 1
        start_local = local.replace(month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0)
        return Window(start_local.astimezone(UTC), end, timezone)


def parse_period(text: str | None) -> Period:
    """Parse ``30d``, ``12w``, ``quarter`` (default ``30d``); ``BadPeriodError`` otherwise."""
    raw = (text or "30d").strip().lower()
    if raw in ("quarter", "q", "qtd"):
        return Period("quarter", None)
    match = re.fullmatch(r"(\d{1,3})\s*(d|day|days|w|wk|week|weeks)", raw)
    if not match:
        raise BadPeriodError(text or "")
    n = int(match.group(1))
    days = n * 7 if match.group(2).startswith("w") else n
    if not 1 <= days <= MAX_DAYS:
        raise BadPeriodError(text or "")
    return Period(f"{days}d", days)


def parse_as_of(text: str | None) -> datetime:
    """An ISO 8601 datetime (a date means its midnight UTC; no offset means UTC); now when empty."""
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UserFacingError(f"`{text}` is not an ISO 8601 datetime like 2026-10-31T00:00:00+00:00") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
