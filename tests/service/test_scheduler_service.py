"""The scheduler on the shared job store, run_once across processes, and the `jobs` commands."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot import background
from bot.cli import main
from bot.db import session_scope, utcnow
from bot.ingest.models import SlackEventSeen
from bot.outbox import service as outbox
from bot.outbox.models import JobRun, OutboxMessage
from bot.scheduler import service
from bot.scheduler.registry import JobContext, JobRegistry, build_registry, every
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack

RUNS: list[str] = []
RAN = threading.Event()


def tick(ctx: JobContext) -> str:
    RUNS.append("tick")
    RAN.set()
    return "ticked"


def other(ctx: JobContext) -> str:
    return "other"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    RUNS.clear()
    RAN.clear()
    yield
    background.stop_all()
    service._runtime = None


def _registry(*, grace: int = 300, extra: bool = False) -> JobRegistry:
    registry = JobRegistry()
    registry.register_job("tick", tick, every(minutes=1), "A test tick", misfire_grace_time=grace)
    if extra:
        registry.register_job("other", other, every(hours=1), "Another job")
    return registry


def _stored(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as session:
        return dict(service.stored_next_runs(session=session))


def test_jobs_are_stored_under_fixed_ids_and_unregistered_ones_removed(engine: Engine, db_url: str) -> None:
    settings = Settings(database_url=db_url)
    first = service.start_scheduler(settings, engine, registry=_registry(extra=True))
    first.shutdown()
    assert sorted(_stored(engine)) == ["other", "tick"]
    again = service.start_scheduler(settings, engine, registry=_registry())
    again.shutdown()
    stored = _stored(engine)
    assert list(stored) == ["tick"]
    assert stored["tick"] > utcnow()  # type: ignore[operator]


def _missed_for(engine: Engine, settings: Settings, *, seconds: float) -> None:
    """Store the tick job as if no scheduler had run for ``seconds`` (several runs missed)."""
    service.start_scheduler(settings, engine, registry=_registry()).shutdown()
    store = SQLAlchemyJobStore(engine=engine)
    store.start(service.create_scheduler(settings, engine), "default")
    job = store.lookup_job("tick")
    job.next_run_time = utcnow() - timedelta(seconds=seconds)
    store.update_job(job)


def test_runs_missed_while_down_run_once_when_within_the_grace_time(engine: Engine, db_url: str) -> None:
    settings = Settings(database_url=db_url)
    _missed_for(engine, settings, seconds=150)  # fire times 150, 90 and 30 s ago
    scheduler = service.start_scheduler(settings, engine, registry=_registry(grace=300))
    try:
        assert RAN.wait(5)
        time.sleep(0.3)
    finally:
        scheduler.shutdown()
    assert RUNS == ["tick"]  # coalesced: once, not three times
    assert _stored(engine)["tick"] > utcnow()  # type: ignore[operator]


def test_runs_missed_beyond_the_grace_time_are_skipped(engine: Engine, db_url: str) -> None:
    settings = Settings(database_url=db_url)
    _missed_for(engine, settings, seconds=150)  # the latest missed run is 30 s late
    scheduler = service.start_scheduler(settings, engine, registry=_registry(grace=10))
    try:
        time.sleep(0.5)
    finally:
        scheduler.shutdown()
    assert RUNS == []
    assert _stored(engine)["tick"] > utcnow()  # type: ignore[operator]


def test_run_once_runs_a_key_once_and_commits_the_work_with_it(engine: Engine) -> None:
    with service.run_once(engine=engine, job_id="digests", key="digest:team-a:2026-W48") as run:
        assert run is not None
        outbox.enqueue(
            session=run.session,
            key="digest:team-a:2026-W48",
            method="chat.postMessage",
            channel="C1",
            payload={"text": "digest"},
        )
        run.detail = "queued 1"
    with service.run_once(engine=engine, job_id="digests", key="digest:team-a:2026-W48") as again:
        assert again is None
    with session_scope(engine) as session:
        job_run = session.scalars(select(JobRun)).one()
        assert (job_run.status, job_run.detail) == ("done", "queued 1") and job_run.finished_at is not None
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_failed_run_rolls_back_its_work_and_may_run_again(engine: Engine) -> None:
    with pytest.raises(RuntimeError), service.run_once(engine=engine, job_id="digests", key="k") as run:
        assert run is not None
        outbox.enqueue(session=run.session, key="half-done", method="chat.postMessage", channel="C1", payload={})
        raise RuntimeError("charts are broken")
    with session_scope(engine) as session:
        failed = session.scalars(select(JobRun)).one()
        assert (failed.status, failed.detail) == ("failed", "RuntimeError: charts are broken")
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    with service.run_once(engine=engine, job_id="digests", key="k") as retry:
        assert retry is not None


def test_a_run_whose_process_died_is_taken_over_only_when_stale(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(JobRun(key="k", job_id="digests", started_at=utcnow() - timedelta(minutes=30)))
    with service.run_once(engine=engine, job_id="digests", key="k") as run:
        assert run is None  # 30 minutes: maybe still running elsewhere
    with service.run_once(engine=engine, job_id="digests", key="k", stale_after=timedelta(minutes=10)) as run:
        assert run is not None


def test_concurrent_schedulers_run_a_key_exactly_once(engine: Engine) -> None:
    barrier = threading.Barrier(5)
    winners: list[int] = []

    def attempt(n: int) -> None:
        barrier.wait(timeout=10)
        with service.run_once(engine=engine, job_id="digests", key="digest:team-a:2026-W48") as run:
            if run is not None:
                winners.append(n)
                time.sleep(0.1)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_jobs_list_shows_every_built_in_job(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "TRIGGER", "NEXT", "RUN", "DESCRIPTION"]
    assert (
        [line.split()[0] for line in out[1:]]
        == build_registry().ids()
        == [
            "housekeeping",
            "outbox-sweep",
            "survey-close",
            "survey-open",
            "survey-remind",
        ]
    )
    assert "interval[0:01:00]" in out[2] and "(not scheduled yet)" in out[2]
    service.start_scheduler(Settings(database_url=db_url), engine).shutdown()
    assert main(["jobs", "list"]) == 0
    assert "not scheduled yet" not in capsys.readouterr().out


def test_jobs_run_unknown_id_is_one_actionable_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["jobs", "run", "digest"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "sei-bot: unknown job 'digest': known jobs are housekeeping, outbox-sweep, survey-close, survey-open, "
        "survey-remind (see `sei-bot jobs list`)"
    )


def test_jobs_run_housekeeping_forgets_old_event_ids(
    db_url: str, engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_scope(engine) as s:
        s.add(SlackEventSeen(event_id="Ev-old", seen_at=utcnow() - timedelta(days=2)))
        s.add(SlackEventSeen(event_id="Ev-new"))
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["jobs", "run", "housekeeping"]) == 0
    assert "forgot 1 Slack event id(s)" in capsys.readouterr().out
    with session_scope(engine) as s:
        assert s.scalars(select(SlackEventSeen.event_id)).all() == ["Ev-new"]


def test_jobs_run_outbox_sweep_delivers_and_reports(
    db_url: str,
    engine: Engine,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with session_scope(engine) as s:
        outbox.enqueue(session=s, key="m", method="chat.postMessage", channel="C1", payload={"text": "hello"})
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    assert main(["jobs", "run", "outbox-sweep"]) == 0
    assert capsys.readouterr().out.startswith("outbox-sweep: sent 1, retrying 0")
    assert [m["text"] for m in fake_slack.messages_in("C1")] == ["hello"]


def test_start_all_runs_the_scheduler_and_the_sender_until_stopped(
    db_url: str, engine: Engine, fake_slack: FakeSlack
) -> None:
    settings = Settings(database_url=db_url, slack_api_url=fake_slack.base_url, slack_bot_token=fake_slack.bot_token)
    threads = background.start_all(settings, engine)
    assert {t.name for t in threads} >= {"outbox-sender"} and all(t.is_alive() for t in threads)
    with session_scope(engine) as s:
        outbox.enqueue(session=s, key="m", method="dm", channel="U1", payload={"text": "your survey"})
    fake_slack.wait_for("chat.postMessage", timeout=10)
    assert sorted(_stored(engine)) == build_registry().ids()
    background.stop_all()
    for t in threads:
        t.join(timeout=10)
        assert not t.is_alive()
