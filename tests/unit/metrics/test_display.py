"""Numbers read with units and direction; "better" depends on the metric, not on the arrow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.metrics.display import (
    biggest_drag,
    format_duration,
    format_rate,
    format_window,
    has_any_data,
    metric_rows,
    report_text,
    trend,
)
from bot.metrics.periods import Window
from tests.fakes.reports import HOUR, empty_report, sample_report


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "no data"),
        (42, "42 s"),
        (900, "15 min"),
        (10 * HOUR, "10.0 h"),
        (47.9 * HOUR, "47.9 h"),
        (84 * HOUR, "3.5 d"),
    ],
)
def test_durations(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_rates() -> None:
    assert [format_rate(r) for r in (None, 0.2, 0.0833, 0.05)] == ["no data", "20 %", "8.3 %", "5 %"]


def test_lower_lead_time_is_better_and_higher_frequency_is_better() -> None:
    down = trend(10 * HOUR, 13.5 * HOUR, lower_is_better=True, unit="duration")
    assert (down.arrow, down.delta, down.better) == ("▼", "−3.5 h", True)
    up = trend(0.2, 0.12, lower_is_better=True, unit="pts")
    assert (up.arrow, up.delta, up.better) == ("▲", "+8 pts", False)
    more = trend(1.2, 0.8, lower_is_better=False, unit="count")
    assert (more.arrow, more.better) == ("▲", True)
    assert trend(None, 1.0, lower_is_better=True, unit="count").words == "no earlier data"
    assert trend(1.0, 1.0, lower_is_better=True, unit="count").words == "no change"


def test_rows_of_a_report() -> None:
    rows = {row.key: row for row in metric_rows(sample_report())}
    assert rows["deployment-frequency"].value == "1.2 / week"
    assert rows["lead-time"].value == "10.0 h" and "deploy 4 h" in rows["lead-time"].detail
    assert rows["change-failure-rate"].detail.startswith("1 of 5 deployments")
    assert rows["recovery-time"].detail == "1 recovered · 0 open"
    assert biggest_drag(sample_report()) == "deploy stage (4 h median of 10.0 h lead time)"


def test_window_shows_the_last_included_day_in_the_team_zone() -> None:
    window = Window(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC), "UTC")
    assert format_window(window) == "Oct 1 – Oct 30"
    tokyo = Window(datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2026, 1, 7, 15, tzinfo=UTC), "Asia/Tokyo")
    assert format_window(tokyo) == "Jan 1 – Jan 7"
    new_year = Window(datetime(2025, 12, 20, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC), "UTC")
    assert format_window(new_year) == "Dec 20, 2025 – Jan 4"


def test_no_data_is_never_zero_or_a_tier() -> None:
    report = empty_report()
    assert not has_any_data(report.current)
    rows = {row.key: row for row in metric_rows(report)}
    assert rows["lead-time"].value == "no data" and rows["lead-time"].tier is None
    assert rows["change-failure-rate"].value == "no data"
    assert "no data" in report_text(report)


def test_plain_text_reads_as_sentences() -> None:
    text = report_text(sample_report())
    assert text.startswith("Team A · DORA, last 30 days (Oct 1 – Oct 31), profile DORA 2023.")
    assert "Lead time for changes 10.0 h (down 3.5 h, better; Elite;" in text
    assert "Change failure rate 20 % (up 20 pts, worse; Low;" in text
