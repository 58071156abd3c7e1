"""``sei-bot sync github`` as a user runs it: messages, exit codes, progress, interruption and resumption."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from bot.cli import CommandError, main
from bot.db import import_all_models, session_scope
from bot.delivery.models import Deployment, PullRequest
from bot.ingest.backfill_cli import parse_since, run_sync
from bot.ingest.progress import SyncProgress
from bot.providers.github import RetryPolicy
from bot.settings import Settings, get_settings
from tests.fakes.github_api import REPO, FakeGitHub, ants_repo, serve
from tests.ingest.test_backfill import snapshot

SINCE = "2019-06-01"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    yield from serve()


@pytest.fixture
def env(engine: Engine, db_url: str, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("GITHUB_TOKEN", github.token)
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    return github


def run(*args: str) -> int:
    return main(["sync", "github", *args])


def pull_numbers(engine: Engine) -> set[int]:
    with session_scope(engine) as session:
        return set(session.scalars(select(PullRequest.number)))


def test_a_run_prints_counts_and_the_budget(
    env: FakeGitHub, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--repo", REPO, "--since", SINCE, "--no-progress") == 0
    out, err = capsys.readouterr()
    stored = len(pull_numbers(engine))
    assert f"{REPO}: {stored} pull requests" in out and "since 2019-06-01" in out
    assert f"GitHub: {len(env.requests)} requests, 0 answered from cache (304)" in out
    assert f"{env.remaining}/{env.limit} requests left" in out
    # Plain progress lines on stderr: the repository, the phases, counts and the rate-limit budget.
    assert f"[1/1] {REPO}: done · pulls {stored}," in err
    assert "deployments" in err and f"API {env.remaining}/{env.limit} left" in err
    assert "\r" not in err


def test_an_exhausted_rate_limit_stops_with_a_resumable_message(
    env: FakeGitHub, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    env.spend_budget(60, reset_in=3600)
    assert run("--repo", REPO, "--since", SINCE, "--no-progress") == 2
    err = capsys.readouterr().err
    assert "GitHub API rate limit exhausted (0 of 5000 requests left); it resets at" in err
    assert "Progress is saved: run the same command again after the reset to continue" in err
    partial = pull_numbers(engine)
    assert partial  # what was fetched before the limit is kept
    first = {r.path for r in env.requests_to(r"/pulls/\d+$") if r.status == 200}

    env.refill()
    start = len(env.requests)
    assert run("--repo", REPO, "--since", SINCE, "--no-progress") == 0
    again = {r.path for r in env.requests[start:] if re.search(r"/pulls/\d+$", r.path)}
    # Asked again: at most the PR in flight when the limit struck and the last one stored (the boundary
    # of the resumed walk, re-read in case another PR shares its timestamp).
    assert len(first & again) <= 2 and len(first) > 2
    assert pull_numbers(engine) > partial


def test_resuming_gives_the_same_tables_as_one_run(env: FakeGitHub, engine: Engine, db_url: str) -> None:
    settings = Settings(database_url=db_url, github_token=env.token, github_api_url=env.base_url)
    since = datetime(2019, 6, 1, tzinfo=UTC)
    env.spend_budget(60, reset_in=3600)
    with pytest.raises(CommandError, match="rate limit exhausted"):
        run_sync(settings, repos=[REPO], since=since, progress=SyncProgress(io.StringIO(), live=False), per_page=5)
    env.refill()
    run_sync(settings, repos=[REPO], since=since, progress=SyncProgress(io.StringIO(), live=False), per_page=5)
    resumed = snapshot(engine)

    with FakeGitHub() as fresh:
        fresh.repos[REPO] = ants_repo()
        one_shot = Settings(database_url=db_url, github_token=fresh.token, github_api_url=fresh.base_url)
        _wipe(engine)
        run_sync(one_shot, repos=[REPO], since=since, progress=SyncProgress(io.StringIO(), live=False), per_page=5)
    assert snapshot(engine) == resumed


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(import_all_models().sorted_tables):
            conn.execute(table.delete())


def test_a_short_rate_limit_wait_counts_down_and_goes_on(env: FakeGitHub, engine: Engine, db_url: str) -> None:
    settings = Settings(database_url=db_url, github_token=env.token, github_api_url=env.base_url)
    env.spend_budget(10, reset_in=30)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        env.refill()  # the window resets while we wait

    out = io.StringIO()
    run_sync(
        settings,
        repos=[REPO],
        since=datetime(2021, 6, 1, tzinfo=UTC),
        progress=SyncProgress(out, live=False),
        sleep=sleep,
    )
    assert 20 <= sum(sleeps) <= 31 and max(sleeps) <= 1  # until the reset, in one-second ticks of a countdown
    assert f"{REPO}: waiting" in out.getvalue() and "(rate limit resets)" in out.getvalue()
    assert pull_numbers(engine)


def test_502_and_secondary_limits_are_retried(env: FakeGitHub, engine: Engine, db_url: str) -> None:
    settings = Settings(database_url=db_url, github_token=env.token, github_api_url=env.base_url)
    env.fail(r"/deployments$", 502, body={"message": "Server Error"})
    env.fail(
        r"/actions/runs$",
        403,
        headers={"Retry-After": "3"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    sleeps: list[float] = []
    run_sync(
        settings,
        repos=[REPO],
        since=datetime(2021, 6, 1, tzinfo=UTC),
        progress=SyncProgress(io.StringIO(), live=False),
        sleep=sleeps.append,
        retry=RetryPolicy(backoff=0.5),
    )
    deployments = env.requests_to(r"/deployments$")
    assert [r.status for r in deployments[:2]] == [502, 200]
    runs = env.requests_to(r"/actions/runs$")
    assert [r.status for r in runs[:2]] == [403, 200]
    assert sum(sleeps) >= 3  # Retry-After honoured (plus a backoff under half a second)
    with session_scope(engine) as session:
        assert session.scalars(select(Deployment)).first() is not None


def test_a_bad_token_says_so(
    env: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_revoked")
    assert run("--repo", REPO, "--no-progress") == 2
    err = capsys.readouterr().err
    assert "GitHub refused GITHUB_TOKEN (401 Bad credentials): the token is invalid, expired or revoked" in err


def test_an_unknown_repository_says_so(env: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--repo", "panjf2000/nope", "--no-progress") == 2
    err = capsys.readouterr().err
    assert "GitHub answered 404 for GET /repos/panjf2000/nope:" in err
    assert "the repository panjf2000/nope does not exist or GITHUB_TOKEN cannot see it" in err


def test_a_missing_permission_names_the_scope(env: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    env.fail(
        r"/deployments$",
        403,
        headers={"X-Accepted-OAuth-Scopes": "repo, repo_deployment", "X-OAuth-Scopes": "read:org"},
        body={"message": "Resource not accessible by personal access token"},
        times=5,
    )
    assert run("--repo", REPO, "--since", "2022-01-01", "--no-progress") == 2
    err = capsys.readouterr().err
    assert "GitHub refused GET /repos/panjf2000/ants/deployments (403 Resource not accessible" in err
    assert "classic token needs the `repo_deployment` scope" in err and "'Deployments: read'" in err
    assert "the token has: read:org" in err


def test_configuration_problems_are_one_line(
    env: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--repo", "not-a-repo") == 2
    assert "--repo not-a-repo: expected OWNER/NAME" in capsys.readouterr().err
    assert run("--repo", REPO, "--since", "yesterday") == 2
    assert "--since 'yesterday' is neither a duration nor a date" in capsys.readouterr().err
    assert run() == 2  # no --repo and no team owns a repository
    assert "no GitHub repositories to sync" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_TOKEN")
    get_settings.cache_clear()
    assert run("--repo", REPO) == 2
    assert "GITHUB_TOKEN is not set" in capsys.readouterr().err


def test_since_accepts_durations_and_dates() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_since("90d", now) == datetime(2026, 8, 24, 12, 0, tzinfo=UTC)
    assert parse_since("2w", now) == datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    assert parse_since("2026-09-01", now) == datetime(2026, 9, 1, tzinfo=UTC)
    assert parse_since("2026-09-01T10:00:00+02:00", now) == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="in the future"):
        parse_since("2027-01-01", now)


def test_ctrl_c_keeps_what_was_stored(
    env: FakeGitHub, engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(database_url=db_url, github_token=env.token, github_api_url=env.base_url)
    env.fail(
        r"/pulls$", 403, headers={"Retry-After": "30"}, body={"message": "You have exceeded a secondary rate limit."}
    )

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sync(
            settings,
            repos=[REPO],
            since=datetime(2019, 6, 1, tzinfo=UTC),
            progress=SyncProgress(io.StringIO(), live=False),
            sleep=interrupt,
        )
    assert "Interrupted. Progress is saved: run the same command again to continue." in capsys.readouterr().err
    with session_scope(engine) as session:
        assert session.scalars(select(Deployment)).first() is not None  # the phases before the wait are kept
