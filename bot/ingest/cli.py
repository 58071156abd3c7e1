"""``sei-bot ingest errors`` and ``sei-bot ingest replay``: the dead-letter view and reprocessing."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from bot.cli import CommandError
from bot.db import get_engine, session_scope
from bot.ingest.models import RawEvent
from bot.ingest.normalize import SOURCES
from bot.settings import Settings

DEAD = ("refused", "error")


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """``7d`` / ``12h`` / ``2w`` ago, or an ISO date or datetime (UTC unless it carries an offset)."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)([hdw])", value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{{"h": "hours", "d": "days", "w": "weeks"}[unit]: amount})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise CommandError(f"--since {value!r}: use a date (2026-10-01), a datetime, or 7d / 12h / 2w") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_errors(args: argparse.Namespace, settings: Settings) -> int:
    """List refused and failed deliveries, newest first, each with its error."""
    with session_scope(get_engine(settings.database_url)) as session:
        rows = session.execute(
            select(  # type: ignore[call-overload]
                RawEvent.id,
                RawEvent.received_at,
                RawEvent.source,
                RawEvent.event_type,
                RawEvent.delivery_id,
                RawEvent.status,
                RawEvent.error,
            )
            .where(col(RawEvent.status).in_(DEAD))
            .order_by(col(RawEvent.id).desc())
            .limit(max(1, args.limit))
        ).all()
    if not rows:
        print("No refused or failed deliveries.")
        return 0
    for raw_id, received, source, event, delivery, status, error in rows:
        print(
            f"#{raw_id}  {received:%Y-%m-%d %H:%M:%S}Z  {source}  {event or '-'}  {delivery}\n"
            f"    {status}: {error or '(no reason recorded)'}"
        )
    print(f"\n{len(rows)} shown. Fix the cause (teams.yml, the sender), then `sei-bot ingest replay`.")
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Reprocess logged deliveries idempotently (refused ones excepted): running it twice changes nothing."""
    from bot.ingest.worker import replay

    if args.source is not None and args.source not in SOURCES:
        raise CommandError(f"--source {args.source!r}: use one of {', '.join(SOURCES)}")
    since = parse_since(args.since) if args.since else None
    step = 1000

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            print(f"  {done}/{total}", file=sys.stderr)

    counts = replay(get_engine(settings.database_url), since=since, source=args.source, progress=progress)
    total = sum(counts.values())
    if not total:
        print("Nothing to replay.")
        return 0
    summary = ", ".join(f"{counts[k]} {k}" for k in ("done", "ignored", "error", "skipped") if counts[k])
    print(f"Replayed {total} deliveries: {summary}.")
    if counts["error"]:
        print("See `sei-bot ingest errors` for the failures.")
    return 0
