"""Where domain packages declare their scheduled jobs: explicitly, with fixed ids.

Each package that has jobs keeps them as named module-level functions in its ``scheduled.py`` and
declares them in a ``register_jobs(registry)`` function there; ``JOB_MODULES`` lists those modules
(add yours). A job function takes a ``JobContext`` and returns a one-line summary of what it did
(``sei-bot jobs run`` prints it)::

    # bot/digests/scheduled.py
    from bot.scheduler.registry import JobContext, JobRegistry, every
    from bot.scheduler.service import run_once

    def post_weekly_digests(ctx: JobContext) -> str:
        posted = 0
        for team in due_teams(ctx):
            with run_once(engine=ctx.engine, job_id="weekly-digests", key=f"digest:{team.id}:{week}") as run:
                if run is None:          # another scheduler did this one already
                    continue
                enqueue(session=run.session, key=f"digest:{team.id}:{week}", ...)
                posted += 1
        return f"queued {posted} digest(s)"

    def register_jobs(registry: JobRegistry) -> None:
        registry.register_job(
            "weekly-digests", post_weekly_digests, every(minutes=15),
            "Queue the weekly digest of every team whose digest time has come",
            misfire_grace_time=900,
        )

Every scheduler process runs every job (they share the job store); ``run_once`` keys and outbox
keys are what make a second run harmless. ``coalesce`` (default True) runs a job once after a
downtime however many runs it missed; ``misfire_grace_time`` (seconds) is how late a run may still
start, and a run later than that is skipped until the next one.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.settings import Settings

JOB_MODULES: tuple[str, ...] = (
    "bot.outbox.scheduled",
    "bot.scheduler.scheduled",
    "bot.surveys.scheduled",
)

_JOB_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class JobContext:
    """What a job function gets: the process settings and the shared database engine."""

    settings: Settings
    engine: Engine


JobFunction = Callable[[JobContext], str | None]
TriggerFactory = Callable[[Settings], BaseTrigger]


@dataclass(frozen=True)
class JobSpec:
    """One declared job: a fixed id, its function, when it runs and how it treats missed runs."""

    id: str
    func: JobFunction
    trigger_factory: TriggerFactory
    description: str
    coalesce: bool = True
    misfire_grace_time: int = 60
    max_instances: int = 1


class JobRegistry:
    """The jobs of this build, by id; filled by ``build_registry`` from ``JOB_MODULES``."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def register_job(
        self,
        id: str,
        func: JobFunction,
        trigger_factory: TriggerFactory,
        description: str,
        *,
        coalesce: bool = True,
        misfire_grace_time: int = 60,
        max_instances: int = 1,
    ) -> JobSpec:
        """Declare a job; ``id`` is fixed kebab-case and ``func`` a named module-level function."""
        if not _JOB_ID.match(id):
            raise ValueError(f"job id {id!r} must be kebab-case (a-z, 0-9 and dashes)")
        if id in self._jobs:
            raise ValueError(f"job id {id!r} is registered twice")
        if func.__name__ == "<lambda>" or "." in func.__qualname__:
            raise ValueError(f"job {id!r}: use a named module-level function, not {func.__qualname__}")
        spec = JobSpec(id, func, trigger_factory, description, coalesce, misfire_grace_time, max_instances)
        self._jobs[id] = spec
        return spec

    def get(self, job_id: str) -> JobSpec | None:
        """The job with this id, or None."""
        return self._jobs.get(job_id)

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(sorted(self._jobs.values(), key=lambda spec: spec.id))

    def ids(self) -> list[str]:
        """Every registered id, sorted."""
        return sorted(self._jobs)


def build_registry(modules: tuple[str, ...] = JOB_MODULES) -> JobRegistry:
    """Import each job module and let it declare its jobs."""
    registry = JobRegistry()
    for name in modules:
        importlib.import_module(name).register_jobs(registry)
    return registry


def every(**interval: Any) -> TriggerFactory:
    """A trigger factory for a fixed interval (``every(minutes=5)``), in UTC."""

    def factory(settings: Settings) -> BaseTrigger:
        return IntervalTrigger(timezone="UTC", **interval)

    return factory


def cron(**fields: Any) -> TriggerFactory:
    """A trigger factory for cron fields (``cron(hour=3, minute=0)``) in ``SEI_TIMEZONE`` unless given."""

    def factory(settings: Settings) -> BaseTrigger:
        return CronTrigger(**{"timezone": settings.sei_timezone, **fields})

    return factory
