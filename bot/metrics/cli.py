"""``sei-bot report TEAM [--period 30d] [--as-of DATETIME] [--chart FILE.png] [--json]``: ``/dora`` in a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli import CommandError
from bot.db import get_engine, session_scope
from bot.errors import UserFacingError
from bot.metrics.display import TIER_TITLES, biggest_drag, metric_rows, report_title, secondary_line
from bot.metrics.periods import parse_as_of, parse_period
from bot.metrics.report import DoraReport
from bot.metrics.service import build_report
from bot.settings import Settings
from bot.teams.service import UnknownTeamError, get_team


def format_table(report: DoraReport) -> str:
    """The report as a plain table for a terminal (no colour codes: it reads the same when piped)."""
    header = ("Metric", "Value", "vs previous", "Tier", "Detail")
    rows = [header]
    for row in metric_rows(report):
        change = row.trend.label(better="(better)", worse="(worse)")
        rows.append((row.title, row.value, change, TIER_TITLES.get(row.tier or "", "no tier"), row.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{report_title(report)} · profile {report.profile_title}", ""]
    for r in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(r[:4], widths, strict=True)) + "  " + r[4])
    lines += ["", secondary_line(report)]
    drag = biggest_drag(report)
    if drag:
        lines.append(f"Biggest drag: {drag}. Details: sei-bot report {report.team_id} --json")
    if report.no_data_hint:
        lines.append(report.no_data_hint)
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Print a team's DORA report (a table, or DESIGN.md §2 JSON) and optionally write its chart."""
    try:
        period = parse_period(args.period)
        as_of = parse_as_of(args.as_of)
    except UserFacingError as exc:
        raise CommandError(str(exc).replace("`", "")) from exc
    with session_scope(get_engine(settings.database_url)) as session:
        try:
            team = get_team(session=session, team_id=args.team)
        except UnknownTeamError as exc:
            raise CommandError(str(exc).replace("`", "")) from exc
        report = build_report(session=session, team=team, period=period, as_of=as_of)
    if args.chart:
        from bot.charts.dora import render_dora_chart

        path = Path(args.chart)
        try:
            path.write_bytes(render_dora_chart(report))
        except OSError as exc:
            raise CommandError(f"cannot write the chart to {path}: {exc.strerror}") from exc
        print(f"Chart written to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_table(report))
    return 0
