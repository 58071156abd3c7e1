"""Pure pieces of the backfill: the coverage of newest-first listings, GitHub objects → rows, progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from bot.ingest import github_rest as rest
from bot.ingest.backfill import plan_for
from bot.ingest.coverage import Coverage, Walk
from bot.ingest.progress import SyncProgress
from bot.providers.github import RateLimit
from bot.teams.config import parse_teams_yaml
from tests.fakes.github_api import load_devlake, load_json

T = datetime(2026, 10, 1, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T + timedelta(hours=n)


def test_a_walk_covers_what_it_stored_and_refetches_ties_and_unsettled_items() -> None:
    coverage = Coverage()
    walk = Walk(coverage, since=hours(0))
    for moment in (hours(10), hours(9), hours(8)):
        walk.stored(moment)
    # Interrupted after the item at 8h: 8h itself may have an unseen twin with the same timestamp.
    assert coverage.covers(hours(9)) and coverage.covers(hours(10)) and not coverage.covers(hours(8))
    resumed = Walk(Coverage.from_json(coverage.to_json()), since=hours(0))
    assert resumed.skip(hours(10)) and not resumed.skip(hours(8))
    resumed.stored(hours(8))
    resumed.stored(hours(5), settled=False)  # e.g. a deployment still in progress
    resumed.stored(hours(3))
    resumed.finished()
    assert resumed.coverage.covers_down_to(hours(4), hours(0))
    assert not resumed.coverage.covers(hours(5)) and resumed.coverage.covers(hours(6))
    assert not resumed.should_stop(hours(6)) and resumed.should_stop(hours(4)) and resumed.should_stop(hours(-1))


def test_coverage_ignores_a_damaged_cursor() -> None:
    assert Coverage.from_json({"spans": [["not a date", "x"], [hours(2).isoformat()]]}).spans == []
    assert Coverage.from_json(None).spans == []


def test_pull_request_fields_follow_the_delivery_conventions() -> None:
    pulls = {p["number"]: p for _, p in load_devlake("_raw_github_api_pull_requests.csv")}
    merged = rest.pull_request_fields(pulls[172])
    assert merged["state"] == "merged" and merged["merge_commit_sha"] == pulls[172]["merge_commit_sha"]
    assert merged["labels"] == ["pending merged"] and merged["created_at"].tzinfo is not None
    closed = rest.pull_request_fields(pulls[192])
    assert closed["state"] == "closed" and closed["merge_commit_sha"] is None


def test_ready_at_and_review_requests_from_issue_events() -> None:
    pr = {"created_at": "2026-10-01T00:00:00Z", "draft": False, "user": {"login": "alice"}, "requested_reviewers": []}
    ready = {"event": "ready_for_review", "created_at": "2026-10-01T05:00:00Z"}
    assert rest.ready_at(pr, [ready]) == hours(5)
    assert rest.ready_at(pr, [{"event": "convert_to_draft", "created_at": "2026-10-01T01:00:00Z"}, ready]) == T
    assert rest.ready_at({**pr, "draft": True}, []) is None

    events = [
        {"event": "review_requested", "created_at": "2026-10-01T01:00:00Z", "requested_reviewer": {"login": "bob"}},
        {"event": "review_requested", "created_at": "2026-10-01T01:00:00Z", "requested_team": {"slug": "core"}},
        {"event": "review_requested", "created_at": "2026-10-01T02:00:00Z", "requested_reviewer": {"login": "carol"}},
    ]
    reviews = [
        {"id": 1, "state": "COMMENTED", "submitted_at": "2026-10-01T00:30:00Z", "user": {"login": "bob"}},
        {"id": 2, "state": "APPROVED", "submitted_at": "2026-10-01T03:00:00Z", "user": {"login": "bob"}},
        {"id": 3, "state": "PENDING", "user": {"login": "carol"}},
    ]
    requests = rest.review_requests({**pr, "requested_reviewers": [{"login": "carol"}]}, events, reviews)
    # bob answered with his review after the request (not the comment before it), the team by bob's review
    # too, and carol is still pending.
    assert requests == [("bob", hours(1), hours(3)), ("carol", hours(2), None), ("team:core", hours(1), hours(3))]
    assert rest.review_fields(reviews[2]) is None


def test_deployment_fields_take_the_final_status_and_ignore_inactive() -> None:
    deployment = load_json("openapi-examples-2020/repos-list-deployments.200.default.json")[0]
    status = load_json("openapi-examples-2020/repos-list-deployment-statuses.200.default.json")[0]
    statuses = [
        {**status, "state": "inactive", "created_at": "2012-07-21T00:00:00Z"},
        {**status, "state": "success", "created_at": "2012-07-20T02:00:00Z"},
        {**status, "state": "in_progress", "created_at": "2012-07-20T01:30:00Z"},
    ]
    fields = rest.deployment_fields("octocat/example", deployment, statuses)
    assert fields["uid"] == "github:octocat/example:1" and fields["status"] == "success"
    assert fields["finished_at"] == datetime(2012, 7, 20, 2, tzinfo=UTC)
    assert fields["url"] == status["log_url"] and fields["is_rollback"] is None
    pending = rest.deployment_fields("octocat/example", {**deployment, "task": "deploy:rollback"}, [])
    assert pending["status"] == "pending" and pending["finished_at"] is None and pending["is_rollback"] is True


def test_incidents_carry_their_root_cause_marker() -> None:
    issue = load_json("integrations-slack-fixtures/issue.json")
    closed = rest.incident_fields("facebook/react", {**issue, "body": "Broke prod.\nRoot cause: 94A7A7F1"})
    assert closed["uid"] == f"github:facebook/react#{issue['number']}" and closed["root_cause_sha"] == "94a7a7f1"
    assert closed["resolved_at"] == datetime(2017, 8, 19, 0, 14, 20, tzinfo=UTC) and closed["reopened"] is False
    reopened = rest.incident_fields("facebook/react", {**issue, "state": "open"})
    assert reopened["resolved_at"] is None and reopened["reopened"] is True


def test_live_progress_redraws_one_line_with_a_bar_and_the_budget() -> None:
    out = io.StringIO()
    ticks = iter(range(1000))
    progress = SyncProgress(out, live=True, clock=lambda: float(next(ticks)), width=200)
    progress.start_repo("acme/api", 1, 2)
    progress.start_phase("pull requests")
    progress.budget(RateLimit(limit=5000, remaining=4321, reset_at=datetime(2026, 11, 22, 14, 5, tzinfo=UTC)), 7)
    progress.count("pulls", 3)
    progress.position(hours(25), since=hours(0), top=hours(100))
    line = progress.line()
    assert (
        line
        == "[1/2] acme/api · pull requests [#########---]  75% · API 4321/5000 left, resets 14:05 UTC, 7 cached · pulls 3"
    )
    progress.waiting(125, "rate limit resets")
    assert out.getvalue().endswith(
        "75% · waiting 2 min 05 s: rate limit resets · API 4321/5000 left, resets 14:05 UTC, 7 cached · pulls 3"
    )
    progress.finish_repo()
    assert out.getvalue().endswith("[1/2] acme/api: done · pulls 3 · API 4321/5000 left, resets 14:05 UTC, 7 cached\n")
    assert out.getvalue().count("\r\x1b[2K") >= 3


def test_a_repository_plan_merges_its_teams_and_keeps_the_teams_yml_spelling() -> None:
    config = parse_teams_yaml(
        """
teams:
  api:
    channel: C0123ABCD
    repos: [Acme/API]
    production: {environments: "^prod$", branch: trunk, workflows: [deploy.yml]}
    incidents: {github_label: sev}
  platform:
    channel: C0456EFGH
    repos: [Acme/API, acme/web]
    incidents: {github_label: incident}
"""
    )
    plan = plan_for("acme/api", config.teams.values())
    assert plan.repo == "Acme/API" and plan.teams == ("api", "platform")
    assert plan.incident_labels == ("sev", "incident") and plan.workflows == ("deploy.yml",)
    assert plan.is_production("prod") and plan.is_production("Production") and not plan.is_production("staging")
    assert plan.branch == "trunk"
    alone = plan_for("someone/else", config.teams.values())
    assert alone.teams == () and alone.is_production("production") and alone.incident_labels == ("incident",)
