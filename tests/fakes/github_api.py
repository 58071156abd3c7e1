"""A local fake of the GitHub REST API over real HTTP, answering with the recorded shapes of ``../shared``.

``FakeGitHub`` serves repositories made of recorded objects (DevLake's raw captures of
``panjf2000/ants``: pull requests, their commits and reviews, workflow runs; hub4j's recorded response
headers; the OpenAPI examples of deployments and statuses; the compare answer recorded by hub4j; an
issue recorded by integrations/slack). Objects the recordings lack (deployments of this repository, its
production history, incident issues, issue events) are built from those recorded shapes.

It behaves like GitHub where the backfill cares: ``page``/``per_page`` pagination with absolute
``Link`` headers, ``ETag`` + ``304`` on ``If-None-Match`` (free of the rate limit), a primary rate limit
(``403`` with ``X-RateLimit-Remaining: 0`` once the budget is spent), 401 for a wrong token, 404 for an
unknown repository, and scripted faults (a ``502`` once, a ``Retry-After``, a permission ``403``).
Every request is recorded.
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

REST = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "github-rest"
DOCS = "https://docs.github.com/rest"
REPO = "panjf2000/ants"


def load_json(relative: str) -> Any:
    """A recorded JSON file under ``fixtures/github-rest``."""
    return json.loads((REST / relative).read_text(encoding="utf-8"))


def load_devlake(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(input, data)`` of each row of a DevLake raw table, duplicates (same object id) dropped."""
    csv.field_size_limit(1 << 30)
    rows, seen = [], set()
    with (REST / "devlake-raw-api" / name).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            data = json.loads(row["data"])
            key = (row["input"], data.get("id") or data.get("sha"))
            if key in seen:
                continue
            seen.add(key)
            rows.append((json.loads(row["input"]) if row["input"] not in ("", "null") else {}, data))
    return rows


@functools.cache
def recorded_headers() -> dict[str, str]:
    """Response headers GitHub sent in a hub4j recording, minus the per-answer ones the fake computes."""
    mapping = load_json("hub4j-recorded/GHPullRequestTest__getListOfCommits/20-r_h_g_pulls_473_commits.mapping.json")
    skip = ("date", "etag", "last-modified", "link", "x-ratelimit", "content-length", "github-authentication")
    headers = {}
    for name, value in mapping["response"]["headers"].items():
        if not name.lower().startswith(skip):
            headers[name] = ", ".join(value) if isinstance(value, list) else str(value)
    return headers


def iso(moment: datetime) -> str:
    """GitHub's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str) -> datetime:
    """GitHub's timestamp format back to a datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class FakeRepo:
    """The state of one repository as the fake API serves it."""

    full_name: str
    info: dict[str, Any] = field(default_factory=dict)  # GET /repos/{owner}/{repo}
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> single GET body
    pull_commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pull_reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issue_events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    deployment_statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    run_attempts: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)  # conversation comments of issues and PRs
    history: list[dict[str, Any]] = field(default_factory=list)  # default-branch commits, oldest first

    def add_deployment(
        self, *, sha: str, environment: str, created: datetime, states: list[tuple[str, datetime]], ref: str = "master"
    ) -> dict[str, Any]:
        """A deployment built from the OpenAPI example, with statuses built from its status example."""
        template = load_json("openapi-examples-2020/repos-list-deployments.200.default.json")[0]
        status_template = load_json("openapi-examples-2020/repos-list-deployment-statuses.200.default.json")[0]
        deployment_id = 900_000 + len(self.deployments) + 1
        base = f"https://api.github.com/repos/{self.full_name}/deployments/{deployment_id}"
        deployment = copy.deepcopy(template)
        deployment.update(
            id=deployment_id,
            url=base,
            statuses_url=f"{base}/statuses",
            repository_url=f"https://api.github.com/repos/{self.full_name}",
            sha=sha,
            ref=ref,
            environment=environment,
            original_environment=environment,
            production_environment=environment == "production",
            created_at=iso(created),
            updated_at=iso(states[-1][1] if states else created),
        )
        self.deployments.append(deployment)
        statuses = []
        for i, (state, at) in enumerate(states, 1):
            status = copy.deepcopy(status_template)
            status.update(
                id=deployment_id * 10 + i,
                url=f"{base}/statuses/{deployment_id * 10 + i}",
                state=state,
                environment=environment,
                created_at=iso(at),
                updated_at=iso(at),
                deployment_url=base,
                target_url=f"https://github.com/{self.full_name}/actions/runs/{deployment_id}",
                log_url=f"https://github.com/{self.full_name}/actions/runs/{deployment_id}",
            )
            statuses.append(status)
        self.deployment_statuses[deployment_id] = list(reversed(statuses))  # GitHub lists newest first
        return deployment

    def add_commit(self, *, sha: str, message: str, authored: datetime, committed: datetime, login: str) -> None:
        """A default-branch commit, shaped like the commits of hub4j's recorded compare answer."""
        template = load_json(
            "hub4j-recorded/GHRepositoryTest__listCommitsBetweenPaginated/5-r_h_g_compare_e46a9f3f.body.json"
        )
        commit = copy.deepcopy(template["commits"][0])
        commit["sha"] = sha
        commit["commit"]["message"] = message
        commit["commit"]["author"].update(name=login, email=f"{login}@users.noreply.github.com", date=iso(authored))
        commit["commit"]["committer"].update(name="GitHub", email="noreply@github.com", date=iso(committed))
        commit["author"] = dict(commit["author"], login=login)
        self.history.append(commit)

    def add_issue(
        self,
        *,
        number: int,
        title: str,
        body: str,
        labels: list[str],
        created: datetime,
        closed: datetime | None,
        pull_request: bool = False,
    ) -> dict[str, Any]:
        """An issue built from the one integrations/slack recorded."""
        issue = copy.deepcopy(load_json("integrations-slack-fixtures/issue.json"))
        issue.update(
            id=5_000_000 + number,
            number=number,
            title=title,
            body=body,
            labels=[
                {"id": 100 + i, "name": name, "color": "d73a4a", "default": False} for i, name in enumerate(labels)
            ],
            state="closed" if closed else "open",
            created_at=iso(created),
            closed_at=iso(closed) if closed else None,
            updated_at=iso(closed or created),
            html_url=f"https://github.com/{self.full_name}/issues/{number}",
            url=f"https://api.github.com/repos/{self.full_name}/issues/{number}",
        )
        if pull_request:
            issue["pull_request"] = {"url": f"https://api.github.com/repos/{self.full_name}/pulls/{number}"}
        self.issues.append(issue)
        return issue

    def add_comment(self, *, number: int, user: dict[str, Any], at: datetime, body: str) -> dict[str, Any]:
        """A conversation comment with the fields of octokit's ``issue-comment`` schema."""
        comment_id = 7_000_000 + len(self.comments) + 1
        api = f"https://api.github.com/repos/{self.full_name}/issues"
        comment = {
            "url": f"{api}/comments/{comment_id}",
            "html_url": f"https://github.com/{self.full_name}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{api}/{number}",
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "user": copy.deepcopy(user),
            "created_at": iso(at),
            "updated_at": iso(at),
            "author_association": "CONTRIBUTOR",
            "body": body,
            "reactions": {
                "url": f"{api}/comments/{comment_id}/reactions",
                "total_count": 0,
                **dict.fromkeys(("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket"), 0),
            },
            "performed_via_github_app": None,
        }
        self.comments.append(comment)
        return comment

    def touch_pull(self, number: int, at: datetime) -> None:
        """The PR changed at ``at`` (as a new review or push would make it)."""
        self.pulls[number]["updated_at"] = iso(at)


def _user(pull: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(pull["user"])


def _event(event_id: int, kind: str, at: datetime, actor: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "node_id": f"MDE{event_id}",
        "url": f"https://api.github.com/repos/{REPO}/issues/events/{event_id}",
        "actor": actor,
        "event": kind,
        "commit_id": None,
        "commit_url": None,
        "created_at": iso(at),
        "performed_via_github_app": None,
        **extra,
    }


def ants_repo() -> FakeRepo:
    """``panjf2000/ants`` from DevLake's captures, with a production history built on its merged PRs.

    Production deployments follow each PR merged from 2020-10 on (one failed, one re-deployed to
    staging), incidents are issues labelled ``incident``, and a few PRs carry review-request and
    ready-for-review events.
    """
    repo = FakeRepo(REPO)
    details = load_json("hub4j-recorded/GHPullRequestTest__checkPullRequestReviewer/4-r_h_g_pulls_6.body.json")
    for _input, pull in load_devlake("_raw_github_api_pull_requests.csv"):
        body = copy.deepcopy(pull)
        for key in ("additions", "deletions", "changed_files", "commits", "comments", "review_comments"):
            body[key] = int(details.get(key) or 1) * (1 + pull["number"] % 7)
        repo.pulls[pull["number"]] = body
        repo.info = copy.deepcopy(pull["base"]["repo"])  # the full repository object GitHub embeds
    for source, target in (
        ("_raw_github_api_pull_request_commits.csv", repo.pull_commits),
        ("_raw_github_api_pull_request_reviews.csv", repo.pull_reviews),
    ):
        for inp, data in load_devlake(source):
            target.setdefault(int(inp["Number"]), []).append(data)
    for _input, run in load_devlake("_raw_github_api_runs.csv"):
        repo.runs.append(run)
        for attempt in range(1, int(run.get("run_attempt") or 1)):
            earlier = copy.deepcopy(run)
            started = parse(run["created_at"])
            earlier.update(
                run_attempt=attempt,
                status="completed",
                conclusion="failure",
                run_started_at=iso(started),
                updated_at=iso(started + timedelta(minutes=4)),
                previous_attempt_url=None,
            )
            repo.run_attempts[(run["id"], attempt)] = earlier
    repo.runs.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)

    merged = sorted((p for p in repo.pulls.values() if p["merged_at"]), key=lambda p: p["merged_at"])
    for pull in merged:
        at = parse(pull["merged_at"])
        repo.add_commit(
            sha=pull["merge_commit_sha"],
            message=f"Merge pull request #{pull['number']} from {pull['head']['label']}\n\n{pull['title']}",
            authored=at,
            committed=at,
            login=pull["user"]["login"],
        )
    # A direct push between two merges, so a change set holds more than merge commits.
    direct_at = parse("2021-09-14T08:00:00Z")
    repo.add_commit(
        sha="d1rec7" + "0" * 34,
        message="Fix typo in README",
        authored=direct_at - timedelta(hours=1),
        committed=direct_at,
        login="panjf2000",
    )
    repo.history.sort(key=lambda c: c["commit"]["committer"]["date"])

    production = [p for p in merged if p["merged_at"] >= "2020-10-01"]
    for i, pull in enumerate(production):
        at = parse(pull["merged_at"]) + timedelta(minutes=30)
        states = [("in_progress", at + timedelta(minutes=1)), ("success", at + timedelta(minutes=10))]
        if pull["number"] == 185:
            states = [("in_progress", at + timedelta(minutes=1)), ("error", at + timedelta(minutes=6))]
        if i == len(production) - 1:
            states.append(("inactive", at + timedelta(days=1)))
        repo.add_deployment(sha=pull["merge_commit_sha"], environment="production", created=at, states=states)
        if pull["number"] == 186:
            repo.add_deployment(
                sha=pull["merge_commit_sha"],
                environment="staging",
                created=at - timedelta(minutes=20),
                states=[("success", at - timedelta(minutes=15))],
            )
    repo.deployments.sort(key=lambda d: (d["created_at"], d["id"]), reverse=True)

    pull_172 = repo.pulls[172]
    repo.add_issue(
        number=300,
        title="Pool hangs after upgrade",
        body=f"Workers never return.\n\nroot cause: {pull_172['merge_commit_sha'][:12]}",
        labels=["incident", "bug"],
        created=parse(pull_172["merged_at"]) + timedelta(hours=5),
        closed=parse(pull_172["merged_at"]) + timedelta(hours=9),
    )
    for number, title, labels, created, closed, is_pull in (
        (301, "Latency spike", ["incident"], "2022-01-31T06:00:00Z", None, False),
        (302, "Mark flaky test", ["incident"], "2021-11-01T06:00:00Z", "2021-11-01T07:00:00Z", True),
        (303, "Docs typo", ["documentation"], "2021-11-02T06:00:00Z", None, False),
    ):
        repo.add_issue(
            number=number,
            title=title,
            body="",
            labels=labels,
            created=parse(created),
            closed=parse(closed) if closed else None,
            pull_request=is_pull,
        )

    reviewer = copy.deepcopy(repo.pulls[206]["user"])
    maintainer = next(
        r["user"] for reviews in repo.pull_reviews.values() for r in reviews if r["user"]["login"] == "panjf2000"
    )
    open_pull = repo.pulls[211]
    opened = parse(open_pull["created_at"])
    open_pull["requested_reviewers"] = [copy.deepcopy(maintainer)]
    repo.issue_events[211] = [
        _event(
            1,
            "review_requested",
            opened + timedelta(hours=2),
            _user(open_pull),
            review_requester=_user(open_pull),
            requested_reviewer=copy.deepcopy(maintainer),
        ),
        _event(
            2,
            "review_requested",
            opened + timedelta(hours=3),
            _user(open_pull),
            review_requester=_user(open_pull),
            requested_reviewer=reviewer,
        ),
        _event(
            3,
            "review_request_removed",
            opened + timedelta(hours=4),
            _user(open_pull),
            review_requester=_user(open_pull),
            requested_reviewer=reviewer,
        ),
    ]
    # Conversation on PR 172: its author, a reviewer before any review was submitted, a bot; and one on an issue.
    merged_at = parse(pull_172["merged_at"])
    bot = dict(copy.deepcopy(reviewer), login="codecov[bot]", id=22429695, type="Bot")
    repo.add_comment(number=172, user=bot, at=merged_at - timedelta(hours=30), body="Coverage: 98%")
    repo.add_comment(number=172, user=maintainer, at=merged_at - timedelta(hours=20), body="Could this race?")
    repo.add_comment(number=172, user=pull_172["user"], at=merged_at - timedelta(hours=19), body="Fixed.")
    repo.add_comment(number=300, user=maintainer, at=merged_at + timedelta(hours=6), body="Rolling back.")

    draft = repo.pulls[210]
    repo.issue_events[210] = [
        _event(4, "labeled", parse(draft["created_at"]) + timedelta(minutes=5), _user(draft), label={"name": "x"}),
        _event(5, "ready_for_review", parse(draft["created_at"]) + timedelta(hours=6), _user(draft)),
    ]
    return repo


@dataclass
class Fault:
    """A scripted answer for requests whose path matches ``pattern``: after ``after`` matches, ``times`` times."""

    pattern: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    after: int = 0
    seen: int = 0


@dataclass
class RecordedRequest:
    """A request the fake received and what it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0


class FakeGitHub:
    """The fake API server; use as a context manager, point ``GITHUB_API_URL`` at ``base_url``."""

    def __init__(self, *, token: str = "ghp_test_token", rate_limit: int = 5000):  # noqa: S107 - a test token
        self.token = token
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.limit = rate_limit
        self.remaining = rate_limit
        self.reset_at = int(time.time()) + 3600
        self.scopes = "repo, workflow"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- scripting ------------------------------------------------------------------------------

    def fail(
        self,
        pattern: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        after: int = 0,
    ) -> Fault:
        """Answer ``status`` to the next ``times`` requests matching ``pattern`` (after skipping ``after``)."""
        fault = Fault(pattern, status, dict(headers or {}), body, times, after)
        self.faults.append(fault)
        return fault

    def spend_budget(self, remaining: int, *, reset_in: float = 3600) -> None:
        """Leave ``remaining`` requests in the primary rate limit, resetting ``reset_in`` seconds from now."""
        self.remaining = remaining
        self.reset_at = int(time.time() + reset_in)

    def refill(self) -> None:
        """A new rate-limit window."""
        self.remaining = self.limit
        self.reset_at = int(time.time()) + 3600

    def requests_to(self, pattern: str) -> list[RecordedRequest]:
        """Recorded requests whose path matches ``pattern``."""
        return [r for r in self.requests if re.search(pattern, r.path)]

    # --- answering ------------------------------------------------------------------------------

    def rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_at),
            "X-RateLimit-Used": str(self.limit - max(0, self.remaining)),
            "X-RateLimit-Resource": "core",
        }

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one request."""
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.pattern, path):
                    fault.seen += 1
                    if fault.seen > fault.after:
                        fault.times -= 1
                        body = json.dumps(fault.body if fault.body is not None else {"message": "fault"}).encode()
                        extra = {**self.rate_headers(), **fault.headers}
                        return fault.status, extra, body
            auth = headers.get("authorization", "")
            if auth not in (f"Bearer {self.token}", f"token {self.token}"):
                return self._json(401, {"message": "Bad credentials", "documentation_url": DOCS}, charge=False)
            if self.remaining <= 0:
                return self._json(
                    403,
                    {
                        "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support "
                        "for help, please include the request ID.",
                        "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                    },
                    charge=False,
                )
            routed = self._route(path, query)
            if routed is None:
                return self._json(404, {"message": "Not Found", "documentation_url": DOCS})
            status, body, link = routed
            payload = json.dumps(body).encode()
            etag = 'W/"' + hashlib.sha256(payload).hexdigest() + '"'
            if status == 200 and headers.get("if-none-match") == etag:
                extra = {**self.rate_headers(), "ETag": etag}
                return 304, extra, b""
            return self._json(status, body, etag=etag, link=link)

    def _json(
        self, status: int, body: Any, *, etag: str | None = None, link: str | None = None, charge: bool = True
    ) -> tuple[int, dict[str, str], bytes]:
        if charge:
            self.remaining -= 1
        headers = self.rate_headers()
        if etag and status == 200:
            headers["ETag"] = etag
        if link:
            headers["Link"] = link
        return status, headers, json.dumps(body).encode()

    def _paged(
        self,
        path: str,
        query: dict[str, str],
        items: list[Any],
        wrap: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[int, Any, str | None]:
        per_page = max(1, min(100, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def url(n: int) -> str:
            return f"{self.base_url}{path}?{urlencode({**query, 'page': str(n)})}"

        links = []
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        body: Any = chunk if wrap is None else {**(extra or {}), wrap: chunk}
        return 200, body, ", ".join(links) or None

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, Any, str | None] | None:
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not match or match.group(1) not in self.repos:
            return None
        repo, rest = self.repos[match.group(1)], match.group(2) or ""
        if rest == "":
            return 200, repo.info or {"full_name": repo.full_name, "default_branch": "main"}, None
        if rest == "/pulls":
            pulls = list(repo.pulls.values())
            state = query.get("state", "open")
            if state != "all":
                pulls = [p for p in pulls if p["state"] == state]
            key = "updated_at" if query.get("sort") == "updated" else "created_at"
            pulls.sort(key=lambda p: (p[key], p["number"]), reverse=query.get("direction", "desc") == "desc")
            return self._paged(path, query, pulls)
        if m := re.fullmatch(r"/pulls/(\d+)", rest):
            pull = repo.pulls.get(int(m.group(1)))
            return None if pull is None else (200, pull, None)
        if m := re.fullmatch(r"/pulls/(\d+)/(commits|reviews)", rest):
            source = repo.pull_commits if m.group(2) == "commits" else repo.pull_reviews
            return self._paged(path, query, source.get(int(m.group(1)), []))
        if m := re.fullmatch(r"/pulls/(\d+)/requested_reviewers", rest):
            pull = repo.pulls.get(int(m.group(1)))
            return None if pull is None else (200, {"users": pull["requested_reviewers"], "teams": []}, None)
        if m := re.fullmatch(r"/issues/(\d+)/events", rest):
            return self._paged(path, query, repo.issue_events.get(int(m.group(1)), []))
        if rest == "/issues/comments":
            comments = [c for c in repo.comments if c["updated_at"] >= query.get("since", "")]
            comments.sort(key=lambda c: (c["updated_at"], c["id"]), reverse=query.get("direction") == "desc")
            return self._paged(path, query, comments)
        if rest == "/issues":
            wanted = [w for w in query.get("labels", "").split(",") if w]
            issues = [i for i in repo.issues if all(w in {label["name"] for label in i["labels"]} for w in wanted)]
            if query.get("state", "open") != "all":
                issues = [i for i in issues if i["state"] == query.get("state", "open")]
            if query.get("since"):
                issues = [i for i in issues if i["updated_at"] >= query["since"]]
            issues.sort(key=lambda i: i["updated_at"], reverse=query.get("direction", "desc") == "desc")
            return self._paged(path, query, issues)
        if rest == "/deployments":
            deployments = [d for d in repo.deployments if query.get("environment") in (None, d["environment"])]
            return self._paged(path, query, deployments)
        if m := re.fullmatch(r"/deployments/(\d+)/statuses", rest):
            statuses = repo.deployment_statuses.get(int(m.group(1)))
            return None if statuses is None else self._paged(path, query, statuses)
        if rest == "/actions/runs":
            return self._paged(path, query, repo.runs, wrap="workflow_runs", extra={"total_count": len(repo.runs)})
        if m := re.fullmatch(r"/actions/runs/(\d+)/attempts/(\d+)", rest):
            attempt = repo.run_attempts.get((int(m.group(1)), int(m.group(2))))
            return None if attempt is None else (200, attempt, None)
        if m := re.fullmatch(r"/compare/([0-9a-zA-Z]+)\.\.\.([0-9a-zA-Z]+)", rest):
            return self._compare(path, query, repo, m.group(1), m.group(2))
        return None

    def _compare(
        self, path: str, query: dict[str, str], repo: FakeRepo, base: str, head: str
    ) -> tuple[int, Any, str | None] | None:
        shas = [c["sha"] for c in repo.history]
        if base not in shas or head not in shas:
            return None
        b, h = shas.index(base), shas.index(head)
        commits = repo.history[b + 1 : h + 1] if h > b else []
        template = load_json(
            "hub4j-recorded/GHRepositoryTest__listCommitsBetweenPaginated/5-r_h_g_compare_e46a9f3f.body.json"
        )
        status = "identical" if b == h else ("ahead" if h > b else "behind")
        extra = {k: v for k, v in template.items() if k not in ("commits", "files")}
        extra.update(
            status=status,
            ahead_by=max(0, h - b),
            behind_by=max(0, b - h),
            total_commits=len(commits),
            base_commit=repo.history[b],
            merge_base_commit=repo.history[min(b, h)],
            files=[],
        )
        return self._paged(path, query, commits, wrap="commits", extra=extra)


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in one write (flushed per request): no delayed-ACK stalls on keep-alive.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            query = dict(parse_qsl(parts.query))
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = RecordedRequest("GET", path, query, headers)
            with fake._lock:
                fake.requests.append(record)
            status, extra, body = fake.answer("GET", path, query, headers)
            record.status = status
            self.send_response(status)
            for name, value in {**recorded_headers(), **extra}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def serve(repos: list[FakeRepo] | None = None, **kwargs: Any) -> Iterator[FakeGitHub]:
    """A running fake with the given repositories (``ants_repo()`` by default)."""
    with FakeGitHub(**kwargs) as fake:
        for repo in repos if repos is not None else [ants_repo()]:
            fake.repos[repo.full_name] = repo
        yield fake
