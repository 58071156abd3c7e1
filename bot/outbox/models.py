"""The outbox table and the record of scheduled job runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    """A Slack Web API call to make exactly once, identified by ``key`` (``digest:team-a:2026-W47``).

    ``status``: ``pending`` → ``sending`` (claimed until ``claimed_until``) → ``sent``, or ``dead``
    after too many failures. ``channel`` is the rate-limit bucket (a channel id or a user id for DMs).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_not_before", "status", "not_before"),
        # The claim looks at a row's bucket: its earlier waiting rows, its live claims, its last send.
        Index("ix_outbox_channel_status_not_before", "channel", "status", "not_before"),
        Index("ix_outbox_channel_sent_at", "channel", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    method: str = Field(max_length=64)  # chat.postMessage, chat.update, dm, files.upload_v2 ...
    channel: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job for one key (``survey-open:team-a:2026-11-24``): never twice."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    job_id: str = Field(max_length=100, index=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="running", max_length=16)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
