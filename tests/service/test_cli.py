"""The command line: teams apply/list, migrate, and one actionable line on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.factories import TEAMS_YML


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str, engine: object, tmp_path: Path) -> Path:
    monkeypatch.setenv("DATABASE_URL", db_url)
    teams = tmp_path / "teams.yml"
    teams.write_text(TEAMS_YML)
    return teams


def test_teams_apply_then_list(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teams", "apply", str(env)]) == 0
    assert "2 team(s)" in capsys.readouterr().out
    assert main(["teams", "list"]) == 0
    out = capsys.readouterr().out
    assert "team-a  Team A · channel C0123ABCD · Europe/Berlin" in out and "acme/api, acme/web" in out


def test_teams_apply_is_declarative(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["teams", "apply", str(env)])
    env.write_text(TEAMS_YML.split("  team-b:")[0] + "people: []\n")
    assert main(["teams", "apply", str(env)]) == 0
    assert "1 removed" in capsys.readouterr().out
    main(["teams", "list"])
    assert "team-b" not in capsys.readouterr().out


def test_invalid_teams_file_names_line_and_field(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.write_text(TEAMS_YML.replace("timezone: Europe/Berlin", "timezone: Nowhere/Land"))
    assert main(["teams", "apply", str(env)]) == 2
    err = capsys.readouterr().err
    assert f"{env}:5: teams.team-a.timezone: unknown time zone 'Nowhere/Land'" in err


def test_missing_teams_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teams", "apply", str(env.parent / "nope.yml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_empty_database_lists_nothing_helpfully(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["teams", "list"]) == 0
    assert "sei-bot teams apply" in capsys.readouterr().out


def test_migrate_is_idempotent(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0 and main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SEI_TIMEZONE", "Nowhere")
    assert main(["teams", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sei-bot: SEI_TIMEZONE:") and "\n" not in err


def test_unmigrated_database_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["teams", "list"]) == 2
    assert "run `sei-bot migrate`" in capsys.readouterr().err
