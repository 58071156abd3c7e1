"""Outbox writes and claims: how any package sends something to Slack, durably and exactly once.

Enqueue a message in the same transaction as the work that decided to send it; the sender delivers
it after the commit, honouring Slack's rate limits, and never twice for one key::

    from bot.outbox.service import enqueue, result_ref

    with session_scope(engine) as session:
        enqueue(
            session=session,
            key=f"digest:{team.id}:{week}",           # unique: the same key twice is stored once
            method="chat.postMessage",
            channel=team.channel,                     # the destination and the rate-limit bucket
            payload={"text": "Weekly digest", "blocks": blocks},   # Web API arguments
        )
        # A later edit of that message: the sender fills channel and ts from the first row's result.
        enqueue(
            session=session,
            key=f"digest-update:{team.id}:{week}",
            method="chat.update",
            channel=team.channel,
            payload={"ts": result_ref(f"digest:{team.id}:{week}", "ts"), "text": "Updated digest"},
        )

Methods and their payloads (``channel`` fills the destination argument when the payload has none):

=====================  =====================================================  ==========================
method                 payload                                                ``result`` once sent
=====================  =====================================================  ==========================
``chat.postMessage``   ``text``, ``blocks``, ``thread_ts``… (``channel``)      ``channel``, ``ts``
``chat.update``        ``ts``, ``text``, ``blocks`` (``channel``)              ``channel``, ``ts``
``chat.postEphemeral`` ``user``, ``text``, ``blocks`` (``channel``)            ``message_ts``
``dm``                 ``text``, ``blocks`` (``user``: defaults to channel)    ``channel`` (D…), ``ts``
``files.upload_v2``    ``content`` (bytes), ``filename``, ``title``,           ``channel``, ``file_id``
                       ``initial_comment``, ``thread_ts`` (``channel``: a
                       C/G/D id, or a user id for a DM)
``views.publish``      ``view``, ``hash`` (``user_id``: defaults to channel)   ``view_id``
=====================  =====================================================  ==========================

For a DM, pass the user id as ``channel``: it is both the recipient and the rate-limit bucket. A
later ``chat.update`` of that DM uses ``channel=<user id>`` and
``payload={"channel": result_ref(dm_key, "channel"), "ts": result_ref(dm_key, "ts"), ...}``.

Rows move ``pending`` → ``sending`` (claimed until ``claimed_until``) → ``sent``, or back to
``pending`` with a later ``not_before`` after a failure, or ``dead`` (``last_error`` says why). The
claim takes at most one row per channel at a time, the oldest due first, and none from a channel
that was sent to less than ``channel_interval`` ago, so pacing holds across processes.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.db import insert_ignore, utcnow
from bot.outbox.compute import (
    CHANNEL_PACED_METHODS,
    SUPPORTED_METHODS,
    DeliveryPolicy,
    Failure,
    FailurePlan,
    plan_failure,
)
from bot.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

REF_MARK = "$outbox_result"
_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
# Payload argument that names the destination, per method; filled from ``channel`` when absent.
_DESTINATION_ARG = {
    "chat.postMessage": "channel",
    "chat.update": "channel",
    "chat.postEphemeral": "channel",
    "files.upload_v2": "channel",
    "dm": "user",
    "views.publish": "user_id",
}


class ReferenceNotReady(Exception):
    """A payload references a row that is not sent yet."""


class ReferenceFailed(Exception):
    """A payload references a row that is dead or missing; the message can never be sent."""


def result_ref(key: str, field: str) -> dict[str, str]:
    """A payload value meaning "``field`` of the result of the outbox row ``key``", filled at send time."""
    return {REF_MARK: key, "field": field}


def _stored_payload(method: str, channel: str, payload: dict[str, Any]) -> dict[str, Any]:
    stored = dict(payload)
    stored.setdefault(_DESTINATION_ARG[method], channel)
    if method == "files.upload_v2":
        content = stored.pop("content", None)
        if isinstance(content, str):
            content = content.encode()
        if isinstance(content, bytes | bytearray):
            stored["content_base64"] = base64.b64encode(bytes(content)).decode("ascii")
        if "content_base64" not in stored or not stored.get("filename"):
            raise ValueError("files.upload_v2 needs content (bytes) and filename in the payload")
    return stored


def enqueue(
    *,
    session: Session,
    key: str,
    method: str,
    channel: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Store a Web API call to make once; the same ``key`` again returns the stored row unchanged."""
    if method not in SUPPORTED_METHODS:
        raise ValueError(f"unsupported outbox method {method!r}; use one of {', '.join(sorted(SUPPORTED_METHODS))}")
    if not key or len(key) > 300:
        raise ValueError("an outbox key is 1 to 300 characters")
    if not channel:
        raise ValueError("an outbox message needs a channel (or a user id for a DM)")
    now = utcnow()
    inserted = insert_ignore(
        session=session,
        table=_TABLE,
        values={
            "key": key,
            "method": method,
            "channel": channel,
            "payload": _stored_payload(method, channel, payload),
            "status": "pending",
            "attempts": 0,
            "not_before": not_before or now,
            "result": {},
            "created_at": now,
        },
    )
    row = session.scalars(
        select(OutboxMessage).where(col(OutboxMessage.key) == key).execution_options(populate_existing=True)
    ).one()
    if not inserted:
        log.debug("outbox key %s already stored (status %s)", key, row.status)
    return row


def claim_batch(
    *,
    session: Session,
    worker: str,
    limit: int,
    policy: DeliveryPolicy,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due rows for ``worker``, at most one per channel; call it in a fresh transaction.

    A row is due when it is ``pending``, its ``not_before`` has passed, no other waiting row of its
    channel comes before it, no row of its channel is being sent under a live lease, and none was
    sent less than ``policy.channel_interval`` ago. PostgreSQL skips rows another claimer has locked
    (``FOR UPDATE SKIP LOCKED``); SQLite runs the claim as one ``UPDATE … RETURNING`` statement under
    its single-writer lock. Either way no row is claimed twice, and the "earlier waiting row" rule
    keeps two concurrent claimers off the same channel.
    """
    now = now or utcnow()
    o = _TABLE
    other = _TABLE.alias("other")
    earlier_waiting = and_(
        other.c.status == "pending",
        or_(other.c.not_before < o.c.not_before, and_(other.c.not_before == o.c.not_before, other.c.id < o.c.id)),
    )
    in_flight = and_(other.c.status == "sending", other.c.claimed_until >= now)
    recently_sent = and_(other.c.status == "sent", other.c.sent_at > now - timedelta(seconds=policy.channel_interval))
    busy_channel = exists().where(other.c.channel == o.c.channel, or_(earlier_waiting, in_flight, recently_sent))
    due = (
        select(o.c.id)
        .where(o.c.status == "pending", o.c.not_before <= now, ~busy_channel)
        .order_by(o.c.not_before, o.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # A materialized CTE runs the locking SELECT exactly once: as an IN (subquery) PostgreSQL may run
    # it again for the UPDATE and claim more than ``limit`` rows.
    due_rows = due.cte("due").prefix_with("MATERIALIZED")
    claim = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == due_rows.c.id, col(OutboxMessage.status) == "pending")
        .values(status="sending", claimed_by=worker, claimed_until=now + timedelta(seconds=policy.lease_seconds))
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    rows = list(session.scalars(claim).all())
    rows.sort(key=lambda r: (r.not_before, r.id or 0))
    return rows


def resolve_payload(*, session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with every ``result_ref`` replaced by the referenced row's result."""
    resolved = dict(payload)
    for name, value in payload.items():
        if not (isinstance(value, dict) and REF_MARK in value):
            continue
        ref_key, field = str(value[REF_MARK]), str(value.get("field", ""))
        ref = session.scalars(select(OutboxMessage).where(col(OutboxMessage.key) == ref_key)).first()
        if ref is None:
            raise ReferenceFailed(f"{name} references outbox key {ref_key!r}, which does not exist")
        if ref.status == "dead":
            raise ReferenceFailed(f"{name} references {ref_key!r}, which failed: {ref.last_error}")
        if ref.status != "sent":
            raise ReferenceNotReady(f"waiting for {ref_key!r} to be sent ({ref.status})")
        if field not in ref.result:
            raise ReferenceFailed(f"{name} references {ref_key!r}.{field}, which its result does not have")
        resolved[name] = ref.result[field]
    return resolved


def mark_sent(*, session: Session, message_id: int, worker: str, result: dict[str, Any]) -> bool:
    """Record a delivery Slack confirmed; False when the row was already sent (a duplicate happened)."""
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    if row is None or row.status == "sent":
        log.error("outbox row %s was already marked sent: Slack may show it twice", message_id)
        return False
    if row.claimed_by != worker:
        log.warning(
            "outbox row %s (%s) was sent by %s after its lease passed to %s",
            message_id,
            row.key,
            worker,
            row.claimed_by,
        )
    row.status = "sent"
    row.sent_at = utcnow()
    row.result = {**row.result, **result}
    row.claimed_until = None
    session.add(row)
    session.flush()
    return True


def record_failure(
    *,
    session: Session,
    message: OutboxMessage,
    worker: str,
    failure: Failure,
    policy: DeliveryPolicy,
    now: datetime | None = None,
) -> FailurePlan | None:
    """Apply the policy to a failed attempt of a claimed row; None when the row is no longer ours."""
    now = now or utcnow()
    plan = plan_failure(
        failure,
        method=message.method,
        attempts=message.attempts,
        already_uncertain="uncertain" in message.result,
        policy=policy,
        now=now,
    )
    values: dict[str, Any] = {
        "status": plan.status,
        "not_before": plan.not_before,
        "last_error": plan.error[:2000],
        "claimed_by": None,
        "claimed_until": None,
    }
    if plan.count_attempt:
        values["attempts"] = col(OutboxMessage.attempts) + 1
    if plan.mark_uncertain:
        values["result"] = {**message.result, "uncertain": {"at": now.isoformat(), "error": failure.error[:500]}}
    changed: Any = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message.id,
            col(OutboxMessage.status) == "sending",
            col(OutboxMessage.claimed_by) == worker,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:
        log.warning(
            "outbox row %s (%s) is no longer claimed by %s; not recording: %s",
            message.id,
            message.key,
            worker,
            failure.error,
        )
        return None
    if failure.kind == "rate_limited":
        pause_bucket(session=session, message=message, until=plan.not_before)
    return plan


def pause_bucket(*, session: Session, message: OutboxMessage, until: datetime) -> int:
    """Hold every pending row of the rate-limited bucket until ``until`` (shared by all processes).

    ``chat.postMessage`` (and a DM's post) is limited per channel, so the channel waits; other
    methods are limited per method and workspace, so every row of that method waits.
    """
    bucket = (
        col(OutboxMessage.channel) == message.channel
        if message.method in CHANNEL_PACED_METHODS
        else col(OutboxMessage.method) == message.method
    )
    result: Any = session.execute(
        update(OutboxMessage)
        .where(bucket, col(OutboxMessage.status) == "pending", col(OutboxMessage.not_before) < until)
        .values(not_before=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


def expire_leases(*, session: Session, policy: DeliveryPolicy, now: datetime | None = None) -> int:
    """Return rows whose worker went silent past the lease to the queue (uncertain: they may have posted)."""
    now = now or utcnow()
    stale = session.scalars(
        select(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.claimed_until) < now)
        .with_for_update(skip_locked=True)
    ).all()
    for row in stale:
        failure = Failure("uncertain", f"lease of {row.claimed_by} expired while sending")
        record_failure(
            session=session, message=row, worker=row.claimed_by or "", failure=failure, policy=policy, now=now
        )
        log.warning(
            "outbox row %s (%s): worker %s went silent mid-send; returned to the queue", row.id, row.key, row.claimed_by
        )
    return len(stale)


def next_due_at(*, session: Session) -> datetime | None:
    """When the earliest pending row becomes due (it may still wait for its channel's pacing)."""
    return session.scalar(select(func.min(col(OutboxMessage.not_before))).where(col(OutboxMessage.status) == "pending"))


@dataclass(frozen=True)
class OutboxBacklog:
    """Counts of the outbox by status, and the oldest waiting row."""

    counts: dict[str, int]
    oldest_pending: datetime | None

    def describe(self, now: datetime | None = None) -> str:
        """One line for logs and ``sei-bot jobs run``."""
        now = now or utcnow()
        parts = [f"{self.counts.get(s, 0)} {s}" for s in ("pending", "sending", "sent", "dead")]
        if self.oldest_pending is not None:
            parts.append(f"oldest pending {max((now - self.oldest_pending).total_seconds(), 0):.0f} s old")
        return ", ".join(parts)


def backlog(*, session: Session) -> OutboxBacklog:
    """How many rows are in each status, and how old the oldest pending one is."""
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
        ).all()
    }
    oldest = session.scalar(
        select(func.min(col(OutboxMessage.created_at))).where(col(OutboxMessage.status) == "pending")
    )
    return OutboxBacklog(counts=counts, oldest_pending=oldest)
