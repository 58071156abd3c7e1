"""Scheduled jobs: ``sei-bot jobs list`` and ``sei-bot jobs run ID``.

How a package declares a job: ``bot/scheduler/registry.py``. How a run is made once across
processes (``run_once``) and how the scheduler runs: ``bot/scheduler/service.py``.
"""

from __future__ import annotations

import argparse

from bot.settings import Settings


def _when(value: object) -> str:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z")
    return "-"


def cmd_jobs_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every registered job: id, trigger, next run and description."""
    from bot.db import get_engine, session_scope, utcnow
    from bot.scheduler.registry import build_registry
    from bot.scheduler.service import stored_next_runs

    registry = build_registry()
    with session_scope(get_engine(settings.database_url)) as session:
        stored = stored_next_runs(session=session)
    now = utcnow()
    rows = [("ID", "TRIGGER", "NEXT RUN", "DESCRIPTION")]
    for spec in registry:
        trigger = spec.trigger_factory(settings)
        if spec.id in stored:
            next_run = _when(stored[spec.id]) if stored[spec.id] else "paused"
        else:
            next_run = f"{_when(trigger.get_next_fire_time(None, now))} (not scheduled yet)"
        rows.append((spec.id, str(trigger), next_run, spec.description))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return 0


def cmd_jobs_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one job now in this process and print what it did."""
    from bot.cli import CommandError
    from bot.db import get_engine
    from bot.scheduler.registry import JobContext, build_registry
    from bot.scheduler.service import run_job

    registry = build_registry()
    spec = registry.get(args.job_id)
    if spec is None:
        known = ", ".join(registry.ids())
        raise CommandError(f"unknown job {args.job_id!r}: known jobs are {known} (see `sei-bot jobs list`)")
    summary = run_job(spec, JobContext(settings, get_engine(settings.database_url)))
    print(f"{spec.id}: {summary}")
    return 0
