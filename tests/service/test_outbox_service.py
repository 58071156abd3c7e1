"""The outbox on a real database: idempotent enqueue, safe claims, pacing, failures and leases."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.db import insert_ignore, session_scope
from bot.outbox import service
from bot.outbox.compute import DeliveryPolicy, Failure, FailurePlan
from bot.outbox.models import JobRun, OutboxMessage
from tests.conftest import TEST_DATABASE_URL

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(channel_interval=1.0, lease_seconds=60, backoff_base=10, max_attempts=3)


def _post(session: Session, key: str, channel: str = "C1", *, at: datetime = T0) -> OutboxMessage:
    return service.enqueue(
        session=session, key=key, method="chat.postMessage", channel=channel, payload={"text": key}, not_before=at
    )


def _claim(engine: Engine, *, now: datetime, worker: str = "w1", limit: int = 10) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return service.claim_batch(session=session, worker=worker, limit=limit, policy=POLICY, now=now)


def _row(engine: Engine, key: str) -> OutboxMessage:
    with session_scope(engine) as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def _sent(engine: Engine, row: OutboxMessage, *, at: datetime, worker: str = "w1") -> None:
    with session_scope(engine) as session:
        assert service.mark_sent(session=session, message_id=row.id or 0, worker=worker, result={"ts": "1.0"})
        session.get(OutboxMessage, row.id).sent_at = at  # type: ignore[union-attr]


def _fail(
    engine: Engine, row: OutboxMessage, failure: Failure, *, now: datetime | None = None, worker: str = "w1"
) -> FailurePlan | None:
    with session_scope(engine) as session:
        return service.record_failure(
            session=session, message=row, worker=worker, failure=failure, policy=POLICY, now=now
        )


def test_the_same_key_is_stored_once_and_keeps_the_first_payload(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = _post(session, "digest:team-a:2026-W48")
        again = service.enqueue(
            session=session,
            key="digest:team-a:2026-W48",
            method="chat.postMessage",
            channel="C9",
            payload={"text": "x"},
        )
        assert again.id == first.id and again.channel == "C1" and again.payload["text"] == "digest:team-a:2026-W48"
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_concurrent_enqueues_of_one_key_store_one_row_without_errors(engine: Engine) -> None:
    barrier = threading.Barrier(6)
    ids: list[int] = []
    errors: list[BaseException] = []

    def enqueue_once(n: int) -> None:
        try:
            with session_scope(engine) as session:
                barrier.wait(timeout=10)
                row = service.enqueue(
                    session=session, key="survey:team-a:2026-11-24", method="dm", channel="U1", payload={"text": str(n)}
                )
                ids.append(row.id or 0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=enqueue_once, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_enqueue_fills_the_destination_and_stores_file_bytes_as_base64(session: Session) -> None:
    dm = service.enqueue(session=session, key="k1", method="dm", channel="U1", payload={"text": "hi"})
    home = service.enqueue(session=session, key="k2", method="views.publish", channel="U1", payload={"view": {}})
    png = service.enqueue(
        session=session,
        key="k3",
        method="files.upload_v2",
        channel="C1",
        payload={"content": b"\x89PNG...", "filename": "dora.png"},
    )
    assert dm.payload["user"] == "U1" and home.payload["user_id"] == "U1"
    assert png.payload == {"channel": "C1", "filename": "dora.png", "content_base64": "iVBORy4uLg=="}
    with pytest.raises(ValueError, match="unsupported outbox method"):
        service.enqueue(session=session, key="k4", method="chat.delete", channel="C1", payload={})
    with pytest.raises(ValueError, match="needs content"):
        service.enqueue(session=session, key="k5", method="files.upload_v2", channel="C1", payload={"filename": "x"})


def test_claim_takes_the_oldest_due_row_of_each_channel_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in range(3):
            _post(session, f"a{n}", "CA", at=T0 + timedelta(seconds=n))
        _post(session, "b0", "CB")
        _post(session, "later", "CC", at=T0 + timedelta(hours=1))
    claimed = _claim(engine, now=T0 + timedelta(seconds=5))
    assert [r.key for r in claimed] == ["a0", "b0"]
    assert all(r.status == "sending" and r.claimed_by == "w1" for r in claimed)
    # Both channels have a row in flight: nothing more until they are done.
    assert _claim(engine, now=T0 + timedelta(seconds=5), worker="w2") == []


def test_a_channel_waits_the_pacing_interval_after_a_send(engine: Engine) -> None:
    with session_scope(engine) as session:
        _post(session, "m1")
        _post(session, "m2")
    (first,) = _claim(engine, now=T0)
    _sent(engine, first, at=T0 + timedelta(seconds=0.2))
    assert _claim(engine, now=T0 + timedelta(seconds=1.1)) == []
    assert [r.key for r in _claim(engine, now=T0 + timedelta(seconds=1.25))] == ["m2"]


def test_rate_limit_pauses_the_whole_channel_without_spending_an_attempt(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in range(3):
            _post(session, f"m{n}")
        _post(session, "other", "C2")
    claimed = {r.key: r for r in _claim(engine, now=T0)}
    plan = _fail(engine, claimed["m0"], Failure("rate_limited", "rate limited", retry_after=30), now=T0)
    assert plan is not None and plan.status == "pending"
    m0, m2 = _row(engine, "m0"), _row(engine, "m2")
    assert m0.attempts == 0 and m0.not_before == T0 + timedelta(seconds=30)
    assert m2.not_before == T0 + timedelta(seconds=30)
    assert _row(engine, "other").status == "sending"  # another channel is not held back
    assert _claim(engine, now=T0 + timedelta(seconds=29)) == []
    assert [r.key for r in _claim(engine, now=T0 + timedelta(seconds=30))] == ["m0"]


def test_failures_back_off_then_die_with_the_last_error(engine: Engine) -> None:
    with session_scope(engine) as session:
        _post(session, "m")
    now = T0
    for attempt in range(1, 4):
        (row,) = _claim(engine, now=now)
        plan = _fail(engine, row, Failure("transient", "HTTP 503"), now=now)
        stored = _row(engine, "m")
        assert stored.attempts == attempt and plan is not None
        if attempt < 3:
            assert stored.status == "pending" and stored.not_before > now
            now = stored.not_before
    assert stored.status == "dead" and stored.last_error == "gave up after 3 attempts: HTTP 503"


def test_a_permanent_error_is_dead_at_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        _post(session, "m")
    (row,) = _claim(engine, now=T0)
    _fail(engine, row, Failure("permanent", "channel_not_found"))
    stored = _row(engine, "m")
    assert (stored.status, stored.attempts, stored.last_error) == ("dead", 1, "channel_not_found")


def test_a_lost_lease_is_retried_once_as_uncertain_then_dead(engine: Engine) -> None:
    with session_scope(engine) as session:
        _post(session, "m")
    (row,) = _claim(engine, now=T0)
    with session_scope(engine) as session:  # the worker is silent; its lease has not passed yet
        assert service.expire_leases(session=session, policy=POLICY, now=T0 + timedelta(seconds=59)) == 0
    with session_scope(engine) as session:
        assert service.expire_leases(session=session, policy=POLICY, now=T0 + timedelta(seconds=61)) == 1
    stored = _row(engine, "m")
    assert stored.status == "pending" and "uncertain" in stored.result and stored.attempts == 1
    # The first worker wakes up and reports a failure: the row is no longer its to record.
    assert _fail(engine, row, Failure("transient", "late")) is None
    (again,) = _claim(engine, now=stored.not_before, worker="w2")
    plan = _fail(engine, again, Failure("uncertain", "read timeout"), now=stored.not_before, worker="w2")
    assert plan is not None and plan.status == "dead"
    assert _row(engine, "m").last_error.startswith("outcome unknown twice")  # type: ignore[union-attr]


def test_a_late_confirmation_wins_over_an_expired_lease(engine: Engine) -> None:
    with session_scope(engine) as session:
        _post(session, "m")
    (row,) = _claim(engine, now=T0)
    with session_scope(engine) as session:
        service.expire_leases(session=session, policy=POLICY, now=T0 + timedelta(minutes=5))
    _sent(engine, row, at=T0 + timedelta(minutes=5))
    stored = _row(engine, "m")
    assert stored.status == "sent" and stored.result["ts"] == "1.0" and "uncertain" in stored.result
    assert _claim(engine, now=T0 + timedelta(hours=1)) == []


def test_references_wait_for_the_referenced_row_then_take_its_result(engine: Engine) -> None:
    with session_scope(engine) as session:
        _post(session, "post")
        update = service.enqueue(
            session=session,
            key="edit",
            method="chat.update",
            channel="C1",
            payload={"ts": service.result_ref("post", "ts"), "text": "edited"},
            not_before=T0,
        )
        with pytest.raises(service.ReferenceNotReady):
            service.resolve_payload(session=session, payload=update.payload)
        with pytest.raises(service.ReferenceFailed, match="does not exist"):
            service.resolve_payload(session=session, payload={"ts": service.result_ref("nope", "ts")})
    (row,) = _claim(engine, now=T0)
    assert row.key == "post"
    _sent(engine, row, at=T0)
    with session_scope(engine) as session:
        assert service.resolve_payload(session=session, payload=update.payload) == {
            "ts": "1.0",
            "text": "edited",
            "channel": "C1",
        }


def test_two_claimers_never_claim_the_same_row(engine: Engine) -> None:
    channels = [f"C{n}" for n in range(8)]
    with session_scope(engine) as session:
        for n in range(80):
            _post(session, f"m{n}", channels[n % len(channels)], at=T0 + timedelta(milliseconds=n))
    policy = DeliveryPolicy(channel_interval=0.0, lease_seconds=60)
    claims: Counter[str] = Counter()
    per_worker: dict[str, list[str]] = {"w1": [], "w2": [], "w3": []}
    barrier = threading.Barrier(3)
    lock = threading.Lock()

    def work(worker: str) -> None:
        barrier.wait(timeout=10)
        idle = 0
        while idle < 20:
            now = T0 + timedelta(days=1)
            with session_scope(engine) as session:
                rows = service.claim_batch(session=session, worker=worker, limit=3, policy=policy, now=now)
            if not rows:
                idle += 1
                continue
            idle = 0
            for row in rows:
                with lock:
                    claims[row.key] += 1
                    per_worker[worker].append(row.key)
                with session_scope(engine) as session:
                    service.mark_sent(session=session, message_id=row.id or 0, worker=worker, result={})

    threads = [threading.Thread(target=work, args=(w,)) for w in per_worker]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims) == sorted(f"m{n}" for n in range(80))
    assert set(claims.values()) == {1}
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).where(OutboxMessage.status == "sent")) == 80


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks across open transactions: PostgreSQL")
def test_a_claim_in_flight_hides_its_rows_and_channels_from_another_claimer(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in range(3):
            _post(session, f"a{n}", "CA", at=T0 + timedelta(seconds=n))
            _post(session, f"b{n}", "CB", at=T0 + timedelta(seconds=n))
    with session_scope(engine) as first:  # stays open (uncommitted) while the second claims
        mine = service.claim_batch(session=first, worker="w1", limit=1, policy=POLICY, now=T0 + timedelta(seconds=9))
        assert [r.key for r in mine] == ["a0"]
        with session_scope(engine) as second:
            theirs = service.claim_batch(
                session=second, worker="w2", limit=10, policy=POLICY, now=T0 + timedelta(seconds=9)
            )
        # a0 is locked (skipped), a1 waits behind it: only channel CB is served.
        assert [r.key for r in theirs] == ["b0"]


def test_insert_ignore_tells_whether_it_inserted(session: Session) -> None:
    values = {"key": "k", "job_id": "j", "started_at": T0, "status": "running"}
    assert insert_ignore(session=session, table=JobRun, values=values) is True
    assert insert_ignore(session=session, table=JobRun, values={**values, "job_id": "other"}) is False
    assert session.scalars(select(JobRun.job_id)).all() == ["j"]
