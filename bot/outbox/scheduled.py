"""The outbox sweep job: deliver what is due and report the backlog.

The sender itself runs continuously in its own thread (``bot.outbox.sender.start_sender``), not as
a scheduled job: pacing is per second and a 429 pause may end at any moment, which a loop serves
within a fraction of a second, while an APScheduler interval job would add its own tick (and a job
store write per tick) to every delay. The sweep is the scheduled complement: once a minute it
returns expired leases, delivers whatever is due with the same paced, idempotent machinery (safe
beside a running sender, since both claim rows), and logs the backlog; ``sei-bot jobs run
outbox-sweep`` flushes the outbox from a terminal.
"""

from __future__ import annotations

from bot.db import session_scope
from bot.outbox.service import backlog
from bot.scheduler.registry import JobContext, JobRegistry, every


def sweep_outbox(ctx: JobContext) -> str:
    """Deliver due outbox messages (at most 45 s) and describe the backlog."""
    if ctx.settings.slack_bot_token is None:
        delivered = "SLACK_BOT_TOKEN is not set: nothing delivered"
    else:
        from bot.outbox.sender import drain_outbox

        delivered = drain_outbox(ctx.settings, ctx.engine, max_seconds=45).describe()
    with session_scope(ctx.engine) as session:
        state = backlog(session=session)
    return f"{delivered}; outbox now: {state.describe()}"


def register_jobs(registry: JobRegistry) -> None:
    """Declare the outbox sweep."""
    registry.register_job(
        "outbox-sweep",
        sweep_outbox,
        every(minutes=1),
        "Deliver due outbox messages and report the backlog (the sender thread does this continuously)",
        misfire_grace_time=30,
    )
