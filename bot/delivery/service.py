"""Idempotent writes of normalised delivery data, shared by webhooks, the generic API and backfills.

Every function is keyword-only, never commits, and can be called again with the same facts without
creating a second row: natural keys (``(repo, number)``, ``uid``, ``(repo, sha)``) decide identity.
Fields passed as ``None`` leave what is stored untouched, so a partial event never erases what a
fuller one recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from sqlmodel import SQLModel, select

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

M = TypeVar("M", bound=SQLModel)

# A deployment status never moves backwards: a late "in_progress" does not undo "success".
_STATUS_RANK = {"pending": 0, "queued": 0, "in_progress": 1, "failure": 2, "cancelled": 2, "success": 3}
DEPLOYMENT_STATUSES = ("success", "failure", "cancelled", "in_progress", "pending")


def normalize_deployment_status(raw: str | None) -> str | None:
    """Map a provider's deployment state onto ours; ``None`` for states that change nothing.

    GitHub ``error`` is a failure; ``inactive`` only means a newer deployment replaced this one.
    """
    if raw is None:
        return None
    value = raw.strip().lower()
    mapping = {
        "success": "success",
        "succeeded": "success",
        "successful": "success",
        "failure": "failure",
        "failed": "failure",
        "error": "failure",
        "errored": "failure",
        "canceled": "cancelled",
        "cancelled": "cancelled",
        "skipped": "cancelled",
        "in_progress": "in_progress",
        "running": "in_progress",
        "created": "pending",
        "queued": "pending",
        "pending": "pending",
        "waiting": "pending",
        "blocked": "pending",
    }
    return mapping.get(value)


def _apply(row: M, fields: dict[str, Any]) -> M:
    for name, value in fields.items():
        if value is not None:
            setattr(row, name, value)
    return row


def _one(session: Session, model: type[M], **keys: Any) -> M | None:
    stmt = select(model)
    for name, value in keys.items():
        stmt = stmt.where(getattr(model, name) == value)
    return session.scalars(stmt).first()


def upsert_pull_request(*, session: Session, repo: str, number: int, **fields: Any) -> PullRequest:
    """Create or update a pull request by ``(repo, number)``; ``None`` fields are left as stored.

    ``ready_at`` is only set once (the first time the PR became ready for review).
    """
    row = _one(session, PullRequest, repo=repo, number=number)
    if row is None:
        if fields.get("created_at") is None:
            raise ValueError(f"{repo}#{number}: a new pull request needs created_at")
        row = PullRequest(repo=repo, number=number, created_at=fields["created_at"])
    elif row.ready_at is not None:
        fields = {k: v for k, v in fields.items() if k != "ready_at"}
    if fields.get("merged_at") is not None:
        fields.setdefault("state", "merged")
        if fields.get("state") != "merged":
            fields["state"] = "merged"
    elif row.state == "merged" and fields.get("state") in ("closed", "open"):
        # A stale "closed" for a merged PR (events out of order) must not unmerge it.
        fields = {k: v for k, v in fields.items() if k != "state"}
    _apply(row, fields)
    session.add(row)
    session.flush()
    return row


def add_pr_commits(*, session: Session, pr: PullRequest, commits: Iterable[dict[str, Any]]) -> int:
    """Record a PR's commits (dicts with ``sha``, ``authored_at`` and optional fields); returns new ones."""
    assert pr.id is not None
    known = set(session.scalars(select(PrCommit.sha).where(PrCommit.pr_id == pr.id)))
    added = 0
    for commit in commits:
        if commit["sha"] in known or commit.get("authored_at") is None:
            continue
        known.add(commit["sha"])
        session.add(PrCommit(pr_id=pr.id, **commit))
        added += 1
    session.flush()
    return added


def upsert_review(*, session: Session, pr: PullRequest, ext_id: str, **fields: Any) -> PrReview:
    """Create or update a review (or comment, ``ext_id='comment:<id>'``) of a pull request."""
    assert pr.id is not None
    row = _one(session, PrReview, pr_id=pr.id, ext_id=ext_id)
    if row is None:
        row = PrReview(
            pr_id=pr.id, ext_id=ext_id, state=fields.get("state") or "commented", submitted_at=fields["submitted_at"]
        )
    _apply(row, fields)
    session.add(row)
    session.flush()
    return row


def request_review(*, session: Session, pr: PullRequest, reviewer: str, requested_at: datetime) -> ReviewRequest:
    """Record a pending review request (a re-request reopens it with the new time)."""
    assert pr.id is not None
    row = _one(session, ReviewRequest, pr_id=pr.id, reviewer=reviewer)
    if row is None:
        row = ReviewRequest(pr_id=pr.id, reviewer=reviewer, requested_at=requested_at)
    elif row.removed_at is not None or requested_at > row.requested_at:
        row.requested_at, row.removed_at = requested_at, None
    session.add(row)
    session.flush()
    return row


def remove_review_request(*, session: Session, pr: PullRequest, reviewer: str, removed_at: datetime) -> None:
    """Mark a review request as removed (or satisfied by a review)."""
    assert pr.id is not None
    row = _one(session, ReviewRequest, pr_id=pr.id, reviewer=reviewer)
    if row is not None and row.removed_at is None and removed_at >= row.requested_at:
        row.removed_at = removed_at
        session.add(row)
        session.flush()


def upsert_commit(*, session: Session, repo: str, sha: str, **fields: Any) -> Commit:
    """Create or update a production-branch commit by ``(repo, sha)``; the earliest ``landed_at`` wins."""
    row = _one(session, Commit, repo=repo, sha=sha)
    if row is None:
        row = Commit(repo=repo, sha=sha)
    landed = fields.pop("landed_at", None)
    if landed is not None and (row.landed_at is None or landed < row.landed_at):
        row.landed_at = landed
        if fields.get("push_key") is None:
            fields.pop("push_key", None)
    elif row.push_key is not None:
        fields.pop("push_key", None)
    _apply(row, fields)
    session.add(row)
    session.flush()
    return row


def upsert_deployment(*, session: Session, uid: str, **fields: Any) -> Deployment:
    """Create or update a deployment by ``uid``; its status never moves backwards (see module doc)."""
    status = fields.pop("status", None)
    row = _one(session, Deployment, uid=uid)
    if row is None:
        for required in ("ext_id", "source", "repo", "environment"):
            if fields.get(required) is None:
                raise ValueError(f"deployment {uid}: a new deployment needs {required}")
        row = Deployment(
            uid=uid,
            ext_id=fields["ext_id"],
            source=fields["source"],
            repo=fields["repo"],
            environment=fields["environment"],
            status=status or "pending",
        )
    finished = fields.pop("finished_at", None)
    if status is not None and _STATUS_RANK.get(status, 0) >= _STATUS_RANK.get(row.status, 0):
        if status != row.status or row.finished_at is None:
            row.status = status
            if status in ("success", "failure", "cancelled") and finished is not None:
                row.finished_at = finished
    elif finished is not None and row.finished_at is None and row.status in ("success", "failure", "cancelled"):
        row.finished_at = finished
    _apply(row, fields)
    session.add(row)
    session.flush()
    return row


def upsert_incident(*, session: Session, uid: str, **fields: Any) -> Incident:
    """Create or update an incident by ``uid``; a resolution is kept once known, reopening clears it."""
    reopen = fields.pop("reopened", False)
    row = _one(session, Incident, uid=uid)
    if row is None:
        for required in ("source", "opened_at"):
            if fields.get(required) is None:
                raise ValueError(f"incident {uid}: a new incident needs {required}")
        row = Incident(uid=uid, source=fields["source"], opened_at=fields["opened_at"])
    if reopen:
        row.resolved_at = None
    _apply(row, fields)
    session.add(row)
    session.flush()
    return row


def upsert_pipeline_run(*, session: Session, uid: str, **fields: Any) -> PipelineRun:
    """Create or update a CI run/job/check suite attempt by ``uid``."""
    row = _one(session, PipelineRun, uid=uid)
    if row is None:
        if fields.get("repo") is None:
            raise ValueError(f"pipeline run {uid}: a new run needs repo")
        row = PipelineRun(uid=uid, repo=fields["repo"])
    _apply(row, fields)
    session.add(row)
    session.flush()
    return row


def remove_incident(*, session: Session, uid: str) -> bool:
    """Delete an incident that turned out not to be one (label removed, issue deleted); True if it existed."""
    row = _one(session, Incident, uid=uid)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
