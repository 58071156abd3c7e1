"""Load a team's delivery facts with a few indexed queries and turn them into reports.

Filtering and joins happen in SQL (by repository and time, on the indexes of ``bot.delivery.models``);
the rules live in ``compute.py``. Only facts before ``as_of`` are read, so a report ``--as-of`` a past
moment shows what was known then, and the previous window is judged with the same knowledge.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from bot.delivery.models import Commit, Deployment, Incident, PrCommit, PrReview, PullRequest
from bot.metrics import compute, explain
from bot.metrics.compute import (
    Analysis,
    ChangeFact,
    DeploymentFact,
    IncidentFact,
    RepoHistory,
)
from bot.metrics.periods import Period
from bot.metrics.profiles import get_profile
from bot.metrics.report import DoraReport, Explanation
from bot.teams.config import TeamConfig

# How many deployments before the loaded range are read to recognise a rollback to their SHA.
PRIOR_SHAS = 20


@dataclass(frozen=True)
class TeamFacts:
    """Everything the rules need for one team over ``[start, end)``."""

    deployments: list[DeploymentFact]
    changes: list[ChangeFact]
    incidents: list[IncidentFact]
    histories: dict[str, RepoHistory]
    environments_seen: list[str]
    first_deployment_at: datetime | None

    def has_history_before(self, moment: datetime) -> bool:
        """True when some production deployment finished before ``moment``."""
        return self.first_deployment_at is not None and self.first_deployment_at < moment


def production_environments(*, session: Session, team: TeamConfig) -> tuple[list[str], list[str]]:
    """``(production, all)`` environment names seen for the team's repositories."""
    seen = sorted(
        set(session.scalars(select(col(Deployment.environment)).where(col(Deployment.repo).in_(team.repos)).distinct()))
    )
    return [e for e in seen if team.production.is_production(e)], seen


def _environments(*, conn: Connection, team: TeamConfig) -> tuple[list[str], list[str], datetime | None]:
    """``production_environments`` and the first successful production deployment's finish, in one query."""
    rows = conn.execute(
        select(
            col(Deployment.environment),
            func.min(col(Deployment.finished_at)).filter(col(Deployment.status) == "success"),
        )
        .where(col(Deployment.repo).in_(team.repos))
        .group_by(col(Deployment.environment))
    ).all()
    seen = sorted({environment for environment, _ in rows})
    production = [e for e in seen if team.production.is_production(e)]
    first_at = min((first for env, first in rows if env in production and first is not None), default=None)
    return production, seen, first_at


def _base_deployments(team: TeamConfig, environments: Sequence[str]):
    return and_(
        col(Deployment.repo).in_(team.repos),
        col(Deployment.status) == "success",
        col(Deployment.environment).in_(environments),
        col(Deployment.finished_at).is_not(None),
    )


class _DeploymentRecord(NamedTuple):
    """A deployment record as read for a fact (named tuple fields read faster than a result row's)."""

    uid: str
    ext_id: str
    repo: str
    sha: str | None
    environment: str
    started_at: datetime | None
    finished_at: datetime | None
    url: str | None
    is_rollback: bool
    run_key: str | None


# What a deployment fact needs of a record (the fields of _DeploymentRecord).
_DEPLOYMENT_COLUMNS = (
    col(Deployment.uid),
    col(Deployment.ext_id),
    col(Deployment.repo),
    col(Deployment.sha),
    col(Deployment.environment),
    col(Deployment.started_at),
    col(Deployment.finished_at),
    col(Deployment.url),
    col(Deployment.is_rollback),
    col(Deployment.run_key),
)


def deployment_facts(rows: Iterable[Any]) -> list[DeploymentFact]:
    """Deployment records (rows with the columns of ``Deployment``) as facts.

    Records of one pipeline run (same ``run_key``) are one deployment, finished with the last.
    """
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        groups[(row.repo, row.run_key or f"uid:{row.uid}")].append(row)
    facts = []
    for records in groups.values():
        records.sort(key=lambda r: (r.finished_at, r.uid))
        last = records[-1]
        assert last.finished_at is not None
        facts.append(
            DeploymentFact(
                uid=records[0].uid if len(records) == 1 else f"run:{last.repo}:{last.run_key}",
                ext_id=last.ext_id,
                repo=last.repo,
                sha=last.sha,
                finished_at=last.finished_at,
                started_at=min((r.started_at for r in records if r.started_at), default=None),
                is_rollback=any(r.is_rollback for r in records),
                environment=last.environment,
                url=last.url,
            )
        )
    return facts


def _histories(
    *, conn: Connection, team: TeamConfig, environments: Sequence[str], start: datetime, shas: set[str]
) -> dict[str, RepoHistory]:
    """Per repository: deployments before ``start``, the highest position they shipped, SHA landings."""
    position = func.coalesce(
        col(PullRequest.merged_at), col(Commit.landed_at), col(Deployment.started_at), col(Deployment.finished_at)
    )
    prior = conn.execute(
        select(col(Deployment.repo), func.count(), func.max(position))
        .select_from(Deployment)
        .outerjoin(
            PullRequest,
            and_(
                col(PullRequest.repo) == col(Deployment.repo), col(PullRequest.merge_commit_sha) == col(Deployment.sha)
            ),
        )
        .outerjoin(Commit, and_(col(Commit.repo) == col(Deployment.repo), col(Commit.sha) == col(Deployment.sha)))
        .where(_base_deployments(team, environments), col(Deployment.finished_at) < start)
        .group_by(col(Deployment.repo))
    ).all()
    recent_prior = conn.execute(
        select(col(Deployment.repo), col(Deployment.sha))
        .where(
            _base_deployments(team, environments), col(Deployment.finished_at) < start, col(Deployment.sha).is_not(None)
        )
        .order_by(col(Deployment.finished_at).desc())
        .limit(PRIOR_SHAS * max(1, len(team.repos)))
    ).all()
    shas = shas | {sha for _, sha in recent_prior if sha}
    positions: dict[str, dict[str, datetime]] = defaultdict(dict)
    if shas:
        sha_list = sorted(shas)
        # Two indexed lookups (commits by SHA, then their PRs by id): a join lets SQLite's planner walk
        # every PR of the repositories instead.
        commit_prs = conn.execute(
            select(col(PrCommit.sha), col(PrCommit.pr_id)).where(col(PrCommit.sha).in_(sha_list))
        ).all()
        merged_prs = {
            pr_id: (repo, merged)
            for pr_id, repo, merged in conn.execute(
                select(col(PullRequest.id), col(PullRequest.repo), col(PullRequest.merged_at)).where(
                    col(PullRequest.id).in_(sorted({pr_id for _, pr_id in commit_prs})),
                    col(PullRequest.repo).in_(team.repos),
                    col(PullRequest.merged_at).is_not(None),
                )
            )
        }
        for sha, pr_id in commit_prs:
            if pr_id in merged_prs:
                repo, pr_merged = merged_prs[pr_id]
                if pr_merged is not None:
                    positions[repo][sha] = pr_merged
        # NULL times are skipped here, not in SQL: a condition on landed_at (merged_at) would steer
        # SQLite to the (repo, time) index and a walk over every commit (PR) of the repositories.
        for sha, repo, landed in conn.execute(
            select(col(Commit.sha), col(Commit.repo), col(Commit.landed_at)).where(
                col(Commit.repo).in_(team.repos),
                col(Commit.sha).in_(sha_list),
            )
        ):
            if landed is not None:
                positions[repo][sha] = landed
        for merge_sha, repo, merged in conn.execute(
            select(col(PullRequest.merge_commit_sha), col(PullRequest.repo), col(PullRequest.merged_at)).where(
                col(PullRequest.repo).in_(team.repos),
                col(PullRequest.merge_commit_sha).in_(sha_list),
            )
        ):
            if merge_sha is not None and merged is not None:
                positions[repo][merge_sha] = merged  # a merge commit lands when its PR merges
    counts = {repo: (count, highest) for repo, count, highest in prior}
    return {
        repo: RepoHistory(
            repo=repo,
            prior_deployments=counts.get(repo, (0, None))[0],
            prior_max_position=counts.get(repo, (0, None))[1],
            sha_positions=positions.get(repo, {}),
        )
        for repo in team.repos
    }


# Joins the SHAs of a PR's commits into one string (a character no SHA contains).
_SEPARATOR = "\x1f"


class _PrRecord(NamedTuple):
    """A pull request as read for a change, with its first commit, commit SHAs and first review."""

    id: int
    repo: str
    number: int
    title: str
    body: str | None
    head_ref: str | None
    labels: list[str]
    url: str | None
    author_login: str | None
    created_at: datetime
    ready_at: datetime | None
    merged_at: datetime
    merge_commit_sha: str | None
    first_commit_at: datetime | None
    commit_shas: str | None
    first_review_at: datetime | None


# What a change needs of a pull request (the first fields of _PrRecord). Labels come as their JSON text,
# decoded here only when there are any (most PRs have none).
_PR_COLUMNS = (
    col(PullRequest.id),
    col(PullRequest.repo),
    col(PullRequest.number),
    col(PullRequest.title),
    col(PullRequest.body),
    col(PullRequest.head_ref),
    cast(col(PullRequest.labels), Text),
    col(PullRequest.url),
    col(PullRequest.author_login),
    col(PullRequest.created_at),
    col(PullRequest.ready_at),
    col(PullRequest.merged_at),
    col(PullRequest.merge_commit_sha),
)


def first_line(message: str | None) -> str:
    """A commit message's title."""
    return (message or "").split("\n", 1)[0].strip()


def pr_change(
    pr: Any, *, first_commit_at: datetime | None, first_review_at: datetime | None, commit_shas: Iterable[str]
) -> ChangeFact:
    """A merged pull request (a row with the columns of ``PullRequest``) as a change."""
    return ChangeFact(
        key=f"pr:{pr.repo}#{pr.number}",
        repo=pr.repo,
        kind="pr",
        landed_at=pr.merged_at,
        first_commit_at=first_commit_at or pr.created_at,
        sha=pr.merge_commit_sha,
        number=pr.number,
        title=pr.title or "",
        body=pr.body or "",
        head_ref=pr.head_ref,
        labels=tuple(pr.labels or ()),
        ready_at=pr.ready_at or pr.created_at,
        first_review_at=first_review_at,
        commit_shas=frozenset([*commit_shas, *([pr.merge_commit_sha] if pr.merge_commit_sha else [])]),
        url=pr.url,
        author=pr.author_login,
    )


def push_change(commit: Any) -> ChangeFact:
    """A commit pushed straight to the production branch (a row with the columns of ``Commit``) as a change."""
    return ChangeFact(
        key=f"push:{commit.repo}@{commit.sha}",
        repo=commit.repo,
        kind="push",
        landed_at=commit.landed_at,
        first_commit_at=commit.authored_at or commit.landed_at,
        sha=commit.sha,
        title=first_line(commit.message),
        body=commit.message or "",
        commit_shas=frozenset({commit.sha}),
        author=commit.author_login,
    )


def incident_fact(incident: Any, *, end: datetime) -> IncidentFact:
    """An incident (a row with the columns of ``Incident``) as known at ``end``: resolved later is open."""
    return IncidentFact(
        uid=incident.uid,
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at if incident.resolved_at is not None and incident.resolved_at < end else None,
        repo=incident.repo,
        service=incident.service,
        title=incident.title or "",
        text=incident.text or "",
        url=incident.url,
        deployment_ref=incident.deployment_ref,
        root_cause_sha=incident.root_cause_sha,
    )


def _changes(
    *, conn: Connection, team: TeamConfig, histories: dict[str, RepoHistory], end: datetime
) -> list[ChangeFact]:
    """Merged PRs into the production branch and direct pushes that landed after what was shipped."""
    floors = [h.prior_max_position for h in histories.values()]
    floor = None if any(f is None for f in floors) else min(f for f in floors if f is not None)
    branch = team.production.branch
    conditions = [
        col(PullRequest.repo).in_(team.repos),
        col(PullRequest.merged_at).is_not(None),
        col(PullRequest.merged_at) < end,
        or_(col(PullRequest.base_ref).is_(None), col(PullRequest.base_ref) == branch),
    ]
    if floor is not None:
        conditions.append(col(PullRequest.merged_at) > floor)
    # Each PR with its first commit, its commits' SHAs and its first review by someone other than the
    # author or a bot, looked up per PR through the pr_id indexes: one query, one row per change.
    first_commit = (
        select(func.min(col(PrCommit.authored_at))).where(col(PrCommit.pr_id) == col(PullRequest.id)).scalar_subquery()
    )
    commit_shas = (
        select(func.aggregate_strings(col(PrCommit.sha), _SEPARATOR))
        .where(col(PrCommit.pr_id) == col(PullRequest.id))
        .scalar_subquery()
    )
    first_review = (
        select(func.min(col(PrReview.submitted_at)))
        .where(
            col(PrReview.pr_id) == col(PullRequest.id),
            col(PrReview.reviewer_is_bot).is_(False),
            or_(col(PrReview.reviewer_login).is_(None), col(PrReview.reviewer_login) != col(PullRequest.author_login)),
            ~func.coalesce(col(PrReview.reviewer_login), "").like("%[bot]"),
            col(PrReview.state) != "dismissed",
        )
        .scalar_subquery()
    )
    prs = [
        _PrRecord._make((*row[:6], json.loads(row[6]) if row[6] and row[6] != "[]" else [], *row[7:]))
        for row in conn.execute(select(*_PR_COLUMNS, first_commit, commit_shas, first_review).where(*conditions))
    ]
    changes = []
    for pr in prs:
        changes.append(
            pr_change(
                pr,
                first_commit_at=pr.first_commit_at,
                first_review_at=pr.first_review_at,
                commit_shas=pr.commit_shas.split(_SEPARATOR) if pr.commit_shas else (),
            )
        )
    changes.extend(_direct_pushes(conn=conn, team=team, floor=floor, end=end, pr_conditions=conditions))
    return changes


# SHA and push key first, like the rows of the first query in _direct_pushes (pushes_of reads both).
_COMMIT_COLUMNS = (
    col(Commit.sha),
    col(Commit.push_key),
    col(Commit.repo),
    col(Commit.branch),
    col(Commit.authored_at),
    col(Commit.landed_at),
    col(Commit.author_login),
    col(Commit.message),
)


def _chunks(values: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    """Sorted values in lists short enough for an ``IN (...)``."""
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _direct_pushes(
    *,
    conn: Connection,
    team: TeamConfig,
    floor: datetime | None,
    end: datetime,
    pr_conditions: Sequence[Any],
) -> list[ChangeFact]:
    """Commits that reached the production branch without a pull request: one change each.

    A commit is not a direct push when it is a PR's merge commit, came in the same push as one (merge
    or rebase), is a commit of a PR's branch, or has the author time and title of a commit of a PR
    loaded for this range. The database rules out the commits the merge commits of the loaded PRs
    explain (most of them), so only the few others are read.
    """

    def landed(commit: Any) -> list[Any]:
        conditions = [
            commit.repo.in_(team.repos),
            commit.landed_at.is_not(None),
            commit.landed_at < end,
            or_(commit.branch.is_(None), commit.branch == team.production.branch),
        ]
        if floor is not None:
            conditions.append(commit.landed_at > floor)
        return conditions

    loaded_merges = select(col(PullRequest.merge_commit_sha)).where(
        *pr_conditions, col(PullRequest.merge_commit_sha).is_not(None), col(PullRequest.merge_commit_sha) != ""
    )
    # A push (not a compare range) that carries a PR's merge commit is that PR's: merge or rebase.
    other = aliased(Commit)
    their_pushes = select(col(other.push_key)).where(
        *landed(other),
        col(other.sha).in_(loaded_merges),
        col(other.push_key).is_not(None),
        col(other.push_key) != "",
        func.substr(col(other.push_key), 1, 8) != "compare:",
    )
    # Of the rest: is each some PR's merge commit, or a commit of some PR's branch? (index lookups)
    is_merge = (
        select(col(PullRequest.id))
        .where(col(PullRequest.repo).in_(team.repos), col(PullRequest.merge_commit_sha) == col(Commit.sha))
        .exists()
    )
    in_pr = select(col(PrCommit.id)).where(col(PrCommit.sha) == col(Commit.sha)).exists()
    commits = conn.execute(
        select(*_COMMIT_COLUMNS, is_merge.label("is_merge"), in_pr.label("in_pr")).where(
            *landed(Commit),
            col(Commit.sha).not_in(loaded_merges),
            or_(col(Commit.push_key).is_(None), col(Commit.push_key).not_in(their_pushes)),
        )
    ).all()
    known_merge = {c.sha for c in commits if c.is_merge}
    pr_pushes = {
        c.push_key for c in commits if c.sha in known_merge and c.push_key and not c.push_key.startswith("compare:")
    }
    left = [c for c in commits if c.sha not in known_merge and c.push_key not in pr_pushes and not c.in_pr]
    pr_commit_keys: set[tuple[datetime, str]] = set()
    for chunk in _chunks({c.authored_at for c in left if c.authored_at is not None}):
        pr_commit_keys.update(
            (at, first_line(message))
            for at, message in conn.execute(
                select(col(PrCommit.authored_at), col(PrCommit.message))
                .join(PullRequest, col(PullRequest.id) == col(PrCommit.pr_id))
                .where(*pr_conditions, col(PrCommit.authored_at).in_(chunk))
            )
        )
    return [
        push_change(c)
        for c in left
        if c.authored_at is None or (c.authored_at, first_line(c.message)) not in pr_commit_keys
    ]


_INCIDENT_COLUMNS = (
    col(Incident.uid),
    col(Incident.opened_at),
    col(Incident.resolved_at),
    col(Incident.repo),
    col(Incident.service),
    col(Incident.title),
    col(Incident.text),
    col(Incident.url),
    col(Incident.deployment_ref),
    col(Incident.root_cause_sha),
)


def _incidents(
    *, conn: Connection, team: TeamConfig, start: datetime, end: datetime, deployment_refs: set[str]
) -> list[IncidentFact]:
    """The team's incidents opened in ``[start, end)``, plus any naming one of its deployments."""
    services = [*team.incidents.pagerduty_services, *team.incidents.opsgenie_teams, *team.incidents.services]
    owner = or_(col(Incident.repo).in_(team.repos), col(Incident.service).in_(services or [""]))
    linked = col(Incident.deployment_ref).in_(sorted(deployment_refs)) if deployment_refs else None
    condition = owner if linked is None else or_(owner, linked)
    rows = conn.execute(
        select(*_INCIDENT_COLUMNS).where(condition, col(Incident.opened_at) >= start, col(Incident.opened_at) < end)
    )
    return [incident_fact(i, end=end) for i in rows]


def load_facts(*, session: Session, team: TeamConfig, start: datetime, end: datetime) -> TeamFacts:
    """Every fact the rules need for ``[start, end)``; nothing at or after ``end`` is read."""
    if session.autoflush:
        session.flush()  # as the session would before a query; the queries go to its connection directly
    conn = session.connection()
    environments, seen, first_at = _environments(conn=conn, team=team)
    rows = [
        _DeploymentRecord._make(row)
        for row in conn.execute(
            select(*_DEPLOYMENT_COLUMNS).where(
                _base_deployments(team, environments),
                col(Deployment.finished_at) >= start,
                col(Deployment.finished_at) < end,
            )
        )
    ]
    deployments = deployment_facts(rows)
    histories = _histories(
        conn=conn,
        team=team,
        environments=environments,
        start=start,
        shas={d.sha for d in deployments if d.sha},
    )
    changes = _changes(conn=conn, team=team, histories=histories, end=end)
    refs = {r.ext_id for r in rows} | {r.uid for r in rows}
    incidents = _incidents(conn=conn, team=team, start=start, end=end, deployment_refs=refs)
    return TeamFacts(deployments, changes, incidents, histories, seen, first_at)


def analyse_facts(*, team: TeamConfig, facts: TeamFacts) -> Analysis:
    """Apply the rules of ``compute`` to a team's loaded facts."""
    return compute.analyse(
        facts.deployments,
        facts.changes,
        facts.incidents,
        facts.histories,
        attribution_window=timedelta(hours=team.incidents.attribution_window_hours),
        repos=team.repos,
    )


def analyse_team(*, session: Session, team: TeamConfig, start: datetime, end: datetime) -> tuple[TeamFacts, Analysis]:
    """Load and analyse a team's facts over ``[start, end)``."""
    facts = load_facts(session=session, team=team, start=start, end=end)
    return facts, analyse_facts(team=team, facts=facts)


def _no_data_hint(team: TeamConfig, facts: TeamFacts) -> str:
    if not facts.environments_seen:
        return (
            f"No deployments recorded yet for {', '.join(team.repos)}. Send them with the GitHub webhook, "
            "`sei-bot sync github`, or `POST /api/v1/deployments`."
        )
    return (
        f"No production deployments seen in this period: is `production.environments` "
        f"(`{team.production.environments}`) right for {team.id}? Environments seen: "
        f"{', '.join(facts.environments_seen[:10])}."
    )


def build_report(*, session: Session, team: TeamConfig, period: Period, as_of: datetime) -> DoraReport:
    """The ``/dora`` report: the window ending at ``as_of``, the previous one, and the weekly series."""
    window = period.window(as_of, team.timezone)
    facts = load_facts(session=session, team=team, start=window.previous().start, end=window.end)
    return report_from_facts(team=team, period=period, as_of=as_of, facts=facts)


def report_from_facts(*, team: TeamConfig, period: Period, as_of: datetime, facts: TeamFacts) -> DoraReport:
    """The report of ``build_report`` from facts loaded over the previous and current windows."""
    window = period.window(as_of, team.timezone)
    previous = window.previous()
    analysis = analyse_facts(team=team, facts=facts)
    profile = get_profile(team.profile)
    current_figures = compute.figures(
        analysis, window, profile, as_of=window.end, has_history=facts.has_history_before(window.end)
    )
    previous_figures = compute.figures(
        analysis, previous, profile, as_of=window.end, has_history=facts.has_history_before(previous.end)
    )
    return DoraReport(
        team_id=team.id,
        team_name=team.name,
        profile=profile.key,
        profile_title=profile.title,
        period_key=period.key,
        period_label=period.label,
        current=current_figures,
        previous=previous_figures,
        weekly=compute.weekly_series(analysis, window),
        targets=team.targets.model_dump(),
        no_data_hint=None if current_figures.frequency.deployments else _no_data_hint(team, facts),
    )


# --- explain ---------------------------------------------------------------------------------------


def explain_metric(*, session: Session, team: TeamConfig, metric: str, period: Period, as_of: datetime) -> Explanation:
    """The records behind one number of the report: deployments, changes or incidents, with links."""
    name = explain.metric_name(metric)
    window = period.window(as_of, team.timezone)
    facts, analysis = analyse_team(session=session, team=team, start=window.previous().start, end=window.end)
    figures = compute.figures(
        analysis, window, get_profile(team.profile), as_of=window.end, has_history=facts.has_history_before(window.end)
    )
    return explain.explain(name, analysis, figures)
