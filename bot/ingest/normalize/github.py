"""GitHub webhook payloads → facts (pure: no database, no configuration).

The event name comes from the ``X-GitHub-Event`` header; ``parse_github`` dispatches on it. Events
the bot does not use (``release``, ``star``…) raise ``Ignored``; ``ping`` yields no facts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.delivery.service import normalize_deployment_status
from bot.ingest.normalize.facts import (
    DeploymentFact,
    Fact,
    Ignored,
    IssueFact,
    PipelineRunFact,
    PullRequestFact,
    PushFact,
    ReviewFact,
    ReviewRequestFact,
    WorkflowRunFact,
)
from bot.ingest.payload import Doc, ShapeError

ROOT_CAUSE = re.compile(r"root[ _-]?cause:\s*([0-9a-f]{7,64})\b", re.IGNORECASE)
_FINAL = ("success", "failure", "cancelled")


def root_cause_sha(text: str) -> str | None:
    """The SHA of a ``root cause: <sha>`` marker in an incident's text, if any."""
    match = ROOT_CAUSE.search(text)
    return match.group(1).lower() if match else None


def repo_name(payload: Doc) -> str:
    """``owner/name`` of the repository an event is about."""
    return payload.child("repository").text("full_name")


def is_bot(user: Doc | None) -> bool:
    """True for GitHub Apps and bot accounts (``type: Bot`` or a login ending in ``[bot]``)."""
    if user is None:
        return False
    return user.opt_text("type") == "Bot" or (user.opt_text("login") or "").endswith("[bot]")


def _login(doc: Doc, key: str) -> str | None:
    user = doc.opt_child(key)
    return None if user is None else user.opt_text("login")


def _pull_request(repo: str, pr: Doc, action: str | None) -> PullRequestFact:
    """A PR snapshot; ``action`` decides ``ready_at`` (opened non-draft, or ready_for_review)."""
    created = pr.time("created_at")
    updated = pr.opt_time("updated_at")
    draft = pr.flag("draft")
    merged_at = pr.opt_time("merged_at")
    state = pr.text("state")
    if state not in ("open", "closed"):
        raise ShapeError(f"{pr.path}.state", f"expected open or closed, got {state[:20]!r}")
    head, base = pr.opt_child("head"), pr.opt_child("base")
    fields: dict[str, Any] = {
        "title": pr.opt_text("title"),
        "author_login": _login(pr, "user"),
        "url": pr.opt_text("html_url"),
        "state": "merged" if merged_at is not None else state,
        "draft": draft,
        "created_at": created,
        "updated_at": updated,
        "merged_at": merged_at,
        "closed_at": pr.opt_time("closed_at"),
        # An open PR's merge_commit_sha is only GitHub's test merge: keep it once merged.
        "merge_commit_sha": pr.opt_text("merge_commit_sha") if merged_at is not None else None,
        "head_sha": head.opt_text("sha") if head else None,
        "head_ref": head.opt_text("ref") if head else None,
        "base_ref": base.opt_text("ref") if base else None,
        "additions": pr.opt_integer("additions", low=0),
        "deletions": pr.opt_integer("deletions", low=0),
        "changed_files": pr.opt_integer("changed_files", low=0),
        "labels": [label.text("name") for label in pr.children("labels")] if "labels" in pr.data else None,
        "body": pr.opt_text("body") or ("" if "body" in pr.data else None),
    }
    if action == "opened" and not draft:
        fields["ready_at"] = created
    elif action == "ready_for_review":
        fields["ready_at"] = updated or created
    return PullRequestFact(
        repo=repo,
        number=pr.integer("number", low=1),
        fields=fields,
        ready_if_new=None if draft else created,
    )


def parse_pull_request(payload: Doc, received_at: datetime) -> list[Fact]:
    """``pull_request``: a snapshot of the PR, plus the review request an action adds or removes.

    ``{"action": "review_requested", "number": 2, "pull_request": {"number": 2, "state": "open",
    "created_at": "2019-05-15T15:20:33Z", "draft": false, "head": {"ref": "changes"}, ...},
    "requested_reviewer": {"login": "octocat"}, "repository": {"full_name": "Codertocat/Hello-World"}}``
    """
    repo = repo_name(payload)
    action = payload.opt_text("action")
    pr = _pull_request(repo, payload.child("pull_request"), action)
    facts: list[Fact] = [pr]
    if action in ("review_requested", "review_request_removed"):
        reviewer = _login(payload, "requested_reviewer")
        team = payload.opt_child("requested_team")
        if reviewer is None and team is not None:
            reviewer = f"team:{team.text('slug')}"
        if reviewer is None:
            raise ShapeError("requested_reviewer", "required for a review request")
        at = pr.fields["updated_at"] or received_at
        facts.append(ReviewRequestFact(repo, pr.number, reviewer, at, removed=action == "review_request_removed"))
    return facts


def parse_pull_request_review(payload: Doc, received_at: datetime) -> list[Fact]:
    """``pull_request_review``: the review (state lower-cased), and the request it answers.

    ``{"action": "submitted", "review": {"id": 237895671, "user": {"login": "Codertocat", "type": "User"},
    "state": "commented", "submitted_at": "2019-05-15T15:20:38Z"}, "pull_request": {...}, "repository": {...}}``
    """
    repo = repo_name(payload)
    pr = _pull_request(repo, payload.child("pull_request"), None)
    review = payload.child("review")
    user = review.opt_child("user")
    action = payload.opt_text("action")
    state = "dismissed" if action == "dismissed" else review.text("state").lower()
    submitted = review.opt_time("submitted_at") or received_at
    login = user.opt_text("login") if user else None
    facts: list[Fact] = [
        pr,
        ReviewFact(
            repo,
            pr.number,
            review.ident("id"),
            {"reviewer_login": login, "reviewer_is_bot": is_bot(user), "state": state, "submitted_at": submitted},
        ),
    ]
    if action == "submitted" and login is not None:
        facts.append(ReviewRequestFact(repo, pr.number, login, submitted, removed=True))
    return facts


def pushed_branch(payload: Doc) -> str:
    """The branch a push (GitHub or GitLab, same shape) went to; ``Ignored`` for tags and deletions."""
    ref = payload.text("ref")
    if not ref.startswith("refs/heads/"):
        raise Ignored(f"push to {ref[:100]} (not a branch)")
    if payload.flag("deleted") or payload.raw("after") == "0" * 40:
        raise Ignored("branch deleted")
    return ref.removeprefix("refs/heads/")


def push_commits(payload: Doc) -> tuple[dict[str, Any], ...]:
    """The commits of a push as ``Commit`` columns (GitHub and GitLab pushes share this shape)."""
    commits = []
    for commit in payload.children("commits"):
        author = commit.opt_child("author")
        commits.append(
            {
                "sha": commit.text("id"),
                "authored_at": commit.opt_time("timestamp"),
                "author_login": author.opt_text("username") if author else None,
                "author_email": author.opt_text("email") if author else None,
                "message": commit.opt_text("message") or "",
            }
        )
    return tuple(commits)


def parse_push(payload: Doc, received_at: datetime) -> list[Fact]:
    """``push`` to a branch: its commits, landed at ``repository.pushed_at`` (tags are ignored).

    ``{"ref": "refs/heads/main", "after": "c851…", "deleted": false, "commits": [{"id": "70a7…",
    "message": "Bump", "timestamp": "2017-11-04T11:05:11Z", "author": {"username": "wilhelmklopp",
    "email": "w@example.com"}}], "repository": {"full_name": "github-slack/app", "pushed_at": 1510086250}}``
    """
    repo = repo_name(payload)
    branch = pushed_branch(payload)
    pushed_at = payload.child("repository").opt_time("pushed_at", epoch=True) or received_at
    return [PushFact(repo, branch, payload.text("after"), pushed_at, push_commits(payload))]


def _deployment(repo: str, payload: Doc) -> tuple[str, dict[str, Any]]:
    deployment = payload.child("deployment")
    ext_id = deployment.ident("id")
    run = payload.opt_child("workflow_run")
    extra = deployment.raw("payload")
    fields = {
        "ext_id": ext_id,
        "source": "github",
        "repo": repo,
        "environment": deployment.text("environment"),
        "sha": deployment.opt_text("sha"),
        "ref": deployment.opt_text("ref"),
        "started_at": deployment.opt_time("created_at"),
        "creator_login": _login(deployment, "creator"),
        "description": deployment.opt_text("description"),
        "run_key": f"github:{repo}:run:{run.ident('id')}" if run else None,
        "is_rollback": True if isinstance(extra, dict) and extra.get("rollback") is True else None,
    }
    return f"github:{repo}:{ext_id}", fields


def parse_deployment(payload: Doc, received_at: datetime) -> list[Fact]:
    """``deployment`` created: a pending deployment of a SHA to an environment.

    ``{"action": "created", "deployment": {"id": 145988746, "sha": "f95f…", "ref": "master",
    "environment": "production", "created_at": "2019-05-15T15:20:53Z", "creator": {"login": "Codertocat"}},
    "repository": {"full_name": "Codertocat/Hello-World"}}``
    """
    uid, fields = _deployment(repo_name(payload), payload)
    return [DeploymentFact(uid, {**fields, "status": "pending"})]


def parse_deployment_status(payload: Doc, received_at: datetime) -> list[Fact]:
    """``deployment_status``: the deployment's new state; a final state sets ``finished_at``.

    ``{"deployment_status": {"state": "success", "created_at": "2019-05-15T15:20:55Z", "target_url": ""},
    "deployment": {"id": 145988746, "environment": "production", ...}, "repository": {...}}``
    """
    uid, fields = _deployment(repo_name(payload), payload)
    status_doc = payload.child("deployment_status")
    status = normalize_deployment_status(status_doc.text("state"))
    at = status_doc.opt_time("created_at") or received_at
    url = status_doc.opt_text("target_url") or status_doc.opt_text("log_url") or status_doc.opt_text("environment_url")
    fields.update(status=status, finished_at=at if status in _FINAL else None, url=url or None)
    return [DeploymentFact(uid, fields)]


def _conclusion(doc: Doc) -> tuple[str, str | None, str | None]:
    """``(status, conclusion, deployment status)`` of a run, job or suite."""
    status = doc.opt_text("status") or "completed"
    conclusion = doc.opt_text("conclusion")
    if status != "completed":
        deploy = "pending" if status in ("queued", "requested", "waiting", "pending") else "in_progress"
    else:
        deploy = normalize_deployment_status(conclusion) or "failure"
    return status, conclusion, deploy


def parse_workflow_run(payload: Doc, received_at: datetime) -> list[Fact]:
    """``workflow_run``: one attempt of an Actions run (and a deployment if it is a deploy workflow).

    ``{"action": "completed", "workflow_run": {"id": 289782451, "name": "deploy", "path":
    ".github/workflows/deploy.yml", "run_attempt": 1, "head_branch": "main", "head_sha": "3484…",
    "status": "completed", "conclusion": "success", "run_started_at": "2020-10-05T16:33:49Z",
    "updated_at": "2020-10-05T16:35:00Z"}, "repository": {...}}``
    """
    repo = repo_name(payload)
    run = payload.child("workflow_run")
    run_id = run.ident("id")
    attempt = run.opt_integer("run_attempt", low=1) or 1
    status, conclusion, deploy_status = _conclusion(run)
    started = run.opt_time("run_started_at") or run.opt_time("created_at")
    finished = (run.opt_time("updated_at") or received_at) if status == "completed" else None
    workflow = payload.opt_child("workflow")
    name = run.opt_text("name") or (workflow.opt_text("name") if workflow else None) or ""
    path = run.opt_text("path") or (workflow.opt_text("path") if workflow else None) or ""
    head_branch = run.opt_text("head_branch")
    actor = _login(run, "actor")
    common = {
        "repo": repo,
        "provider": "github",
        "kind": "run",
        "workflow": name,
        "name": run.opt_text("display_title") or name,
        "run_id": run_id,
        "attempt": attempt,
        "head_sha": run.opt_text("head_sha"),
        "head_branch": head_branch,
        "event": run.opt_text("event"),
        "status": status,
        "conclusion": conclusion,
        "started_at": started,
        "finished_at": finished,
        "url": run.opt_text("html_url"),
        "actor_login": actor,
        "extra": {"path": path, "run_number": run.raw("run_number")},
    }
    names = tuple(n for n in (name, path, path.rsplit("/", 1)[-1]) if n)
    deployment = {
        "sha": run.opt_text("head_sha"),
        "ref": head_branch,
        "status": deploy_status,
        "started_at": started,
        "finished_at": finished if deploy_status in _FINAL else None,
        "url": run.opt_text("html_url"),
        "creator_login": actor,
        "description": name,
    }
    return [
        PipelineRunFact(f"github:{repo}:run:{run_id}:{attempt}", common),
        WorkflowRunFact(repo, run_id, names, head_branch, deployment),
    ]


def parse_workflow_job(payload: Doc, received_at: datetime) -> list[Fact]:
    """``workflow_job``: one job of one run attempt.

    ``{"action": "completed", "workflow_job": {"id": 2832853555, "run_id": 940463255, "run_attempt": 1,
    "workflow_name": "CI", "name": "test", "status": "completed", "conclusion": "failure",
    "started_at": "…", "completed_at": "…", "head_sha": "…", "head_branch": "main"}, "repository": {...}}``
    """
    repo = repo_name(payload)
    job = payload.child("workflow_job")
    status, conclusion, _ = _conclusion(job)
    fields = {
        "repo": repo,
        "provider": "github",
        "kind": "job",
        "workflow": job.opt_text("workflow_name") or "",
        "name": job.opt_text("name") or "",
        "run_id": job.opt_ident("run_id"),
        "attempt": job.opt_integer("run_attempt", low=1) or 1,
        "head_sha": job.opt_text("head_sha"),
        "head_branch": job.opt_text("head_branch"),
        "status": status,
        "conclusion": conclusion,
        "started_at": job.opt_time("started_at") or job.opt_time("created_at"),
        "finished_at": job.opt_time("completed_at"),
        "url": job.opt_text("html_url"),
        "extra": {"labels": job.texts("labels"), "runner_name": job.raw("runner_name")},
    }
    return [PipelineRunFact(f"github:{repo}:job:{job.ident('id')}", fields)]


def parse_check_suite(payload: Doc, received_at: datetime) -> list[Fact]:
    """``check_suite``: the checks of one app on one commit.

    ``{"action": "completed", "check_suite": {"id": 118578147, "head_branch": "changes", "head_sha": "ec26…",
    "status": "completed", "conclusion": "success", "created_at": "…", "updated_at": "…",
    "app": {"slug": "octoapp", "name": "Octocat App"}}, "repository": {...}}``
    """
    repo = repo_name(payload)
    suite = payload.child("check_suite")
    status, conclusion, _ = _conclusion(suite)
    app = suite.opt_child("app")
    fields = {
        "repo": repo,
        "provider": "github",
        "kind": "check_suite",
        "workflow": (app.opt_text("name") if app else None) or "",
        "name": (app.opt_text("slug") if app else None) or "",
        "run_id": suite.ident("id"),
        "head_sha": suite.opt_text("head_sha"),
        "head_branch": suite.opt_text("head_branch"),
        "status": status,
        "conclusion": conclusion,
        "started_at": suite.opt_time("created_at"),
        "finished_at": suite.opt_time("updated_at") if status == "completed" else None,
    }
    return [PipelineRunFact(f"github:{repo}:check_suite:{suite.ident('id')}", fields)]


def parse_issues(payload: Doc, received_at: datetime) -> list[Fact]:
    """``issues``: an issue and its labels; the team's incident label makes it an incident.

    The incident opens at the issue's creation (an outage is usually filed when it starts and labelled
    later), resolves at ``closed_at``; reopening clears the resolution.

    ``{"action": "labeled", "issue": {"number": 1, "title": "Checkout down", "body": "root cause: 0d1f…",
    "state": "open", "created_at": "…", "closed_at": null, "labels": [{"name": "incident"}],
    "html_url": "…"}, "repository": {...}}``
    """
    repo = repo_name(payload)
    issue = payload.child("issue")
    title = issue.opt_text("title") or ""
    body = issue.opt_text("body") or ""
    text = f"{title}\n\n{body}".strip()
    state = issue.opt_text("state") or "open"
    closed_at = issue.opt_time("closed_at")
    fields = {
        "source": "github",
        "repo": repo,
        "title": title,
        "text": text,
        "opened_at": issue.time("created_at"),
        "resolved_at": (closed_at or received_at) if state == "closed" else None,
        "url": issue.opt_text("html_url"),
        "root_cause_sha": root_cause_sha(text),
    }
    labels = tuple(label.text("name") for label in issue.children("labels"))
    return [
        IssueFact(
            repo,
            issue.integer("number", low=1),
            labels,
            deleted=payload.opt_text("action") in ("deleted", "transferred"),
            fields=fields,
            is_open=state != "closed",
        )
    ]


def parse_ping(payload: Doc, received_at: datetime) -> list[Fact]:
    """``ping``: GitHub checking the hook (``{"zen": "…", "hook_id": 1, "hook": {...}}``); nothing to store."""
    return []


PARSERS: dict[str, Callable[[Doc, datetime], list[Fact]]] = {
    "pull_request": parse_pull_request,
    "pull_request_review": parse_pull_request_review,
    "push": parse_push,
    "deployment": parse_deployment,
    "deployment_status": parse_deployment_status,
    "workflow_run": parse_workflow_run,
    "workflow_job": parse_workflow_job,
    "check_suite": parse_check_suite,
    "issues": parse_issues,
    "ping": parse_ping,
}


def parse_github(event: str, payload: Any, received_at: datetime) -> list[Fact]:
    """Facts of one GitHub delivery; ``Ignored`` for events the bot does not use."""
    parser = PARSERS.get(event)
    if parser is None:
        raise Ignored(f"GitHub {event[:60]!r} events are not used")
    return parser(Doc(payload), received_at)
