"""The append-only raw event log that every inbound delivery is written to first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class RawEvent(SQLModel, table=True):
    """One inbound delivery, exactly as received, keyed by ``(source, delivery_id)``.

    ``status``: ``pending`` (not normalised yet), ``done``, ``ignored`` (an event the bot does not
    use), ``error`` (normalisation failed: the dead-letter view), ``refused`` (bad body, kept).
    """

    __tablename__ = "raw_event"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id"),
        Index("ix_raw_event_status_id", "status", "id"),
        Index("ix_raw_event_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    delivery_id: str = Field(max_length=200)
    event_type: str = Field(default="", max_length=100)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="pending", max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0


class SlackEventSeen(SQLModel, table=True):
    """Slack ``event_id``s already handled, so retries are answered but not processed twice."""

    __tablename__ = "slack_event_seen"

    event_id: str = Field(primary_key=True, max_length=100)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
