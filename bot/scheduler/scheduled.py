"""Housekeeping of the platform's own tables, as a scheduled job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col

from bot.db import session_scope, utcnow
from bot.ingest.models import SlackEventSeen
from bot.outbox.compute import DeliveryPolicy
from bot.outbox.service import expire_leases
from bot.scheduler.registry import JobContext, JobRegistry, every

# Slack retries an event for about five minutes; a day of event ids is plenty to answer retries.
SLACK_EVENT_ID_RETENTION = timedelta(days=1)


def housekeeping(ctx: JobContext) -> str:
    """Forget Slack event ids older than a day and return expired outbox leases to the queue."""
    cutoff = utcnow() - SLACK_EVENT_ID_RETENTION
    with session_scope(ctx.engine) as session:
        purged: Any = session.execute(delete(SlackEventSeen).where(col(SlackEventSeen.seen_at) < cutoff))
        expired = expire_leases(session=session, policy=DeliveryPolicy())
    return f"forgot {purged.rowcount} Slack event id(s) older than a day; returned {expired} expired outbox lease(s)"


def register_jobs(registry: JobRegistry) -> None:
    """Declare the housekeeping job."""
    registry.register_job(
        "housekeeping",
        housekeeping,
        every(hours=1),
        "Forget Slack event ids older than a day; return expired outbox leases to the queue",
        misfire_grace_time=3600,
    )
