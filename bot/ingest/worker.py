"""The normaliser: reads the raw event log in order and writes the delivery tables from it.

Each event is applied in its own transaction, so one bad delivery never holds back the others: it
ends ``done``, ``ignored`` (an event the bot does not use) or ``error`` with the reason, which
``sei-bot ingest errors`` lists. Several processes may normalise at once on PostgreSQL: an event is
claimed with ``FOR UPDATE SKIP LOCKED``. Replaying re-applies logged events with the same code;
the upserts are idempotent, so a replay leaves the tables as they were, plus what a fixed
configuration now allows.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from bot.db import session_scope, utcnow
from bot.ingest.models import RawEvent
from bot.ingest.normalize import decode_json, parse_delivery
from bot.ingest.normalize.apply import Owners, UnknownOwnerError, apply_facts
from bot.ingest.normalize.facts import Ignored
from bot.ingest.payload import ShapeError
from bot.settings import Settings

log = logging.getLogger(__name__)

BATCH = 200
_wake = threading.Event()


def wake() -> None:
    """Tell the normaliser of this process that new events are waiting."""
    _wake.set()


def header(headers: dict[str, str], name: str) -> str | None:
    """A header value by case-insensitive name."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def normalize_event(*, session: Session, raw: RawEvent, owners: Owners) -> str:
    """Apply one logged delivery; returns ``done`` or ``ignored``, raises on anything else."""
    payload = decode_json(raw.body)
    try:
        facts = parse_delivery(
            source=raw.source,
            event=raw.event_type,
            payload=payload,
            received_at=raw.received_at,
            idempotency_key=header(raw.headers, "Idempotency-Key"),
        )
    except Ignored:
        return "ignored"
    apply_facts(session=session, facts=facts, owners=owners)
    return "done"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ShapeError | UnknownOwnerError):
        return str(exc)[:2000]
    log.error("normalising failed", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"[:2000]


def process_one(engine: Engine, raw_id: int, owners: Owners, *, only_pending: bool = True) -> str | None:
    """Normalise one event in its own transaction; its new status, or ``None`` if another took it."""
    try:
        with session_scope(engine) as session:
            stmt = select(RawEvent).where(RawEvent.id == raw_id, RawEvent.status != "refused")
            if only_pending:
                stmt = stmt.where(RawEvent.status == "pending")
            if engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            raw = session.scalars(stmt).first()
            if raw is None:
                return None
            status = normalize_event(session=session, raw=raw, owners=owners)
            raw.status, raw.error, raw.processed_at, raw.attempts = status, None, utcnow(), raw.attempts + 1
            return status
    except Exception as exc:
        message = _describe(exc)
    with session_scope(engine) as session:
        raw = session.get(RawEvent, raw_id)
        if raw is None:
            return None
        raw.status, raw.error, raw.processed_at, raw.attempts = "error", message, utcnow(), raw.attempts + 1
    return "error"


def load_owners(engine: Engine) -> Owners:
    """The team configuration, read once for a batch of events."""
    with session_scope(engine) as session:
        return Owners.load(session)


def _process_batch(engine: Engine, ids: list[int], owners: Owners) -> bool:
    """Normalise pending events in one transaction; ``False`` (nothing written) if any fails."""
    try:
        with session_scope(engine) as session:
            stmt = select(RawEvent).where(col(RawEvent.id).in_(ids), RawEvent.status == "pending")
            if engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            for raw in session.scalars(stmt.order_by(col(RawEvent.id))).all():
                status = normalize_event(session=session, raw=raw, owners=owners)
                raw.status, raw.error, raw.processed_at, raw.attempts = status, None, utcnow(), raw.attempts + 1
        return True
    except Exception:
        return False


def process_pending(engine: Engine, *, limit: int = BATCH) -> int:
    """Normalise up to ``limit`` pending events, oldest first; returns how many were looked at.

    The batch is one transaction (one commit for many events); if any event fails, the batch is
    rolled back and every event is redone in its own transaction, so the failure is recorded
    against that event alone.
    """
    with session_scope(engine) as session:
        ids = list(
            session.scalars(
                select(RawEvent.id).where(RawEvent.status == "pending").order_by(col(RawEvent.id)).limit(limit)
            )
        )
    if ids:
        owners = load_owners(engine)
        if not _process_batch(engine, [i for i in ids if i is not None], owners):
            for raw_id in ids:
                if raw_id is not None:
                    process_one(engine, raw_id, owners)
    return len(ids)


def drain(engine: Engine) -> int:
    """Normalise until nothing is pending; returns the number of events processed."""
    total = 0
    while count := process_pending(engine):
        total += count
    return total


def replay(
    engine: Engine,
    *,
    since: datetime | None = None,
    source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Counter[str]:
    """Re-apply every logged event (refused ones excepted) received since ``since``, in order."""
    stmt = select(RawEvent.id).where(RawEvent.status != "refused").order_by(col(RawEvent.id))
    if since is not None:
        stmt = stmt.where(RawEvent.received_at >= since)
    if source is not None:
        stmt = stmt.where(RawEvent.source == source)
    with session_scope(engine) as session:
        ids = list(session.scalars(stmt))
    owners = load_owners(engine)
    counts: Counter[str] = Counter()
    for done, raw_id in enumerate(ids, start=1):
        counts[process_one(engine, raw_id, owners, only_pending=False) or "skipped"] += 1
        if progress is not None:
            progress(done, len(ids))
    return counts


class NormaliserThread(threading.Thread):
    """Background normaliser: wakes on new deliveries, polls every ``poll_seconds`` otherwise."""

    def __init__(self, engine: Engine, *, poll_seconds: float = 2.0):
        super().__init__(name="ingest-normaliser", daemon=True)
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Process pending events until stopped."""
        while not self._stop_event.is_set():
            _wake.clear()
            try:
                busy = process_pending(self.engine)
            except Exception:
                log.exception("normaliser: could not read the raw event log; retrying")
                busy = 0
                self._stop_event.wait(self.poll_seconds)
            if not busy:
                _wake.wait(self.poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current event and stop."""
        self._stop_event.set()
        _wake.set()
        self.join(timeout)


def start_normaliser(settings: Settings, engine: Engine) -> list[threading.Thread]:
    """Start the background normaliser of this process (a ``bot.background`` starter)."""
    from bot.background import on_stop

    thread = NormaliserThread(engine)
    thread.start()
    on_stop(thread.stop)
    log.info("ingest normaliser started")
    return [thread]
