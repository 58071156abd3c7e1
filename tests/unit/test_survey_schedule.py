"""Survey calendar: cadence in the team's zone across DST, closing times, working hours, reminders."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.surveys import schedule
from bot.surveys.schedule import WorkingHours
from bot.teams.config import ReviewsConfig, SurveyConfig

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_every_other_tuesday_stays_at_ten_local_across_the_autumn_change() -> None:
    found = schedule.openings(SurveyConfig(), "Europe/Berlin", utc(2026, 10, 1), utc(2026, 12, 1))
    local = [o.astimezone(BERLIN) for o in found]
    assert [d.date() for d in local] == [date(2026, 10, 6), date(2026, 10, 20), date(2026, 11, 3), date(2026, 11, 17)]
    assert {(d.hour, d.minute) for d in local} == {(10, 0)}
    # Summer time is UTC+2, winter time UTC+1: the UTC hour moves, the local one does not.
    assert [o.hour for o in found] == [8, 8, 9, 9]


def test_cadence_weeks_do_not_depend_on_where_the_search_starts() -> None:
    cadence = SurveyConfig(every_weeks=3, day="friday", time="15:30")
    whole = schedule.openings(cadence, "America/New_York", utc(2026, 1, 1), utc(2026, 7, 1))
    halves = schedule.openings(cadence, "America/New_York", utc(2026, 1, 1), utc(2026, 4, 2)) + schedule.openings(
        cadence, "America/New_York", utc(2026, 4, 2), utc(2026, 7, 1)
    )
    assert whole == halves
    gaps = {(b.astimezone(NEW_YORK).date() - a.astimezone(NEW_YORK).date()).days for a, b in itertools.pairwise(whole)}
    assert gaps == {21}


def test_latest_opening_is_the_last_one_not_after_now() -> None:
    cadence = SurveyConfig()
    opening = utc(2026, 11, 3, 9)  # Tue 10:00 Berlin
    assert schedule.latest_opening(cadence, "Europe/Berlin", opening) == opening
    assert schedule.latest_opening(cadence, "Europe/Berlin", opening - timedelta(seconds=1)) == utc(2026, 10, 20, 8)
    assert schedule.latest_opening(cadence, "Europe/Berlin", opening + timedelta(days=9)) == opening


def test_a_wall_time_in_the_spring_gap_moves_forward_and_a_repeated_one_takes_the_first() -> None:
    assert schedule.local_to_utc(date(2026, 3, 29), time(2, 30), BERLIN).astimezone(BERLIN).hour == 3
    assert schedule.local_to_utc(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


def test_open_days_are_calendar_days_not_72_hours() -> None:
    opened = utc(2026, 10, 23, 8)  # Fri 10:00 CEST, the clocks go back on Sunday
    closes = schedule.add_local_days(opened, 3, BERLIN)
    assert closes.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 26, 10, 0)
    assert closes - opened == timedelta(hours=73)


def test_run_key_and_week_use_the_local_date() -> None:
    late_monday_in_utc = utc(2026, 11, 23, 23, 30)  # already Tuesday in Berlin
    assert schedule.run_key("team-a", late_monday_in_utc, "Europe/Berlin") == "survey:team-a:2026-11-24"
    assert schedule.iso_week(utc(2026, 11, 22, 23, 30), "Europe/Berlin") == "2026-W48"
    assert schedule.iso_week(utc(2026, 11, 22, 23, 30), "UTC") == "2026-W47"


def hours_in(tz: str, **reviews: object) -> WorkingHours:
    return WorkingHours.from_config(ReviewsConfig(**reviews), tz)  # type: ignore[arg-type]


def test_working_hours_follow_the_persons_zone_and_skip_weekends_and_holidays() -> None:
    hours = hours_in("America/New_York", holidays=[date(2026, 11, 26)])
    assert hours.contains(utc(2026, 11, 24, 14))  # 09:00 in New York
    assert not hours.contains(utc(2026, 11, 24, 13, 59))
    assert not hours.contains(utc(2026, 11, 24, 22))  # 17:00, the end is excluded
    assert not hours.contains(utc(2026, 11, 26, 15))  # a holiday
    assert hours.next_start(utc(2026, 11, 27, 23)) == utc(2026, 11, 30, 14)  # Fri evening → Mon 09:00
    assert not hours.contains(utc(2026, 11, 24, 21, 45), margin=timedelta(minutes=30))


def test_reminders_are_spread_over_the_run_and_capped() -> None:
    opened, closes = utc(2026, 11, 24, 9), utc(2026, 11, 27, 9)
    hours = hours_in("Europe/Berlin")
    common = {"opened_at": opened, "closes_at": closes, "allowed": 2, "remind_after": None, "hours": hours}
    assert schedule.reminder_due(opened, closes, 2, 1) == utc(2026, 11, 25, 9)
    assert not schedule.should_remind(now=utc(2026, 11, 25, 8, 59), sent=0, **common)
    assert schedule.should_remind(now=utc(2026, 11, 25, 9), sent=0, **common)
    assert not schedule.should_remind(now=utc(2026, 11, 25, 12), sent=1, **common)  # second not due yet
    assert schedule.should_remind(now=utc(2026, 11, 26, 9), sent=1, **common)
    assert not schedule.should_remind(now=utc(2026, 11, 26, 12), sent=2, **common)  # at most two
    assert not schedule.should_remind(now=utc(2026, 11, 26, 20), sent=1, **common)  # 21:00 Berlin


def test_no_reminder_in_the_last_hour() -> None:
    hours = hours_in("UTC")
    opened, closes = utc(2026, 11, 24, 9), utc(2026, 11, 24, 15)
    assert not schedule.should_remind(
        now=utc(2026, 11, 24, 14, 5),
        opened_at=opened,
        closes_at=closes,
        allowed=2,
        sent=1,
        remind_after=None,
        hours=hours,
    )


def test_remind_later_means_the_next_working_morning_or_a_few_hours_or_nothing() -> None:
    hours = hours_in("Europe/Berlin")
    wednesday_noon = utc(2026, 11, 25, 11)
    assert schedule.remind_later_at(wednesday_noon, utc(2026, 11, 27, 9), hours) == utc(2026, 11, 26, 8)
    # Closing tomorrow at 08:30 local: tomorrow morning is too late, two hours from now is not.
    assert schedule.remind_later_at(wednesday_noon, utc(2026, 11, 26, 7, 30), hours) == utc(2026, 11, 25, 13)
    assert schedule.remind_later_at(wednesday_noon, utc(2026, 11, 25, 13, 30), hours) is None


def test_a_requested_reminder_replaces_the_automatic_time() -> None:
    hours = hours_in("UTC")
    common = {"opened_at": utc(2026, 11, 24, 9), "closes_at": utc(2026, 11, 27, 9), "allowed": 2, "hours": hours}
    asked = utc(2026, 11, 24, 15)
    assert schedule.should_remind(now=asked, sent=0, remind_after=asked, **common)
    assert not schedule.should_remind(now=asked - timedelta(minutes=1), sent=0, remind_after=asked, **common)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
)
def test_next_start_is_always_inside_working_hours_and_never_earlier(moment: datetime, tz: str) -> None:
    hours = hours_in(tz)
    start = hours.next_start(moment)
    assert start is not None and start >= moment
    assert hours.contains(start)
    assert start - moment < timedelta(days=4)


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_openings_fall_on_the_configured_weekday_and_time_all_year(tz: str) -> None:
    cadence = SurveyConfig(every_weeks=1, day="sunday", time="02:30")  # in the gap once a year
    found = schedule.openings(cadence, tz, utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(found) == 52
    local = [o.astimezone(ZoneInfo(tz)) for o in found]
    assert {d.weekday() for d in local} == {6}
    assert sum((d.hour, d.minute) != (2, 30) for d in local) == 1  # only the spring-forward Sunday moves
