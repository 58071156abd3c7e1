"""Appending deliveries to the raw event log: durably, once per ``(source, delivery_id)``.

A request thread hands its verified delivery to a ``GroupCommitWriter`` and waits. The writer thread
inserts whatever has queued up meanwhile in one transaction, commits once, and wakes every waiting
request: each 2xx still means "stored", but one commit (one fsync) serves many requests, so the log
keeps up with bursts that one-commit-per-request could not. There is no artificial delay: a batch
is simply what arrived while the previous commit was running. ``DirectWriter`` is the plain
one-commit-per-request way, kept as the benchmark's baseline.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.db import utcnow
from bot.ingest.models import RawEvent

log = logging.getLogger(__name__)

# Never written to the log: these headers carry secrets.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-gitlab-token"})


@dataclass
class Inbound:
    """A delivery about to be logged; ``status`` is ``pending`` unless it was refused on arrival."""

    source: str
    delivery_id: str
    event_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status: str = "pending"
    error: str | None = None
    received_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class AppendResult:
    """The log row's id, and whether this call created it (``False``: a repeated delivery)."""

    id: int
    created: bool


class RawLogWriter(Protocol):
    """Something that stores an ``Inbound`` durably and says whether it was new."""

    def append(self, item: Inbound) -> AppendResult:
        """Store the delivery (or find the stored one); returns once it is committed."""
        ...


def loggable_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request headers worth keeping with a delivery: no secrets, bounded in size."""
    kept = {}
    for name, value in list(headers.items())[:60]:
        if name.lower() not in SECRET_HEADERS:
            kept[name[:100]] = value[:1000]
    return kept


_TABLE = RawEvent.__table__  # type: ignore[attr-defined]
_FIND = select(_TABLE.c.id).where(
    _TABLE.c.source == bindparam("source"), _TABLE.c.delivery_id == bindparam("delivery_id")
)


@cache
def _insert_statement(dialect_name: str) -> Any:
    # Built once: with parameters bound per call, SQLAlchemy reuses the compiled statement.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    insert = dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["source", "delivery_id"])
    return insert.returning(_TABLE.c.id)


def _values(item: Inbound) -> dict[str, Any]:
    return {
        "source": item.source,
        "delivery_id": item.delivery_id[:200],
        "event_type": item.event_type[:100],
        "received_at": item.received_at,
        "headers": item.headers,
        "body": item.body,
        "status": item.status,
        "error": item.error,
        "processed_at": item.received_at if item.status != "pending" else None,
        "attempts": 0,
    }


def _insert(conn: Connection, item: Inbound) -> AppendResult:
    values = _values(item)
    new_id = conn.execute(_insert_statement(conn.dialect.name), values).scalar()
    if new_id is not None:
        return AppendResult(int(new_id), True)
    existing = conn.execute(_FIND, {"source": item.source, "delivery_id": values["delivery_id"]}).scalar_one()
    return AppendResult(int(existing), False)


@cache
def _insert_returning_keys(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    insert = dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["source", "delivery_id"])
    return insert.returning(_TABLE.c.id, _TABLE.c.source, _TABLE.c.delivery_id)


def _insert_many(conn: Connection, items: list[Inbound]) -> list[AppendResult]:
    """Insert a batch in as few round trips as the driver allows; repeats resolve to the stored row.

    An executemany of one cached statement: SQLAlchemy sends it as multi-row ``INSERT … RETURNING``
    ("insertmanyvalues"), so the statement is compiled once per process, not once per batch.
    """
    rows = [_values(item) for item in items]
    result = conn.execute(_insert_returning_keys(conn.dialect.name), rows)
    created = {(source, delivery): int(row_id) for row_id, source, delivery in result}
    results: list[AppendResult] = []
    claimed: set[tuple[str, str]] = set()
    for row in rows:
        key = (row["source"], row["delivery_id"])
        if key in created and key not in claimed:
            claimed.add(key)  # the first of two identical deliveries in one batch is the new one
            results.append(AppendResult(created[key], True))
        else:
            existing = conn.execute(_FIND, {"source": key[0], "delivery_id": key[1]}).scalar_one()
            results.append(AppendResult(int(existing), False))
    return results


class DirectWriter:
    """One transaction and one commit per delivery (the simple baseline)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def append(self, item: Inbound) -> AppendResult:
        """Insert and commit this delivery alone."""
        with self.engine.begin() as conn:
            return _insert(conn, item)


class _Waiter:
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Inbound):
        self.item = item
        self.done = threading.Event()
        self.result: AppendResult | None = None
        self.error: BaseException | None = None


class GroupCommitWriter:
    """Commits the deliveries of many concurrent requests together (see the module docstring).

    The writer thread starts on the first append and stops after ``idle_seconds`` without work.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 256, idle_seconds: float = 5.0):
        self.engine = engine
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: deque[_Waiter] = deque()
        self._cond = threading.Condition()
        self._running = False
        self.batches = 0  # commits made, for the benchmark's report
        self.appended = 0

    def append(self, item: Inbound, timeout: float = 30.0) -> AppendResult:
        """Queue the delivery and wait until the batch holding it is committed."""
        waiter = _Waiter(item)
        with self._cond:
            self._queue.append(waiter)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="raw-log-writer", daemon=True).start()
            self._cond.notify()
        if not waiter.done.wait(timeout):
            raise TimeoutError("the raw event log did not confirm the write in time")
        if waiter.error is not None:
            raise waiter.error
        assert waiter.result is not None
        return waiter.result

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if not self._cond.wait(self.idle_seconds) and not self._queue:
                        self._running = False
                        return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            self._write(batch)

    def _write(self, batch: list[_Waiter]) -> None:
        try:
            with self.engine.begin() as conn:
                results = _insert_many(conn, [w.item for w in batch])
        except Exception:
            # One bad row must not fail its neighbours: retry each alone and report per request.
            log.warning("batch of %d deliveries failed; retrying one by one", len(batch), exc_info=True)
            for waiter in batch:
                try:
                    with self.engine.begin() as conn:
                        waiter.result = _insert(conn, waiter.item)
                except Exception as exc:
                    waiter.error = exc
                waiter.done.set()
            return
        self.batches += 1
        self.appended += len(batch)
        for waiter, result in zip(batch, results, strict=True):
            waiter.result = result
            waiter.done.set()


_writers: dict[int, RawLogWriter] = {}
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> RawLogWriter:
    """The process's writer for this engine (a ``GroupCommitWriter`` unless replaced)."""
    with _writers_lock:
        writer = _writers.get(id(engine))
        if writer is None or getattr(writer, "engine", None) is not engine:
            writer = _writers[id(engine)] = GroupCommitWriter(engine)
        return writer


def use_writer(engine: Engine, writer: RawLogWriter) -> None:
    """Make ``writer`` the one ``writer_for(engine)`` returns (the benchmark's baseline uses it)."""
    with _writers_lock:
        _writers[id(engine)] = writer
