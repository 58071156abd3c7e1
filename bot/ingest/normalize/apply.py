"""Facts → delivery tables, through the idempotent upserts of ``bot.delivery.service``.

This is where team configuration decides what a fact means: whether a push reached a production
branch, whether an issue carries a team's incident label, whether a workflow run is a deploy. A fact
about a repository or service no team owns raises ``UnknownOwnerError`` (the delivery is kept with
that error and can be replayed once ``teams.yml`` names it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy.orm import Session
from sqlmodel import SQLModel, select

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
from bot.ingest.normalize.facts import (
    DeploymentFact,
    Fact,
    IncidentFact,
    IssueFact,
    PipelineRunFact,
    PullRequestFact,
    PushFact,
    ReviewFact,
    ReviewRequestFact,
    WorkflowRunFact,
)
from bot.teams.config import TeamConfig
from bot.teams.models import Team, TeamRepo, TeamService

# Pull request columns an older snapshot may still set: they only ever move one way.
_STICKY_PR_FIELDS = ("created_at", "ready_at", "merged_at", "merge_commit_sha")
_ENVIRONMENT_NAMES = ("production", "prod", "prd", "live")


class UnknownOwnerError(LookupError):
    """No team in ``teams.yml`` owns the repository or service an event is about."""


@dataclass
class Owners:
    """Which teams own which repositories and services, loaded once per batch of events."""

    teams: dict[str, TeamConfig] = field(default_factory=dict)
    repos: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # lower-case → (spelling, team ids)
    services: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Owners:
        """The current team configuration from the database."""
        owners = cls(teams={t.id: TeamConfig.model_validate(t.config) for t in session.scalars(select(Team))})
        for row in session.scalars(select(TeamRepo)):
            _spelling, team_ids = owners.repos.setdefault(row.repo.lower(), (row.repo, []))
            team_ids.append(row.team_id)
        for svc in session.scalars(select(TeamService)):
            owners.services.setdefault(svc.service, []).append(svc.team_id)
        return owners

    def repo(self, name: str) -> tuple[str, list[TeamConfig]]:
        """The repository as ``teams.yml`` spells it (GitHub names ignore case) and its teams."""
        found = self.repos.get(name.lower())
        if found is None:
            raise UnknownOwnerError(
                f"unknown repository {name[:300]}: add it to the repos of a team in teams.yml, "
                "then run `sei-bot ingest replay`"
            )
        return found[0], [self.teams[t] for t in found[1] if t in self.teams]

    def known_service(self, names: tuple[str, ...]) -> str | None:
        """The first of ``names`` that a team lists as one of its services, if any."""
        return next((n for n in names if n in self.services), None)


@cache
def _lengths(model: type[SQLModel]) -> dict[str, int]:
    table = model.__table__  # type: ignore[attr-defined]
    return {c.name: c.type.length for c in table.columns if getattr(c.type, "length", None)}


def fit(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """Values made storable: strings cut to their column's length, NUL characters dropped."""
    lengths = _lengths(model)
    out = {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.replace("\x00", "")
            if name in lengths:
                value = value[: lengths[name]]
        elif isinstance(value, list):
            value = [v.replace("\x00", "") if isinstance(v, str) else v for v in value]
        out[name] = value
    return out


def _find_pr(session: Session, repo: str, number: int) -> PullRequest | None:
    return session.scalars(select(PullRequest).where(PullRequest.repo == repo, PullRequest.number == number)).first()


def _apply_pull_request(session: Session, fact: PullRequestFact, owners: Owners) -> None:
    repo, _ = owners.repo(fact.repo)
    fields = dict(fact.fields)
    existing = _find_pr(session, repo, fact.number)
    if existing is None:
        fields.setdefault("ready_at", fact.ready_if_new)
    elif existing.updated_at and fields.get("updated_at") and fields["updated_at"] < existing.updated_at:
        # An older snapshot delivered late: it may not undo newer state, only add one-way facts.
        fields = {k: v for k, v in fields.items() if k in _STICKY_PR_FIELDS}
        if fields.get("merged_at") is not None:
            fields["state"] = "merged"
    service.upsert_pull_request(session=session, **fit(PullRequest, {"repo": repo, "number": fact.number, **fields}))


def _pr_for(session: Session, owners: Owners, repo_name: str, number: int) -> PullRequest:
    repo, _ = owners.repo(repo_name)
    pr = _find_pr(session, repo, number)
    if pr is None:  # the PR snapshot of the same delivery comes first, so this is a parser bug
        raise LookupError(f"{repo}#{number} is not known")
    return pr


def _apply_review_request(session: Session, fact: ReviewRequestFact, owners: Owners) -> None:
    pr = _pr_for(session, owners, fact.repo, fact.number)
    reviewer = fit(ReviewRequest, {"reviewer": fact.reviewer})["reviewer"]
    if fact.removed:
        service.remove_review_request(session=session, pr=pr, reviewer=reviewer, removed_at=fact.at)
    else:
        service.request_review(session=session, pr=pr, reviewer=reviewer, requested_at=fact.at)


def _apply_review(session: Session, fact: ReviewFact, owners: Owners) -> None:
    pr = _pr_for(session, owners, fact.repo, fact.number)
    service.upsert_review(session=session, pr=pr, **fit(PrReview, {"ext_id": fact.ext_id, **fact.fields}))


def _apply_push(session: Session, fact: PushFact, owners: Owners) -> None:
    repo, teams = owners.repo(fact.repo)
    if any(team.production.branch == fact.branch for team in teams):
        push_key = f"{repo}:{fact.after}"
        for commit in fact.commits:
            values = {**commit, "repo": repo, "branch": fact.branch, "landed_at": fact.pushed_at, "push_key": push_key}
            service.upsert_commit(session=session, **fit(Commit, values))
        return
    # A push to a feature branch: its commits belong to the open pull requests of that branch.
    prs = session.scalars(
        select(PullRequest).where(
            PullRequest.repo == repo, PullRequest.head_ref == fact.branch, PullRequest.state == "open"
        )
    ).all()
    columns = ("sha", "authored_at", "author_login", "message")
    commits = [fit(PrCommit, {k: c.get(k) for k in columns}) for c in fact.commits]
    for pr in prs:
        service.add_pr_commits(session=session, pr=pr, commits=[c for c in commits if c["authored_at"]])


def _apply_deployment(session: Session, fact: DeploymentFact, owners: Owners) -> None:
    repo, _ = owners.repo(fact.fields["repo"])
    service.upsert_deployment(session=session, **fit(Deployment, {"uid": fact.uid, **fact.fields, "repo": repo}))


def _apply_pipeline_run(session: Session, fact: PipelineRunFact, owners: Owners) -> None:
    repo, _ = owners.repo(fact.fields["repo"])
    service.upsert_pipeline_run(session=session, **fit(PipelineRun, {"uid": fact.uid, **fact.fields, "repo": repo}))


def production_environment(teams: list[TeamConfig]) -> str:
    """A production environment name the teams' pattern accepts, for deployments that carry none."""
    return deploy_workflow_environment(lambda name: any(team.production.is_production(name) for team in teams))


def deploy_workflow_environment(is_production: Callable[[str], bool]) -> str:
    """The environment recorded for a deploy-workflow run: the first usual name production accepts."""
    return next((name for name in _ENVIRONMENT_NAMES if is_production(name)), "production")


def _apply_workflow_run(session: Session, fact: WorkflowRunFact, owners: Owners) -> None:
    repo, teams = owners.repo(fact.repo)
    deploying = [
        team
        for team in teams
        if team.production.branch == fact.head_branch and set(team.production.workflows) & set(fact.names)
    ]
    if not deploying:
        return
    values = {
        "uid": f"github:{repo}:run-{fact.run_id}",
        "ext_id": fact.run_id,
        "source": "github",
        "repo": repo,
        "environment": production_environment(deploying),
        "run_key": f"github:{repo}:run:{fact.run_id}",
        **fact.fields,
    }
    service.upsert_deployment(session=session, **fit(Deployment, values))


def _apply_issue(session: Session, fact: IssueFact, owners: Owners) -> None:
    repo, teams = owners.repo(fact.repo)
    uid = fit(Incident, {"uid": f"github:{repo}#{fact.number}"})["uid"]
    wanted = {team.incidents.github_label.lower() for team in teams}
    if fact.deleted or not wanted & {label.lower() for label in fact.labels}:
        service.remove_incident(session=session, uid=uid)
        return
    values = fit(Incident, {**fact.fields, "uid": uid, "repo": repo})
    service.upsert_incident(session=session, reopened=fact.is_open, **values)


def _apply_incident(session: Session, fact: IncidentFact, owners: Owners) -> None:
    fields = dict(fact.fields)
    if fact.repo is not None:
        fields["repo"], _ = owners.repo(fact.repo)
    if fact.services:
        known = owners.known_service(fact.services)
        if known is None and fact.repo is None:
            raise UnknownOwnerError(
                f"unknown service {', '.join(fact.services)[:300]}: list it under incidents "
                "(pagerduty_services, opsgenie_teams or services) of a team in teams.yml, "
                "then run `sei-bot ingest replay`"
            )
        fields["service"] = known or fact.services[0]
    uid = fit(Incident, {"uid": fact.uid})["uid"]
    is_new = session.scalars(select(Incident.id).where(Incident.uid == uid)).first() is None
    if fact.repo is None and not fact.services and is_new:
        raise UnknownOwnerError(f"incident {uid} is new and names neither a repo nor a service")
    service.upsert_incident(session=session, reopened=fact.reopened, **fit(Incident, {**fields, "uid": uid}))


_APPLY: dict[type, Any] = {
    PullRequestFact: _apply_pull_request,
    ReviewRequestFact: _apply_review_request,
    ReviewFact: _apply_review,
    PushFact: _apply_push,
    DeploymentFact: _apply_deployment,
    PipelineRunFact: _apply_pipeline_run,
    WorkflowRunFact: _apply_workflow_run,
    IssueFact: _apply_issue,
    IncidentFact: _apply_incident,
}


def apply_facts(*, session: Session, facts: list[Fact], owners: Owners) -> None:
    """Write facts in order (a PR snapshot before its reviews); never commits."""
    for fact in facts:
        _APPLY[type(fact)](session, fact, owners)
