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

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
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


def _base_deployments(team: TeamConfig, environments: Sequence[str]):
    return and_(
        col(Deployment.repo).in_(team.repos),
        col(Deployment.status) == "success",
        col(Deployment.environment).in_(environments),
        col(Deployment.finished_at).is_not(None),
    )


def _merge_pipeline_records(rows: Iterable[Deployment]) -> list[DeploymentFact]:
    """Records of one pipeline run (same ``run_key``) are one deployment, finished with the last."""
    groups: dict[tuple[str, str], list[Deployment]] = defaultdict(list)
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
    position = func.coalesce(
        col(PullRequest.merged_at), col(Commit.landed_at), col(Deployment.started_at), col(Deployment.finished_at)
    )
    prior = session.execute(
        select(col(Deployment.repo), func.count(col(Deployment.id)), func.max(position))
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
    recent_prior = session.execute(
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
        for sha, repo, merged in session.execute(
            select(col(PrCommit.sha), col(PullRequest.repo), col(PullRequest.merged_at))
            .join(PullRequest, col(PullRequest.id) == col(PrCommit.pr_id))
            .where(
                col(PullRequest.repo).in_(team.repos),
                col(PrCommit.sha).in_(sha_list),
                col(PullRequest.merged_at).is_not(None),
            )
        ):
            if merged is not None:
                positions[repo][sha] = merged
        for sha, repo, landed in session.execute(
            select(col(Commit.sha), col(Commit.repo), col(Commit.landed_at)).where(
                col(Commit.repo).in_(team.repos),
                col(Commit.sha).in_(sha_list),
                col(Commit.landed_at).is_not(None),
            )
        ):
            if landed is not None:
                positions[repo][sha] = landed
        for merge_sha, repo, merged in session.execute(
            select(col(PullRequest.merge_commit_sha), col(PullRequest.repo), col(PullRequest.merged_at)).where(
                col(PullRequest.repo).in_(team.repos),
                col(PullRequest.merge_commit_sha).in_(sha_list),
                col(PullRequest.merged_at).is_not(None),
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


def _changes(
    *, session: Session, team: TeamConfig, histories: dict[str, RepoHistory], end: datetime
) -> list[ChangeFact]:
    """Merged PRs into the production branch and direct pushes that landed after what was shipped."""
    floors = [h.prior_max_position for h in histories.values()]
    floor = None if any(f is None for f in floors) else min(f for f in floors if f is not None)
    branch = team.production.branch
    first_commit = (
        select(col(PrCommit.pr_id), func.min(col(PrCommit.authored_at)).label("first_commit_at"))
        .group_by(col(PrCommit.pr_id))
        .subquery()
    )
    first_review = (
        select(col(PrReview.pr_id), func.min(col(PrReview.submitted_at)).label("first_review_at"))
        .join(PullRequest, col(PullRequest.id) == col(PrReview.pr_id))
        .where(
            col(PrReview.reviewer_is_bot).is_(False),
            or_(col(PrReview.reviewer_login).is_(None), col(PrReview.reviewer_login) != col(PullRequest.author_login)),
            ~func.coalesce(col(PrReview.reviewer_login), "").like("%[bot]"),
            col(PrReview.state) != "dismissed",
        )
        .group_by(col(PrReview.pr_id))
        .subquery()
    )
    conditions = [
        col(PullRequest.repo).in_(team.repos),
        col(PullRequest.merged_at).is_not(None),
        col(PullRequest.merged_at) < end,
        or_(col(PullRequest.base_ref).is_(None), col(PullRequest.base_ref) == branch),
    ]
    if floor is not None:
        conditions.append(col(PullRequest.merged_at) > floor)
    rows = session.execute(
        select(PullRequest, first_commit.c.first_commit_at, first_review.c.first_review_at)
        .outerjoin(first_commit, first_commit.c.pr_id == col(PullRequest.id))
        .outerjoin(first_review, first_review.c.pr_id == col(PullRequest.id))
        .where(*conditions)
    ).all()
    pr_ids = [pr.id for pr, _, _ in rows]
    commit_shas: dict[int, set[str]] = defaultdict(set)
    pr_commit_keys: set[tuple[datetime, str]] = set()
    for chunk_start in range(0, len(pr_ids), 500):
        chunk = pr_ids[chunk_start : chunk_start + 500]
        for pr_id, sha, authored, message in session.execute(
            select(col(PrCommit.pr_id), col(PrCommit.sha), col(PrCommit.authored_at), col(PrCommit.message)).where(
                col(PrCommit.pr_id).in_(chunk)
            )
        ):
            commit_shas[pr_id].add(sha)
            pr_commit_keys.add((authored, (message or "").split("\n", 1)[0].strip()))
    changes = []
    merge_shas: set[str] = set()
    for pr, first_commit_at, first_review_at in rows:
        assert pr.merged_at is not None
        if pr.merge_commit_sha:
            merge_shas.add(pr.merge_commit_sha)
        changes.append(
            ChangeFact(
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
                commit_shas=frozenset(commit_shas.get(pr.id or 0, set()) | ({pr.merge_commit_sha} - {None})),
                url=pr.url,
                author=pr.author_login,
            )
        )
    changes.extend(
        _direct_pushes(
            session=session, team=team, floor=floor, end=end, merge_shas=merge_shas, pr_commit_keys=pr_commit_keys
        )
    )
    return changes


def _direct_pushes(
    *,
    session: Session,
    team: TeamConfig,
    floor: datetime | None,
    end: datetime,
    merge_shas: set[str],
    pr_commit_keys: set[tuple[datetime, str]],
) -> list[ChangeFact]:
    """Commits that reached the production branch without a pull request: one change each."""
    conditions = [
        col(Commit.repo).in_(team.repos),
        col(Commit.landed_at).is_not(None),
        col(Commit.landed_at) < end,
        or_(col(Commit.branch).is_(None), col(Commit.branch) == team.production.branch),
    ]
    if floor is not None:
        conditions.append(col(Commit.landed_at) > floor)
    commits = list(session.scalars(select(Commit).where(*conditions)))
    if not commits:
        return []
    shas = sorted({c.sha for c in commits})
    known_merge = set(merge_shas)
    known_pr_commits: set[str] = set()
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        known_merge |= set(
            session.scalars(
                select(col(PullRequest.merge_commit_sha)).where(
                    col(PullRequest.repo).in_(team.repos),
                    col(PullRequest.merge_commit_sha).in_(chunk),
                )
            )
        )
        known_pr_commits |= set(session.scalars(select(col(PrCommit.sha)).where(col(PrCommit.sha).in_(chunk))))
    # A push (not a compare range) that carries a PR's merge commit is that PR's: merge or rebase.
    pr_pushes = {
        c.push_key for c in commits if c.sha in known_merge and c.push_key and not c.push_key.startswith("compare:")
    }
    changes = []
    for c in commits:
        title = (c.message or "").split("\n", 1)[0].strip()
        if (
            c.sha in known_merge
            or c.sha in known_pr_commits
            or (c.push_key in pr_pushes)
            or (c.authored_at is not None and (c.authored_at, title) in pr_commit_keys)
        ):
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


def _incidents(
    *, session: Session, team: TeamConfig, start: datetime, end: datetime, deployment_refs: set[str]
) -> list[IncidentFact]:
    """The team's incidents opened in ``[start, end)``, plus any naming one of its deployments."""
    services = [*team.incidents.pagerduty_services, *team.incidents.opsgenie_teams, *team.incidents.services]
    owner = or_(col(Incident.repo).in_(team.repos), col(Incident.service).in_(services or [""]))
    linked = col(Incident.deployment_ref).in_(sorted(deployment_refs)) if deployment_refs else None
    condition = owner if linked is None else or_(owner, linked)
    rows = session.scalars(
        select(Incident).where(condition, col(Incident.opened_at) >= start, col(Incident.opened_at) < end)
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
    environments, seen = production_environments(session=session, team=team)
    rows = list(
        session.scalars(
            select(Deployment).where(
                _base_deployments(team, environments),
                col(Deployment.finished_at) >= start,
                col(Deployment.finished_at) < end,
            )
        )
    )
    deployments = _merge_pipeline_records(rows)
    first_at = session.scalar(
        select(func.min(col(Deployment.finished_at))).where(_base_deployments(team, environments))
    )
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


def analyse_team(*, session: Session, team: TeamConfig, start: datetime, end: datetime) -> tuple[TeamFacts, Analysis]:
    """Load and analyse a team's facts over ``[start, end)``."""
    facts = load_facts(session=session, team=team, start=start, end=end)
    analysis = compute.analyse(
        facts.deployments,
        facts.changes,
        facts.incidents,
        facts.histories,
        attribution_window=timedelta(hours=team.incidents.attribution_window_hours),
        repos=team.repos,
    )
    return facts, analysis


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
    previous = window.previous()
    facts, analysis = analyse_team(session=session, team=team, start=previous.start, end=window.end)
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
