"""Reading and writing backfill cursors (keyword-only, never commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.ingest.sync_models import SyncCursor


def load_cursor(*, session: Session, repo: str, resource: str) -> dict[str, Any]:
    """The stored state of a repository's resource (``{}`` when it was never synced)."""
    row = session.get(SyncCursor, (repo, resource))
    return dict(row.cursor) if row is not None else {}


def save_cursor(*, session: Session, repo: str, resource: str, cursor: dict[str, Any]) -> None:
    """Store the state of a repository's resource; committed with the rows it describes."""
    row = session.get(SyncCursor, (repo, resource))
    if row is None:
        row = SyncCursor(repo=repo, resource=resource)
    row.cursor = dict(cursor)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
