"""Where each backfill stands, so that a second run continues instead of starting over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class SyncCursor(SQLModel, table=True):
    """The progress of one resource of one repository (``pulls``, ``deployments``, ``compare:<uid>``…).

    ``cursor`` is the resource's own JSON state, e.g. ``{"spans": [[lo, hi], ...]}``: the time ranges
    of a newest-first listing already stored.
    """

    __tablename__ = "sync_cursor"

    repo: str = Field(primary_key=True, max_length=300)
    resource: str = Field(primary_key=True, max_length=400)
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
