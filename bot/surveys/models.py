"""Survey tables. Who answered (participants) is kept apart from what was answered (responses).

A response row carries no person id and no timestamp. While a run is open, a respondent's row is
found through ``respondent_hash`` = HMAC(server secret, run salt + Slack id), so the person can change
their answers; closing the run deletes the salt and the hashes, after which nothing links them.
Response ids are random, so insertion order reveals nothing either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class SurveyTemplate(SQLModel, table=True):
    """A survey defined by an admin from Slack (built-in and ``teams.yml`` templates live in code/config)."""

    __tablename__ = "survey_template"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str | None = Field(default=None, max_length=32)
    source: str = Field(default="slack", max_length=16)  # slack | teams.yml
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurveyRun(SQLModel, table=True):
    """One opening of a survey for a team; ``questions`` is a snapshot of the template."""

    __tablename__ = "survey_run"
    __table_args__ = (Index("ix_survey_run_team_id_opened_at", "team_id", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # survey:team-a:2026-11-24 (idempotent opening)
    team_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    title: str = Field(max_length=200)
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    threshold: int = 5
    status: str = Field(default="open", max_length=16)  # open | closed
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_by: str | None = Field(default=None, max_length=32)
    salt: str | None = Field(default=None, max_length=128)  # destroyed at close


class SurveyParticipant(SQLModel, table=True):
    """Who was invited and whether they have answered: never what they answered."""

    __tablename__ = "survey_participant"
    __table_args__ = (UniqueConstraint("run_id", "slack_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="survey_run.id", index=True, ondelete="CASCADE")
    slack_id: str = Field(max_length=32)
    status: str = Field(default="invited", max_length=16)  # invited | answered | skipped
    reminders_sent: int = 0
    remind_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dm_channel: str | None = Field(default=None, max_length=32)
    dm_ts: str | None = Field(default=None, max_length=32)


class SurveyResponse(SQLModel, table=True):
    """One person's answers to one run, with nothing that identifies the person once the run closes."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("run_id", "respondent_hash"),)

    id: str = Field(primary_key=True, max_length=36)  # random uuid4
    run_id: int = Field(foreign_key="survey_run.id", index=True, ondelete="CASCADE")
    respondent_hash: str | None = Field(default=None, max_length=64)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SurveyResult(SQLModel, table=True):
    """Results of a closed run kept for digests and insights (only when above the threshold)."""

    __tablename__ = "survey_result"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="survey_run.id", unique=True, ondelete="CASCADE")
    team_id: str = Field(max_length=64, index=True)
    week: str = Field(max_length=10)  # ISO week in the team's time zone, e.g. 2026-W47
    invited: int = 0
    responses: int = 0
    shown: bool = False  # False when below the anonymity threshold: no figures are kept
    index_value: float | None = None
    questions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
