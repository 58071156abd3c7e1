"""Database engine, sessions and the column types shared by every domain package."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, event, types
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import SQLModel, create_engine

log = logging.getLogger(__name__)

# Constraint names are stable across SQLite and PostgreSQL so migrations can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones: values are stored as naive UTC and given ``UTC`` back on load.
    Naive values passed in are refused, because guessing their zone silently corrupts metrics.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def insert_ignore(*, session: Session, table: Any, values: dict[str, Any]) -> bool:
    """Insert one row unless it collides with a unique key; True when this call inserted it.

    ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite: under concurrent inserts of the
    same key exactly one wins and the others wait for it, then do nothing (no IntegrityError, and
    the surrounding transaction stays usable).
    """
    table = getattr(table, "__table__", table)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - sei-bot runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"insert_ignore does not support {dialect}")
    # RETURNING tells what happened on both dialects (rowcount is -1 when PostgreSQL returns rows).
    return session.execute(stmt.returning(*table.primary_key.columns)).first() is not None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine with the per-dialect settings sei-bot relies on (WAL on SQLite)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for a database URL (the configured one by default)."""
    if url is None:
        from bot.settings import get_settings

        url = get_settings().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and process shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


_factories: dict[int, sessionmaker[Session]] = {}


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    engine = engine or get_engine()
    factory = _factories.get(id(engine))
    if factory is None or factory.kw.get("bind") is not engine:
        factory = _factories[id(engine)] = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def import_all_models() -> MetaData:
    """Import every table module so the metadata is complete; returns it."""
    import bot.delivery.models
    import bot.ingest.models
    import bot.ingest.sync_models
    import bot.outbox.models
    import bot.platform_tables
    import bot.providers.models
    import bot.surveys.models
    import bot.teams.models  # noqa: F401

    return SQLModel.metadata
