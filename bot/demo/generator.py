"""Deterministic, realistic engineering-org histories for the demo and the benchmarks.

An org is a set of teams, each with a *persona* (elite, steady, struggling, …) that sets how fast it
codes, reviews, ships and recovers. ``plan_team`` simulates one team's repositories over a time range
and returns plain records whose keys are the columns of ``bot.delivery.models`` (times are
timezone-aware UTC); the same seed and range always give the same records. Two writers put them in
the database, keeping the conventions of that module's docstring:

- ``seed_demo`` writes a few teams through the ``bot.delivery.service`` upserts, as ingest would.
- ``generate_org`` writes hundreds of teams in bulk (SQLAlchemy Core ``executemany``, or ``COPY`` on
  PostgreSQL) for the benchmarks; the rows are the ones the upserts would store.

What a history holds, per repository: pull requests with several commits (authored times), drafts,
review requests, reviews (some by bots, some PRs merged with none), merge/squash/rebase merges and
the commits they land on ``main``; direct pushes; staging and production deployments on the team's
cadence (batched changes, failed and retried pipelines, multi-region runs, redeploys); failures with
their consequences (incidents linked explicitly or only by time, rollbacks, reverts, hotfixes);
background and open incidents (GitHub issues, PagerDuty, the generic API); CI runs with flaky
failed-then-passed attempts on one SHA.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.delivery import service
from bot.delivery.models import (
    Commit,
    Deployment,
    Incident,
    PipelineRun,
    PrCommit,
    PrReview,
    PullRequest,
    ReviewRequest,
)
from bot.demo.org import (
    ATTRIBUTION_WINDOW_H,
    BOT_REVIEWERS,
    INCIDENT_TITLES,
    ORG,
    PR_OBJECTS,
    PR_VERBS,
    PUSH_MESSAGES,
    TeamSpec,
    base36,
    demo_specs,
    org_teams,
    teams_yml,
)
from bot.teams.config import TeamsConfig, parse_teams_yaml
from bot.teams.service import apply_config

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
# The last weeks of a history, where a persona's recent trend (a degrading pipeline) shows.
RECENT_WEEKS = 5
# How a failed deployment shows: an incident naming it, an incident soon after it, a rollback, a revert, a hotfix.
FAILURE_MODES = ("linked", "window", "rollback", "revert", "hotfix")
FAILURE_WEIGHTS = (0.25, 0.25, 0.2, 0.15, 0.15)

# --- records -------------------------------------------------------------------------------------


@dataclass
class TeamRecords:
    """A team's generated history as rows (dicts keyed by model columns), ready for either writer.

    Each pull request dict also carries ``commits``, ``reviews`` and ``review_requests`` lists.
    """

    pull_requests: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    pipeline_runs: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        """Rows per table."""
        return Counter(
            {
                "pull_request": len(self.pull_requests),
                "pr_commit": sum(len(p["commits"]) for p in self.pull_requests),
                "pr_review": sum(len(p["reviews"]) for p in self.pull_requests),
                "review_request": sum(len(p["review_requests"]) for p in self.pull_requests),
                "commit": len(self.commits),
                "deployment": len(self.deployments),
                "incident": len(self.incidents),
                "pipeline_run": len(self.pipeline_runs),
            }
        )


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(round(seconds), UTC)


class _PR:
    """A pull request while it is simulated; numbered and rendered at the end."""

    __slots__ = (
        "author",
        "body",
        "closed",
        "commits",
        "created",
        "draft",
        "head_ref",
        "labels",
        "merge_sha",
        "merged",
        "method",
        "number",
        "ready",
        "refs",
        "requests",
        "reviews",
        "size",
        "title",
    )

    def __init__(self, created: float, author: str, title: str, head_ref: str):
        self.created, self.author, self.title, self.head_ref = created, author, title, head_ref
        self.ready: float = created
        self.merged: float | None = None
        self.closed: float | None = None
        self.draft = False
        self.body = ""
        self.refs: tuple[Any, ...] = ()  # PRs or incidents whose numbers the body names
        self.labels: list[str] = []
        self.commits: list[tuple[str, float, str]] = []  # (sha, authored, message)
        self.reviews: list[tuple[float, str, bool, str]] = []  # (time, login, is_bot, state)
        self.requests: list[tuple[str, float, float | None]] = []  # (reviewer, requested, removed)
        self.merge_sha: str | None = None
        self.method = "squash"
        self.size = 0
        self.number = 0


class _Incident:
    """An incident while it is simulated (GitHub issues are numbered with the pull requests)."""

    __slots__ = (
        "deployment_ref",
        "kind",
        "number",
        "opened",
        "refs",
        "repo",
        "resolved",
        "root_cause",
        "text",
        "title",
    )

    def __init__(self, kind: str, opened: float, resolved: float | None, repo: str | None, title: str):
        self.kind, self.opened, self.resolved, self.repo, self.title = kind, opened, resolved, repo, title
        self.text = ""
        self.refs: tuple[Any, ...] = ()
        self.deployment_ref: str | None = None
        self.root_cause: str | None = None
        self.number = 0


@dataclass
class _Branch:
    """A repository's production branch while it is simulated: what landed when, and pending deploy triggers."""

    repo: str
    prs: list[_PR]
    landings: list[tuple[float, str, Any]] = field(default_factory=list)  # (landed, sha, PR or "push")
    triggers: list[tuple[float, int, str, Any]] = field(default_factory=list)  # a heap: (time, seq, kind, sha)

    def __post_init__(self) -> None:
        self.landings.sort(key=lambda item: item[0])
        self.land_ts = [t for t, _, _ in self.landings]

    def land(self, at: float, sha: str, change: Any) -> None:
        """A change reaches the branch (a fix merged while the simulation runs)."""
        i = bisect.bisect_right(self.land_ts, at)
        self.land_ts.insert(i, at)
        self.landings.insert(i, (at, sha, change))

    def head(self, moment: float) -> int:
        """Index of the newest landing at ``moment`` (-1 before the first)."""
        return bisect.bisect_right(self.land_ts, moment) - 1


class _Team:
    """Simulates one team over ``[start, end)`` (seconds since the epoch)."""

    def __init__(self, spec: TeamSpec, start: float, end: float, seed: int):
        self.spec, self.p, self.start, self.end = spec, spec.persona, start, end
        self.rng = random.Random(f"history:{seed}:{spec.id}")
        self.tz = ZoneInfo(spec.timezone)
        self.recent_from = end - RECENT_WEEKS * 7 * DAY
        self.key_prefix = spec.id.replace("-", "")[:4].upper()
        self.ticket = 100
        self.counters: Counter[str] = Counter()
        self.incidents: list[_Incident] = []
        self.records = TeamRecords()
        # Day starts (UTC seconds) and weekdays of every local calendar day in the range.
        first = datetime.fromtimestamp(start, self.tz).date()
        last = datetime.fromtimestamp(end, self.tz).date()
        self.days: list[tuple[float, int]] = []
        day = first
        while day <= last:
            self.days.append((datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp(), day.weekday()))
            day += timedelta(days=1)
        self.day_starts = [start for start, _ in self.days]

    # small random helpers
    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def hours(self, median_h: float, sigma: float = 0.8) -> float:
        return self.rng.lognormvariate(math.log(median_h), sigma) * HOUR

    def poisson(self, lam: float) -> int:
        limit, k, prod = math.exp(-lam), 0, self.rng.random()
        while prod > limit:
            k += 1
            prod *= self.rng.random()
        return k

    def next_id(self, kind: str = "event") -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def recent(self, moment: float) -> bool:
        return moment >= self.recent_from

    def working_time(self, moment: float) -> float:
        """``moment`` if it falls in the team's working hours (08:00–19:00), else the next 08:00."""
        i = bisect.bisect_right(self.day_starts, moment) - 1
        if i < 0:
            return moment
        hour = (moment - self.day_starts[i]) / HOUR
        if 8 <= hour < 19:
            return moment
        if hour < 8:
            return self.day_starts[i] + 8 * HOUR
        return self.day_starts[i + 1] + 8 * HOUR if i + 1 < len(self.day_starts) else self.end

    # --- pull requests -------------------------------------------------------------------------

    def new_pr(self, repo: str, created: float, author: str, title: str | None = None) -> _PR:
        self.ticket += 1
        words = title or f"{self.rng.choice(PR_VERBS)} {self.rng.choice(PR_OBJECTS)}"
        key = f"{self.key_prefix}-{self.ticket}"
        slug = "-".join(w for w in "".join(c if c.isalnum() else " " for c in words.lower()).split()[:3])
        return _PR(created, author, f"{key} {words}" if title is None else title, f"{author}/{key.lower()}-{slug}")

    def review_flow(self, pr: _PR, *, quick: bool = False) -> float:
        """Requests, bot and human reviews after ``pr.ready``; returns when it is merged."""
        p, rng = self.p, self.rng
        others = [login for login in self.spec.logins if login != pr.author] or self.spec.logins
        slow = p.slower_recent if self.recent(pr.ready) else 1.0
        reviewers = rng.sample(others, min(len(others), rng.choice((1, 1, 2))))
        requested = [f"team:{self.spec.id}"] if rng.random() < 0.1 else list(reviewers)
        if rng.random() < 0.35:
            pr.reviews.append((pr.ready + rng.uniform(1, 8) * MINUTE, rng.choice(BOT_REVIEWERS), True, "commented"))
        if quick:
            first = pr.ready + rng.uniform(5, 30) * MINUTE
            pr.reviews.append((first, reviewers[0], False, "approved"))
            pr.requests = [(r, pr.ready, first) for r in requested]
            return first + rng.uniform(2, 10) * MINUTE
        if rng.random() < p.unreviewed:
            pr.requests = [(r, pr.ready, None) for r in requested]
            return pr.ready + self.hours(p.review_h * 0.5)
        first = pr.ready + self.hours(p.pickup_h * slow, 1.0)
        at = first
        if rng.random() < 0.15:  # the author answers a question before the reviewer decides
            pr.reviews.append((first - rng.uniform(0.1, 0.9) * (first - pr.ready), pr.author, False, "comment"))
        if rng.random() < p.changes_requested:
            pr.reviews.append((first, reviewers[0], False, "changes_requested"))
            fix = first + rng.uniform(0.5, 6) * HOUR
            pr.commits.append((self.sha(), fix, "Address review comments"))
            at = fix + self.hours(p.review_h * slow * 0.5)
            pr.reviews.append((at, reviewers[0], False, "approved"))
        else:
            at = first + self.hours(p.review_h * slow * 0.3, 0.9)
            pr.reviews.append((at, reviewers[0], False, rng.choice(("approved", "approved", "commented"))))
            if pr.reviews[-1][3] == "commented":
                at += self.hours(p.review_h * slow * 0.5)
                pr.reviews.append((at, reviewers[0], False, "approved"))
        if len(reviewers) > 1 and rng.random() < 0.6:
            pr.reviews.append((first + rng.uniform(0.2, 1.0) * (at - first), reviewers[1], False, "approved"))
        removed: dict[str, float] = {}
        for at_, who, _, _ in sorted(pr.reviews):
            removed.setdefault(who, at_)  # a review satisfies the request
        pr.requests = [(r, pr.ready, removed.get(r)) for r in requested]
        return at + rng.uniform(3, 90) * MINUTE

    def regular_prs(self, repo: str) -> list[_PR]:
        p, rng = self.p, self.rng
        prs = []
        for day_start, weekday in self.days:
            lam = p.prs_per_day * (1.0 if weekday < 5 else 0.06)
            for _ in range(self.poisson(lam)):
                t0 = day_start + rng.uniform(8.5, 18.0) * HOUR
                if t0 < self.start or t0 >= self.end:
                    continue
                author = rng.choice(self.spec.logins)
                pr = self.new_pr(repo, t0, author)
                coding = self.hours(p.coding_h, 0.9)
                n = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6))
                times = sorted([t0] + [t0 + rng.random() * coding for _ in range(n - 1)])
                messages = [
                    pr.title.split(" ", 1)[1],
                    *(rng.choice(("Wip", "Tests", "Tidy up", "Fix lint")) for _ in times[1:]),
                ]
                pr.commits = [(self.sha(), t, m) for t, m in zip(times, messages, strict=True)]
                pr.ready = t0 + coding + rng.uniform(1, 20) * MINUTE
                if rng.random() < p.draft:
                    pr.draft = True
                    pr.created = t0 + coding * rng.uniform(0.1, 0.6)
                else:
                    pr.created = pr.ready
                pr.size = max(1, int(rng.lognormvariate(math.log(p.size), 1.0)))
                pr.labels = rng.choice(([], [], ["feature"], ["bug"], ["dependencies"], ["tech-debt"]))
                if rng.random() < p.abandoned:
                    pr.closed = pr.created + rng.uniform(0.5, 20) * DAY
                    if rng.random() < 0.5:
                        pr.requests = [(rng.choice(self.spec.logins), pr.ready, None)]
                else:
                    pr.merged = self.review_flow(pr)
                    pr.method = self.choose(p.merge_methods)
                    pr.merge_sha = self.sha()
                prs.append(pr)
        return prs

    def choose(self, options: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([k for k, _ in options], [w for _, w in options])[0]

    # --- a repository's history ----------------------------------------------------------------

    def simulate(self) -> TeamRecords:
        """The whole team: every repository, then incidents not caused by a deployment."""
        prs_by_repo: dict[str, list[_PR]] = {}
        for repo in self.spec.repos:
            prs_by_repo[repo] = self.repository(repo)
        self.background_incidents()
        for repo, prs in prs_by_repo.items():
            self.number(repo, prs)
            for pr in prs:
                self.emit_pr(repo, pr)
        for incident in self.incidents:
            self.emit_incident(incident)
        return self.records

    def repository(self, repo: str) -> list[_PR]:
        prs = self.regular_prs(repo)
        landings: list[tuple[float, str, Any]] = [
            (pr.merged, pr.merge_sha or "", pr) for pr in prs if pr.merged is not None and pr.merged < self.end
        ]
        for day_start, weekday in self.days:
            if weekday < 5 and self.rng.random() < self.p.direct_pushes_per_week / 5:
                at = day_start + self.rng.uniform(9, 19) * HOUR
                if self.start <= at < self.end:
                    landings.append((at, self.sha(), "push"))
        branch = _Branch(repo, prs, landings)
        self.deployments(branch)
        for landed, sha, change in branch.landings:
            if change == "push":
                message = self.rng.choice(PUSH_MESSAGES)
                self.records.commits.append(
                    self.commit_row(repo, sha, landed - self.rng.uniform(2, 60) * MINUTE, landed, sha, message)
                )
        return prs

    def commit_row(
        self, repo: str, sha: str, authored: float, landed: float, push_sha: str, message: str
    ) -> dict[str, Any]:
        return {
            "repo": repo,
            "sha": sha,
            "branch": "main",
            "authored_at": _ts(authored),
            "landed_at": _ts(landed),
            "push_key": f"{repo}:{push_sha}",
            "author_login": None,
            "author_email": None,
            "message": message,
        }

    def deployments(self, branch: _Branch) -> None:
        """Staging and production deployments on the persona's cadence, with failures and their fixes."""
        p, rng, repo, triggers = self.p, self.rng, branch.repo, branch.triggers
        if p.deploy == "continuous":
            for t in branch.land_ts:
                triggers.append((t + rng.uniform(3, 15) * MINUTE, self.next_id(), "change", None))
        else:
            for i, (day_start, weekday) in enumerate(self.days):
                if weekday in p.deploy_days and (i // 7) % p.deploy_every_weeks == 0 and rng.random() > 0.05:
                    for hour in p.deploy_hours:
                        triggers.append(
                            (day_start + (hour + rng.uniform(-0.3, 0.5)) * HOUR, self.next_id(), "schedule", None)
                        )
        heapq.heapify(triggers)
        busy_until = self.start
        shipped_ts = -math.inf  # landing time of the newest change production has run
        shipped_index = -1
        prod_shas: list[str] = []  # SHAs of successful production deployments, in order
        multi = repo in self.spec.multi_region
        source = "api" if self.spec.index % 3 == 2 else "github"
        while triggers:
            t, _, kind, payload = heapq.heappop(triggers)
            begin = max(t, busy_until)
            if kind == "change":  # continuous delivery: batched, and paused at night; fixes go out at once
                begin = self.working_time(max(begin, busy_until + p.deploy_gap_h * HOUR))
            if begin >= self.end:
                break
            if kind == "rollback":
                finish = self.production(repo, source, payload, begin, multi=False, rollback=rng.random() < 0.6)
                if finish is None:
                    break
                busy_until = finish
                prod_shas.append(payload)
                continue
            index = branch.head(begin)
            if index < 0:
                continue
            head_ts, sha, _ = branch.landings[index]
            redeploy = kind == "schedule" and rng.random() < 0.03
            if head_ts <= shipped_ts and not redeploy:
                continue
            prod_start = begin
            if repo in self.spec.staged:
                staged = self.staging(repo, source, sha, begin)
                if staged is None:
                    busy_until = begin + 30 * MINUTE
                    continue
                prod_start = staged + rng.uniform(2, 20 if kind != "fix" else 5) * MINUTE
            finish = self.production(repo, source, sha, prod_start, multi=multi, rollback=False)
            if finish is None:
                break
            busy_until = finish
            previous_sha = prod_shas[-1] if prod_shas else None
            prod_shas.append(sha)
            shipped = [c for _, _, c in branch.landings[shipped_index + 1 : index + 1]]
            if head_ts > shipped_ts:
                shipped_ts, shipped_index = head_ts, index
                if shipped and previous_sha is not None and rng.random() < self.failure_rate(finish):
                    next_t = triggers[0][0] if triggers else self.end
                    if p.deploy == "continuous":  # the next change waits for the gap
                        next_t = max(next_t, finish + p.deploy_gap_h * HOUR)
                    self.fail(branch, shipped, sha, previous_sha, finish, next_t)

    def failure_rate(self, moment: float) -> float:
        return self.p.failure_rate * (1.5 if self.p.flaky_recent and self.recent(moment) else 1.0)

    def deploy_ids(self, repo: str, source: str) -> tuple[str, str]:
        n = self.next_id("deployment")
        if source == "github":
            ext = str(300_000_000 + self.spec.index * 200_000 + n)
            return ext, f"https://github.com/{repo}/deployments/{ext}"
        ext = f"jenkins-{repo.split('/')[1]}-{n}"
        return ext, f"https://ci.example.com/job/{repo.split('/')[1]}/{n}"

    def deployment_row(
        self,
        repo: str,
        source: str,
        env: str,
        sha: str,
        status: str,
        started: float,
        finished: float | None,
        **extra: Any,
    ) -> dict[str, Any]:
        ext, url = self.deploy_ids(repo, source)
        row = {
            "uid": f"{source}:{repo}:{ext}",
            "ext_id": ext,
            "source": source,
            "repo": repo,
            "environment": env,
            "sha": sha,
            "ref": "main",
            "status": status,
            "started_at": _ts(started),
            "finished_at": None if finished is None else _ts(finished),
            "url": url,
            "is_rollback": False,
            "run_key": None,
            "creator_login": self.rng.choice(self.spec.logins),
            "description": None,
        }
        row.update(extra)
        self.records.deployments.append(row)
        return row

    def staging(self, repo: str, source: str, sha: str, begin: float) -> float | None:
        """A staging deployment; ``None`` when it failed (production waits for the next trigger)."""
        finish = begin + self.rng.uniform(0.5, 1.0) * self.p.deploy_min * MINUTE
        if finish >= self.end:
            return None
        failed = self.rng.random() < 0.03
        self.deployment_row(repo, source, "staging", sha, "failure" if failed else "success", begin, finish)
        return None if failed else finish

    def production(
        self, repo: str, source: str, sha: str, begin: float, *, multi: bool, rollback: bool
    ) -> float | None:
        """A production deployment (retried after a failed run); its finish, ``None`` past the end."""
        rng = self.rng
        duration = self.p.deploy_min * MINUTE * rng.lognormvariate(0, 0.3)
        if rng.random() < self.p.pipeline_failure:
            failed_at = begin + duration * rng.uniform(0.2, 0.9)
            status = "cancelled" if rng.random() < 0.15 else "failure"
            if failed_at >= self.end:
                return None
            self.deployment_row(repo, source, "production", sha, status, begin, failed_at)
            begin = failed_at + rng.uniform(5, 30) * MINUTE
        finish = begin + duration
        if finish >= self.end:
            if begin < self.end:
                self.deployment_row(repo, source, "production", sha, "in_progress", begin, None)
            return None
        if multi and not rollback:
            run = f"{repo}:run:{self.next_id()}"
            at = begin
            for region in ("eu", "us", "ap"):
                at += duration / 3
                self.deployment_row(
                    repo,
                    source,
                    "production",
                    sha,
                    "success",
                    begin,
                    min(at, finish),
                    run_key=run,
                    description=f"region {region}",
                )
            return finish
        self.deployment_row(repo, source, "production", sha, "success", begin, finish, is_rollback=rollback)
        return finish

    # --- failures and their consequences -------------------------------------------------------

    def fail(
        self, branch: _Branch, shipped: list[Any], sha: str, previous_sha: str, finish: float, next_t: float
    ) -> None:
        """Make the deployment that finished at ``finish`` fail, the way this team's failures go."""
        rng, repo = self.rng, branch.repo
        recovery = min(self.hours(self.p.recovery_h, 0.9), (ATTRIBUTION_WINDOW_H - 1) * HOUR)
        shipped_prs = [c for c in shipped if isinstance(c, _PR) and not c.refs]  # fixes are not reverted
        room = next_t - finish
        modes = FAILURE_MODES if shipped_prs else FAILURE_MODES[:3]
        mode = rng.choices(modes, FAILURE_WEIGHTS[: len(modes)])[0]
        if mode in ("window", "rollback") and room < 20 * MINUTE:
            mode = "linked"
        deployment = self.records.deployments[-1]
        if mode == "rollback":
            at = finish + min(recovery, 0.8 * room)
            heapq.heappush(branch.triggers, (at, self.next_id(), "rollback", previous_sha))
            if shipped_prs and rng.random() < 0.6:
                self.fix_pr(branch, rng.choice(shipped_prs), at + self.hours(2), "revert")
            return
        if mode in ("revert", "hotfix"):
            target = rng.choice(shipped_prs)
            self.fix_pr(branch, target, finish + max(5 * MINUTE, recovery * 0.6), mode)
            if rng.random() < 0.4:  # users noticed too
                opened = finish + rng.uniform(5, 60) * MINUTE
                self.incidents.append(
                    self.incident(repo, opened, opened + recovery, style=rng.choice(("github", "api")))
                )
            return
        # Slow teams notice later: detection takes about half their recovery time, within the window.
        detect = min(self.hours(self.p.recovery_h / 2, 0.6), 0.9 * (room if mode == "window" else 20 * HOUR))
        opened = finish + max(3 * MINUTE, detect)
        resolved = opened + recovery
        if mode == "window":
            self.incidents.append(
                self.incident(repo, opened, resolved, style=rng.choice(("github", "api", "pagerduty")))
            )
            return
        style = rng.choice(("api", "api-root-cause", "github-sha", "github-pr", "pagerduty"))
        if style == "github-pr" and not shipped_prs:
            style = "github-sha"
        incident = self.incident(repo, opened, resolved, style=style.split("-")[0])
        if style == "api":
            incident.deployment_ref = deployment["ext_id"]
        elif style == "api-root-cause":
            incident.root_cause = sha
        elif style == "github-sha":
            incident.text = f"Root cause: {sha}\nCustomers saw errors after the release."
        elif style == "github-pr":
            incident.text = "Regression from #{0}; rolling forward with a fix."
            incident.refs = (rng.choice(shipped_prs),)
        else:
            incident.text = f"Triggered shortly after deploy {deployment['ext_id']} of {repo}."
        self.incidents.append(incident)
        if shipped_prs and rng.random() < 0.5:  # a fix that names the incident (rework)
            fix = self.fix_pr(branch, rng.choice(shipped_prs), resolved, "incident-fix")
            fix.refs = (incident,)

    def fix_pr(self, branch: _Branch, target: _PR, created: float, kind: str) -> _PR:
        """A revert, hotfix or incident fix of ``target``, merged soon and deployed right after."""
        rng, repo = self.rng, branch.repo
        author = target.author if rng.random() < 0.5 else rng.choice(self.spec.logins)
        subject = target.title.split(" ", 1)[1]
        if kind == "revert":
            pr = self.new_pr(repo, created, author, title=f'Revert "{target.title}"')
            pr.head_ref = f"revert-{{0}}-{target.head_ref}"
            pr.body = "Reverts " + repo + "#{0}"
        elif kind == "hotfix":
            pr = self.new_pr(repo, created, author, title=f"Hotfix: {subject}")
            pr.labels = ["hotfix"]
            pr.body = "Fixes the regression from #{0}."
        else:
            pr = self.new_pr(repo, created, author)
            pr.body = "Fixes the incident {0}."
        pr.refs = (target,)
        pr.commits = [(self.sha(), created - rng.uniform(5, 30) * MINUTE, pr.title)]
        pr.ready = created
        pr.merged = self.review_flow(pr, quick=True)
        pr.merge_sha = self.sha()
        pr.method = "squash"
        pr.size = rng.randint(2, 40)
        branch.prs.append(pr)
        if pr.merged < self.end:
            branch.land(pr.merged, pr.merge_sha, pr)
            heapq.heappush(branch.triggers, (pr.merged + rng.uniform(3, 10) * MINUTE, self.next_id(), "fix", None))
        return pr

    def incident(self, repo: str | None, opened: float, resolved: float | None, *, style: str) -> _Incident:
        service = repo.split("/")[1] if repo else self.spec.id
        title = self.rng.choice(INCIDENT_TITLES).format(service=service)
        kind = {"github": "github", "api": "api", "pagerduty": "pagerduty"}[style]
        return _Incident(
            kind,
            opened,
            resolved if resolved is not None and resolved < self.end else None,
            repo if kind != "pagerduty" else None,
            title,
        )

    def background_incidents(self) -> None:
        """Incidents no deployment caused (some still open at the end)."""
        months = (self.end - self.start) / (30 * DAY)
        for _ in range(self.poisson(self.p.incidents_per_month * months)):
            opened = self.rng.uniform(self.start, self.end)
            style = self.rng.choice(("github", "api", "pagerduty"))
            repo = self.rng.choice(self.spec.repos)
            resolved = None if self.rng.random() < 0.05 else opened + self.hours(self.p.recovery_h * 1.5, 1.0)
            self.incidents.append(self.incident(repo, opened, resolved, style=style))

    # --- numbering and rows --------------------------------------------------------------------

    def number(self, repo: str, prs: list[_PR]) -> None:
        """Number PRs and the repository's GitHub incident issues by creation, with gaps for other issues."""
        issues = [i for i in self.incidents if i.kind == "github" and i.repo == repo]
        items: list[tuple[float, int, Any]] = [(pr.created, 0, pr) for pr in prs] + [(i.opened, 1, i) for i in issues]
        items.sort(key=lambda item: (item[0], item[1]))
        n = 0
        for _, _, item in items:
            n += 1 + (self.rng.randint(1, 3) if self.rng.random() < 0.15 else 0)
            item.number = n

    def emit_pr(self, repo: str, pr: _PR) -> None:
        end = self.end
        if pr.created >= end:
            return
        merged = pr.merged if pr.merged is not None and pr.merged < end else None
        closed = pr.closed if pr.closed is not None and pr.closed < end else None
        refs = [r.number if not isinstance(r, _Incident) else self.incident_label(r) for r in pr.refs]
        head_ref = pr.head_ref.format(*refs)
        commits = [c for c in pr.commits if c[1] < end]
        head_sha = commits[-1][0] if commits else None
        additions = int(pr.size * self.rng.uniform(0.5, 0.9))
        finished = merged if merged is not None else closed
        state = "merged" if merged is not None else ("closed" if closed is not None else "open")
        reviews = [r for r in pr.reviews if r[0] < end]
        last = max([pr.created, *(c[1] for c in commits), *(r[0] for r in reviews), merged or 0.0, closed or 0.0])
        row = {
            "repo": repo,
            "number": pr.number,
            "title": pr.title,
            "author_login": pr.author,
            "url": f"https://github.com/{repo}/pull/{pr.number}",
            "state": state,
            "draft": pr.draft and pr.ready >= end,
            "created_at": _ts(pr.created),
            "ready_at": _ts(pr.ready) if pr.ready < end else None,
            "merged_at": None if merged is None else _ts(merged),
            "closed_at": None if finished is None else _ts(finished),
            "updated_at": _ts(last),
            "merge_commit_sha": pr.merge_sha if merged is not None else None,
            "head_sha": head_sha,
            "head_ref": head_ref,
            "base_ref": "main",
            "additions": additions,
            "deletions": pr.size - additions,
            "changed_files": max(1, pr.size // 40),
            "labels": list(pr.labels),
            "body": pr.body.format(*refs) or None,
            "commits": [
                {"sha": sha, "authored_at": _ts(t), "committed_at": _ts(t), "author_login": pr.author, "message": m}
                for sha, t, m in commits
            ],
            "reviews": [
                {
                    "ext_id": ("comment:" if state_ == "comment" else "")
                    + str(self.spec.index * 10_000_000 + self.next_id("review")),
                    "reviewer_login": login,
                    "reviewer_is_bot": is_bot,
                    "state": state_,
                    "submitted_at": _ts(t),
                }
                for t, login, is_bot, state_ in reviews
            ],
            "review_requests": [
                {
                    "reviewer": reviewer,
                    "requested_at": _ts(requested),
                    "removed_at": None if removed is None or removed >= end else _ts(removed),
                }
                for reviewer, requested, removed in pr.requests
                if requested < end
            ],
        }
        self.records.pull_requests.append(row)
        self.ci_runs(repo, pr, commits, head_ref)
        if merged is not None and pr.merge_sha:
            self.landed_commits(repo, pr, commits, merged)

    def landed_commits(self, repo: str, pr: _PR, commits: list[tuple[str, float, str]], merged: float) -> None:
        """The commits a merge puts on ``main``, in one push keyed by the merge commit."""
        sha = pr.merge_sha or ""
        if pr.method == "squash":
            self.records.commits.append(self.commit_row(repo, sha, merged, merged, sha, f"{pr.title} (#{pr.number})"))
        elif pr.method == "merge":
            for c_sha, authored, message in commits:
                self.records.commits.append(self.commit_row(repo, c_sha, authored, merged, sha, message))
            message = f"Merge pull request #{pr.number} from {ORG}/{pr.head_ref}"
            self.records.commits.append(self.commit_row(repo, sha, merged, merged, sha, message))
        else:  # rebase: new SHAs for the same authored commits; the last one is the merge SHA
            for i, (_, authored, message) in enumerate(commits):
                c_sha = sha if i == len(commits) - 1 else self.sha()
                self.records.commits.append(self.commit_row(repo, c_sha, authored, merged, sha, message))

    def ci_runs(self, repo: str, pr: _PR, commits: list[tuple[str, float, str]], head_ref: str) -> None:
        """One CI run per pushed head; flaky ones fail, then pass when re-run on the same SHA."""
        rng = self.rng
        heads = [commits[-1]] if len(commits) < 3 else [commits[-2], commits[-1]]
        for sha, pushed, _ in heads:
            start = max(pushed, pr.created) + rng.uniform(0.5, 3) * MINUTE
            if start >= self.end:
                continue
            flaky = self.p.flaky_recent if self.p.flaky_recent and self.recent(start) else self.p.flaky
            run_id = 900_000_000 + self.spec.index * 1_000_000 + self.next_id("run")
            attempts = ["failure", "success"] if rng.random() < flaky else [rng.choice(["success"] * 9 + ["failure"])]
            for attempt, conclusion in enumerate(attempts, start=1):
                finish = start + rng.uniform(4, 14) * MINUTE
                if finish >= self.end:
                    break
                self.records.pipeline_runs.append(
                    {
                        "uid": f"github:{repo}:run:{run_id}:{attempt}",
                        "provider": "github",
                        "kind": "run",
                        "repo": repo,
                        "workflow": "ci.yml",
                        "name": "CI",
                        "run_id": str(run_id),
                        "attempt": attempt,
                        "head_sha": sha,
                        "head_branch": head_ref,
                        "event": "pull_request",
                        "status": "completed",
                        "conclusion": conclusion,
                        "started_at": _ts(start),
                        "finished_at": _ts(finish),
                        "url": f"https://github.com/{repo}/actions/runs/{run_id}/attempts/{attempt}",
                        "actor_login": pr.author,
                        "extra": {},
                    }
                )
                start = finish + rng.uniform(2, 30) * MINUTE

    def incident_label(self, incident: _Incident) -> str:
        return f"#{incident.number}" if incident.kind == "github" else self.incident_ident(incident)

    def incident_ident(self, incident: _Incident) -> str:
        if incident.number == 0:
            incident.number = self.next_id("incident")
        if incident.kind == "pagerduty":
            return f"Q{base36(self.spec.index * 100_000 + incident.number, 7)}"
        return f"INC-{self.spec.index * 10_000 + incident.number}"

    def emit_incident(self, incident: _Incident) -> None:
        refs = [r.number for r in incident.refs]
        if incident.kind == "github":
            uid = f"github:{incident.repo}#{incident.number}"
            url = f"https://github.com/{incident.repo}/issues/{incident.number}"
        else:
            ident = self.incident_ident(incident)
            uid = f"{incident.kind}:{ident}"
            url = (
                f"https://{ORG}.pagerduty.com/incidents/{ident}"
                if incident.kind == "pagerduty"
                else f"https://status.example.com/{ident}"
            )
        self.records.incidents.append(
            {
                "uid": uid,
                "source": incident.kind,
                "repo": incident.repo,
                "service": self.spec.pagerduty_service if incident.kind == "pagerduty" else None,
                "title": incident.title,
                "text": incident.text.format(*refs),
                "opened_at": _ts(incident.opened),
                "resolved_at": None if incident.resolved is None else _ts(incident.resolved),
                "url": url,
                "deployment_ref": incident.deployment_ref,
                "root_cause_sha": incident.root_cause,
            }
        )


def plan_team(spec: TeamSpec, *, start: datetime, end: datetime, seed: int = 1) -> TeamRecords:
    """The history of one team over ``[start, end)``: deterministic for a seed, timezone-aware rows."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    return _Team(spec, start.timestamp(), end.timestamp(), seed).simulate()


# --- writing through the upserts (the demo) ----------------------------------------------------------


def write_records(*, session: Session, records: TeamRecords) -> None:
    """Store a team's records through the same idempotent upserts ingest uses (never commits)."""
    for row in records.pull_requests:
        fields = {k: v for k, v in row.items() if k not in ("repo", "number", "commits", "reviews", "review_requests")}
        pr = service.upsert_pull_request(session=session, repo=row["repo"], number=row["number"], **fields)
        service.add_pr_commits(session=session, pr=pr, commits=row["commits"])
        for request in row["review_requests"]:
            service.request_review(
                session=session, pr=pr, reviewer=request["reviewer"], requested_at=request["requested_at"]
            )
            if request["removed_at"] is not None:
                service.remove_review_request(
                    session=session, pr=pr, reviewer=request["reviewer"], removed_at=request["removed_at"]
                )
        for review in row["reviews"]:
            service.upsert_review(session=session, pr=pr, **review)
    for commit in records.commits:
        service.upsert_commit(session=session, **commit)
    for deployment in records.deployments:
        service.upsert_deployment(session=session, **deployment)
    for incident in records.incidents:
        service.upsert_incident(session=session, **incident)
    for run in records.pipeline_runs:
        service.upsert_pipeline_run(session=session, **run)


@dataclass(frozen=True)
class SeededOrg:
    """What a generator wrote: the teams (``teams.yml`` text and validated config) and row counts."""

    teams_yml: str
    config: TeamsConfig
    specs: tuple[TeamSpec, ...]
    counts: dict[str, int]
    seconds: float = 0.0


def _configure(*, session: Session, specs: Sequence[TeamSpec], name: str) -> tuple[str, TeamsConfig]:
    """Write the teams' ``teams.yml`` configuration to the database, as ``sei-bot teams apply`` does."""
    text_ = teams_yml(specs)
    config = parse_teams_yaml(text_, name=name)
    apply_config(session=session, config=config)
    return text_, config


def seed_teams(
    *, session: Session, specs: Sequence[TeamSpec], end: datetime, days: int, seed: int = 1, name: str = "teams.yml"
) -> SeededOrg:
    """Configure ``specs`` and write ``days`` of their history ending at ``end`` through the upserts."""
    began = time.perf_counter()
    text_, config = _configure(session=session, specs=specs, name=name)
    end = end.astimezone(UTC)
    counts: Counter[str] = Counter()
    for spec in specs:
        records = plan_team(spec, start=end - timedelta(days=days), end=end, seed=seed)
        write_records(session=session, records=records)
        counts.update(records.counts())
    return SeededOrg(text_, config, tuple(specs), dict(counts), time.perf_counter() - began)


def seed_demo(*, session: Session, as_of: datetime, seed: int = 1, days: int = 120) -> SeededOrg:
    """The demo: four teams that tell apart (elite, steady, degrading CI, struggling), ``days`` up to ``as_of``."""
    return seed_teams(
        session=session, specs=demo_specs(seed=seed), end=as_of, days=days, seed=seed, name="demo-teams.yml"
    )


# --- bulk writing (the benchmarks) ---------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a bulk generation is: teams written, rows per table, time spent."""

    teams_done: int
    teams_total: int
    rows: dict[str, int]
    elapsed_s: float

    @property
    def total_rows(self) -> int:
        """Rows written so far, all tables."""
        return sum(self.rows.values())

    @property
    def rows_per_s(self) -> float:
        """Write rate so far."""
        return self.total_rows / self.elapsed_s if self.elapsed_s > 0 else 0.0


_TABLES: dict[str, Table] = {
    "pull_request": PullRequest.__table__,  # type: ignore[attr-defined]
    "pr_commit": PrCommit.__table__,  # type: ignore[attr-defined]
    "pr_review": PrReview.__table__,  # type: ignore[attr-defined]
    "review_request": ReviewRequest.__table__,  # type: ignore[attr-defined]
    "commit": Commit.__table__,  # type: ignore[attr-defined]
    "deployment": Deployment.__table__,  # type: ignore[attr-defined]
    "incident": Incident.__table__,  # type: ignore[attr-defined]
    "pipeline_run": PipelineRun.__table__,  # type: ignore[attr-defined]
}
_JSON_COLUMNS = {"labels", "extra"}


def _rows_by_table(records: TeamRecords, next_pr_id: int) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Flatten a team's records into rows per table, giving pull requests explicit ids."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
    for row in records.pull_requests:
        pr_id = next_pr_id
        next_pr_id += 1
        tables["pull_request"].append(
            {"id": pr_id, **{k: v for k, v in row.items() if k not in ("commits", "reviews", "review_requests")}}
        )
        tables["pr_commit"] += ({"pr_id": pr_id, **c} for c in row["commits"])
        tables["pr_review"] += ({"pr_id": pr_id, **r} for r in row["reviews"])
        tables["review_request"] += ({"pr_id": pr_id, **r} for r in row["review_requests"])
    tables["commit"] = records.commits
    tables["deployment"] = records.deployments
    tables["incident"] = records.incidents
    tables["pipeline_run"] = records.pipeline_runs
    return tables, next_pr_id


def _write_core(conn: Connection, tables: dict[str, list[dict[str, Any]]]) -> None:
    for name, rows in tables.items():
        if rows:
            conn.execute(insert(_TABLES[name]), rows)


def _write_copy(conn: Connection, tables: dict[str, list[dict[str, Any]]]) -> None:
    """PostgreSQL ``COPY``: the same rows as the Core path, about three times faster."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    for name, rows in tables.items():
        if not rows:
            continue
        columns = list(rows[0])
        quoted = ", ".join(f'"{c}"' for c in columns)
        json_at = [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]
        with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                values = [row[c] for c in columns]
                for i in json_at:
                    values[i] = json.dumps(values[i])
                copy.write_row(values)


def generate_org(
    *,
    engine: Engine,
    teams: int = 200,
    days: int = 730,
    seed: int = 1,
    end: datetime | None = None,
    progress: Callable[[Progress], None] | None = None,
    use_copy: bool | None = None,
) -> SeededOrg:
    """Configure ``teams`` generated teams and bulk-write ``days`` of their history ending at ``end``.

    ``end`` defaults to today's midnight UTC; the same seed, size and end give the same rows.
    ``use_copy`` (default: on PostgreSQL) writes with ``COPY`` instead of ``INSERT`` executemany.
    """
    began = time.perf_counter()
    end = (end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)).astimezone(UTC)
    start = end - timedelta(days=days)
    specs = org_teams(teams, seed=seed)
    with session_scope(engine) as session:
        text_, config = _configure(session=session, specs=specs, name="generated-teams.yml")
    copy = engine.dialect.name == "postgresql" if use_copy is None else use_copy
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        next_pr_id = (conn.scalar(select(func.max(PullRequest.id))) or 0) + 1  # type: ignore[arg-type]
        conn.commit()
        for done, spec in enumerate(specs, start=1):
            records = plan_team(spec, start=start, end=end, seed=seed)
            tables, next_pr_id = _rows_by_table(records, next_pr_id)
            with conn.begin():
                (_write_copy if copy else _write_core)(conn, tables)
            counts.update({name: len(rows) for name, rows in tables.items()})
            if progress is not None:
                progress(Progress(done, len(specs), dict(counts), time.perf_counter() - began))
        if engine.dialect.name == "postgresql":
            # Explicit ids bypass the sequence; move it past them so later inserts do not collide.
            with conn.begin():
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence('pull_request', 'id'), max(id)) FROM pull_request")
                )
    return SeededOrg(text_, config, tuple(specs), dict(counts), time.perf_counter() - began)
