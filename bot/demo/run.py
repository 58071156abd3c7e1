"""``sei-bot demo``: seed a realistic SQLite database and show what the bot answers about it, offline.

Four teams with different ways of working (an elite team, a steady one, one whose CI is degrading,
a struggling one) get four months of history. The demo prints a one-line summary per team, the full
``/dora`` report of one team as the terminal shows it, the text the Slack message carries, and writes
every team's weekly chart to a PNG, with the ``teams.yml`` used, so the database can be explored
further with the other commands.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.charts.dora import render_dora_chart
from bot.cli import CommandError
from bot.db import dispose_engines, get_engine, session_scope
from bot.demo.generator import seed_demo
from bot.metrics.cli import format_table
from bot.metrics.display import TIER_TITLES, metric_rows, report_text
from bot.metrics.periods import parse_period
from bot.metrics.report import DoraReport
from bot.metrics.service import build_report
from bot.migrate import upgrade
from bot.settings import Settings

DEMO_PERIOD = "30d"


def _summary(report: DoraReport, persona: str) -> str:
    """One line per team: each key's value and tier."""
    cells = [f"{row.value} ({TIER_TITLES.get(row.tier or '', 'no tier')})" for row in metric_rows(report)]
    return f"  {report.team_id:<10} {persona:<11} " + " · ".join(cells)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Seed a fresh demo database, print reports and write charts (no Slack, no credentials)."""
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create the output folder {out}: {exc.strerror}") from exc
    database = args.database or f"sqlite:///{out / 'demo.db'}"
    if database.startswith("sqlite:///") and not args.database:
        for suffix in ("", "-wal", "-shm"):  # a fresh demo every run
            Path(str(out / "demo.db") + suffix).unlink(missing_ok=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    print(f"Seeding four teams with 120 days of history into {database} …", flush=True)
    upgrade(database)
    as_of = datetime.now(UTC).replace(microsecond=0)
    engine = get_engine(database)
    with session_scope(engine) as session:
        org = seed_demo(session=session, as_of=as_of)
    (out / "teams.yml").write_text(org.teams_yml)
    counts = ", ".join(f"{n:,} {table.replace('_', ' ')}s" for table, n in sorted(org.counts.items()))
    print(f"  {counts} ({org.seconds:.1f} s)\n")

    team_ids = list(org.config.teams)
    chosen = args.team if args.team in org.config.teams else team_ids[0]
    if args.team and args.team not in org.config.teams:
        print(f"(no demo team {args.team!r}; the demo teams are {', '.join(team_ids)})\n")
    period = parse_period(DEMO_PERIOD)
    reports = {}
    with session_scope(engine) as session:
        for team_id, team in org.config.teams.items():
            reports[team_id] = build_report(session=session, team=team, period=period, as_of=as_of)
    for team_id, report in reports.items():
        chart = out / f"dora-{team_id}.png"
        chart.write_bytes(render_dora_chart(report))

    print("The four keys per team, last 30 days: deployment frequency · lead time · change failure rate · recovery")
    for team_id, report in reports.items():
        print(_summary(report, next(s.persona.key for s in org.specs if s.id == team_id)))
    print(f"\n/dora {chosen} in a terminal (sei-bot report {chosen}):\n")
    print(format_table(reports[chosen]))
    print(f"\nThe Slack message's text for /dora {chosen}:\n")
    print(report_text(reports[chosen]))
    print(f"\nCharts: {', '.join(str(out / f'dora-{t}.png') for t in team_ids)}")
    print(f"Teams:  {out / 'teams.yml'}")
    print(
        "\nExplore further, for example:\n"
        f"  DATABASE_URL={database} sei-bot report {team_ids[-1]} --period 90d\n"
        f"  DATABASE_URL={database} sei-bot report {chosen} --json\n"
        f"  DATABASE_URL={database} sei-bot teams list"
    )
    dispose_engines()
    if shutil.which("sei-bot") is None:
        print("(sei-bot is in .venv/bin: activate it with `. .venv/bin/activate`)")
    return 0
