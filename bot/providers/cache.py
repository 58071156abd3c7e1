"""An ETag cache kept in the database, so conditional requests pay off across runs and processes."""

from __future__ import annotations

import hashlib
import zlib
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlmodel import col

from bot.db import session_scope, utcnow
from bot.providers.github import CachedResponse
from bot.providers.models import HttpCacheEntry


def cache_key(url: str) -> str:
    """The primary key of a URL's entry."""
    return hashlib.sha256(url.encode()).hexdigest()


class DbETagCache:
    """``ETagCache`` on the ``http_cache_entry`` table; each write is its own short transaction.

    Callers must not hold a write transaction on the same SQLite database while they fetch.
    """

    def __init__(self, engine: Engine, provider: str = "github"):
        self.engine = engine
        self.provider = provider

    def get(self, url: str) -> CachedResponse | None:
        """The stored answer for ``url``, if any."""
        with session_scope(self.engine) as session:
            row = session.get(HttpCacheEntry, cache_key(url))
            if row is None:
                return None
            return CachedResponse(etag=row.etag, body=zlib.decompress(row.body), link=row.link)

    def put(self, url: str, response: CachedResponse) -> None:
        """Store (or replace) the answer for ``url``."""
        key = cache_key(url)
        with session_scope(self.engine) as session:
            row = session.get(HttpCacheEntry, key) or HttpCacheEntry(
                key=key, provider=self.provider, url=url, etag=response.etag, body=b""
            )
            row.etag, row.link, row.fetched_at = response.etag, response.link, utcnow()
            row.body = zlib.compress(response.body, 6)
            session.add(row)

    def prune(self, *, older_than: timedelta) -> int:
        """Drop answers stored longer ago than ``older_than`` (a later request simply pays for a 200)."""
        with session_scope(self.engine) as session:
            result = session.execute(
                delete(HttpCacheEntry).where(
                    col(HttpCacheEntry.provider) == self.provider,
                    col(HttpCacheEntry.fetched_at) < utcnow() - older_than,
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
