"""The APScheduler 3 scheduler on the shared database, running the jobs of the registry; ``run_once``.

Jobs live in the ``apscheduler_jobs`` table (``SQLAlchemyJobStore`` on the process's engine), each
under its fixed id, re-declared at every start with ``replace_existing=True``. A restart keeps a
job's stored next run when its trigger did not change, so a run missed while no scheduler was up
still happens once (``coalesce``) if it is within the job's ``misfire_grace_time``. Jobs that are no
longer registered are removed from the store. The stored job calls ``run_registered_job(job_id)``,
which looks the function up in this process's registry: only an id is pickled, never code or
settings.

APScheduler 3 does not coordinate schedulers sharing a store: with several worker processes each
may fire the same run. Jobs therefore guard anything that must happen once with ``run_once``
(a ``job_run`` row with a unique key) and outbox keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.db import insert_ignore, session_scope, utcnow
from bot.outbox.models import JobRun
from bot.platform_tables import apscheduler_jobs
from bot.scheduler.registry import JobContext, JobRegistry, JobSpec, build_registry
from bot.settings import Settings

log = logging.getLogger(__name__)


class _SharedEngineJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The SQLAlchemy job store on the process's engine, which it must not dispose at shutdown."""

    def shutdown(self) -> None:
        pass


@dataclass
class _Runtime:
    registry: JobRegistry
    context: JobContext


# The registry and context of the scheduler this process started: stored jobs hold only an id.
_runtime: _Runtime | None = None


def run_job(spec: JobSpec, context: JobContext) -> str:
    """Run one job now in this thread; returns its one-line summary."""
    started = time.monotonic()
    summary = spec.func(context) or "done"
    log.info("job %s: %s (%.1f s)", spec.id, summary, time.monotonic() - started)
    return summary


def run_registered_job(job_id: str) -> str:
    """The function every stored job calls: run the registered job ``job_id``."""
    runtime = _runtime
    if runtime is None:  # a scheduler started outside start_scheduler: use the process configuration
        from bot.db import get_engine
        from bot.settings import get_settings

        settings = get_settings()
        runtime = _Runtime(build_registry(), JobContext(settings, get_engine(settings.database_url)))
    spec = runtime.registry.get(job_id)
    if spec is None:
        log.warning("job %s is not registered in this build; skipping it", job_id)
        return "not registered"
    return run_job(spec, runtime.context)


def create_scheduler(settings: Settings, engine: Engine) -> BackgroundScheduler:
    """A background scheduler on the shared job store (not started)."""
    return BackgroundScheduler(
        jobstores={"default": _SharedEngineJobStore(engine=engine, tablename=apscheduler_jobs.name)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone="UTC",
    )


def start_scheduler(settings: Settings, engine: Engine, *, registry: JobRegistry | None = None) -> BackgroundScheduler:
    """Start a scheduler running every registered job; returns it (``shutdown()`` stops it)."""
    global _runtime
    registry = registry or build_registry()
    _runtime = _Runtime(registry, JobContext(settings, engine))
    scheduler = create_scheduler(settings, engine)
    scheduler.start(paused=True)  # load the stored jobs without running any yet
    for spec in registry:
        trigger = spec.trigger_factory(settings)
        options: dict[str, Any] = {}
        stored = scheduler.get_job(spec.id)
        if stored is not None and str(stored.trigger) == str(trigger) and stored.next_run_time is not None:
            options["next_run_time"] = stored.next_run_time  # keep a run missed while we were down
        scheduler.add_job(
            run_registered_job,
            trigger=trigger,
            args=[spec.id],
            id=spec.id,
            name=spec.description,
            replace_existing=True,
            coalesce=spec.coalesce,
            misfire_grace_time=spec.misfire_grace_time,
            max_instances=spec.max_instances,
            **options,
        )
    for job in scheduler.get_jobs():
        if registry.get(job.id) is None:
            log.info("removing stored job %s: no longer registered", job.id)
            job.remove()
    scheduler.resume()
    log.info("scheduler started with %d job(s): %s", len(registry.ids()), ", ".join(registry.ids()))
    return scheduler


def start_background_scheduler(settings: Settings, engine: Engine) -> list[Any]:
    """Background starter: run the scheduler in this process until ``bot.background.stop_all``."""
    from bot.background import on_stop

    scheduler = start_scheduler(settings, engine)
    on_stop(lambda timeout: scheduler.shutdown(wait=True))
    thread = getattr(scheduler, "_thread", None)  # APScheduler keeps its loop thread private
    return [thread] if thread is not None else []


def stored_next_runs(*, session: Session) -> dict[str, datetime | None]:
    """The next run time of every job in the shared job store, by id."""
    from datetime import UTC

    rows = session.execute(select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time)).all()
    return {str(job_id): (datetime.fromtimestamp(ts, UTC) if ts is not None else None) for job_id, ts in rows}


# --- run_once ----------------------------------------------------------------------------------


@dataclass
class JobRunClaim:
    """A run this process owns: do the work in ``session``; set ``detail`` to say what was done."""

    key: str
    session: Session
    detail: str | None = None


def _claim_run(*, session: Session, job_id: str, key: str, now: datetime, stale_after: timedelta) -> bool:
    values = {"key": key, "job_id": job_id, "started_at": now, "status": "running"}
    if insert_ignore(session=session, table=JobRun, values=values):
        return True
    # A failed run may be tried again; a run whose process died long ago may be taken over.
    result: Any = session.execute(
        update(JobRun)
        .where(
            col(JobRun.key) == key,
            or_(
                col(JobRun.status) == "failed",
                and_(col(JobRun.status) == "running", col(JobRun.started_at) < now - stale_after),
            ),
        )
        .values(status="running", started_at=now, finished_at=None, detail=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def _finish_run(*, session: Session, key: str, started_at: datetime, status: str, detail: str | None) -> None:
    session.execute(
        update(JobRun)
        .where(col(JobRun.key) == key, col(JobRun.status) == "running", col(JobRun.started_at) == started_at)
        .values(status=status, finished_at=utcnow(), detail=detail)
        .execution_options(synchronize_session=False)
    )


@contextmanager
def run_once(
    *,
    engine: Engine,
    job_id: str,
    key: str,
    stale_after: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> Iterator[JobRunClaim | None]:
    """Do the run ``key`` at most once across every process: yields a claim, or None if it is taken.

    The ``job_run`` row is committed before the work starts, so a second scheduler sees it at once.
    The work's writes and the row's ``done`` commit together; on an error the row is ``failed`` and
    a later run with the same key may try again. A ``running`` row older than ``stale_after`` (its
    process died) may be taken over.
    """
    started_at = now or utcnow()
    with session_scope(engine) as session:
        claimed = _claim_run(session=session, job_id=job_id, key=key, now=started_at, stale_after=stale_after)
    if not claimed:
        log.info("run %s of job %s is done or in progress elsewhere; skipping", key, job_id)
        yield None
        return
    try:
        with session_scope(engine) as session:
            claim = JobRunClaim(key=key, session=session)
            yield claim
            _finish_run(session=session, key=key, started_at=started_at, status="done", detail=claim.detail)
    except BaseException as exc:
        with session_scope(engine) as session:
            detail = f"{type(exc).__name__}: {exc}"[:2000]
            _finish_run(session=session, key=key, started_at=started_at, status="failed", detail=detail)
        raise
