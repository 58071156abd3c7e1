"""GitHub REST objects → the fields of delivery rows (pure functions, no database, no HTTP).

Every function follows the conventions of ``bot.delivery.models`` so that a backfill and a webhook of
the same fact write the same row. Identities chosen here:

- deployment ``uid`` = ``github:<repo>:<deployment id>``; a deploy *workflow run* (``production.workflows``)
  is ``github:<repo>:run:<run id>`` with environment ``production``; both carry ``run_key``
  ``github:<repo>:run:<run id>`` when the run is known, so the records of one run count once;
- pipeline run ``uid`` = ``github:<repo>:run:<run id>:<attempt>`` (one row per attempt);
- incident ``uid`` = ``github:<issue id>`` (GitHub's global issue id, as in ``issues`` webhooks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.delivery.service import normalize_deployment_status

ROOT_CAUSE = re.compile(r"root[ _-]?cause:\s*([0-9a-f]{7,40})\b", re.IGNORECASE)
RUN_URL = re.compile(r"/actions/runs/(\d+)")
TERMINAL_DEPLOYMENT_STATUSES = ("success", "failure", "cancelled")


def parse_time(value: str | None) -> datetime | None:
    """``"2021-07-12T14:52:47Z"`` → an aware UTC datetime; ``None`` stays ``None``."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _login(user: dict[str, Any] | None) -> str | None:
    return user.get("login") if isinstance(user, dict) else None


def is_bot(user: dict[str, Any] | None) -> bool:
    """True for GitHub Apps and bot accounts (``type: Bot`` or a login ending in ``[bot]``)."""
    if not isinstance(user, dict):
        return False
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def _clip(text: str | None, limit: int) -> str:
    return (text or "")[:limit]


def pull_request_fields(pr: dict[str, Any]) -> dict[str, Any]:
    """Fields of ``upsert_pull_request`` from a pull request object (list item or single GET).

    ``{"number": 172, "state": "closed", "merged_at": "2021-07-12T14:52:47Z", "merge_commit_sha": "6348…",
    "user": {"login": "jdamick"}, "head": {"sha": "…", "ref": "fix"}, "base": {"ref": "master"}, …}``
    """
    merged_at = parse_time(pr.get("merged_at"))
    return {
        "title": _clip(pr.get("title"), 1000),
        "author_login": _login(pr.get("user")),
        "url": pr.get("html_url"),
        "state": "merged" if merged_at else pr.get("state", "open"),
        "draft": bool(pr.get("draft")),
        "created_at": parse_time(pr.get("created_at")),
        "merged_at": merged_at,
        "closed_at": parse_time(pr.get("closed_at")),
        "updated_at": parse_time(pr.get("updated_at")),
        # An unmerged PR's merge_commit_sha is GitHub's test merge, not a commit of the base branch.
        "merge_commit_sha": pr.get("merge_commit_sha") if merged_at else None,
        "head_sha": (pr.get("head") or {}).get("sha"),
        "head_ref": (pr.get("head") or {}).get("ref"),
        "base_ref": (pr.get("base") or {}).get("ref"),
        "additions": pr.get("additions"),
        "deletions": pr.get("deletions"),
        "changed_files": pr.get("changed_files"),
        "labels": [label["name"] for label in pr.get("labels") or [] if isinstance(label, dict) and "name" in label],
        "body": pr.get("body"),
    }


def _by_time(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((e for e in events if e.get("created_at")), key=lambda e: (e["created_at"], e.get("id") or 0))


def ready_at(pr: dict[str, Any], events: Iterable[dict[str, Any]]) -> datetime | None:
    """When the PR first became ready for review: ``created_at`` unless it was opened as a draft.

    A PR was opened as a draft when its first draft-related event is ``ready_for_review``.
    """
    first = next((e for e in _by_time(events) if e.get("event") in ("ready_for_review", "convert_to_draft")), None)
    if first is not None and first["event"] == "ready_for_review":
        return parse_time(first["created_at"])
    if first is None and pr.get("draft"):
        return None
    return parse_time(pr.get("created_at"))


def pr_commit_rows(commits: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``add_pr_commits`` from ``GET /pulls/{n}/commits``: the *author* date starts lead time."""
    rows = []
    for item in commits:
        commit = item.get("commit") or {}
        rows.append(
            {
                "sha": item["sha"],
                "authored_at": parse_time((commit.get("author") or {}).get("date")),
                "committed_at": parse_time((commit.get("committer") or {}).get("date")),
                "author_login": _login(item.get("author")),
                "message": _clip(commit.get("message"), 1000),
            }
        )
    return rows


def review_fields(review: dict[str, Any]) -> dict[str, Any] | None:
    """Fields of ``upsert_review`` (with ``ext_id``); ``None`` for a pending review not submitted yet."""
    submitted = parse_time(review.get("submitted_at"))
    state = str(review.get("state") or "").lower()
    if submitted is None or state == "pending":
        return None
    return {
        "ext_id": str(review["id"]),
        "reviewer_login": _login(review.get("user")),
        "reviewer_is_bot": is_bot(review.get("user")),
        "state": state,
        "submitted_at": submitted,
    }


ISSUE_NUMBER = re.compile(r"/issues/(\d+)$")


def comment_fields(comment: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """``(issue number, upsert_review fields)`` of a conversation comment; ``None`` when it names no issue.

    ``{"id": 1, "issue_url": "https://api.github.com/repos/o/r/issues/7", "user": {"login": "bob"},
    "created_at": "2021-07-12T10:00:00Z", …}`` → ``(7, {"ext_id": "comment:1", "state": "comment", …})``
    """
    match = ISSUE_NUMBER.search(str(comment.get("issue_url") or ""))
    submitted = parse_time(comment.get("created_at"))
    if match is None or submitted is None:
        return None
    return int(match.group(1)), {
        "ext_id": f"comment:{comment['id']}",
        "reviewer_login": _login(comment.get("user")),
        "reviewer_is_bot": is_bot(comment.get("user")) or comment.get("performed_via_github_app") is not None,
        "state": "comment",
        "submitted_at": submitted,
    }


def _reviewer(event: dict[str, Any]) -> str | None:
    team = event.get("requested_team")
    if isinstance(team, dict) and team.get("slug"):
        return f"team:{team['slug']}"
    return _login(event.get("requested_reviewer"))


def review_requests(
    pr: dict[str, Any], events: list[dict[str, Any]], reviews: Iterable[dict[str, Any]]
) -> list[tuple[str, datetime, datetime | None]]:
    """``(reviewer, requested_at, removed_at)`` for every review request of a PR, from its issue events.

    A request ends when it is removed, or when the reviewer (any reviewer other than the author, for a
    team) submits a review; reviewers GitHub still lists as requested are pending whatever the events
    say, and pending ones the events do not explain are dated from when the PR became ready.
    """
    requests: dict[str, list[Any]] = {}
    for event in _by_time(events):
        reviewer = _reviewer(event)
        if reviewer is None:
            continue
        at = parse_time(event["created_at"])
        if event.get("event") == "review_requested":
            requests[reviewer] = [at, None]
        elif event.get("event") == "review_request_removed" and reviewer in requests and requests[reviewer][1] is None:
            requests[reviewer][1] = at
    author = _login(pr.get("user"))
    submitted = sorted(
        (fields["submitted_at"], fields["reviewer_login"])
        for fields in (review_fields(r) for r in reviews)
        if fields is not None and fields["reviewer_login"] and fields["reviewer_login"] != author
    )
    pending = {_login(u) for u in pr.get("requested_reviewers") or []} | {
        f"team:{t['slug']}" for t in pr.get("requested_teams") or [] if isinstance(t, dict) and t.get("slug")
    }
    pending.discard(None)
    for reviewer, span in requests.items():
        if span[1] is not None or reviewer in pending:
            continue
        team = reviewer.startswith("team:")
        answered = next((at for at, login in submitted if at >= span[0] and (team or login == reviewer)), None)
        span[1] = answered or parse_time(pr.get("closed_at")) or parse_time(pr.get("updated_at"))
    start = ready_at(pr, events) or parse_time(pr.get("created_at"))
    for reviewer in pending:
        if reviewer not in requests and start is not None:
            requests[str(reviewer)] = [start, None]
        elif reviewer in requests:
            requests[str(reviewer)][1] = None
    return [(reviewer, span[0], span[1]) for reviewer, span in sorted(requests.items())]


def run_key_of(repo: str, *urls: str | None) -> str | None:
    """``github:<repo>:run:<id>`` when a status or log URL points at an Actions run."""
    for url in urls:
        match = RUN_URL.search(url or "")
        if match:
            return f"github:{repo}:run:{match.group(1)}"
    return None


def deployment_fields(repo: str, deployment: dict[str, Any], statuses: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Fields of ``upsert_deployment`` (with ``uid``) from a deployment and its statuses (any order).

    The final status decides (``inactive`` never does); ``finished_at`` is when it was reached.
    """
    ordered = _by_time(statuses)
    final = None
    for status in ordered:
        if normalize_deployment_status(status.get("state")) is not None:
            final = status
    state = normalize_deployment_status(final.get("state")) if final else "pending"
    payload = deployment.get("payload")
    explicit_rollback = "rollback" in str(deployment.get("task") or "").lower() or (
        isinstance(payload, dict) and bool(payload.get("rollback"))
    )
    urls = [u for s in ordered for u in (s.get("log_url"), s.get("target_url"))]
    return {
        "uid": f"github:{repo}:{deployment['id']}",
        "ext_id": str(deployment["id"]),
        "source": "github",
        "repo": repo,
        "environment": deployment.get("environment") or "",
        "sha": deployment.get("sha"),
        "ref": deployment.get("ref"),
        "status": state,
        "started_at": parse_time(deployment.get("created_at")),
        "finished_at": parse_time(final.get("created_at")) if final and state in TERMINAL_DEPLOYMENT_STATUSES else None,
        "url": (final or {}).get("log_url") or (final or {}).get("target_url") or None,
        "is_rollback": True if explicit_rollback else None,
        "run_key": run_key_of(repo, *urls),
        "creator_login": _login(deployment.get("creator")),
        "description": _clip(deployment.get("description"), 2000) or None,
    }


def workflow_run_fields(repo: str, run: dict[str, Any]) -> dict[str, Any]:
    """Fields of ``upsert_pipeline_run`` (with ``uid``) for one attempt of a workflow run."""
    attempt = int(run.get("run_attempt") or 1)
    status = str(run.get("status") or "").lower() or "completed"
    conclusion = str(run.get("conclusion") or "").lower() or None
    return {
        "uid": f"github:{repo}:run:{run['id']}:{attempt}",
        "provider": "github",
        "kind": "run",
        "repo": repo,
        "workflow": _clip(run.get("name"), 300),
        "name": _clip(run.get("display_title") or run.get("name"), 300),
        "run_id": str(run["id"]),
        "attempt": attempt,
        "head_sha": run.get("head_sha"),
        "head_branch": run.get("head_branch"),
        "event": run.get("event"),
        "status": status,
        "conclusion": conclusion,
        "started_at": parse_time(run.get("run_started_at") or run.get("created_at")),
        "finished_at": parse_time(run.get("updated_at")) if status == "completed" else None,
        "url": run.get("html_url"),
        "actor_login": _login(run.get("triggering_actor") or run.get("actor")),
        "extra": {k: run[k] for k in ("path", "workflow_id", "run_number", "check_suite_id") if run.get(k) is not None},
    }


def is_deploy_workflow(run: dict[str, Any], workflows: Iterable[str]) -> bool:
    """True when a run belongs to one of the configured deploy workflows (file name, path or name)."""
    path = str(run.get("path") or "")
    names = {path, path.rsplit("/", 1)[-1], str(run.get("name") or "")}
    return any(w in names for w in workflows)


_RUN_CONCLUSIONS = {"success": "success", "cancelled": "cancelled", "skipped": "cancelled", "neutral": "cancelled"}


def workflow_deployment_fields(repo: str, run: dict[str, Any], environment: str = "production") -> dict[str, Any]:
    """Fields of ``upsert_deployment`` for a run of a configured deploy workflow.

    Identities match the webhook's: uid ``github:<repo>:run-<id>``, run key ``github:<repo>:run:<id>``.
    """
    status = str(run.get("status") or "").lower()
    conclusion = str(run.get("conclusion") or "").lower()
    if status != "completed":
        state = "in_progress" if status == "in_progress" else "pending"
    else:
        state = _RUN_CONCLUSIONS.get(conclusion, "failure")
    key = f"github:{repo}:run:{run['id']}"
    return {
        "uid": f"github:{repo}:run-{run['id']}",
        "ext_id": str(run["id"]),
        "source": "github",
        "repo": repo,
        "environment": environment,
        "sha": run.get("head_sha"),
        "ref": run.get("head_branch"),
        "status": state,
        "started_at": parse_time(run.get("run_started_at") or run.get("created_at")),
        "finished_at": parse_time(run.get("updated_at")) if state in TERMINAL_DEPLOYMENT_STATUSES else None,
        "url": run.get("html_url"),
        "run_key": key,
        "creator_login": _login(run.get("triggering_actor") or run.get("actor")),
        "description": _clip(run.get("display_title") or run.get("name"), 2000) or None,
    }


def incident_fields(repo: str, issue: dict[str, Any]) -> dict[str, Any]:
    """Fields of ``upsert_incident`` (with ``uid``) from an issue carrying the team's incident label.

    An open issue passes ``reopened=True`` so a resolution stored earlier is cleared.
    """
    title = _clip(issue.get("title"), 1000)
    body = issue.get("body") or ""
    marker = ROOT_CAUSE.search(body)
    closed = issue.get("state") == "closed"
    return {
        "uid": f"github:{repo}#{issue['number']}",  # the webhook's identity for the same issue
        "source": "github",
        "repo": repo,
        "title": title,
        "text": f"{title}\n\n{body}".strip(),
        "opened_at": parse_time(issue.get("created_at")),
        "resolved_at": parse_time(issue.get("closed_at")) if closed else None,
        "url": issue.get("html_url"),
        "root_cause_sha": marker.group(1).lower() if marker else None,
        "reopened": not closed,
    }


def compare_commit_fields(item: dict[str, Any], *, branch: str | None, push_key: str) -> dict[str, Any]:
    """Fields of ``upsert_commit`` (with ``sha``) for a commit the compare API lists between two deployments.

    ``landed_at`` is the committer date (when the commit was made on the branch, or rebased/merged onto it).
    """
    commit = item.get("commit") or {}
    author = commit.get("author") or {}
    return {
        "sha": item["sha"],
        "branch": branch,
        "authored_at": parse_time(author.get("date")),
        "landed_at": parse_time((commit.get("committer") or {}).get("date")),
        "push_key": push_key,
        "author_login": _login(item.get("author")),
        "author_email": author.get("email"),
        "message": _clip(commit.get("message"), 1000),
    }
