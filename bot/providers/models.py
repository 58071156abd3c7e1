"""Tables of the provider clients: the ETag cache that lets a second backfill be answered with 304s."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class HttpCacheEntry(SQLModel, table=True):
    """An earlier ``200`` answer kept for conditional requests: ETag, zlib-compressed body, ``Link`` header.

    ``key`` is the SHA-256 of ``url`` (URLs with their query strings outgrow an indexable column).
    """

    __tablename__ = "http_cache_entry"

    key: str = Field(primary_key=True, max_length=64)
    provider: str = Field(default="github", max_length=32)
    url: str = Field(sa_column=Column(Text, nullable=False))
    etag: str = Field(max_length=300)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    link: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
