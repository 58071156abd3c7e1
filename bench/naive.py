"""The naive baseline: a team's rows loaded whole, then filtered, joined and aggregated in Python loops.

It builds the same ``TeamFacts`` as ``bot.metrics.service.load_facts`` (rows become facts through the
same helpers, and the report comes from ``report_from_facts``), but the database only hands over rows:
every row of the team's repositories with no time filter, no join and no aggregate, and the whole
incident table. What this costs against
the engine's indexed queries is what the benchmark's ratio shows; that both give identical figures is
checked on every run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery.models import Commit, Deployment, Incident, PrCommit, PrReview, PullRequest
from bot.metrics.compute import ChangeFact, RepoHistory
from bot.metrics.periods import Period
from bot.metrics.report import DoraReport
from bot.metrics.service import (
    PRIOR_SHAS,
    TeamFacts,
    deployment_facts,
    first_line,
    incident_fact,
    pr_change,
    push_change,
    report_from_facts,
)
from bot.teams.config import TeamConfig

CHUNK = 500


def _by_pr(session: Session, model: Any, pr_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Child rows of the given pull requests, fetched by key as a lazy loader would."""
    found: dict[int, list[Any]] = defaultdict(list)
    for i in range(0, len(pr_ids), CHUNK):
        for row in session.scalars(select(model).where(model.pr_id.in_(pr_ids[i : i + CHUNK]))):
            found[row.pr_id].append(row)
    return found


def naive_facts(*, session: Session, team: TeamConfig, start: datetime, end: datetime) -> TeamFacts:
    """``load_facts`` the naive way (same result, see the module docstring)."""
    repos = list(team.repos)
    branch = team.production.branch
    all_deployments = list(session.scalars(select(Deployment).where(Deployment.repo.in_(repos))))
    prs = list(session.scalars(select(PullRequest).where(PullRequest.repo.in_(repos))))
    commits = list(session.scalars(select(Commit).where(Commit.repo.in_(repos))))
    all_incidents = list(session.scalars(select(Incident)))
    pr_commits = _by_pr(session, PrCommit, [pr.id for pr in prs if pr.id is not None])
    reviews = _by_pr(session, PrReview, [pr.id for pr in prs if pr.id is not None])

    seen = sorted({d.environment for d in all_deployments})
    environments = {e for e in seen if team.production.is_production(e)}
    base = [d for d in all_deployments if d.status == "success" and d.environment in environments and d.finished_at]
    rows = [d for d in base if start <= d.finished_at < end]
    deployments = deployment_facts(rows)
    first_at = min((d.finished_at for d in base), default=None)

    # Histories: what shipped before the range, and where SHAs landed.
    prs_by_merge: dict[tuple[str, str], list[PullRequest]] = defaultdict(list)
    for pr in prs:
        if pr.merge_commit_sha:
            prs_by_merge[(pr.repo, pr.merge_commit_sha)].append(pr)
    commit_by_sha = {(c.repo, c.sha): c for c in commits}
    prior: dict[str, list[Any]] = defaultdict(list)
    for d in base:
        if d.finished_at < start:
            landed = commit_by_sha.get((d.repo, d.sha or ""))
            for pr in prs_by_merge.get((d.repo, d.sha or ""), [None]):
                merged = pr.merged_at if pr is not None else None
                position = merged or (landed.landed_at if landed else None) or d.started_at or d.finished_at
                prior[d.repo].append(position)
    earlier = sorted((d for d in base if d.finished_at < start and d.sha), key=lambda d: d.finished_at, reverse=True)
    shas = {d.sha for d in deployments if d.sha} | {d.sha for d in earlier[: PRIOR_SHAS * max(1, len(repos))]}
    positions: dict[str, dict[str, datetime]] = defaultdict(dict)
    for pr in prs:
        if pr.merged_at is not None:
            for c in pr_commits.get(pr.id or 0, []):
                if c.sha in shas:
                    positions[pr.repo][c.sha] = pr.merged_at
    for c in commits:
        if c.sha in shas and c.landed_at is not None:
            positions[c.repo][c.sha] = c.landed_at
    for pr in prs:
        if pr.merge_commit_sha in shas and pr.merged_at is not None:
            positions[pr.repo][pr.merge_commit_sha] = pr.merged_at
    histories = {
        repo: RepoHistory(
            repo=repo,
            prior_deployments=len(prior.get(repo, [])),
            prior_max_position=max(prior[repo]) if prior.get(repo) else None,
            sha_positions=positions.get(repo, {}),
        )
        for repo in repos
    }

    # Changes: merged pull requests into the production branch, then direct pushes.
    floors = [h.prior_max_position for h in histories.values()]
    floor = None if any(f is None for f in floors) else min(f for f in floors if f is not None)
    changes: list[ChangeFact] = []
    merge_shas: set[str] = set()
    pr_commit_keys: set[tuple[datetime, str]] = set()
    for pr in prs:
        if pr.merged_at is None or pr.merged_at >= end or (pr.base_ref is not None and pr.base_ref != branch):
            continue
        if floor is not None and pr.merged_at <= floor:
            continue
        mine = pr_commits.get(pr.id or 0, [])
        first_commit = min((c.authored_at for c in mine), default=None)
        human = [
            r.submitted_at
            for r in reviews.get(pr.id or 0, [])
            if not r.reviewer_is_bot
            and (r.reviewer_login is None or (pr.author_login is not None and r.reviewer_login != pr.author_login))
            and not (r.reviewer_login or "").endswith("[bot]")
            and r.state != "dismissed"
        ]
        for c in mine:
            pr_commit_keys.add((c.authored_at, first_line(c.message)))
        if pr.merge_commit_sha:
            merge_shas.add(pr.merge_commit_sha)
        changes.append(
            pr_change(
                pr,
                first_commit_at=first_commit,
                first_review_at=min(human, default=None),
                commit_shas=[c.sha for c in mine],
            )
        )
    pushed = [
        c
        for c in commits
        if c.landed_at is not None
        and c.landed_at < end
        and (c.branch is None or c.branch == branch)
        and (floor is None or c.landed_at > floor)
    ]
    known_merge = merge_shas | {pr.merge_commit_sha for pr in prs if pr.merge_commit_sha}
    known_pr_commits = {c.sha for found in pr_commits.values() for c in found}
    pr_pushes = {
        c.push_key for c in pushed if c.sha in known_merge and c.push_key and not c.push_key.startswith("compare:")
    }
    for c in pushed:
        if (
            c.sha in known_merge
            or c.sha in known_pr_commits
            or c.push_key in pr_pushes
            or (c.authored_at is not None and (c.authored_at, first_line(c.message)) in pr_commit_keys)
        ):
            continue
        changes.append(push_change(c))

    # Incidents of the team's repositories or services, or naming one of its deployments.
    services = {*team.incidents.pagerduty_services, *team.incidents.opsgenie_teams, *team.incidents.services} or {""}
    refs = {r.ext_id for r in rows} | {r.uid for r in rows}
    incidents = [
        incident_fact(i, end=end)
        for i in all_incidents
        if (i.repo in repos or i.service in services or i.deployment_ref in refs) and start <= i.opened_at < end
    ]
    return TeamFacts(deployments, changes, incidents, histories, seen, first_at)


def naive_report(*, session: Session, team: TeamConfig, period: Period, as_of: datetime) -> DoraReport:
    """``build_report`` over naively loaded facts."""
    window = period.window(as_of, team.timezone)
    facts = naive_facts(session=session, team=team, start=window.previous().start, end=window.end)
    return report_from_facts(team=team, period=period, as_of=as_of, facts=facts)
