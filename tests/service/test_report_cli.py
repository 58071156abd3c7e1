"""``sei-bot report``: the /dora figures in a terminal, DESIGN.md §2 JSON, and one-line errors."""

from __future__ import annotations

import json
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.cli import main
from tests.factories import History, apply_teams, utc

H = timedelta(hours=1)
AS_OF = "2026-10-31T00:00:00+00:00"
DESIGN_KEYS = {
    "team",
    "profile",
    "start",
    "end",
    "deployment_frequency",
    "lead_time",
    "change_failure_rate",
    "recovery_time",
    "time_to_restore",
    "rework_rate",
    "previous",
}


@pytest.fixture
def seeded(session: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    apply_teams(session)
    h = History(session)
    h.deploy(utc(2026, 9, 20, 12), "base00")
    h.merge(1, utc(2026, 10, 5, 9), "m1", first_commit=utc(2026, 10, 4, 18), review_at=utc(2026, 10, 5, 8))
    h.deploy(utc(2026, 10, 5, 18), "m1")
    h.incident("INC-900", utc(2026, 10, 5, 19), utc(2026, 10, 5, 22))
    h.merge(2, utc(2026, 10, 12, 9), "m2", first_commit=utc(2026, 10, 12, 7))
    h.deploy(utc(2026, 10, 12, 11), "m2")
    session.commit()


def test_json_has_the_design_keys_and_the_figures(seeded: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "team-a", "--period", "30d", "--as-of", AS_OF, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= DESIGN_KEYS
    assert DESIGN_KEYS - {"team", "profile", "previous"} <= set(data["previous"])
    assert (data["team"], data["start"], data["end"]) == ("team-a", "2026-10-01T00:00:00+00:00", AS_OF)
    assert data["deployment_frequency"]["deployments"] == 2
    assert data["lead_time"]["median_s"] == pytest.approx((24 + 4) / 2 * 3600)  # 24 h and 4 h
    assert (data["change_failure_rate"]["failed"], data["change_failure_rate"]["rate"]) == (1, 0.5)
    assert data["recovery_time"]["median_s"] == 4 * 3600


def test_table_reads_like_the_slack_message(seeded: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "team-a", "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Team A · DORA, last 30 days (Oct 1 – Oct 31) · profile DORA 2023")
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "14.0 h" in lines["Lead time for changes"] and "2 changes" in lines["Lead time for changes"]
    assert "50 %" in lines["Change failure rate"] and "(worse)" in lines["Change failure rate"]
    assert "Low" in lines["Change failure rate"] and "1 of 2 deployments" in lines["Change failure rate"]
    assert "4.0 h" in lines["Recovery time"]


def test_chart_file_is_written(seeded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "dora.png"
    assert main(["report", "team-a", "--as-of", AS_OF, "--chart", str(chart), "--json"]) == 0
    json.loads(capsys.readouterr().out)  # stdout stays pure JSON
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (800, 460)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report", "team-z"], "sei-bot: Unknown team team-z. Teams: team-a, team-b."),
        (["report", "team-a", "--period", "5y"], "sei-bot: 5y is not a period I know. Try 7d, 30d (default)"),
        (["report", "team-a", "--as-of", "last tuesday"], "sei-bot: last tuesday is not an ISO 8601 datetime"),
        (["report", "team-a", "--chart", "/nonexistent/dir/x.png"], "sei-bot: cannot write the chart to"),
    ],
)
def test_mistakes_are_one_actionable_line(
    seeded: None, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(says)
