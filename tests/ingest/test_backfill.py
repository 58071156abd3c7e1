"""``sei-bot sync github`` against the local fake GitHub API: what lands in the tables, and what is asked."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

from bot.db import session_scope
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
from bot.ingest.backfill_cli import run_sync
from bot.ingest.progress import SyncProgress
from bot.providers.cache import DbETagCache
from bot.providers.github import CachedResponse
from bot.providers.models import HttpCacheEntry
from bot.settings import Settings
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config
from tests.fakes.github_api import REPO, REST, FakeGitHub, ants_repo, iso, parse, serve

SINCE = datetime(2019, 6, 1, tzinfo=UTC)
TEAMS = """
teams:
  core:
    channel: C0123ABCD
    repos: [panjf2000/ants]
    production: {environments: "^production$", branch: master, workflows: [lint.yml]}
    incidents: {github_label: incident}
"""


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    yield from serve()


@pytest.fixture
def settings(engine: Engine, db_url: str, github: FakeGitHub) -> Settings:
    with session_scope(engine) as session:
        apply_config(session=session, config=parse_teams_yaml(TEAMS))
    return Settings(database_url=db_url, github_token=github.token, github_api_url=github.base_url)


class Sleeps(list[float]):
    """An injected ``sleep`` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sync(settings: Settings, *, since: datetime = SINCE, sleep: Sleeps | None = None) -> tuple[Any, Any, str]:
    out = io.StringIO()
    counts, client = run_sync(
        settings, repos=None, since=since, progress=SyncProgress(out, live=False), sleep=sleep or Sleeps(), per_page=5
    )
    return counts[REPO], client, out.getvalue()


def rows(engine: Engine, model: type[SQLModel]) -> list[Any]:
    with session_scope(engine) as session:
        return list(session.scalars(select(model)))


def count(engine: Engine, model: type[SQLModel]) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def snapshot(engine: Engine) -> dict[str, Any]:
    """Everything the backfill wrote, as comparable sets (ids aside)."""
    with session_scope(engine) as session:
        prs = {p.id: p.number for p in session.scalars(select(PullRequest))}
        return {
            "pulls": {
                (p.number, p.state, p.merge_commit_sha, p.ready_at) for p in session.scalars(select(PullRequest))
            },
            "pr_commits": {(prs[c.pr_id], c.sha, c.authored_at) for c in session.scalars(select(PrCommit))},
            "reviews": {(prs[r.pr_id], r.ext_id, r.state) for r in session.scalars(select(PrReview))},
            "requests": {
                (prs[r.pr_id], r.reviewer, r.requested_at, r.removed_at) for r in session.scalars(select(ReviewRequest))
            },
            "deployments": {(d.uid, d.status, d.finished_at) for d in session.scalars(select(Deployment))},
            "runs": {(r.uid, r.conclusion) for r in session.scalars(select(PipelineRun))},
            "incidents": {(i.uid, i.resolved_at) for i in session.scalars(select(Incident))},
            "commits": {(c.sha, c.push_key, c.landed_at) for c in session.scalars(select(Commit))},
        }


def test_pull_requests_land_with_commits_reviews_and_review_requests(
    settings: Settings, engine: Engine, github: FakeGitHub
) -> None:
    counts, _client, _out = sync(settings)
    fake = github.repos[REPO]

    expected = {n for n, p in fake.pulls.items() if parse(p["updated_at"]) >= SINCE}
    stored = {p.number: p for p in rows(engine, PullRequest)}
    assert set(stored) == expected and counts["pulls"] == len(expected)
    assert parse(min(p["updated_at"] for p in fake.pulls.values())) < SINCE  # older PRs exist and were left out

    merged = stored[172]
    assert merged.state == "merged" and merged.merge_commit_sha == fake.pulls[172]["merge_commit_sha"]
    assert merged.additions == fake.pulls[172]["additions"] and merged.base_ref == "master"
    unmerged = stored[192]
    assert unmerged.state == "closed" and unmerged.merge_commit_sha is None

    with session_scope(engine) as session:
        commits = {c.sha: c for c in session.scalars(select(PrCommit).where(PrCommit.pr_id == merged.id))}
        reviews = list(session.scalars(select(PrReview).where(PrReview.pr_id == stored[41].id)))
        requests = {
            r.reviewer: r for r in session.scalars(select(ReviewRequest).where(ReviewRequest.pr_id == stored[211].id))
        }
    recorded = {c["sha"]: c for c in fake.pull_commits[172]}
    assert set(commits) == set(recorded)
    for sha, commit in commits.items():
        assert commit.authored_at == parse(recorded[sha]["commit"]["author"]["date"])

    recorded_reviews = {str(r["id"]): r for r in fake.pull_reviews[41]}
    assert {r.ext_id for r in reviews} == set(recorded_reviews)
    assert all(r.state == recorded_reviews[r.ext_id]["state"].lower() for r in reviews)

    # PR 211: a pending request for the maintainer, and a request that was withdrawn an hour later.
    opened = parse(fake.pulls[211]["created_at"])
    assert requests["panjf2000"].requested_at == opened + timedelta(hours=2)
    assert requests["panjf2000"].removed_at is None
    withdrawn = requests[fake.pulls[206]["user"]["login"]]
    assert (withdrawn.requested_at, withdrawn.removed_at) == (opened + timedelta(hours=3), opened + timedelta(hours=4))

    # PR 210 was opened as a draft: ready for review six hours later; others were ready when opened.
    assert stored[210].ready_at == parse(fake.pulls[210]["created_at"]) + timedelta(hours=6)
    assert stored[172].ready_at == stored[172].created_at


def test_production_deployments_keep_their_final_status(settings: Settings, engine: Engine, github: FakeGitHub) -> None:
    sync(settings)
    fake = github.repos[REPO]
    stored = {d.ext_id: d for d in rows(engine, Deployment) if d.uid.startswith(f"github:{REPO}:9")}
    production = {str(d["id"]): d for d in fake.deployments if d["environment"] == "production"}
    assert set(stored) == set(production)  # the staging deployment is not stored

    for ext_id, deployment in stored.items():
        statuses = fake.deployment_statuses[int(ext_id)]  # newest first
        final = next(s for s in statuses if s["state"] != "inactive")
        assert deployment.status == ("failure" if final["state"] == "error" else final["state"])
        assert deployment.finished_at == parse(final["created_at"])
        assert deployment.started_at == parse(production[ext_id]["created_at"])
        assert deployment.sha == production[ext_id]["sha"] and deployment.environment == "production"
        assert deployment.run_key == f"github:{REPO}:run:{ext_id}"
    assert sum(d.status == "failure" for d in stored.values()) == 1


def test_the_first_change_set_has_a_baseline_before_since(
    settings: Settings, engine: Engine, github: FakeGitHub
) -> None:
    since = datetime(2021, 8, 1, tzinfo=UTC)
    sync(settings, since=since)
    fake = github.repos[REPO]
    created = {str(d["id"]): parse(d["created_at"]) for d in fake.deployments if d["environment"] == "production"}
    stored = {d.ext_id for d in rows(engine, Deployment) if d.source == "github" and ":run-" not in d.uid}
    older = sorted((at, ext_id) for ext_id, at in created.items() if at < since)
    assert stored == {ext_id for ext_id, at in created.items() if at >= since} | {older[-1][1]}


def test_change_sets_come_from_the_compare_api(settings: Settings, engine: Engine, github: FakeGitHub) -> None:
    counts, _client, _out = sync(settings)
    fake = github.repos[REPO]
    history = [c["sha"] for c in fake.history]
    successful = []
    for deployment in sorted(fake.deployments, key=lambda d: d["created_at"]):
        final = next(s for s in fake.deployment_statuses[deployment["id"]] if s["state"] != "inactive")
        if deployment["environment"] == "production" and final["state"] == "success":
            successful.append(deployment)

    commits = rows(engine, Commit)
    by_key: dict[str, set[str]] = {}
    for commit in commits:
        by_key.setdefault(commit.push_key or "", set()).add(commit.sha)
    expected = {}
    for previous, current in pairwise(successful):
        shipped = history[history.index(previous["sha"]) + 1 : history.index(current["sha"]) + 1]
        expected[f"compare:github:{REPO}:{current['id']}"] = set(shipped)
    assert by_key == {k: v for k, v in expected.items() if v}
    assert counts["changes"] == len(commits) == sum(len(v) for v in expected.values())
    # The failed deployment shipped nothing: its commits count for the next successful one.
    failed = next(d for d in fake.deployments if d["sha"] == fake.pulls[185]["merge_commit_sha"])
    assert f"compare:github:{REPO}:{failed['id']}" not in by_key
    direct = next(c for c in commits if c.message == "Fix typo in README")
    recorded = next(c for c in fake.history if c["sha"] == direct.sha)
    assert direct.landed_at == parse(recorded["commit"]["committer"]["date"]) and direct.branch == "master"
    assert direct.authored_at == parse(recorded["commit"]["author"]["date"])


def test_workflow_runs_land_with_every_attempt(settings: Settings, engine: Engine, github: FakeGitHub) -> None:
    sync(settings)
    fake = github.repos[REPO]
    stored = {r.uid: r for r in rows(engine, PipelineRun)}
    assert len(stored) == sum(int(r["run_attempt"]) for r in fake.runs)
    rerun = next(r for r in fake.runs if r["run_attempt"] == 2 and r["conclusion"] == "success")
    first = stored[f"github:{REPO}:run:{rerun['id']}:1"]
    second = stored[f"github:{REPO}:run:{rerun['id']}:2"]
    assert (first.conclusion, second.conclusion) == ("failure", "success")
    assert second.started_at == parse(rerun["run_started_at"]) and second.workflow == rerun["name"]
    running = next(r for r in fake.runs if r["status"] == "in_progress")
    assert stored[f"github:{REPO}:run:{running['id']}:1"].finished_at is None

    # lint.yml is the team's deploy workflow: its push run on master is a (failed) deployment, its PR run is not.
    deploys = {d.ext_id: d for d in rows(engine, Deployment) if ":run-" in d.uid}
    lint_push = next(r for r in fake.runs if r["path"].endswith("lint.yml") and r["event"] == "push")
    assert set(deploys) == {str(lint_push["id"])}
    assert deploys[str(lint_push["id"])].status == "failure"


def test_incidents_come_from_issues_with_the_team_label(settings: Settings, engine: Engine, github: FakeGitHub) -> None:
    sync(settings)
    fake = github.repos[REPO]
    stored = {i.uid: i for i in rows(engine, Incident)}
    labelled = [i for i in fake.issues if "pull_request" not in i and "incident" in {x["name"] for x in i["labels"]}]
    assert set(stored) == {f"github:{REPO}#{i['number']}" for i in labelled}
    resolved = stored[f"github:{REPO}#{labelled[0]['number']}"]
    assert resolved.resolved_at == parse(labelled[0]["closed_at"]) and resolved.repo == REPO
    assert resolved.root_cause_sha == fake.pulls[172]["merge_commit_sha"][:12]
    assert stored[f"github:{REPO}#{labelled[1]['number']}"].resolved_at is None
    assert all(r.query.get("labels") == "incident" for r in github.requests_to(r"/issues$"))


def test_a_second_run_is_answered_from_cache_and_duplicates_nothing(
    settings: Settings, engine: Engine, github: FakeGitHub
) -> None:
    sync(settings)
    before = snapshot(engine)
    first = len(github.requests)
    budget = github.remaining

    _counts, client, _out = sync(settings)
    second = github.requests[first:]
    assert snapshot(engine) == before
    assert second and all("if-none-match" in r.headers and r.status == 304 for r in second)
    assert github.remaining == budget  # 304s are free
    assert client.stats.not_modified == len(second)
    # The cursors kept the second run to the listings: no PR, deployment or compare was fetched again.
    assert not [r for r in second if "/pulls/" in r.path or "/statuses" in r.path or "/compare/" in r.path]


def test_new_activity_is_fetched_and_nothing_else(settings: Settings, engine: Engine, github: FakeGitHub) -> None:
    sync(settings)
    fake = github.repos[REPO]
    first = len(github.requests)
    now = datetime.now(UTC).replace(microsecond=0)
    review = dict(fake.pull_reviews[41][0], id=999001, state="APPROVED", submitted_at=iso(now))
    fake.pull_reviews[211] = [dict(review, user=fake.pulls[211]["requested_reviewers"][0])]
    fake.pulls[211]["requested_reviewers"] = []  # GitHub drops a reviewer from the request once they review
    fake.touch_pull(211, now)
    latest = fake.history[-1]["sha"]
    fake.add_commit(sha="f" * 40, message="Release 2.10", authored=now, committed=now, login="panjf2000")
    fake.add_deployment(sha="f" * 40, environment="production", created=now, states=[("success", now)])
    fake.deployments.sort(key=lambda d: (d["created_at"], d["id"]), reverse=True)

    sync(settings)
    second = github.requests[first:]
    assert {r.path for r in second if "/pulls/" in r.path} == {
        f"/repos/{REPO}/pulls/211",
        f"/repos/{REPO}/pulls/211/commits",
        f"/repos/{REPO}/pulls/211/reviews",
    }
    assert [r.path for r in second if "/compare/" in r.path] == [f"/repos/{REPO}/compare/{latest}...{'f' * 40}"]
    with session_scope(engine) as session:
        pr = session.scalars(select(PullRequest).where(PullRequest.number == 211)).one()
        request = session.scalars(
            select(ReviewRequest).where(ReviewRequest.pr_id == pr.id, ReviewRequest.reviewer == "panjf2000")
        ).one()
        assert session.scalars(select(PrReview.ext_id).where(PrReview.pr_id == pr.id)).all() == ["999001"]
    assert request.removed_at == now  # the request was answered by the review
    assert {c.sha for c in rows(engine, Commit) if c.push_key and c.push_key.endswith(":900011")} == {"f" * 40}


def test_prs_merged_before_since_but_deployed_after_it_are_fetched(
    settings: Settings, engine: Engine, github: FakeGitHub
) -> None:
    fake = github.repos[REPO]
    since = datetime(2021, 9, 19, 3, 0, tzinfo=UTC)
    late = fake.pulls[185]  # merged just before since, shipped by the first successful deployment after it
    late["updated_at"] = late["merged_at"]
    assert parse(late["merged_at"]) < since
    sync(settings, since=since)
    numbers = {p.number for p in rows(engine, PullRequest)}
    baseline = max(parse(d["created_at"]) for d in fake.deployments if parse(d["created_at"]) < since)
    assert numbers == {n for n, p in fake.pulls.items() if parse(p["updated_at"]) >= baseline}
    assert 185 in numbers and 172 not in numbers
    shipped = {c.sha for c in rows(engine, Commit)}
    assert late["merge_commit_sha"] in shipped


def test_old_cache_entries_are_pruned(settings: Settings, engine: Engine) -> None:
    cache = DbETagCache(engine)
    cache.put("https://api.github.com/old", CachedResponse(etag='"a"', body=b"[]"))
    cache.put("https://api.github.com/new", CachedResponse(etag='"b"', body=b"[1]", link='<x>; rel="next"'))
    with session_scope(engine) as session:
        for row in session.scalars(select(HttpCacheEntry)):
            if row.url.endswith("/old"):
                row.fetched_at = datetime.now(UTC) - timedelta(days=200)
    assert cache.prune(older_than=timedelta(days=120)) == 1
    assert cache.get("https://api.github.com/old") is None
    assert cache.get("https://api.github.com/new") == CachedResponse(etag='"b"', body=b"[1]", link='<x>; rel="next"')


def test_a_repository_with_issues_switched_off_still_syncs(
    settings: Settings, engine: Engine, github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    disabled = {"message": "Issues are disabled for this repo", "documentation_url": "https://docs.github.com/rest"}
    github.fail(r"/issues(/\d+/events|/comments)?$", 410, body=disabled, times=1000)
    counts, _client, _out = sync(settings, since=datetime(2021, 6, 1, tzinfo=UTC))
    assert counts["pulls"] > 0 and counts["incidents"] == 0 and count(engine, Incident) == 0
    draft = next(p for p in rows(engine, PullRequest) if p.number == 210)
    assert draft.ready_at == draft.created_at  # without its events the draft history is unknown
    assert "issues are switched off" in caplog.text


def test_pr_comments_land_as_comment_reviews(settings: Settings, engine: Engine, github: FakeGitHub) -> None:
    counts, _client, _out = sync(settings)
    fake = github.repos[REPO]
    on_172 = [c for c in fake.comments if c["issue_url"].endswith("/issues/172")]
    with session_scope(engine) as session:
        pr = session.scalars(select(PullRequest).where(PullRequest.number == 172)).one()
        stored = {r.ext_id: r for r in session.scalars(select(PrReview).where(PrReview.pr_id == pr.id))}
    comments = {k: v for k, v in stored.items() if k.startswith("comment:")}
    assert set(comments) == {f"comment:{c['id']}" for c in on_172}
    assert counts["comments"] == len(on_172)  # the comment on issue #300 is not a PR's
    for c in on_172:
        row = comments[f"comment:{c['id']}"]
        assert (row.state, row.reviewer_login, row.submitted_at) == (
            "comment",
            c["user"]["login"],
            parse(c["created_at"]),
        )
        assert row.reviewer_is_bot == (c["user"]["type"] == "Bot")


def test_fake_comments_have_github_s_shape() -> None:
    schemas = REST.parent / "github-webhooks" / "octokit-payload-schemas"
    registry: Registry = Registry().with_resources(
        (f"common/{path.name}", Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7))
        for path in (schemas / "common").glob("*.json")
    )
    schema = json.loads((schemas / "common" / "issue-comment.schema.json").read_text())
    validator = Draft7Validator(schema, registry=registry)
    for comment in ants_repo().comments:
        validator.validate(comment)
