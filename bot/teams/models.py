"""Tables for teams, their repositories and services, and people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class Team(SQLModel, table=True):
    """A team as configured in ``teams.yml``; ``config`` keeps the validated team block."""

    __tablename__ = "team"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    channel: str = Field(max_length=32, index=True)
    timezone: str = Field(default="UTC", max_length=64)
    profile: str = Field(default="dora-2023", max_length=32)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TeamRepo(SQLModel, table=True):
    """A repository owned by a team: ``owner/name`` for GitHub, ``gitlab:group/project`` for GitLab."""

    __tablename__ = "team_repo"

    team_id: str = Field(foreign_key="team.id", primary_key=True, max_length=64, ondelete="CASCADE")
    repo: str = Field(primary_key=True, max_length=300, index=True)


class TeamService(SQLModel, table=True):
    """An incident-tool service (PagerDuty service id, Opsgenie team, generic name) owned by a team."""

    __tablename__ = "team_service"

    team_id: str = Field(foreign_key="team.id", primary_key=True, max_length=64, ondelete="CASCADE")
    service: str = Field(primary_key=True, max_length=200, index=True)


class Person(SQLModel, table=True):
    """Someone the bot knows: Slack id and the logins that tie them to delivery data."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_github_login", "github_login"),
        Index("ix_person_gitlab_login", "gitlab_login"),
        Index("ix_person_email", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slack_id: str = Field(max_length=32, unique=True)
    github_login: str | None = Field(default=None, max_length=100)
    gitlab_login: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=300)
    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    is_admin: bool = False  # from teams.yml `admins:`; may start and close surveys for any team


class TeamMember(SQLModel, table=True):
    """Membership of a person in a team; ``role`` is ``member`` or ``lead``."""

    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="team.id", max_length=64, index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=16)
