"""The ``sei-bot`` command line (also ``python -m bot``).

Every verb is a function ``(args, settings) -> int`` in the domain package it belongs to, named here
by dotted path so that starting the CLI imports only what the verb needs. Errors a user can fix
raise ``CommandError`` and print one actionable line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from bot.settings import Settings, get_settings


class CommandError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="HTTP server for Slack, webhooks and the API (and the scheduler)")
    p.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server is meant to listen
    p.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    p.add_argument("--threads", type=int, default=16, help="worker threads of the WSGI server")
    p.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler and outbox sender here")
    p.set_defaults(func="bot.server:cmd_serve")
    p = sub.add_parser("socket", help="the same app over Socket Mode (needs SLACK_APP_TOKEN)")
    p.add_argument("--no-scheduler", action="store_true")
    p.set_defaults(func="bot.server:cmd_socket")
    p = sub.add_parser("worker", help="scheduler and outbox sender only")
    p.set_defaults(func="bot.server:cmd_worker")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb in DESIGN.md §2."""
    parser = argparse.ArgumentParser(prog="sei-bot", description="Software Engineering Intelligence in Slack.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    _add_serve(sub)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func="bot.server:cmd_migrate")

    teams = sub.add_parser("teams", help="load and show team configuration").add_subparsers(dest="teams_cmd")
    teams.required = True
    p = teams.add_parser("apply", help="validate teams.yml and load it into the database")
    p.add_argument("file", nargs="?", default=None, help="default: $SEI_TEAMS_FILE or teams.yml")
    p.set_defaults(func="bot.teams.cli:cmd_apply")
    p = teams.add_parser("list", help="show configured teams")
    p.set_defaults(func="bot.teams.cli:cmd_list")

    sync = sub.add_parser("sync", help="backfill history from a provider").add_subparsers(dest="sync_cmd")
    sync.required = True
    p = sync.add_parser("github", help="backfill PRs, reviews, deployments, runs and incidents from GitHub")
    p.add_argument("--repo", action="append", help="OWNER/NAME (repeatable; default: every configured repo)")
    p.add_argument("--since", default="90d", help="how far back: 90d, 12w, or a date (default 90d)")
    p.add_argument("--no-progress", action="store_true", help="plain log lines instead of a progress bar")
    p.set_defaults(func="bot.ingest.backfill_cli:cmd_sync_github")

    ingest = sub.add_parser("ingest", help="the raw event log").add_subparsers(dest="ingest_cmd")
    ingest.required = True
    p = ingest.add_parser("errors", help="list refused or failed deliveries with their error")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func="bot.ingest.cli:cmd_errors")
    p = ingest.add_parser("replay", help="reprocess the raw log idempotently")
    p.add_argument("--since", default=None, help="a date or datetime (ISO 8601), or 7d")
    p.add_argument("--source", default=None, help="github, gitlab, pagerduty, opsgenie or api")
    p.set_defaults(func="bot.ingest.cli:cmd_replay")

    p = sub.add_parser("report", help="the /dora answer in the terminal")
    p.add_argument("team")
    p.add_argument("--period", default="30d", help="7d, 30d, 90d, quarter, or Nd / Nw")
    p.add_argument("--as-of", default=None, help="end of the window (ISO 8601 datetime); default now")
    p.add_argument("--chart", default=None, metavar="FILE.png", help="also write the chart to this PNG")
    p.add_argument("--json", action="store_true", help="machine-readable output (DESIGN.md §2)")
    p.set_defaults(func="bot.metrics.cli:cmd_report")

    p = sub.add_parser("demo", help="offline demo: seeded data and a local Slack stand-in")
    p.add_argument("--team", default=None, help="the team whose full report is shown (default: the first)")
    p.add_argument("--out", default="demo-output", help="folder for the charts and transcript")
    p.add_argument("--database", default=None, help="default: a fresh SQLite file in the output folder")
    p.set_defaults(func="bot.demo.run:cmd_demo")

    p = sub.add_parser("manifest", help="print the Slack app manifest (YAML)")
    p.add_argument("--url", default=None, help="public base URL of the bot (default $SEI_PUBLIC_URL)")
    p.set_defaults(func="bot.manifest:cmd_manifest")

    jobs = sub.add_parser("jobs", help="scheduled jobs").add_subparsers(dest="jobs_cmd")
    jobs.required = True
    p = jobs.add_parser("list", help="list scheduled jobs and their next run")
    p.set_defaults(func="bot.scheduler:cmd_jobs_list")
    p = jobs.add_parser("run", help="run one job now")
    p.add_argument("job_id")
    p.set_defaults(func="bot.scheduler:cmd_jobs_run")
    return parser


def _resolve(path: str) -> Callable[[argparse.Namespace, Settings], int]:
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    func: Callable[[argparse.Namespace, Settings], int] = getattr(module, attr)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "alembic.runtime.plugins", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = get_settings()
        return int(_resolve(args.func)(args, settings) or 0)
    except CommandError as exc:
        print(f"sei-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sei-bot report … | head`: the reader left; nothing more to say
        sys.stderr.close()
        return 0
    except Exception as exc:  # a last resort: one line, not a traceback, unless asked
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            field = str(first["loc"][0]).upper() if first["loc"] else "configuration"
            print(f"sei-bot: {field}: {first['msg']}", file=sys.stderr)
            return 2
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            print(
                f"sei-bot: database error: {exc.orig}. Check DATABASE_URL and run `sei-bot migrate`.",
                file=sys.stderr,
            )
            return 2
        if args.verbose:
            raise
        print(f"sei-bot: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return 1
