"""Load a team's delivery facts with a few indexed queries and turn them into reports.

Filtering and joins happen in SQL (by repository and time, on the indexes of ``bot.delivery.models``);
the rules live in ``compute.py``. Only facts before ``as_of`` are read, so a report ``--as-of`` a past
moment shows what was known then, and the previous window is judged with the same knowledge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

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
        set(
            session.scalars(
                select(Deployment.environment).where(Deployment.repo.in_(team.repos)).distinct()  # type: ignore[attr-defined]
            )
        )
    )
    return [e for e in seen if team.production.is_production(e)], seen


def _environments(*, session: Session, team: TeamConfig) -> tuple[list[str], list[str], datetime | None]:
    """``production_environments`` and the first successful production deployment's finish, in one query."""
    rows = session.execute(
        select(Deployment.environment, func.min(Deployment.finished_at).filter(Deployment.status == "success"))
        .where(Deployment.repo.in_(team.repos))  # type: ignore[attr-defined]
        .group_by(Deployment.environment)
    ).all()
    seen = sorted({environment for environment, _ in rows})
    production = [e for e in seen if team.production.is_production(e)]
    first_at = min((first for env, first in rows if env in production and first is not None), default=None)
    return production, seen, first_at


def _base_deployments(team: TeamConfig, environments: Sequence[str]):  # type: ignore[no-untyped-def]
    return and_(
        Deployment.repo.in_(team.repos),  # type: ignore[attr-defined]
        Deployment.status == "success",
        Deployment.environment.in_(environments),  # type: ignore[attr-defined]
        Deployment.finished_at.is_not(None),  # type: ignore[union-attr]
    )


# What a deployment fact needs of a record.
_DEPLOYMENT_COLUMNS = (
    Deployment.uid,
    Deployment.ext_id,
    Deployment.repo,
    Deployment.sha,
    Deployment.environment,
    Deployment.started_at,
    Deployment.finished_at,
    Deployment.url,
    Deployment.is_rollback,
    Deployment.run_key,
)


def _merge_pipeline_records(rows: Iterable[Any]) -> list[DeploymentFact]:
    """Records of one pipeline run (same ``run_key``) are one deployment, finished with the last."""
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
    *, session: Session, team: TeamConfig, environments: Sequence[str], start: datetime, shas: set[str]
) -> dict[str, RepoHistory]:
    """Per repository: deployments before ``start``, the highest position they shipped, SHA landings."""
    position = func.coalesce(PullRequest.merged_at, Commit.landed_at, Deployment.started_at, Deployment.finished_at)
    prior = session.execute(
        select(Deployment.repo, func.count(), func.max(position))
        .select_from(Deployment)
        .outerjoin(
            PullRequest,
            and_(PullRequest.repo == Deployment.repo, PullRequest.merge_commit_sha == Deployment.sha),
        )
        .outerjoin(Commit, and_(Commit.repo == Deployment.repo, Commit.sha == Deployment.sha))
        .where(_base_deployments(team, environments), Deployment.finished_at < start)
        .group_by(Deployment.repo)
    ).all()
    recent_prior = session.execute(
        select(Deployment.repo, Deployment.sha)
        .where(_base_deployments(team, environments), Deployment.finished_at < start, Deployment.sha.is_not(None))  # type: ignore[union-attr]
        .order_by(Deployment.finished_at.desc())  # type: ignore[union-attr]
        .limit(PRIOR_SHAS * max(1, len(team.repos)))
    ).all()
    shas = shas | {sha for _, sha in recent_prior if sha}
    positions: dict[str, dict[str, datetime]] = defaultdict(dict)
    if shas:
        sha_list = sorted(shas)
        # Two indexed lookups (commits by SHA, then their PRs by id): a join lets SQLite's planner walk
        # every PR of the repositories instead.
        commit_prs = session.execute(
            select(PrCommit.sha, PrCommit.pr_id).where(PrCommit.sha.in_(sha_list))  # type: ignore[attr-defined]
        ).all()
        merged_prs = {
            pr_id: (repo, merged)
            for pr_id, repo, merged in session.execute(
                select(PullRequest.id, PullRequest.repo, PullRequest.merged_at).where(
                    PullRequest.id.in_(sorted({pr_id for _, pr_id in commit_prs})),  # type: ignore[union-attr]
                    PullRequest.repo.in_(team.repos),  # type: ignore[attr-defined]
                    PullRequest.merged_at.is_not(None),  # type: ignore[union-attr]
                )
            )
        }
        for sha, pr_id in commit_prs:
            if pr_id in merged_prs:
                repo, merged = merged_prs[pr_id]
                positions[repo][sha] = merged
        # NULL times are skipped here, not in SQL: a condition on landed_at (merged_at) would steer
        # SQLite to the (repo, time) index and a walk over every commit (PR) of the repositories.
        for sha, repo, landed in session.execute(
            select(Commit.sha, Commit.repo, Commit.landed_at).where(
                Commit.repo.in_(team.repos),  # type: ignore[attr-defined]
                Commit.sha.in_(sha_list),  # type: ignore[attr-defined]
            )
        ):
            if landed is not None:
                positions[repo][sha] = landed
        for sha, repo, merged in session.execute(
            select(PullRequest.merge_commit_sha, PullRequest.repo, PullRequest.merged_at).where(
                PullRequest.repo.in_(team.repos),  # type: ignore[attr-defined]
                PullRequest.merge_commit_sha.in_(sha_list),  # type: ignore[union-attr]
            )
        ):
            if merged is not None:
                positions[repo][sha] = merged  # a merge commit lands when its PR merges
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
# What a change needs of a pull request (loading whole rows would also read and decode the rest).
_PR_COLUMNS = (
    PullRequest.id,
    PullRequest.repo,
    PullRequest.number,
    PullRequest.title,
    PullRequest.body,
    PullRequest.head_ref,
    PullRequest.labels,
    PullRequest.url,
    PullRequest.author_login,
    PullRequest.created_at,
    PullRequest.ready_at,
    PullRequest.merged_at,
    PullRequest.merge_commit_sha,
)


def _changes(
    *, session: Session, team: TeamConfig, histories: dict[str, RepoHistory], end: datetime
) -> list[ChangeFact]:
    """Merged PRs into the production branch and direct pushes that landed after what was shipped."""
    floors = [h.prior_max_position for h in histories.values()]
    floor = None if any(f is None for f in floors) else min(f for f in floors if f is not None)
    branch = team.production.branch
    conditions = [
        PullRequest.repo.in_(team.repos),  # type: ignore[attr-defined]
        PullRequest.merged_at.is_not(None),  # type: ignore[union-attr]
        PullRequest.merged_at < end,  # type: ignore[operator]
        or_(PullRequest.base_ref.is_(None), PullRequest.base_ref == branch),  # type: ignore[union-attr]
    ]
    if floor is not None:
        conditions.append(PullRequest.merged_at > floor)  # type: ignore[operator]
    # Each PR with its first commit, its commits' SHAs and its first review by someone other than the
    # author or a bot, looked up per PR through the pr_id indexes: one query, one row per change.
    first_commit = select(func.min(PrCommit.authored_at)).where(PrCommit.pr_id == PullRequest.id).scalar_subquery()
    commit_shas = (
        select(func.aggregate_strings(PrCommit.sha, _SEPARATOR))
        .where(PrCommit.pr_id == PullRequest.id)
        .scalar_subquery()
    )
    first_review = (
        select(func.min(PrReview.submitted_at))
        .where(
            PrReview.pr_id == PullRequest.id,
            PrReview.reviewer_is_bot.is_(False),  # type: ignore[attr-defined]
            or_(PrReview.reviewer_login.is_(None), PrReview.reviewer_login != PullRequest.author_login),  # type: ignore[union-attr]
            ~func.coalesce(PrReview.reviewer_login, "").like("%[bot]"),
            PrReview.state != "dismissed",
        )
        .scalar_subquery()
    )
    prs = session.execute(
        select(
            *_PR_COLUMNS,
            first_commit.label("first_commit_at"),
            commit_shas.label("commit_shas"),
            first_review.label("first_review_at"),
        ).where(*conditions)
    ).all()
    changes = []
    merge_shas: set[str] = set()
    for pr in prs:
        if pr.merge_commit_sha:
            merge_shas.add(pr.merge_commit_sha)
        changes.append(
            ChangeFact(
                key=f"pr:{pr.repo}#{pr.number}",
                repo=pr.repo,
                kind="pr",
                landed_at=pr.merged_at,
                first_commit_at=pr.first_commit_at or pr.created_at,
                sha=pr.merge_commit_sha,
                number=pr.number,
                title=pr.title or "",
                body=pr.body or "",
                head_ref=pr.head_ref,
                labels=tuple(pr.labels or ()),
                ready_at=pr.ready_at or pr.created_at,
                first_review_at=pr.first_review_at,
                commit_shas=frozenset(
                    (pr.commit_shas.split(_SEPARATOR) if pr.commit_shas else [])
                    + ([pr.merge_commit_sha] if pr.merge_commit_sha else [])
                ),
                url=pr.url,
                author=pr.author_login,
            )
        )
    changes.extend(
        _direct_pushes(
            session=session, team=team, floor=floor, end=end, merge_shas=merge_shas, pr_conditions=conditions
        )
    )
    return changes


_COMMIT_COLUMNS = (
    Commit.repo,
    Commit.sha,
    Commit.branch,
    Commit.authored_at,
    Commit.landed_at,
    Commit.push_key,
    Commit.author_login,
    Commit.message,
)


def _chunks(values: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    """Sorted values in lists short enough for an ``IN (...)``."""
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _direct_pushes(
    *,
    session: Session,
    team: TeamConfig,
    floor: datetime | None,
    end: datetime,
    merge_shas: set[str],
    pr_conditions: Sequence[Any],
) -> list[ChangeFact]:
    """Commits that reached the production branch without a pull request: one change each.

    A commit is not a direct push when it is a PR's merge commit, came in the same push as one (merge
    or rebase), is a commit of a PR's branch, or has the author time and title of a commit of a PR
    loaded for this range. Most commits are ruled out by the first two with what is already known (the
    merge commits of the loaded PRs); only the rest are looked up, by SHA.
    """
    conditions = [
        Commit.repo.in_(team.repos),  # type: ignore[attr-defined]
        Commit.landed_at.is_not(None),  # type: ignore[union-attr]
        Commit.landed_at < end,  # type: ignore[operator]
        or_(Commit.branch.is_(None), Commit.branch == team.production.branch),  # type: ignore[union-attr]
    ]
    if floor is not None:
        conditions.append(Commit.landed_at > floor)  # type: ignore[operator]
    landed = session.execute(select(Commit.sha, Commit.push_key).where(*conditions)).all()

    def pushes_of(shas: set[str], rows: Iterable[Any]) -> set[str]:
        # A push (not a compare range) that carries a PR's merge commit is that PR's: merge or rebase.
        return {r.push_key for r in rows if r.sha in shas and r.push_key and not r.push_key.startswith("compare:")}

    pr_pushes = pushes_of(merge_shas, landed)
    unknown = {r.sha for r in landed if r.sha not in merge_shas and r.push_key not in pr_pushes}
    if not unknown:
        return []
    commits = []
    known_merge = set(merge_shas)
    for chunk in _chunks(unknown):
        commits += session.execute(select(*_COMMIT_COLUMNS).where(*conditions, Commit.sha.in_(chunk))).all()  # type: ignore[attr-defined]
        known_merge.update(
            session.scalars(
                select(PullRequest.merge_commit_sha).where(
                    PullRequest.repo.in_(team.repos),  # type: ignore[attr-defined]
                    PullRequest.merge_commit_sha.in_(chunk),  # type: ignore[union-attr]
                )
            )
        )
    pr_pushes |= pushes_of(known_merge, commits)
    left = [c for c in commits if c.sha not in known_merge and c.push_key not in pr_pushes]
    known_pr_commits: set[str] = set()
    for chunk in _chunks({c.sha for c in left}):
        known_pr_commits.update(session.scalars(select(PrCommit.sha).where(PrCommit.sha.in_(chunk))))  # type: ignore[attr-defined]
    pr_commit_keys: set[tuple[datetime, str]] = set()
    for chunk in _chunks({c.authored_at for c in left if c.authored_at is not None}):
        pr_commit_keys.update(
            (at, (message or "").split("\n", 1)[0].strip())
            for at, message in session.execute(
                select(PrCommit.authored_at, PrCommit.message)
                .join(PullRequest, PullRequest.id == PrCommit.pr_id)
                .where(*pr_conditions, PrCommit.authored_at.in_(chunk))  # type: ignore[attr-defined]
            )
        )
    changes = []
    for c in left:
        title = (c.message or "").split("\n", 1)[0].strip()
        if c.sha in known_pr_commits or (c.authored_at is not None and (c.authored_at, title) in pr_commit_keys):
            continue
        assert c.landed_at is not None
        changes.append(
            ChangeFact(
                key=f"push:{c.repo}@{c.sha}",
                repo=c.repo,
                kind="push",
                landed_at=c.landed_at,
                first_commit_at=c.authored_at or c.landed_at,
                sha=c.sha,
                title=title,
                body=c.message or "",
                commit_shas=frozenset({c.sha}),
                author=c.author_login,
            )
        )
    return changes


_INCIDENT_COLUMNS = (
    Incident.uid,
    Incident.opened_at,
    Incident.resolved_at,
    Incident.repo,
    Incident.service,
    Incident.title,
    Incident.text,
    Incident.url,
    Incident.deployment_ref,
    Incident.root_cause_sha,
)


def _incidents(
    *, session: Session, team: TeamConfig, start: datetime, end: datetime, deployment_refs: set[str]
) -> list[IncidentFact]:
    """The team's incidents opened in ``[start, end)``, plus any naming one of its deployments."""
    services = [*team.incidents.pagerduty_services, *team.incidents.opsgenie_teams, *team.incidents.services]
    owner = or_(Incident.repo.in_(team.repos), Incident.service.in_(services or [""]))  # type: ignore[union-attr]
    linked = Incident.deployment_ref.in_(sorted(deployment_refs)) if deployment_refs else None  # type: ignore[union-attr]
    condition = owner if linked is None else or_(owner, linked)
    rows = session.execute(
        select(*_INCIDENT_COLUMNS).where(condition, Incident.opened_at >= start, Incident.opened_at < end)  # type: ignore[operator]
    )
    return [
        IncidentFact(
            uid=i.uid,
            opened_at=i.opened_at,
            resolved_at=i.resolved_at if i.resolved_at is not None and i.resolved_at < end else None,
            repo=i.repo,
            service=i.service,
            title=i.title or "",
            text=i.text or "",
            url=i.url,
            deployment_ref=i.deployment_ref,
            root_cause_sha=i.root_cause_sha,
        )
        for i in rows
    ]


def load_facts(*, session: Session, team: TeamConfig, start: datetime, end: datetime) -> TeamFacts:
    """Every fact the rules need for ``[start, end)``; nothing at or after ``end`` is read."""
    environments, seen, first_at = _environments(session=session, team=team)
    rows = session.execute(
        select(*_DEPLOYMENT_COLUMNS).where(
            _base_deployments(team, environments),
            Deployment.finished_at >= start,  # type: ignore[operator]
            Deployment.finished_at < end,  # type: ignore[operator]
        )
    ).all()
    deployments = _merge_pipeline_records(rows)
    histories = _histories(
        session=session,
        team=team,
        environments=environments,
        start=start,
        shas={d.sha for d in deployments if d.sha},
    )
    changes = _changes(session=session, team=team, histories=histories, end=end)
    refs = {r.ext_id for r in rows} | {r.uid for r in rows}
    incidents = _incidents(session=session, team=team, start=start, end=end, deployment_refs=refs)
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
