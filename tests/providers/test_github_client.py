"""The GitHub client against ``httpx.MockTransport`` answering with recorded GitHub headers and bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot.providers.github import (
    API_VERSION,
    GitHubClient,
    GitHubError,
    GitHubPermissionError,
    GitHubRateLimitError,
    GitHubUnavailableError,
    MemoryETagCache,
    RetryPolicy,
    parse_link_header,
)
from tests.fakes.github_api import load_json

COMPARE = "hub4j-recorded/GHRepositoryTest__listCommitsBetweenPaginated/5-r_h_g_compare_e46a9f3f"
NOW = 1_700_000_000.0


def recorded(name: str) -> tuple[dict[str, str], bytes]:
    """Headers (lists joined) and body of a hub4j recording."""
    mapping = load_json(f"{name}.mapping.json")
    headers = {k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in mapping["response"]["headers"].items()}
    return headers, json.dumps(load_json(f"{name}.body.json")).encode()


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: object
) -> tuple[GitHubClient, list[float]]:
    sleeps: list[float] = []
    client = GitHubClient(
        httpx.Client(transport=httpx.MockTransport(handler)),
        token="ghp_x",
        base_url="https://api.github.com",
        sleep=sleeps.append,
        clock=lambda: NOW,
        jitter=lambda: 1.0,
        **kwargs,  # type: ignore[arg-type]
    )
    return client, sleeps


def test_compare_pages_are_joined_through_link_headers() -> None:
    headers, body = recorded(COMPARE)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.params.get("page") == "2":
            page = json.loads(body)
            page["commits"] = page["commits"][:2]
            return httpx.Response(200, json=page)
        # The recorded Link points at /repositories/<id>/…: GitHub's own canonical form of page 2.
        return httpx.Response(200, headers=headers, content=body)

    client, _ = client_for(handler, per_page=5)
    result = client.compare("hub4j-test-org/github-api", "e46a9f3f", "8051615e")
    first = json.loads(body)["commits"]
    assert [c["sha"] for c in result["commits"]] == [c["sha"] for c in first] + [c["sha"] for c in first[:2]]
    assert result["status"] == "ahead"
    assert seen[1].url.path.startswith("/repositories/206888201/compare/")
    request = seen[0]
    assert request.headers["authorization"] == "Bearer ghp_x"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == API_VERSION and "sei-bot" in request.headers["user-agent"]
    assert client.rate_limit is not None and client.rate_limit.remaining == 4956


def test_a_304_reuses_the_cached_body_and_next_link() -> None:
    headers, body = recorded(COMPARE)
    etag = headers["ETag"]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            if request.headers.get("if-none-match") == '"p2"':
                return httpx.Response(304)
            return httpx.Response(200, json={"commits": []}, headers={"ETag": '"p2"'})
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag, "X-RateLimit-Remaining": "4956"})
        return httpx.Response(200, headers=headers, content=body)

    client, _ = client_for(handler, cache=MemoryETagCache(), per_page=5)
    first = list(client.paginate("/repos/o/r/compare/a...b", items_key="commits"))
    second = list(client.paginate("/repos/o/r/compare/a...b", items_key="commits"))
    assert [p.from_cache for p in second] == [True, True]
    assert second[0].items == first[0].items and second[0].next_url == first[0].next_url
    assert client.stats.not_modified == 2


def test_links_elsewhere_never_get_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=[], headers={"Link": '<https://evil.example/steal?page=3>; rel="next"'})
        return httpx.Response(200, json=[], headers={"Link": '<https://api.github.com:443/x?page=2>; rel="next"'})

    client, _ = client_for(handler)
    with pytest.raises(GitHubError, match="refusing to send the token there"):
        list(client.paginate("/repos/o/r/pulls"))


def test_connection_errors_back_off_then_give_up() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, sleeps = client_for(handler, retry=RetryPolicy(attempts=4, backoff=1.0))
    with pytest.raises(GitHubUnavailableError, match=r"could not reach GitHub at https://api\.github\.com .* after 4"):
        client.get("/repos/o/r")
    assert sum(sleeps) == 1 + 2 + 4  # exponential, full jitter at its ceiling here


def test_a_far_reset_stops_and_a_long_retry_after_too() -> None:
    reset = int(NOW) + 3 * 3600

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/slow"):
            return httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "slow down"})
        return httpx.Response(
            403,
            headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
            json={"message": "API rate limit exceeded for user ID 1."},
        )

    client, _ = client_for(handler)
    with pytest.raises(GitHubRateLimitError) as info:
        client.get("/repos/o/r/pulls")
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert "0 of 5000 requests left" in str(info.value) and "in 3.0 h" in str(info.value)
    client, sleeps = client_for(handler)
    with pytest.raises(GitHubRateLimitError, match="secondary rate limit asks to wait 60 min"):
        client.get("/repos/o/r/slow")
    assert sleeps == []


def test_sso_and_unknown_errors_are_explained() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sso"):
            return httpx.Response(
                403,
                headers={"X-GitHub-SSO": "required; url=https://github.com/orgs/acme/sso?authorization_request=1"},
                json={"message": "Resource protected by organization SAML enforcement."},
            )
        return httpx.Response(422, json={"message": "Validation Failed"})

    client, _ = client_for(handler)
    with pytest.raises(
        GitHubPermissionError, match=r"authorise GITHUB_TOKEN for it at https://github\.com/orgs/acme/sso"
    ):
        client.get("/repos/acme/api/sso")
    with pytest.raises(GitHubError, match="GitHub answered 422 for GET /repos/acme/api/x: Validation Failed"):
        client.get("/repos/acme/api/x")


def test_link_header_parsing() -> None:
    headers, _ = recorded(COMPARE)
    links = parse_link_header(headers["Link"])
    assert set(links) == {"next", "last", "first"} and links["next"].endswith("per_page=5&page=2")
    assert parse_link_header(None) == {}
