"""Calendar arithmetic for surveys: cadence, closing time, working hours and reminders. Pure and DST-safe.

Times are computed as wall-clock times in a zone and only then turned into UTC, so "Tuesday 10:00
Europe/Berlin" stays 10:00 across a daylight-saving change. A wall time that does not exist (the
spring-forward gap) moves forward by the gap; a repeated one (autumn) means its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.teams.config import DAYS, ReviewsConfig, SurveyConfig, parse_hhmm

# Cadence weeks are counted from this Monday: "every 2 weeks" runs in the weeks 0, 2, 4 … after it,
# so every process computes the same dates without any stored state.
CADENCE_EPOCH = date(2024, 1, 1)
# No reminder this close to the end: there would be no time left to answer.
LAST_CALL = timedelta(hours=1)
# A reminder is only started this long before the end of the working day, so a queue cannot push
# it past the evening.
WORKDAY_MARGIN = timedelta(minutes=30)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC moment of a wall-clock time in a zone (a gap moves forward, a repeat takes the first)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def add_local_days(moment: datetime, days: int, tz: ZoneInfo) -> datetime:
    """``days`` calendar days later at the same wall-clock time in ``tz`` (not ``days`` × 24 h)."""
    local = moment.astimezone(tz)
    return local_to_utc(local.date() + timedelta(days=days), local.time().replace(tzinfo=None), tz)


def is_cadence_week(day: date, every_weeks: int) -> bool:
    """True when ``day`` falls in a week the cadence runs in."""
    monday = day - timedelta(days=day.weekday())
    return ((monday - CADENCE_EPOCH).days // 7) % every_weeks == 0


def openings(survey: SurveyConfig, timezone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every scheduled opening in ``[start, end)``, in UTC."""
    tz = ZoneInfo(timezone)
    at = parse_hhmm(survey.time)
    weekday = DAYS.index(survey.day)
    found = []
    day = start.astimezone(tz).date() - timedelta(days=1)
    while (moment := local_to_utc(day, at, tz)) < end:
        if day.weekday() == weekday and is_cadence_week(day, survey.every_weeks) and moment >= start:
            found.append(moment)
        day += timedelta(days=1)
    return found


def latest_opening(survey: SurveyConfig, timezone: str, now: datetime) -> datetime | None:
    """The last scheduled opening at or before ``now`` (``None`` when there is none within one cycle)."""
    lookback = timedelta(weeks=survey.every_weeks, days=2)
    found = openings(survey, timezone, now - lookback, now + timedelta(microseconds=1))
    return found[-1] if found else None


def run_key(team_id: str, opened_at: datetime, timezone: str) -> str:
    """The idempotency key of a scheduled run: ``survey:team-a:2026-11-24`` (local date)."""
    return f"survey:{team_id}:{opened_at.astimezone(ZoneInfo(timezone)).date().isoformat()}"


def iso_week(moment: datetime, timezone: str) -> str:
    """The ISO week of a moment in a zone: ``2026-W47``."""
    year, week, _ = moment.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class WorkingHours:
    """One person's working day: hours and weekdays in their own zone, minus holidays."""

    tz: ZoneInfo
    start: time
    end: time
    weekdays: frozenset[int]
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, reviews: ReviewsConfig, timezone: str) -> WorkingHours:
        """The team's working day (``reviews:`` in ``teams.yml``) in a person's own time zone."""
        first, last = reviews.working_hours.split("-")
        return cls(
            tz=ZoneInfo(timezone),
            start=parse_hhmm(first),
            end=parse_hhmm(last),
            weekdays=frozenset(DAYS.index(d) for d in reviews.working_days),
            holidays=frozenset(reviews.holidays),
        )

    def _is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def contains(self, moment: datetime, margin: timedelta = timedelta(0)) -> bool:
        """True when ``moment`` is in working hours, at least ``margin`` before the day's end."""
        local = moment.astimezone(self.tz)
        if not self._is_working_day(local.date()):
            return False
        start = local_to_utc(local.date(), self.start, self.tz)
        end = local_to_utc(local.date(), self.end, self.tz)
        return start <= moment < end - margin

    def next_start(self, moment: datetime) -> datetime | None:
        """``moment`` when inside working hours, else the start of the next working period."""
        if self.contains(moment):
            return moment
        day = moment.astimezone(self.tz).date()
        for offset in range(0, 370):
            candidate = local_to_utc(day + timedelta(days=offset), self.start, self.tz)
            if candidate >= moment and self._is_working_day(day + timedelta(days=offset)):
                return candidate
        return None  # no working day configured at all

    def next_day_start(self, moment: datetime) -> datetime | None:
        """The start of the first working day after ``moment``'s local day."""
        tomorrow = moment.astimezone(self.tz).date() + timedelta(days=1)
        return self.next_start(local_to_utc(tomorrow, time(0, 0), self.tz))


def reminder_due(opened_at: datetime, closes_at: datetime, allowed: int, number: int) -> datetime:
    """When automatic reminder ``number`` (1-based) of ``allowed`` falls due: evenly spread over the run."""
    return opened_at + (closes_at - opened_at) * number / (allowed + 1)


def should_remind(
    *,
    now: datetime,
    opened_at: datetime,
    closes_at: datetime,
    allowed: int,
    sent: int,
    remind_after: datetime | None,
    hours: WorkingHours,
) -> bool:
    """True when a person who has not answered should get their next reminder now.

    At most ``allowed`` reminders; each one once it is due (or once the moment the person asked for
    with *Remind me later* has come), only inside their working hours, and never in the last hour.
    """
    if sent >= allowed or now >= closes_at - LAST_CALL:
        return False
    due = remind_after if remind_after is not None else reminder_due(opened_at, closes_at, allowed, sent + 1)
    return now >= due and hours.contains(now, margin=WORKDAY_MARGIN)


def remind_later_at(now: datetime, closes_at: datetime, hours: WorkingHours) -> datetime | None:
    """When *Remind me later* should remind: the next working morning, else in a few working hours.

    ``None`` when the survey closes too soon for any later reminder.
    """
    latest = closes_at - LAST_CALL
    for candidate in (hours.next_day_start(now), hours.next_start(now + timedelta(hours=2))):
        if candidate is not None and candidate < latest:
            return candidate
    return None
