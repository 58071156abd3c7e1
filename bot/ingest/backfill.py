"""The GitHub backfill: history of pull requests, deployments, runs and incidents into the delivery tables.

Per repository, since a date, in this order:

1. deployments to production environments (the teams' pattern) with their statuses, and one older
   successful production deployment as the baseline of the first change set;
2. workflow runs, every attempt of re-run ones; runs of the teams' deploy workflows on the production
   branch (not pull-request runs) are deployments too;
3. pull requests (``state=all``, most recently updated first, until older than ``since`` or than the
   baseline deployment, whichever is earlier) with their commits (author dates), reviews, and review
   requests / ready-for-review from their issue events; then the repository's conversation comments
   on those PRs (``comment:<id>`` reviews: pickup ends at the first review or comment);
4. issues carrying a team's incident label → incidents;
5. the compare API between consecutive successful production deployments → ``Commit`` rows with
   ``push_key = compare:<deployment uid>``: the change set each deployment shipped.

Every write goes through ``bot.delivery.service``, so running twice, or after webhooks, stores each fact
once. Each item is committed with the cursor of its listing, so an interrupted run loses at most the
item in flight and the next run continues from there (``bot.ingest.coverage``). HTTP calls never happen
inside a database transaction.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from bot.db import session_scope
from bot.delivery import service
from bot.delivery.models import Deployment, PullRequest
from bot.ingest import github_rest as rest
from bot.ingest.coverage import Coverage, Walk
from bot.ingest.normalize.apply import deploy_workflow_environment
from bot.ingest.progress import SyncProgress
from bot.ingest.sync_service import load_cursor, save_cursor
from bot.providers.github import GitHubClient, GitHubError, GitHubNotFoundError, Page
from bot.teams.config import IncidentsConfig, ProductionConfig, TeamConfig
from bot.teams.service import list_teams

log = logging.getLogger(__name__)

# How many deployments older than ``since`` are looked at to find the baseline of the first change set.
BASELINE_LOOKBACK = 100
# GitHub answers 410 Gone (or 404) for issue endpoints of a repository whose issues are switched off.
DISABLED = (404, 410)


def _unless_disabled(pages: Iterator[Page], what: str) -> Iterator[Page]:
    """The pages of an issue listing, or none when the repository has issues switched off."""
    try:
        yield from pages
    except GitHubError as exc:
        if exc.status != 410:
            raise
        log.warning("%s are switched off (%s); no incidents from GitHub issues", what, exc)


@dataclass(frozen=True)
class RepoPlan:
    """What to fetch for one repository, merged from every team that owns it."""

    repo: str
    environments: tuple[str, ...] = (ProductionConfig().environments,)
    branches: tuple[str, ...] = (ProductionConfig().branch,)
    workflows: tuple[str, ...] = ()
    incident_labels: tuple[str, ...] = (IncidentsConfig().github_label,)
    teams: tuple[str, ...] = ()

    def is_production(self, environment: str | None) -> bool:
        """True when any owning team counts this environment as production."""
        return bool(environment) and any(
            re.search(pattern, environment or "", re.IGNORECASE) for pattern in self.environments
        )

    @property
    def branch(self) -> str:
        """The production branch recorded on compared commits (the repository's default without a team)."""
        return self.branches[0]


def plan_for(repo: str, teams: Iterable[TeamConfig]) -> RepoPlan:
    """The plan of one repository: the union of its teams' production and incident settings (defaults without)."""
    # GitHub names are case-insensitive; the spelling of teams.yml is the one stored.
    spelled = {r.lower(): r for t in teams for r in t.repos}
    repo = spelled.get(repo.lower(), repo)
    owners = [t for t in teams if repo in t.repos]
    if not owners:
        return RepoPlan(repo=repo)
    return RepoPlan(
        repo=repo,
        environments=tuple(dict.fromkeys(t.production.environments for t in owners)),
        branches=tuple(dict.fromkeys(t.production.branch for t in owners)),
        workflows=tuple(dict.fromkeys(w for t in owners for w in t.production.workflows)),
        incident_labels=tuple(dict.fromkeys(t.incidents.github_label for t in owners)),
        teams=tuple(t.id for t in owners),
    )


def plan_repos(*, session: Session, repos: Sequence[str] | None = None) -> list[RepoPlan]:
    """Plans for the given repositories, or for every GitHub repository of the configured teams."""
    teams = list_teams(session=session)
    if not repos:
        repos = [r for t in teams for r in t.repos if not r.startswith("gitlab:")]
    return [plan_for(repo, teams) for repo in dict.fromkeys(repos)]


@dataclass
class _Listing:
    """One newest-first listing walked with a cursor."""

    resource: str
    phase: str
    pages: Iterator[Page]
    key: Callable[[dict[str, Any]], datetime | None]
    fetch: Callable[[dict[str, Any]], Any]
    write: Callable[[Session, dict[str, Any], Any], bool]  # returns whether the item is settled
    since: datetime
    go_below: Callable[[], bool] = field(default=lambda: False)  # keep walking past ``since``?


class Backfill:
    """Fetch a repository's history from GitHub and store it idempotently, resumably."""

    def __init__(self, *, client: GitHubClient, engine: Engine, since: datetime, progress: SyncProgress | None = None):
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        self.client = client
        self.engine = engine
        self.since = since
        self.progress = progress
        self.counts: dict[str, Counter[str]] = {}

    def run(self, plans: Sequence[RepoPlan]) -> dict[str, Counter[str]]:
        """Sync every planned repository; returns the counts of stored items per repository."""
        for index, plan in enumerate(plans, 1):
            if self.progress is not None:
                self.progress.start_repo(plan.repo, index, len(plans))
            self.sync_repo(plan)
            if self.progress is not None:
                self.progress.finish_repo()
        return self.counts

    def sync_repo(self, plan: RepoPlan) -> Counter[str]:
        """Every resource of one repository (see the module docstring for the order)."""
        self.counts.setdefault(plan.repo, Counter())
        # One cheap call first: a wrong name or a token that cannot see the repository fails here, clearly.
        info = self.client.repository(plan.repo)
        if not plan.teams and info.get("default_branch"):
            plan = replace(plan, branches=(str(info["default_branch"]),))
        self._walk(plan, self._deployments(plan))
        self._walk(plan, self._runs(plan))
        floor = self._pulls_floor(plan)
        self._walk(plan, self._pulls(plan, since=floor))
        self._walk(plan, self._comments(plan, since=floor))
        for label in plan.incident_labels:
            self._walk(plan, self._incidents(plan, label))
        self._changes(plan)
        return self.counts[plan.repo]

    # --- plumbing -------------------------------------------------------------------------------

    def _count(self, plan: RepoPlan, resource: str, n: int = 1) -> None:
        self.counts.setdefault(plan.repo, Counter())[resource] += n
        if self.progress is not None:
            self.progress.count(resource, n)

    def _report(self, walk: Walk | None = None, moment: datetime | None = None) -> None:
        if self.progress is None:
            return
        self.progress.budget(self.client.rate_limit, self.client.stats.not_modified)
        if walk is not None and moment is not None:
            self.progress.position(moment, walk.since, walk.top)

    def _walk(self, plan: RepoPlan, listing: _Listing) -> None:
        """Walk a listing newest first, storing unseen items one transaction each, cursor included."""
        with session_scope(self.engine) as session:
            coverage = Coverage.from_json(load_cursor(session=session, repo=plan.repo, resource=listing.resource))
        walk = Walk(coverage, listing.since)
        if self.progress is not None:
            self.progress.start_phase(listing.phase)
        for page in listing.pages:
            self._report()
            if not self._walk_page(plan, listing, walk, page.items):
                break
        walk.finished()
        with session_scope(self.engine) as session:
            save_cursor(session=session, repo=plan.repo, resource=listing.resource, cursor=coverage.to_json())

    def _walk_page(self, plan: RepoPlan, listing: _Listing, walk: Walk, items: list[dict[str, Any]]) -> bool:
        """Store a page's items; ``False`` once the walk has gone far enough."""
        for item in items:
            moment = listing.key(item)
            if moment is None:
                continue
            if moment < walk.since and not listing.go_below():
                return False
            if walk.coverage.covers_down_to(moment, walk.since):
                walk.skip(moment)
                return False
            if walk.skip(moment):
                continue
            prepared = listing.fetch(item)
            with session_scope(self.engine) as session:
                settled = listing.write(session, item, prepared)
                walk.stored(moment, settled=settled)
                save_cursor(session=session, repo=plan.repo, resource=listing.resource, cursor=walk.coverage.to_json())
            self._report(walk, moment)
        return True

    # --- pull requests --------------------------------------------------------------------------

    def _pulls_floor(self, plan: RepoPlan) -> datetime:
        """How far back pull requests are needed: ``since``, or the baseline deployment if it is older.

        The first change set in the window starts at the baseline, so the PRs merged between the
        baseline and ``since`` are changes deployed in the window and need their commits and reviews.
        """
        with session_scope(self.engine) as session:
            before = [
                d for d in self.production_sequence(session, plan) if d.finished_at and d.finished_at < self.since
            ]
        if not before:
            return self.since
        baseline = before[-1]
        return min(self.since, baseline.started_at or baseline.finished_at or self.since)

    def _pulls(self, plan: RepoPlan, *, since: datetime) -> _Listing:
        repo = plan.repo

        def fetch(item: dict[str, Any]) -> tuple[dict[str, Any], list[Any], list[Any], list[Any]]:
            number = item["number"]
            pr = self.client.get(f"/repos/{repo}/pulls/{number}") or item
            try:
                events = self.client.issue_events(repo, number)
            except GitHubError as exc:
                if exc.status not in DISABLED:
                    raise
                events = []  # issues switched off: no request history, ready_at falls back to created_at
            return pr, self.client.pull_commits(repo, number), self.client.pull_reviews(repo, number), events

        def write(session: Session, item: dict[str, Any], prepared: Any) -> bool:
            pr, commits, reviews, events = prepared
            fields = rest.pull_request_fields(pr)
            fields["ready_at"] = rest.ready_at(pr, events)
            row = service.upsert_pull_request(session=session, repo=repo, number=pr["number"], **fields)
            service.add_pr_commits(session=session, pr=row, commits=rest.pr_commit_rows(commits))
            stored_reviews = 0
            for review in reviews:
                review_fields = rest.review_fields(review)
                if review_fields is not None:
                    service.upsert_review(session=session, pr=row, **review_fields)
                    stored_reviews += 1
            for reviewer, requested_at, removed_at in rest.review_requests(pr, events, reviews):
                service.request_review(session=session, pr=row, reviewer=reviewer, requested_at=requested_at)
                if removed_at is not None:
                    service.remove_review_request(session=session, pr=row, reviewer=reviewer, removed_at=removed_at)
            self._count(plan, "pulls")
            self._count(plan, "commits", len(commits))
            self._count(plan, "reviews", stored_reviews)
            return True

        return _Listing(
            resource="pulls",
            phase="pull requests",
            pages=self.client.pulls(repo),
            key=lambda pr: rest.parse_time(pr.get("updated_at")),
            fetch=fetch,
            write=write,
            since=since,
        )

    def _comments(self, plan: RepoPlan, *, since: datetime) -> _Listing:
        """Conversation comments of the stored PRs (pickup ends at the first review *or comment*)."""
        repo = plan.repo

        def write(session: Session, comment: dict[str, Any], _prepared: Any) -> bool:
            parsed = rest.comment_fields(comment)
            if parsed is None:
                return True
            number, fields = parsed
            pr = session.scalars(
                select(PullRequest).where(col(PullRequest.repo) == repo, col(PullRequest.number) == number)
            ).first()
            if pr is None:
                return True  # a comment on an issue, or on a PR outside the window
            service.upsert_review(session=session, pr=pr, **fields)
            self._count(plan, "comments")
            return True

        return _Listing(
            resource="comments",
            phase="PR comments",
            pages=_unless_disabled(self.client.issue_comments(repo, since=since), f"{repo}: issue comments"),
            key=lambda c: rest.parse_time(c.get("updated_at")),
            fetch=lambda _comment: None,
            write=write,
            since=since,
        )

    # --- deployments ----------------------------------------------------------------------------

    def _deployments(self, plan: RepoPlan) -> _Listing:
        repo = plan.repo
        state = {"baseline": False, "below": 0}

        def fetch(item: dict[str, Any]) -> list[Any] | None:
            if not plan.is_production(item.get("environment")):
                return None
            return self.client.deployment_statuses(repo, item["id"])

        def write(session: Session, item: dict[str, Any], statuses: Any) -> bool:
            created = rest.parse_time(item.get("created_at"))
            if created is not None and created < self.since:
                state["below"] += 1
            if statuses is None:
                return True  # not production: nothing to store, nothing to revisit
            fields = rest.deployment_fields(repo, item, statuses)
            service.upsert_deployment(session=session, **fields)
            self._count(plan, "deployments")
            if created is not None and created < self.since and fields["status"] == "success":
                state["baseline"] = True
            return fields["status"] in rest.TERMINAL_DEPLOYMENT_STATUSES

        return _Listing(
            resource="deployments",
            phase="deployments",
            pages=self.client.deployments(repo),
            key=lambda d: rest.parse_time(d.get("created_at")),
            fetch=fetch,
            write=write,
            since=self.since,
            go_below=lambda: not state["baseline"] and state["below"] < BASELINE_LOOKBACK,
        )

    # --- workflow runs --------------------------------------------------------------------------

    def _runs(self, plan: RepoPlan) -> _Listing:
        repo = plan.repo

        def fetch(run: dict[str, Any]) -> list[dict[str, Any]]:
            latest = int(run.get("run_attempt") or 1)
            earlier = [self.client.workflow_run_attempt(repo, run["id"], n) for n in range(1, latest)]
            return [a for a in earlier if a.get("id")] + [run]

        def write(session: Session, run: dict[str, Any], attempts: Any) -> bool:
            for attempt in attempts:
                fields = rest.workflow_run_fields(repo, attempt)
                service.upsert_pipeline_run(session=session, **fields)
            self._count(plan, "runs", len(attempts))
            if (
                plan.workflows
                and run.get("head_branch") in plan.branches
                and run.get("event") not in ("pull_request", "pull_request_target")
                and rest.is_deploy_workflow(run, plan.workflows)
            ):
                for attempt in attempts:
                    service.upsert_deployment(
                        session=session,
                        **rest.workflow_deployment_fields(
                            repo, attempt, deploy_workflow_environment(plan.is_production)
                        ),
                    )
                self._count(plan, "deployments")
            return str(run.get("status") or "").lower() == "completed"

        return _Listing(
            resource="runs",
            phase="workflow runs",
            pages=self.client.workflow_runs(repo),
            key=lambda r: rest.parse_time(r.get("created_at")),
            fetch=fetch,
            write=write,
            since=self.since,
        )

    # --- incidents ------------------------------------------------------------------------------

    def _incidents(self, plan: RepoPlan, label: str) -> _Listing:
        repo = plan.repo

        def write(session: Session, issue: dict[str, Any], _prepared: Any) -> bool:
            if "pull_request" in issue:
                return True  # a labelled pull request is not an incident report
            service.upsert_incident(session=session, **rest.incident_fields(repo, issue))
            self._count(plan, "incidents")
            return True

        return _Listing(
            resource=f"issues:{label}",
            phase=f"incidents ({label})",
            pages=_unless_disabled(self.client.issues(repo, labels=label, since=self.since), f"{repo}: issues"),
            key=lambda i: rest.parse_time(i.get("updated_at")),
            fetch=lambda _issue: None,
            write=write,
            since=self.since,
        )

    # --- change sets ----------------------------------------------------------------------------

    def production_sequence(self, session: Session, plan: RepoPlan) -> list[Deployment]:
        """Successful production deployments of a repository in finishing order, one per pipeline run."""
        rows = session.scalars(
            select(Deployment)
            .where(col(Deployment.repo) == plan.repo, col(Deployment.status) == "success")
            .where(col(Deployment.finished_at).is_not(None))
            .order_by(col(Deployment.finished_at), col(Deployment.id))
        )
        workflow_prefix = f"github:{plan.repo}:run-"
        sequence: list[Deployment] = []
        runs: set[str] = set()
        for row in rows:
            if not (plan.is_production(row.environment) or row.uid.startswith(workflow_prefix)):
                continue
            if row.run_key:
                if row.run_key in runs:
                    continue
                runs.add(row.run_key)
            sequence.append(row)
        return sequence

    def _changes(self, plan: RepoPlan) -> None:
        """Compare each successful production deployment with the previous one; store the commits shipped."""
        repo = plan.repo
        if self.progress is not None:
            self.progress.start_phase("change sets")
        with session_scope(self.engine) as session:
            sequence = self.production_sequence(session, plan)
        for previous, current in pairwise(sequence):
            if current.finished_at is None or current.finished_at < self.since or not previous.sha or not current.sha:
                continue
            resource = f"compare:{current.uid}"
            wanted: dict[str, Any] = {"base": previous.sha, "head": current.sha}
            with session_scope(self.engine) as session:
                done = load_cursor(session=session, repo=repo, resource=resource)
            if done.get("base") == previous.sha and done.get("head") == current.sha:
                continue
            commits: list[dict[str, Any]] = []
            if previous.sha != current.sha:
                try:
                    commits = self.client.compare(repo, previous.sha, current.sha).get("commits") or []
                except GitHubNotFoundError:
                    # A SHA that no longer exists (force-pushed away): the change set is unknowable.
                    log.warning("%s: cannot compare %s...%s (not found); skipped", repo, previous.sha, current.sha)
                    wanted["missing"] = True
            with session_scope(self.engine) as session:
                for item in commits:
                    fields = rest.compare_commit_fields(item, branch=plan.branch, push_key=resource)
                    service.upsert_commit(session=session, repo=repo, **fields)
                save_cursor(session=session, repo=repo, resource=resource, cursor={**wanted, "commits": len(commits)})
            self._count(plan, "changes", len(commits))
            self._report()
