"""A small client of the GitHub REST API over an injected ``httpx.Client``.

It knows what every caller needs and nothing about what they do with the data:

- token auth, ``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version`` and a ``User-Agent``;
  the token is only ever sent to the configured API origin (a ``Link`` elsewhere is refused);
- pagination through ``Link: <…>; rel="next"`` for list answers and for object answers that wrap a
  list (``{"workflow_runs": [...]}``, compare's ``commits``);
- conditional requests: an ``ETag`` cache sends ``If-None-Match`` and a ``304`` reuses the cached body
  (GitHub does not charge a 304 to the primary rate limit);
- the primary rate limit (``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``): a short wait is sat out
  with a countdown, a long one stops with ``GitHubRateLimitError``; secondary limits honour
  ``Retry-After``; 5xx answers and connection errors are retried with exponential backoff and jitter;
- typed errors whose message says what to do (401 token, 403 scope or SSO, 404 repository).
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "sei-bot (software engineering intelligence in Slack)"
MEDIA_TYPE = "application/vnd.github+json"

# Called while the client waits: (seconds left, why). A final call with 0 says the wait is over.
WaitListener = Callable[[float, str], None]


class GitHubError(Exception):
    """A GitHub answer the caller cannot get past; ``str()`` is a message for the person running sei-bot."""

    def __init__(self, message: str, *, status: int | None = None, method: str = "GET", path: str = ""):
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path


class GitHubAuthError(GitHubError):
    """401: the token is missing, invalid, expired or revoked."""


class GitHubPermissionError(GitHubError):
    """403 that is not a rate limit: the token lacks a scope or permission, or needs SSO authorisation."""

    def __init__(self, message: str, *, scope: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.scope = scope


class GitHubNotFoundError(GitHubError):
    """404: the repository (or object) does not exist, or the token cannot see it."""


class GitHubRateLimitError(GitHubError):
    """The rate limit is exhausted for longer than the client is willing to wait."""

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class GitHubUnavailableError(GitHubError):
    """GitHub kept answering 5xx, or could not be reached, after every retry."""


@dataclass(frozen=True)
class RateLimit:
    """The primary rate-limit budget as of the last answer."""

    limit: int
    remaining: int
    reset_at: datetime
    used: int | None = None
    resource: str = "core"

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Read ``X-RateLimit-*`` headers; ``None`` when an answer carries none."""
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC)
        except (KeyError, ValueError):
            return None
        used = headers.get("x-ratelimit-used")
        return cls(
            limit=limit,
            remaining=remaining,
            reset_at=reset,
            used=int(used) if used and used.isdigit() else None,
            resource=headers.get("x-ratelimit-resource", "core"),
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries before giving up.

    ``attempts`` bounds tries of one request on 5xx and connection errors (backoff ``backoff * 2**n``
    capped at ``backoff_cap``, with full jitter). A primary rate limit that resets within
    ``max_reset_wait`` seconds is waited out, longer ones raise ``GitHubRateLimitError``; a
    ``Retry-After`` up to ``max_retry_after`` seconds is honoured, ``rate_limit_waits`` times at most.
    """

    attempts: int = 5
    backoff: float = 1.0
    backoff_cap: float = 32.0
    max_retry_after: float = 600.0
    max_reset_wait: float = 900.0
    rate_limit_waits: int = 5


@dataclass(frozen=True)
class CachedResponse:
    """What a conditional request needs to reuse an earlier ``200``: its ETag, body and ``Link`` header."""

    etag: str
    body: bytes
    link: str | None = None


class ETagCache(Protocol):
    """Storage of earlier answers by URL (in memory, or a table so that a second run benefits)."""

    def get(self, url: str) -> CachedResponse | None: ...

    def put(self, url: str, response: CachedResponse) -> None: ...


class MemoryETagCache:
    """An ``ETagCache`` for one process."""

    def __init__(self) -> None:
        self.entries: dict[str, CachedResponse] = {}

    def get(self, url: str) -> CachedResponse | None:
        """The cached answer for ``url``, if any."""
        return self.entries.get(url)

    def put(self, url: str, response: CachedResponse) -> None:
        """Remember the answer for ``url``."""
        self.entries[url] = response


@dataclass
class Page:
    """One page of a list answer."""

    url: str
    items: list[Any]
    body: Any
    next_url: str | None
    last_page: int | None = None
    from_cache: bool = False


@dataclass
class ClientStats:
    """What the client did, for progress displays and tests."""

    requests: int = 0  # answers received (every status, 304 included)
    not_modified: int = 0  # 304 answers served from the ETag cache (free of the primary rate limit)
    retries: int = 0
    waited_s: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)


def parse_link_header(value: str | None) -> dict[str, str]:
    """``<url>; rel="next", <url>; rel="last"`` → ``{"next": url, "last": url}``."""
    links: dict[str, str] = {}
    for part in (value or "").split(","):
        match = re.search(r'<([^>]*)>\s*;(?:.*;)?\s*rel="?([^";]+)"?', part.strip())
        if match:
            for rel in match.group(2).split():
                links[rel] = match.group(1)
    return links


def _page_number(url: str | None) -> int | None:
    if not url:
        return None
    value = httpx.URL(url).params.get("page")
    return int(value) if value and value.isdigit() else None


def _origin_of(url: httpx.URL) -> tuple[str, str, int]:
    """``(scheme, host, port)`` with the default port spelled out, so ``:443`` and no port compare equal."""
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


def _repo_of(path: str) -> str | None:
    match = re.match(r"/repos/([^/]+/[^/]+)", path)
    return match.group(1) if match else None


# (path pattern, classic-token scope, fine-grained permission) to name what a 403 most likely lacks.
_PERMISSIONS = (
    (r"/deployments", "repo_deployment", "Deployments: read"),
    (r"/actions/", "repo", "Actions: read"),
    (r"/pulls", "repo", "Pull requests: read"),
    (r"/issues", "repo", "Issues: read"),
    (r"/(compare|commits|git)/", "repo", "Contents: read"),
    (r"^/repos/", "repo", "Metadata: read"),
)


def _missing_permission(path: str) -> tuple[str, str]:
    for pattern, scope, permission in _PERMISSIONS:
        if re.search(pattern, path):
            return scope, permission
    return "repo", "Metadata: read"


def _format_wait(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class GitHubClient:
    """The GitHub REST API: ``get``/``paginate`` for any endpoint plus named helpers for the ones we use."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        token: str | None,
        base_url: str = DEFAULT_API_URL,
        cache: ETagCache | None = None,
        retry: RetryPolicy | None = None,
        per_page: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        on_wait: WaitListener | None = None,
    ):
        self.http = http
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.cache = cache
        self.retry = retry or RetryPolicy()
        self.per_page = per_page
        self.on_wait = on_wait
        self.rate_limit: RateLimit | None = None
        self.stats = ClientStats()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._origin = httpx.URL(self.base_url).copy_with(path="/", query=None, fragment=None)

    # --- building requests ----------------------------------------------------------------------

    def url(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL of an API path (``/repos/o/r/pulls``) or of a ``Link`` URL, with ``params``."""
        if path_or_url.startswith(("http://", "https://")):
            url = httpx.URL(path_or_url)
            if _origin_of(url) != _origin_of(self._origin):
                raise GitHubError(
                    f"GitHub pointed to {url.host}, outside {self.base_url}; refusing to send the token there"
                )
        else:
            url = httpx.URL(self.base_url + "/" + path_or_url.lstrip("/"))
        if params:
            clean = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items() if v is not None}
            url = url.copy_merge_params(clean)
        return str(url)

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": API_VERSION, "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def _path(self, url: str) -> str:
        return httpx.URL(url).path

    # --- waiting --------------------------------------------------------------------------------

    def _pause(self, seconds: float, reason: str) -> None:
        """Sleep ``seconds`` in steps of at most one second, telling ``on_wait`` how long is left."""
        left = max(0.0, seconds)
        self.stats.waited_s += left
        while left > 0:
            if self.on_wait is not None:
                self.on_wait(left, reason)
            step = min(1.0, left)
            self._sleep(step)
            left -= step
        if self.on_wait is not None:
            self.on_wait(0.0, reason)

    def _wait_for_reset(self, method: str, path: str) -> None:
        """Sit out an exhausted primary rate limit, or raise when the reset is too far away."""
        rate = self.rate_limit
        reset_at = rate.reset_at if rate else None
        # One second past the reset absorbs clock skew; a reset already past still gets a short pause.
        wait = max(1.0, reset_at.timestamp() - self._clock() + 1) if reset_at else 60.0
        if wait > self.retry.max_reset_wait:
            when = reset_at.strftime("%H:%M UTC") if reset_at else "soon"
            limit = f" (0 of {rate.limit} requests left)" if rate else ""
            raise GitHubRateLimitError(
                f"GitHub API rate limit exhausted{limit}; it resets at {when}, in {_format_wait(wait)}",
                reset_at=reset_at,
                status=403,
                method=method,
                path=path,
            )
        log.info("GitHub rate limit exhausted; waiting %s for the reset", _format_wait(wait))
        self._pause(wait, "rate limit resets")

    # --- sending --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request with retries and rate-limit handling; a 2xx or 304 answer, else a ``GitHubError``."""
        url = self.url(path_or_url, params)
        path = self._path(url)
        failures = 0
        limit_waits = 0
        while True:
            rate = self.rate_limit
            if rate is not None and rate.remaining <= 0 and rate.reset_at.timestamp() > self._clock():
                self._wait_for_reset(method, path)
                self.rate_limit = None  # the budget is unknown until the next answer
            try:
                response = self.http.request(method, url, headers=self._headers(headers), json=json_body)
            except httpx.TransportError as exc:
                failures += 1
                problem = GitHubUnavailableError(
                    f"could not reach GitHub at {self.base_url} for {method} {path} after {failures} "
                    f"attempts ({type(exc).__name__}: {exc}); check the network and GITHUB_API_URL",
                    method=method,
                    path=path,
                )
                self._retry_or_raise(failures, problem, f"{type(exc).__name__} from GitHub, retrying")
                continue
            self._record(response)
            status = response.status_code
            if status < 300 or status == 304:
                return response
            if status in (403, 429) and self._is_rate_limited(response):
                limit_waits += 1
                if limit_waits > self.retry.rate_limit_waits:
                    raise GitHubRateLimitError(
                        f"GitHub kept rate-limiting {method} {path}; try again later",
                        status=status,
                        method=method,
                        path=path,
                    )
                self._handle_rate_limit(response, limit_waits, method, path)
                continue
            if status >= 500:
                failures += 1
                problem = GitHubUnavailableError(
                    f"GitHub answered {status} {response.reason_phrase} for {method} {path} {failures} times; "
                    "it may be having an outage, try again later",
                    status=status,
                    method=method,
                    path=path,
                )
                self._retry_or_raise(failures, problem, f"GitHub answered {status}, retrying")
                continue
            raise self._error(response, method, path)

    def _record(self, response: httpx.Response) -> None:
        self.stats.requests += 1
        self.stats.by_status[response.status_code] = self.stats.by_status.get(response.status_code, 0) + 1
        rate = RateLimit.from_headers(response.headers)
        if rate is not None and rate.resource in ("core", ""):
            self.rate_limit = rate

    def _retry_or_raise(self, failures: int, problem: GitHubUnavailableError, reason: str) -> None:
        """Back off before the next try of a transient failure, or give up with ``problem``."""
        if failures >= self.retry.attempts:
            raise problem
        self.stats.retries += 1
        ceiling = min(self.retry.backoff_cap, self.retry.backoff * 2 ** (failures - 1))
        self._pause(ceiling * self._jitter(), reason)

    @staticmethod
    def _message(response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:200].strip() or response.reason_phrase
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
        return response.reason_phrase

    def _is_rate_limited(self, response: httpx.Response) -> bool:
        if "retry-after" in response.headers or response.status_code == 429:
            return True
        if response.headers.get("x-ratelimit-remaining") == "0":
            return True
        return "rate limit" in self._message(response).lower()

    def _handle_rate_limit(self, response: httpx.Response, attempt: int, method: str, path: str) -> None:
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            try:
                seconds = float(retry_after)
            except ValueError:
                seconds = 60.0
            if seconds > self.retry.max_retry_after:
                raise GitHubRateLimitError(
                    f"GitHub's secondary rate limit asks to wait {_format_wait(seconds)} before {method} {path}; "
                    "try again later",
                    status=response.status_code,
                    method=method,
                    path=path,
                )
            log.info("GitHub secondary rate limit: waiting %s (Retry-After)", _format_wait(seconds))
            self._pause(seconds, "secondary rate limit (Retry-After)")
            return
        if response.headers.get("x-ratelimit-remaining") == "0":
            self._wait_for_reset(method, path)
            self.rate_limit = None
            return
        # A secondary limit without Retry-After: GitHub asks for at least a minute, growing each time.
        self._pause(min(self.retry.max_retry_after, 60.0 * 2 ** (attempt - 1)), "secondary rate limit")

    def _error(self, response: httpx.Response, method: str, path: str) -> GitHubError:
        status = response.status_code
        message = self._message(response)
        where = f"{method} {path}"
        repo = _repo_of(path)
        if status == 401:
            if not self.token:
                return GitHubAuthError(
                    f"GitHub answered 401 ({message}) for {where}: set GITHUB_TOKEN to a personal access token",
                    status=status,
                    method=method,
                    path=path,
                )
            return GitHubAuthError(
                f"GitHub refused GITHUB_TOKEN (401 {message}): the token is invalid, expired or revoked; "
                "create a new one and set GITHUB_TOKEN",
                status=status,
                method=method,
                path=path,
            )
        if status == 403:
            sso = response.headers.get("x-github-sso", "")
            if sso.startswith("required"):
                url = sso.partition("url=")[2].strip()
                return GitHubPermissionError(
                    f"GitHub refused {where} (403 {message}): the organisation uses SAML single sign-on; "
                    f"authorise GITHUB_TOKEN for it{' at ' + url if url else ''}",
                    status=status,
                    method=method,
                    path=path,
                )
            scope, permission = _missing_permission(path)
            accepted = response.headers.get("x-accepted-oauth-scopes", "").strip()
            has = response.headers.get("x-oauth-scopes")
            detail = f" (this endpoint accepts: {accepted}; the token has: {has or 'none'})" if accepted else ""
            target = f" on {repo}" if repo else ""
            return GitHubPermissionError(
                f"GitHub refused {where} (403 {message}): GITHUB_TOKEN lacks permission{target}. "
                f"A classic token needs the `{scope}` scope{detail}; a fine-grained token needs "
                f"'{permission}'{target}",
                scope=scope,
                status=status,
                method=method,
                path=path,
            )
        if status == 404:
            if repo:
                hint = (
                    f"the repository {repo} does not exist or GITHUB_TOKEN cannot see it (check the spelling "
                    "in teams.yml or --repo; a private repository needs a classic token with the `repo` scope "
                    "or a fine-grained token granted access to it)"
                )
            else:
                hint = "not found (check GITHUB_API_URL)"
            return GitHubNotFoundError(
                f"GitHub answered 404 for {where}: {hint}", status=status, method=method, path=path
            )
        return GitHubError(f"GitHub answered {status} for {where}: {message}", status=status, method=method, path=path)

    # --- reading --------------------------------------------------------------------------------

    def get_page(
        self, path_or_url: str, params: Mapping[str, Any] | None = None, *, items_key: str | None = None
    ) -> Page:
        """GET one page (conditionally when cached); its items are the list answer or ``body[items_key]``."""
        url = self.url(path_or_url, params)
        cached = self.cache.get(url) if self.cache is not None else None
        extra = {"If-None-Match": cached.etag} if cached is not None else None
        response = self.request("GET", url, headers=extra)
        if response.status_code == 304 and cached is not None:
            self.stats.not_modified += 1
            raw, link, from_cache = cached.body, cached.link, True
        else:
            raw, link, from_cache = response.content, response.headers.get("link"), False
            etag = response.headers.get("etag")
            if etag and self.cache is not None:
                self.cache.put(url, CachedResponse(etag=etag, body=raw, link=link))
        try:
            body = json.loads(raw) if raw else None
        except ValueError as exc:
            raise GitHubError(f"GitHub answered GET {self._path(url)} with a body that is not JSON") from exc
        if items_key is None:
            items = body if isinstance(body, list) else []
        else:
            items = list(body.get(items_key) or []) if isinstance(body, dict) else []
        links = parse_link_header(link)
        next_url = links.get("next")
        return Page(
            url=url,
            items=items,
            body=body,
            next_url=self.url(next_url) if next_url else None,
            last_page=_page_number(links.get("last")),
            from_cache=from_cache,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET one JSON document (through the ETag cache)."""
        return self.get_page(path, params).body

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, items_key: str | None = None
    ) -> Iterator[Page]:
        """Every page of a list, following ``Link: rel="next"``; stop iterating to stop fetching."""
        query = {"per_page": self.per_page, **(params or {})}
        page = self.get_page(path, query, items_key=items_key)
        yield page
        while page.next_url:
            page = self.get_page(page.next_url, items_key=items_key)
            yield page

    def iter_items(
        self, path: str, params: Mapping[str, Any] | None = None, *, items_key: str | None = None
    ) -> Iterator[Any]:
        """Every item of a list, page after page."""
        for page in self.paginate(path, params, items_key=items_key):
            yield from page.items

    # --- named endpoints ------------------------------------------------------------------------

    def repository(self, repo: str) -> dict[str, Any]:
        """The repository (``default_branch``, ``private``…); a 404 here means a wrong name or no access."""
        body = self.get(f"/repos/{repo}")
        return body if isinstance(body, dict) else {}

    def pulls(self, repo: str, *, state: str = "all", sort: str = "updated", direction: str = "desc") -> Iterator[Page]:
        """Pages of a repository's pull requests (most recently updated first by default)."""
        return self.paginate(f"/repos/{repo}/pulls", {"state": state, "sort": sort, "direction": direction})

    def pull_commits(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The commits of a pull request (GitHub lists at most 250)."""
        return list(self.iter_items(f"/repos/{repo}/pulls/{number}/commits"))

    def pull_reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The reviews of a pull request, oldest first."""
        return list(self.iter_items(f"/repos/{repo}/pulls/{number}/reviews"))

    def requested_reviewers(self, repo: str, number: int) -> dict[str, Any]:
        """The pending review requests of a pull request: ``{"users": [...], "teams": [...]}``."""
        body = self.get(f"/repos/{repo}/pulls/{number}/requested_reviewers")
        return body if isinstance(body, dict) else {"users": [], "teams": []}

    def issue_events(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The events of an issue or pull request (review requests, ready for review, labels…), oldest first."""
        return list(self.iter_items(f"/repos/{repo}/issues/{number}/events"))

    def issues(
        self, repo: str, *, labels: str | None = None, state: str = "all", since: datetime | None = None
    ) -> Iterator[Page]:
        """Pages of issues (pull requests included, marked by a ``pull_request`` key), recently updated first."""
        params = {
            "state": state,
            "labels": labels,
            "sort": "updated",
            "direction": "desc",
            "since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else None,
        }
        return self.paginate(f"/repos/{repo}/issues", params)

    def issue_comments(self, repo: str, *, since: datetime | None = None) -> Iterator[Page]:
        """Pages of every issue and pull-request conversation comment of a repository, recently updated first."""
        params = {
            "sort": "updated",
            "direction": "desc",
            "since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else None,
        }
        return self.paginate(f"/repos/{repo}/issues/comments", params)

    def deployments(self, repo: str, *, environment: str | None = None) -> Iterator[Page]:
        """Pages of a repository's deployments, newest first."""
        return self.paginate(f"/repos/{repo}/deployments", {"environment": environment})

    def deployment_statuses(self, repo: str, deployment_id: int | str) -> list[dict[str, Any]]:
        """The statuses of a deployment, newest first."""
        return list(self.iter_items(f"/repos/{repo}/deployments/{deployment_id}/statuses"))

    def workflow_runs(self, repo: str, **filters: Any) -> Iterator[Page]:
        """Pages of a repository's workflow runs (latest attempt of each), newest first."""
        return self.paginate(f"/repos/{repo}/actions/runs", filters, items_key="workflow_runs")

    def workflow_run_attempt(self, repo: str, run_id: int | str, attempt: int) -> dict[str, Any]:
        """One attempt of a workflow run (earlier attempts of a re-run run)."""
        body = self.get(f"/repos/{repo}/actions/runs/{run_id}/attempts/{attempt}")
        return body if isinstance(body, dict) else {}

    def compare(self, repo: str, base: str, head: str) -> dict[str, Any]:
        """``base...head``: the comparison with *every* commit (its pages joined), oldest first."""
        result: dict[str, Any] | None = None
        commits: list[dict[str, Any]] = []
        for page in self.paginate(f"/repos/{repo}/compare/{base}...{head}", items_key="commits"):
            if result is None and isinstance(page.body, dict):
                result = dict(page.body)
            commits.extend(page.items)
        result = result or {}
        result["commits"] = commits
        return result


def make_http_client(timeout: float = 30.0) -> httpx.Client:
    """The ``httpx.Client`` sei-bot uses for GitHub: sane timeouts, redirects followed (renamed repositories)."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=True)
