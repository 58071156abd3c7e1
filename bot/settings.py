"""One settings object read from the environment variables of the public contract."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def normalize_database_url(url: str) -> str:
    """Turn Heroku-style ``postgres://`` URLs into SQLAlchemy's psycopg 3 dialect.

    >>> normalize_database_url("postgres://u:p@h/db")
    'postgresql+psycopg://u:p@h/db'
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Configuration of one sei-bot process; every field maps to one environment variable."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    database_url: str = "sqlite:///sei-bot.db"
    sei_teams_file: str = "teams.yml"
    sei_timezone: str = "UTC"
    # Secret used to key survey respondent hashes; falls back to the signing secret.
    sei_secret_key: SecretStr | None = None

    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_webhook_secret: SecretStr | None = None
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: SecretStr | None = None
    gitlab_webhook_token: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    sei_ingest_token: SecretStr | None = None

    sei_public_url: str | None = Field(default=None, description="Public base URL, used in the manifest")

    @field_validator("database_url")
    @classmethod
    def _normalize_db(cls, value: str) -> str:
        return normalize_database_url(value.strip())

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # WebClient silently drops a path without its trailing slash (see SLACK.md).
        return value if value.endswith("/") else value + "/"

    @field_validator("github_api_url", "gitlab_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("sei_timezone")
    @classmethod
    def _valid_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file or memory database."""
        return self.database_url.startswith("sqlite")

    def secret_key(self) -> bytes:
        """The key for keyed hashes; a fixed development key when nothing is configured."""
        for secret in (self.sei_secret_key, self.slack_signing_secret):
            if secret is not None and secret.get_secret_value():
                return secret.get_secret_value().encode()
        return b"sei-bot-development-key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
