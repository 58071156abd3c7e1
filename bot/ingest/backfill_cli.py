"""``sei-bot sync github [--repo OWNER/NAME] [--since 90d] [--no-progress]``."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.cli import CommandError
from bot.db import get_engine, session_scope
from bot.ingest.backfill import Backfill, plan_repos
from bot.ingest.progress import SyncProgress
from bot.providers.cache import DbETagCache
from bot.providers.github import GitHubClient, GitHubError, GitHubRateLimitError, RetryPolicy, make_http_client
from bot.settings import Settings

GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SINCE_HELP = "90d, 12w, or a date such as 2026-09-01"
# Cached answers older than this are dropped at the start of a sync, so the table does not grow forever.
CACHE_MAX_AGE = timedelta(days=120)
LABELS = {
    "pulls": ("pull request", "pull requests"),
    "commits": ("PR commit", "PR commits"),
    "reviews": ("review", "reviews"),
    "comments": ("PR comment", "PR comments"),
    "deployments": ("deployment", "deployments"),
    "runs": ("workflow run", "workflow runs"),
    "incidents": ("incident", "incidents"),
    "changes": ("deployed commit", "deployed commits"),
}


def parse_since(text: str | None, now: datetime | None = None) -> datetime:
    """``90d`` / ``12w`` before now, or a date (midnight UTC) / ISO datetime; ``ValueError`` otherwise."""
    now = now or datetime.now(UTC)
    raw = (text or "90d").strip().lower()
    match = re.fullmatch(r"(\d{1,5})\s*(d|days?|w|weeks?)", raw)
    if match:
        n = int(match.group(1))
        days = n * 7 if match.group(2).startswith("w") else n
        if days < 1:
            raise ValueError(f"--since {text}: use at least 1d")
        return now - timedelta(days=days)
    try:
        value = datetime.fromisoformat(raw.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"--since {text!r} is neither a duration nor a date (try {SINCE_HELP})") from exc
    value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if value >= now:
        raise ValueError(f"--since {text} is in the future")
    return value.astimezone(UTC)


def run_sync(
    settings: Settings,
    *,
    repos: Sequence[str] | None,
    since: datetime,
    progress: SyncProgress,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy | None = None,
    per_page: int = 100,
) -> tuple[dict[str, Counter[str]], GitHubClient]:
    """Run the backfill with the configured database and GitHub API; returns the counts and the client used."""
    token = settings.github_token.get_secret_value() if settings.github_token else ""
    if not token:
        raise CommandError(
            "GITHUB_TOKEN is not set: create a token that can read the repositories (docs/backfill.md lists "
            "the scopes) and export GITHUB_TOKEN"
        )
    for repo in repos or []:
        if not GITHUB_REPO.match(repo):
            raise CommandError(f"--repo {repo}: expected OWNER/NAME of a GitHub repository, like acme/api")
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        plans = plan_repos(session=session, repos=repos)
    if not plans:
        raise CommandError(
            "no GitHub repositories to sync: pass --repo OWNER/NAME, or list repos in teams.yml and run "
            "`sei-bot teams apply`"
        )
    cache = DbETagCache(engine)
    cache.prune(older_than=CACHE_MAX_AGE)
    with make_http_client() as http:
        client = GitHubClient(
            http,
            token=token,
            base_url=settings.github_api_url,
            cache=cache,
            retry=retry,
            per_page=per_page,
            sleep=sleep,
            on_wait=progress.waiting,
        )
        backfill = Backfill(client=client, engine=engine, since=since, progress=progress)
        try:
            counts = backfill.run(plans)
        except GitHubRateLimitError as exc:
            raise CommandError(
                f"{exc}. Progress is saved: run the same command again after the reset to continue"
            ) from exc
        except GitHubError as exc:
            raise CommandError(f"{exc}. What was fetched so far is saved") from exc
        except KeyboardInterrupt:
            progress.close()
            print("Interrupted. Progress is saved: run the same command again to continue.", file=sys.stderr)
            raise
        finally:
            progress.close()
    return counts, client


def summary(counts: Counter[str]) -> str:
    """``12 pull requests, 40 PR commits, …`` (resources with nothing stored are left out)."""
    parts = [f"{counts[key]} {names[counts[key] != 1]}" for key, names in LABELS.items() if counts.get(key)]
    return ", ".join(parts) or "nothing new"


def cmd_sync_github(args: argparse.Namespace, settings: Settings) -> int:
    """Backfill PRs, reviews, deployments, workflow runs and incidents from GitHub, resumably."""
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    progress = SyncProgress(sys.stderr, live=False if args.no_progress else None)
    counts, client = run_sync(settings, repos=args.repo, since=since, progress=progress)
    for repo, repo_counts in counts.items():
        print(f"{repo}: {summary(repo_counts)} since {since:%Y-%m-%d}.")
    stats = client.stats
    rate = client.rate_limit
    budget = f"; {rate.remaining}/{rate.limit} requests left until {rate.reset_at:%H:%M} UTC" if rate else ""
    print(f"GitHub: {stats.requests} requests, {stats.not_modified} answered from cache (304){budget}.")
    return 0
