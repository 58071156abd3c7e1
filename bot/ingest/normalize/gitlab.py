"""GitLab webhook payloads → facts (pure). Repositories are named ``gitlab:group/project``.

The event kind comes from the body's ``object_kind``: ``merge_request``, ``pipeline``, ``build``
(job), ``deployment`` and ``push``; other kinds raise ``Ignored``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.delivery.service import normalize_deployment_status
from bot.ingest.normalize.facts import (
    DeploymentFact,
    Fact,
    Ignored,
    PipelineRunFact,
    PullRequestFact,
    PushFact,
    ReviewFact,
    ReviewRequestFact,
)
from bot.ingest.normalize.github import push_commits, pushed_branch
from bot.ingest.payload import Doc, ShapeError

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_MR_STATES = {"opened": "open", "reopened": "open", "locked": "open", "closed": "closed", "merged": "merged"}
# GitLab job/pipeline status → (CI status, conclusion)
_CI = {
    "created": ("queued", None),
    "waiting_for_resource": ("queued", None),
    "preparing": ("queued", None),
    "pending": ("queued", None),
    "scheduled": ("queued", None),
    "manual": ("waiting", None),
    "running": ("in_progress", None),
    "success": ("completed", "success"),
    "failed": ("completed", "failure"),
    "canceled": ("completed", "cancelled"),
    "canceling": ("in_progress", None),
    "skipped": ("completed", "skipped"),
}


def project_repo(payload: Doc) -> str:
    """``gitlab:<path_with_namespace>`` from ``project`` (or, for job events, the repository URL)."""
    project = payload.opt_child("project")
    if project is not None and project.has("path_with_namespace"):
        return "gitlab:" + project.text("path_with_namespace")
    repository = payload.child("repository")
    for key in ("homepage", "git_http_url"):
        url = repository.opt_text(key)
        if url:
            path = urlsplit(url).path.strip("/").removesuffix(".git")
            if "/" in path:
                return "gitlab:" + path
    raise ShapeError("project.path_with_namespace", "required (or repository.homepage)")


def _ci_status(doc: Doc, key: str) -> tuple[str, str | None]:
    raw = doc.text(key)
    return _CI.get(raw, ("completed" if raw else "queued", raw or None))


def _users(doc: Doc, key: str) -> set[str]:
    return {u.text("username") for u in doc.children(key) if u.has("username")}


def parse_merge_request(payload: Doc, received_at: datetime) -> list[Fact]:
    """``merge_request``: a snapshot of the MR (``iid`` is its number), approvals and reviewer changes.

    ``{"object_kind": "merge_request", "user": {"username": "root"}, "project": {"path_with_namespace":
    "gitlabhq/gitlab-test"}, "object_attributes": {"iid": 1, "title": "MS-Viewport", "state": "opened",
    "action": "open", "draft": false, "created_at": "2013-12-03T17:23:34Z", "source_branch": "ms-viewport",
    "target_branch": "master", "last_commit": {"id": "da15…"}, "labels": [{"title": "API"}]},
    "reviewers": [{"username": "user1"}]}``
    """
    repo = project_repo(payload)
    mr = payload.child("object_attributes")
    number = mr.integer("iid", low=1)
    action = mr.opt_text("action")
    raw_state = mr.text("state")
    state = _MR_STATES.get(raw_state)
    if state is None:
        raise ShapeError("object_attributes.state", f"unknown merge request state {raw_state[:20]!r}")
    created = mr.time("created_at")
    updated = mr.opt_time("updated_at") or received_at
    draft = mr.flag("draft", mr.flag("work_in_progress"))
    last_commit = mr.opt_child("last_commit")
    head_sha = last_commit.opt_text("id") if last_commit else None
    merged = state == "merged"
    user = payload.opt_child("user")
    actor = user.opt_text("username") if user else None
    fields: dict[str, Any] = {
        "title": mr.opt_text("title"),
        "author_login": actor if action == "open" else None,
        "url": mr.opt_text("url"),
        "state": state,
        "draft": draft,
        "created_at": created,
        "updated_at": updated,
        "merged_at": (mr.opt_time("merged_at") or updated) if merged else None,
        "closed_at": (mr.opt_time("closed_at") or updated) if state == "closed" else None,
        "merge_commit_sha": (mr.opt_text("merge_commit_sha") or mr.opt_text("squash_commit_sha") or head_sha)
        if merged
        else None,
        "head_sha": head_sha,
        "head_ref": mr.opt_text("source_branch"),
        "base_ref": mr.opt_text("target_branch"),
        "labels": [label.text("title") for label in mr.children("labels")] if "labels" in mr.data else None,
        "body": mr.opt_text("description"),
    }
    changes = payload.opt_child("changes")
    draft_change = changes.opt_child("draft") if changes else None
    if action == "open" and not draft:
        fields["ready_at"] = created
    elif draft_change is not None and draft_change.raw("previous") is True and draft_change.raw("current") is False:
        fields["ready_at"] = updated
    facts: list[Fact] = [PullRequestFact(repo, number, fields, ready_if_new=None if draft else created)]
    if action == "open":
        facts += [ReviewRequestFact(repo, number, r, created) for r in sorted(_users(payload, "reviewers"))]
    reviewers = changes.opt_child("reviewers") if changes else None
    if reviewers is not None:
        before, after = _users(reviewers, "previous"), _users(reviewers, "current")
        facts += [ReviewRequestFact(repo, number, r, updated) for r in sorted(after - before)]
        facts += [ReviewRequestFact(repo, number, r, updated, removed=True) for r in sorted(before - after)]
    if action in ("approved", "approval", "unapproved", "unapproval") and actor is not None:
        approved = action in ("approved", "approval")
        facts.append(
            ReviewFact(
                repo,
                number,
                f"approval:{actor}",
                {
                    "reviewer_login": actor,
                    "reviewer_is_bot": actor.endswith("-bot") or "_bot_" in actor,
                    "state": "approved" if approved else "dismissed",
                    "submitted_at": updated,
                },
            )
        )
        if approved:
            facts.append(ReviewRequestFact(repo, number, actor, updated, removed=True))
    return facts


def parse_pipeline(payload: Doc, received_at: datetime) -> list[Fact]:
    """``pipeline``: one pipeline run.

    ``{"object_kind": "pipeline", "object_attributes": {"id": 31, "ref": "master", "sha": "bcbb…",
    "source": "push", "status": "success", "created_at": "2016-08-12 15:23:28 UTC",
    "finished_at": "2016-08-12 15:26:29 UTC"}, "project": {"path_with_namespace": "gitlab-org/gitlab-test"}}``
    """
    repo = project_repo(payload)
    pipeline = payload.child("object_attributes")
    status, conclusion = _ci_status(pipeline, "status")
    fields = {
        "repo": repo,
        "provider": "gitlab",
        "kind": "pipeline",
        "workflow": pipeline.opt_text("name") or "pipeline",
        "name": pipeline.opt_text("name") or "pipeline",
        "run_id": pipeline.ident("id"),
        "head_sha": pipeline.opt_text("sha"),
        "head_branch": pipeline.opt_text("ref"),
        "event": pipeline.opt_text("source"),
        "status": status,
        "conclusion": conclusion,
        "started_at": pipeline.opt_time("created_at"),
        "finished_at": pipeline.opt_time("finished_at") if status == "completed" else None,
        "url": pipeline.opt_text("url"),
        "actor_login": (payload.child("user").opt_text("username") if payload.has("user") else None),
    }
    return [PipelineRunFact(f"{repo}:pipeline:{fields['run_id']}", fields)]


def parse_job(payload: Doc, received_at: datetime) -> list[Fact]:
    """``build`` (job): one job attempt; ``retries_count`` makes the attempt number.

    ``{"object_kind": "build", "build_id": 1977, "build_name": "test", "build_stage": "test",
    "build_status": "success", "build_started_at": "…", "build_finished_at": "…", "pipeline_id": 2366,
    "sha": "2293…", "ref": "main", "retries_count": 1, "repository": {"homepage": "https://gitlab.com/g/p"}}``
    """
    repo = project_repo(payload)
    status, conclusion = _ci_status(payload, "build_status")
    job_id = payload.ident("build_id")
    repository = payload.opt_child("repository")
    homepage = repository.opt_text("homepage") if repository else None
    fields = {
        "repo": repo,
        "provider": "gitlab",
        "kind": "job",
        "workflow": payload.opt_text("build_stage") or "",
        "name": payload.opt_text("build_name") or "",
        "run_id": payload.opt_ident("pipeline_id"),
        "attempt": (payload.opt_integer("retries_count", low=0, high=10_000) or 0) + 1,
        "head_sha": payload.opt_text("sha"),
        "head_branch": payload.opt_text("ref"),
        "status": status,
        "conclusion": conclusion,
        "started_at": payload.opt_time("build_started_at") or payload.opt_time("build_created_at"),
        "finished_at": payload.opt_time("build_finished_at") if status == "completed" else None,
        "url": f"{homepage}/-/jobs/{job_id}" if homepage else None,
        "extra": {"allow_failure": payload.flag("build_allow_failure")},
    }
    return [PipelineRunFact(f"{repo}:job:{job_id}", fields)]


def parse_deployment(payload: Doc, received_at: datetime) -> list[Fact]:
    """``deployment``: a deployment's new status; the SHA is the tail of ``commit_url``.

    ``{"object_kind": "deployment", "status": "success", "status_changed_at": "2021-04-28 21:50:00 +0200",
    "deployment_id": 15, "deployable_id": 796, "environment": "production", "short_sha": "279484c0",
    "commit_url": "https://gitlab.example.com/g/p/-/commit/279484c0…", "project": {...}, "user": {...}}``
    """
    repo = project_repo(payload)
    ext_id = payload.ident("deployment_id")
    status = normalize_deployment_status(payload.text("status"))
    at = payload.opt_time("status_changed_at") or received_at
    tail = (payload.opt_text("commit_url") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    user = payload.opt_child("user")
    deployable = payload.opt_ident("deployable_id")
    fields = {
        "ext_id": ext_id,
        "source": "gitlab",
        "repo": repo,
        "environment": payload.text("environment"),
        "sha": tail if _SHA.match(tail) else payload.opt_text("short_sha"),
        "ref": payload.opt_text("ref"),
        "status": status,
        "started_at": at if status in ("in_progress", "pending") else None,
        "finished_at": at if status in ("success", "failure", "cancelled") else None,
        "url": payload.opt_text("deployable_url"),
        "creator_login": user.opt_text("username") if user else None,
        "description": payload.opt_text("commit_title"),
        "run_key": f"{repo}:job:{deployable}" if deployable else None,
    }
    return [DeploymentFact(f"gitlab:{repo}:{ext_id}", fields)]


def parse_push(payload: Doc, received_at: datetime) -> list[Fact]:
    """``push``: commits pushed to a branch, landed when the hook was received.

    ``{"object_kind": "push", "ref": "refs/heads/master", "after": "da15…", "commits": [{"id": "b6568…",
    "message": "Update", "timestamp": "2011-12-12T14:27:31+02:00", "author": {"email": "j@example.com"}}],
    "project": {"path_with_namespace": "mike/diaspora"}}``
    """
    repo = project_repo(payload)
    branch = pushed_branch(payload)
    return [PushFact(repo, branch, payload.text("after"), received_at, push_commits(payload))]


PARSERS: dict[str, Callable[[Doc, datetime], list[Fact]]] = {
    "merge_request": parse_merge_request,
    "pipeline": parse_pipeline,
    "build": parse_job,
    "deployment": parse_deployment,
    "push": parse_push,
}


def parse_gitlab(event: str, payload: Any, received_at: datetime) -> list[Fact]:
    """Facts of one GitLab delivery, dispatched on ``object_kind`` (the header is only a fallback)."""
    doc = Doc(payload)
    kind = doc.opt_text("object_kind") or event
    parser = PARSERS.get(kind)
    if parser is None:
        raise Ignored(f"GitLab {kind[:60]!r} events are not used")
    return parser(doc, received_at)
