"""Settings come from the environment; URLs are normalised and secrets never printed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert s.database_url == "sqlite:///sei-bot.db" and s.is_sqlite
    assert s.slack_api_url == "https://slack.com/api/" and s.github_api_url == "https://api.github.com"
    assert s.sei_teams_file == "teams.yml" and s.sei_timezone == "UTC"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/sei", "postgresql+psycopg://u:p@db:5432/sei"),
        ("postgresql://u@db/sei", "postgresql+psycopg://u@db/sei"),
        ("postgresql+psycopg://u@db/sei", "postgresql+psycopg://u@db/sei"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_are_normalised(monkeypatch: pytest.MonkeyPatch, given: str, expected: str) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert Settings().database_url == expected


def test_slack_api_url_gets_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9000/api")
    assert Settings().slack_api_url == "http://127.0.0.1:9000/api/"


def test_secrets_are_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "sign-me-secret")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "hook-secret")
    s = Settings()
    assert "very-secret" not in repr(s) and "very-secret" not in str(s.model_dump())
    assert "sign-me-secret" not in repr(s)
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-very-secret"
    assert s.secret_key() == b"sign-me-secret"


def test_bad_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEI_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings()
