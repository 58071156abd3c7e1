"""Tables of normalised delivery data, shared by ingest (writes) and metrics (reads).

Conventions every writer (webhooks, generic API, backfills) keeps, because the metrics rely on them:

- Timestamps are timezone-aware UTC (``UTCDateTime`` refuses naive values). Repositories are named
  ``owner/name`` for GitHub (``repository.full_name``) and ``gitlab:group/project`` for GitLab,
  exactly as in ``teams.yml``.
- ``PullRequest``: one row per ``(repo, number)`` (GitLab: the MR ``iid``). ``state`` is ``open``,
  ``closed`` or ``merged``; a merged PR has ``merged_at`` and ``merge_commit_sha`` (the merge, squash
  or last rebased commit on the base branch). ``ready_at`` is ``created_at`` unless the PR was opened
  as a draft, then the time it was first marked ready. Labels are stored as their names.
- ``PrCommit.authored_at`` is the commit's *author* date (where lead time starts).
- ``PrReview``: ``ext_id`` is the review id (``comment:<id>`` for a plain comment, state ``comment``);
  ``state`` lower-case (``approved``, ``changes_requested``, ``commented``, ``dismissed``, ``comment``);
  ``reviewer_is_bot`` when the user type is ``Bot`` or the login ends with ``[bot]``.
- ``Commit``: a commit that reached a production branch. ``landed_at`` is when it got there (the
  push time: ``repository.pushed_at`` of a push webhook, else the delivery time; for backfilled
  commits the committer date), ``push_key`` identifies the push (``<repo>:<after sha>``) so that a push
  carrying a PR's merge commit is known to be that PR's, and the other commits of a push are *direct
  pushes* (one change each).
- ``Deployment``: ``uid`` = ``<source>:<repo>:<ext_id>``; ``status`` is one of ``success``,
  ``failure``, ``cancelled``, ``in_progress``, ``pending`` (GitHub ``error`` → ``failure``; a later
  ``inactive`` status never downgrades a ``success``: it only means a newer deployment replaced it).
  ``started_at`` is when it was created/started, ``finished_at`` when it reached its final status.
  ``is_rollback`` only for an explicit marking; ``run_key`` is shared by the records of one pipeline run.
- ``Incident``: ``uid`` = ``<source>:<id>``; ``repo`` and/or ``service`` (PagerDuty service id,
  Opsgenie team, a generic name) say whose it is; ``resolved_at`` null means open; ``text`` holds the
  title and body, searched for explicit links.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


class PullRequest(SQLModel, table=True):
    """A pull (merge) request; a merged one is a *change* for lead time."""

    __tablename__ = "pull_request"
    __table_args__ = (
        UniqueConstraint("repo", "number"),
        Index("ix_pull_request_repo_merged_at", "repo", "merged_at"),
        # With merged_at, finding when a deployed SHA landed reads the index alone (no table row).
        Index("ix_pull_request_repo_merge_commit_sha_merged_at", "repo", "merge_commit_sha", "merged_at"),
        Index("ix_pull_request_repo_state", "repo", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=300)
    number: int
    title: str = Field(default="", max_length=1000)
    author_login: str | None = Field(default=None, max_length=100)
    url: str | None = Field(default=None, max_length=1000)
    state: str = Field(default="open", max_length=16)  # open | closed | merged
    draft: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    # When the PR first became ready for review (created_at unless it was opened as a draft).
    ready_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merge_commit_sha: str | None = Field(default=None, max_length=64)
    head_sha: str | None = Field(default=None, max_length=64)
    head_ref: str | None = Field(default=None, max_length=300)
    base_ref: str | None = Field(default=None, max_length=300)
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    labels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body: str | None = Field(default=None)


class PrCommit(SQLModel, table=True):
    """A commit of a pull request's branch, with its *authored* time (start of lead time)."""

    __tablename__ = "pr_commit"
    __table_args__ = (UniqueConstraint("pr_id", "sha"),)

    id: int | None = Field(default=None, primary_key=True)
    pr_id: int = Field(foreign_key="pull_request.id", index=True, ondelete="CASCADE")
    sha: str = Field(max_length=64, index=True)
    authored_at: datetime = Field(sa_type=UTCDateTime)
    committed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    author_login: str | None = Field(default=None, max_length=100)
    message: str = Field(default="", max_length=1000)


class PrReview(SQLModel, table=True):
    """A review (approved, changes_requested, commented, dismissed) or a comment on a pull request."""

    __tablename__ = "pr_review"
    __table_args__ = (
        UniqueConstraint("pr_id", "ext_id"),
        Index("ix_pr_review_pr_id_submitted_at", "pr_id", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pr_id: int = Field(foreign_key="pull_request.id", ondelete="CASCADE")
    ext_id: str = Field(max_length=100)
    reviewer_login: str | None = Field(default=None, max_length=100)
    reviewer_is_bot: bool = False
    state: str = Field(max_length=32)
    submitted_at: datetime = Field(sa_type=UTCDateTime)


class ReviewRequest(SQLModel, table=True):
    """A pending or past review request; a team request has reviewer ``team:<slug>``."""

    __tablename__ = "review_request"
    __table_args__ = (UniqueConstraint("pr_id", "reviewer"),)

    id: int | None = Field(default=None, primary_key=True)
    pr_id: int = Field(foreign_key="pull_request.id", index=True, ondelete="CASCADE")
    reviewer: str = Field(max_length=200)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Commit(SQLModel, table=True):
    """A commit seen on a production branch (push, compare API) or named by a deployment.

    ``landed_at`` is when it reached the production branch (push time); ``push_key`` groups the
    commits of one push, so a push carrying a pull request's merge commit is known to be that PR's.
    """

    __tablename__ = "commit"
    __table_args__ = (
        UniqueConstraint("repo", "sha"),
        Index("ix_commit_repo_landed_at", "repo", "landed_at"),
        # When a deployed SHA landed, from the index alone (see the PR index on merge_commit_sha).
        Index("ix_commit_repo_sha_landed_at", "repo", "sha", "landed_at"),
        Index("ix_commit_push_key", "push_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=300)
    sha: str = Field(max_length=64)
    branch: str | None = Field(default=None, max_length=300)
    authored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    landed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    push_key: str | None = Field(default=None, max_length=200)
    author_login: str | None = Field(default=None, max_length=100)
    author_email: str | None = Field(default=None, max_length=300)
    message: str = Field(default="", max_length=1000)


class Deployment(SQLModel, table=True):
    """A deployment attempt; only ``status == 'success'`` to a production environment counts.

    ``uid`` is unique across sources (``github:acme/api:123``, ``api:jenkins-api-8812``);
    ``ext_id`` is the source's own id, which incidents may name as an explicit link.
    """

    __tablename__ = "deployment"
    __table_args__ = (
        # Production deployments of a team by time; sha and started_at ride along so that a report's
        # walk over earlier deployments reads the index alone.
        Index(
            "ix_deployment_repo_status_environment_finished_at",
            "repo",
            "status",
            "environment",
            "finished_at",
            "sha",
            "started_at",
        ),
        Index("ix_deployment_repo_sha", "repo", "sha"),
        Index("ix_deployment_ext_id", "ext_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=300, unique=True)
    ext_id: str = Field(max_length=200)
    source: str = Field(max_length=32)
    repo: str = Field(max_length=300)
    environment: str = Field(max_length=200)
    sha: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=300)
    status: str = Field(max_length=32)  # success | failure | cancelled | in_progress | pending
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    url: str | None = Field(default=None, max_length=1000)
    is_rollback: bool = False
    # Records of one pipeline run share a run_key and count as one deployment.
    run_key: str | None = Field(default=None, max_length=300)
    creator_login: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=2000)


class Incident(SQLModel, table=True):
    """An incident from GitHub issues, PagerDuty, Opsgenie, GitLab or the generic API.

    ``resolved_at`` null means open. ``deployment_ref`` / ``root_cause_sha`` are explicit links;
    ``text`` is searched for links (deployment ids, SHAs, ``#PR`` numbers, ``root cause: <sha>``).
    """

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_repo_opened_at", "repo", "opened_at"),
        Index("ix_incident_service_opened_at", "service", "opened_at"),
        # Incidents naming one of a team's deployments are read with the team's own (an OR of the three).
        Index("ix_incident_deployment_ref", "deployment_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=300, unique=True)
    source: str = Field(max_length=32)
    repo: str | None = Field(default=None, max_length=300)
    service: str | None = Field(default=None, max_length=200)
    title: str = Field(default="", max_length=1000)
    text: str = Field(default="")
    opened_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    url: str | None = Field(default=None, max_length=1000)
    deployment_ref: str | None = Field(default=None, max_length=300)
    root_cause_sha: str | None = Field(default=None, max_length=64)


class PipelineRun(SQLModel, table=True):
    """A CI run, job or check suite attempt (GitHub Actions, GitLab CI, checks)."""

    __tablename__ = "pipeline_run"
    __table_args__ = (
        Index("ix_pipeline_run_repo_finished_at", "repo", "finished_at"),
        Index("ix_pipeline_run_repo_head_sha", "repo", "head_sha"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=300, unique=True)
    provider: str = Field(default="github", max_length=32)
    kind: str = Field(default="run", max_length=16)  # run | job | check_suite | pipeline
    repo: str = Field(max_length=300)
    workflow: str = Field(default="", max_length=300)
    name: str = Field(default="", max_length=300)
    run_id: str | None = Field(default=None, max_length=100)
    attempt: int = 1
    head_sha: str | None = Field(default=None, max_length=64)
    head_branch: str | None = Field(default=None, max_length=300)
    event: str | None = Field(default=None, max_length=64)
    status: str = Field(default="completed", max_length=32)
    conclusion: str | None = Field(default=None, max_length=32)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    url: str | None = Field(default=None, max_length=1000)
    actor_login: str | None = Field(default=None, max_length=100)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditLog(SQLModel, table=True):
    """Who did what, when, and how it went: every action and admin command leaves one."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=100)
    target: str = Field(default="", max_length=300)
    result: str = Field(default="ok", max_length=32)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
