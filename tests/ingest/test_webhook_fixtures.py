"""Every shared fixture of a used event goes through the real endpoint, signed, into the right tables.

The same fixture with a wrong signature lands nowhere. Each case posts the published payload exactly
as it is (a case that needs another shape builds it from a fixture), lets the normaliser run, and
checks the rows a user of the metrics would rely on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.delivery.models import Commit, Deployment, Incident, PipelineRun, PrReview, PullRequest, ReviewRequest
from bot.ingest import worker
from bot.ingest.models import RawEvent
from tests.ingest.conftest import Server, load_fixture

GH = "github-webhooks/octokit-payload-examples"
SL = "github-webhooks/integrations-slack-fixtures"
HUB = "github-webhooks/hub4j-event-payloads"
GL = "gitlab-webhooks"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def one(session: Session, model: type, **where: Any) -> Any:
    stmt = select(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    rows = session.scalars(stmt).all()
    assert len(rows) == 1, f"expected one {model.__name__} {where}, found {len(rows)}"
    return rows[0]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def pr(session: Session, repo: str, number: int) -> PullRequest:
    return one(session, PullRequest, repo=repo, number=number)


def check_opened(s: Session) -> None:
    row = pr(s, "Codertocat/Hello-World", 2)
    assert (row.state, row.draft, row.labels, row.head_ref, row.base_ref) == (
        "open",
        False,
        ["bug"],
        "changes",
        "master",
    )
    assert row.ready_at == row.created_at == at("2019-05-15T15:20:33Z")
    assert row.title == "Update the README with new information." and row.author_login == "Codertocat"


def check_merged(s: Session) -> None:
    row = pr(s, "github-slack/app", 36)
    assert row.state == "merged" and row.merged_at == at("2017-10-20T16:55:30Z")
    assert row.merge_commit_sha == "acac2f75d59f43ceab769fb203cfbbf6f3cf8b10" and row.head_ref == "deck-chairs"


def check_closed_unmerged(s: Session) -> None:
    row = pr(s, "Codertocat/Hello-World", 2)
    assert (
        row.state == "closed" and row.closed_at is not None and row.merged_at is None and row.merge_commit_sha is None
    )


def check_draft(s: Session) -> None:
    row = pr(s, "Codertocat/Hello-World", 2)
    assert row.draft is True and row.ready_at is None  # first seen as a draft: not ready yet


def check_ready(s: Session) -> None:
    assert pr(s, "Codertocat/Hello-World", 2).ready_at == at("2019-05-15T15:21:18Z")


def check_review_requested(s: Session) -> None:
    request = one(s, ReviewRequest, reviewer="octocat")
    assert request.removed_at is None and request.requested_at is not None


def check_review(state: str, reviewer: str, repo: str) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        review = one(s, PrReview)
        assert (review.state, review.reviewer_login, review.reviewer_is_bot) == (state, reviewer, False)
        assert s.get(PullRequest, review.pr_id).repo == repo  # type: ignore[union-attr]

    return check


def check_push(repo: str, after: str, n: int, landed: datetime) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        commits = s.scalars(select(Commit).where(Commit.repo == repo)).all()
        assert len(commits) == n
        assert {c.push_key for c in commits} == {f"{repo}:{after}"}
        assert {c.landed_at for c in commits} == {landed}
        assert all(c.authored_at is not None and c.branch == "master" for c in commits)

    return check


def check_nothing(s: Session) -> None:
    for model in (PullRequest, Commit, Deployment, Incident, PipelineRun):
        assert count(s, model) == 0, model.__name__


def check_deployment(repo: str, env: str, status: str, finished: str | None = None) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        dep = one(s, Deployment, repo=repo)
        assert (dep.environment, dep.status, dep.source) == (env, status, "github")
        assert dep.sha is not None and dep.uid == f"github:{repo}:{dep.ext_id}"
        assert dep.finished_at == (at(finished) if finished else None)

    return check


def check_runs(kind: str, conclusion: str | None, attempt: int = 1) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        run = one(s, PipelineRun, kind=kind)
        assert (run.conclusion, run.attempt, run.provider) == (conclusion, attempt, "github")
        assert run.head_sha and run.run_id

    return check


def check_deploy_workflow(s: Session) -> None:
    run = one(s, PipelineRun, kind="run")
    dep = one(s, Deployment, repo="octo-org/octo-repo")
    assert (dep.status, dep.environment, dep.sha) == ("success", "production", run.head_sha)
    assert dep.run_key == f"github:octo-org/octo-repo:run:{run.run_id}" and dep.finished_at == run.finished_at


def check_incident(repo: str, number: int, opened: str, resolved: str | None) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        inc = one(s, Incident, uid=f"github:{repo}#{number}")
        assert (inc.repo, inc.source, inc.opened_at) == (repo, "github", at(opened))
        assert inc.resolved_at == (at(resolved) if resolved else None)

    return check


def check_gitlab_mr(s: Session) -> None:
    row = pr(s, "gitlab:gitlabhq/gitlab-test", 1)
    assert (row.state, row.head_ref, row.base_ref, row.labels) == ("open", "ms-viewport", "master", ["API"])
    assert row.ready_at == row.created_at and one(s, ReviewRequest).reviewer == "user1"


def check_gitlab_pipeline(s: Session) -> None:
    run = one(s, PipelineRun, repo="gitlab:gitlab-org/gitlab-test")
    assert (run.kind, run.conclusion, run.provider, run.head_branch) == ("pipeline", "success", "gitlab", "master")
    assert run.finished_at == at("2016-08-12T15:26:29Z")


def check_gitlab_job(repo: str, status: str, conclusion: str | None, attempt: int) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        run = one(s, PipelineRun, repo=repo)
        assert (run.kind, run.status, run.conclusion, run.attempt) == ("job", status, conclusion, attempt)

    return check


def check_gitlab_deployment(s: Session) -> None:
    dep = one(s, Deployment, repo="gitlab:root/test-deployment-webhooks")
    assert (dep.source, dep.status, dep.environment, dep.ext_id) == ("gitlab", "success", "staging", "15")
    assert dep.finished_at == at("2021-04-28T19:50:00Z") and dep.sha and dep.sha.startswith("279484c")


def check_pagerduty(uid: str, opened: str, resolved: str | None) -> Callable[[Session], None]:
    def check(s: Session) -> None:
        inc = one(s, Incident, uid=uid)
        assert (inc.service, inc.source, inc.opened_at) == ("PA2P440", "pagerduty", at(opened))
        assert inc.resolved_at == (at(resolved) if resolved else None)

    return check


def check_opsgenie(s: Session) -> None:
    inc = one(s, Incident, uid="opsgenie:ec03dad6-62c8-4c94-b38b-d88f398e900f")
    assert (inc.service, inc.title, inc.resolved_at) == ("Server", "another alert", None)
    assert inc.opened_at == datetime.fromtimestamp(1502709956.288, UTC)


# (source, event, fixture, expected status, check)
CASES: list[tuple[str, str, str, str, Callable[[Session], None]]] = [
    ("github", "ping", f"{GH}/ping/payload.json", "done", check_nothing),
    ("github", "ping", f"{GH}/ping/with-app_id.payload.json", "done", check_nothing),
    ("github", "ping", f"{HUB}/ping.json", "done", check_nothing),
    ("github", "pull_request", f"{GH}/pull_request/opened.payload.json", "done", check_opened),
    ("github", "pull_request", f"{GH}/pull_request/opened.with-organization.payload.json", "done", check_opened),
    ("github", "pull_request", f"{SL}/pull_request.opened.json", "done", lambda s: pr(s, "github-slack/app", 31)),
    ("github", "pull_request", f"{HUB}/pull_request.json", "done", lambda s: pr(s, "baxterthehacker/public-repo", 1)),
    ("github", "pull_request", f"{GH}/pull_request/closed.payload.json", "done", check_closed_unmerged),
    ("github", "pull_request", f"{SL}/pull_request.closed.json", "done", check_merged),
    ("github", "pull_request", f"{GH}/pull_request/converted_to_draft.payload.json", "done", check_draft),
    ("github", "pull_request", f"{GH}/pull_request/ready_for_review.payload.json", "done", check_ready),
    (
        "github",
        "pull_request",
        f"{GH}/pull_request/reopened.payload.json",
        "done",
        lambda s: pr(s, "Codertocat/Hello-World", 2),
    ),
    ("github", "pull_request", f"{GH}/pull_request/review_requested.payload.json", "done", check_review_requested),
    (
        "github",
        "pull_request",
        f"{GH}/pull_request/review_request_removed.payload.json",
        "done",
        lambda s: pr(s, "Codertocat/Hello-World", 2),
    ),
    (
        "github",
        "pull_request",
        f"{GH}/pull_request/synchronize.payload.json",
        "done",
        lambda s: pr(s, "Codertocat/Hello-World", 2).head_sha,
    ),
    (
        "github",
        "pull_request_review",
        f"{GH}/pull_request_review/submitted.payload.json",
        "done",
        check_review("commented", "Codertocat", "Codertocat/Hello-World"),
    ),
    (
        "github",
        "pull_request_review",
        f"{GH}/pull_request_review/submitted.with-organization.payload.json",
        "done",
        check_review("commented", "Codertocat", "Codertocat/Hello-World"),
    ),
    (
        "github",
        "pull_request_review",
        f"{GH}/pull_request_review/dismissed.payload.json",
        "done",
        lambda s: one(s, PrReview, state="dismissed"),
    ),
    (
        "github",
        "pull_request_review",
        f"{SL}/pull_request_review/approved.json",
        "done",
        lambda s: one(s, PrReview, state="approved"),
    ),
    (
        "github",
        "pull_request_review",
        f"{SL}/pull_request_review/changes_requested.json",
        "done",
        lambda s: one(s, PrReview, state="changes_requested"),
    ),
    (
        "github",
        "pull_request_review",
        f"{SL}/pull_request_review/commented.json",
        "done",
        lambda s: one(s, PrReview, state="commented"),
    ),
    (
        "github",
        "pull_request_review",
        f"{HUB}/pull_request_review.json",
        "done",
        check_review("approved", "baxterthehacker", "baxterthehacker/public-repo"),
    ),
    (
        "github",
        "push",
        f"{SL}/push.json",
        "done",
        check_push(
            "github-slack/app", "c8517a6aa42a568bc1a0be1febc1e1c819932ba6", 11, datetime.fromtimestamp(1510086250, UTC)
        ),
    ),
    (
        "github",
        "push",
        f"{GH}/push/with-new-branch.payload.json",
        "done",
        lambda s: count(s, Commit) == 1 or pytest.fail("no commit"),
    ),
    ("github", "push", f"{SL}/push_non_default_branch.json", "done", check_nothing),
    ("github", "push", f"{GH}/push/payload.json", "ignored", check_nothing),
    ("github", "push", f"{GH}/push/with-organization.payload.json", "ignored", check_nothing),
    (
        "github",
        "deployment",
        f"{GH}/deployment/payload.json",
        "done",
        check_deployment("Codertocat/Hello-World", "production", "pending"),
    ),
    (
        "github",
        "deployment",
        f"{GH}/deployment/gh-pages.payload.json",
        "done",
        check_deployment("Codertocat/Hello-World", "github-pages", "pending"),
    ),
    (
        "github",
        "deployment",
        f"{HUB}/deployment.json",
        "done",
        check_deployment("baxterthehacker/public-repo", "production", "pending"),
    ),
    (
        "github",
        "deployment_status",
        f"{GH}/deployment_status/payload.json",
        "done",
        check_deployment("Codertocat/Hello-World", "production", "success", "2019-05-15T15:20:55Z"),
    ),
    (
        "github",
        "deployment_status",
        f"{GH}/deployment_status/gh-pages.payload.json",
        "done",
        check_deployment("Codertocat/Hello-World", "github-pages", "in_progress"),
    ),
    (
        "github",
        "deployment_status",
        f"{SL}/deployment/status_pending.json",
        "done",
        check_deployment("github-slack/app", "github-slack-app", "pending"),
    ),
    (
        "github",
        "deployment_status",
        f"{SL}/deployment/status_success.json",
        "done",
        lambda s: one(s, Deployment, status="success").finished_at,
    ),
    (
        "github",
        "deployment_status",
        f"{HUB}/deployment_status.json",
        "done",
        lambda s: one(s, Deployment, status="success"),
    ),
    ("github", "workflow_run", f"{GH}/workflow_run/completed.payload.json", "done", check_deploy_workflow),
    (
        "github",
        "workflow_run",
        f"{GH}/workflow_run/completed.with-pull-requests.payload.json",
        "done",
        lambda s: one(s, PipelineRun, conclusion="success"),
    ),
    (
        "github",
        "workflow_run",
        f"{GH}/workflow_run/requested.payload.json",
        "done",
        lambda s: one(s, PipelineRun, conclusion=None),
    ),
    ("github", "workflow_run", f"{HUB}/workflow_run.json", "done", check_runs("run", "success")),
    ("github", "workflow_run", f"{HUB}/workflow_run_pull_request.json", "done", check_runs("run", "success")),
    (
        "github",
        "workflow_job",
        f"{GH}/workflow_job/completed.failure.with-organization.payload.json",
        "done",
        check_runs("job", "failure"),
    ),
    (
        "github",
        "workflow_job",
        f"{GH}/workflow_job/completed.success.with-organization.payload.json",
        "done",
        check_runs("job", "success"),
    ),
    ("github", "workflow_job", f"{GH}/workflow_job/in_progress.payload.json", "done", check_runs("job", None)),
    ("github", "workflow_job", f"{GH}/workflow_job/queued.payload.json", "done", check_runs("job", None)),
    (
        "github",
        "workflow_job",
        f"{GH}/workflow_job/queued.with-deployment.payload.json",
        "done",
        check_runs("job", None),
    ),
    ("github", "workflow_job", f"{HUB}/workflow_job.json", "done", check_runs("job", "failure")),
    ("github", "check_suite", f"{GH}/check_suite/completed.payload.json", "done", check_runs("check_suite", "success")),
    ("github", "check_suite", f"{GH}/check_suite/requested.payload.json", "done", check_runs("check_suite", None)),
    ("github", "check_suite", f"{HUB}/check-suite.json", "done", check_runs("check_suite", "success")),
    (
        "github",
        "issues",
        f"{GH}/issues/opened.payload.json",
        "done",
        check_incident("Codertocat/Hello-World", 1, "2019-05-15T15:20:18Z", None),
    ),
    (
        "github",
        "issues",
        f"{GH}/issues/labeled.payload.json",
        "done",
        check_incident("Codertocat/Hello-World", 1, "2019-05-15T15:20:18Z", None),
    ),
    (
        "github",
        "issues",
        f"{GH}/issues/edited.payload.json",
        "done",
        check_incident("Codertocat/Hello-World", 1, "2019-05-15T15:20:18Z", None),
    ),
    (
        "github",
        "issues",
        f"{GH}/issues/reopened.payload.json",
        "done",
        check_incident("Codertocat/Hello-World", 1, "2021-07-05T18:05:24Z", None),
    ),
    (
        "github",
        "issues",
        f"{SL}/issues.opened.json",
        "done",
        check_incident("github-slack/public-test", 1, "2017-10-16T16:23:58Z", None),
    ),
    # team-b labels incidents "question": closing the issue resolves the incident.
    (
        "github",
        "issues",
        f"{SL}/issues.closed.json",
        "done",
        check_incident("github-slack/public-test", 1, "2017-10-16T16:23:58Z", "2017-10-19T16:35:13Z"),
    ),
    ("github", "release", f"{GH}/release/published.payload.json", "ignored", check_nothing),
    ("github", "check_run", f"{GH}/check_run/completed.payload.json", "ignored", check_nothing),
    ("github", "status", f"{SL}/status.json", "ignored", check_nothing),
    ("gitlab", "Merge Request Hook", f"{GL}/go-gitlab/merge_request.json", "done", check_gitlab_mr),
    ("gitlab", "Merge Request Hook", f"{GL}/go-playground-webhooks/merge-request-event.json", "done", check_gitlab_mr),
    ("gitlab", "Pipeline Hook", f"{GL}/go-gitlab/pipeline.json", "done", check_gitlab_pipeline),
    ("gitlab", "Pipeline Hook", f"{GL}/go-playground-webhooks/pipeline-event.json", "done", check_gitlab_pipeline),
    (
        "gitlab",
        "Job Hook",
        f"{GL}/go-gitlab/job.json",
        "done",
        check_gitlab_job("gitlab:jsmithy2/release-tools-fake", "completed", "success", 2),
    ),
    (
        "gitlab",
        "Job Hook",
        f"{GL}/go-gitlab/build.json",
        "done",
        check_gitlab_job("gitlab:gitlab-org/gitlab-test", "queued", None, 1),
    ),
    (
        "gitlab",
        "Job Hook",
        f"{GL}/go-playground-webhooks/job-event.json",
        "done",
        check_gitlab_job("gitlab:gitlab-org/gitlab-test", "queued", None, 1),
    ),
    (
        "gitlab",
        "Job Hook",
        f"{GL}/go-playground-webhooks/build-event.json",
        "done",
        check_gitlab_job("gitlab:gitlab-org/gitlab-test", "queued", None, 1),
    ),
    ("gitlab", "Deployment Hook", f"{GL}/go-gitlab/deployment.json", "done", check_gitlab_deployment),
    (
        "gitlab",
        "Deployment Hook",
        f"{GL}/go-playground-webhooks/deployment-event.json",
        "done",
        check_gitlab_deployment,
    ),
    (
        "gitlab",
        "Push Hook",
        f"{GL}/go-gitlab/push.json",
        "done",
        lambda s: count(s, Commit) == 2 or pytest.fail("commits"),
    ),
    ("gitlab", "Note Hook", f"{GL}/go-gitlab/note_merge_request.json", "ignored", check_nothing),
    ("gitlab", "Tag Push Hook", f"{GL}/go-playground-webhooks/tag-event.json", "ignored", check_nothing),
    (
        "pagerduty",
        "",
        "pagerduty/zulip-fixtures-v3/triggered_v3.json",
        "done",
        check_pagerduty("pagerduty:PFQZPSY", "2021-06-04T13:35:29.781Z", None),
    ),
    (
        "pagerduty",
        "",
        "pagerduty/zulip-fixtures-v3/resolved_v3.json",
        "done",
        check_pagerduty("pagerduty:PCPZE64", "2021-06-04T13:16:53.816Z", "2021-06-04T13:16:53.816Z"),
    ),
    ("opsgenie", "", "opsgenie/zulip-fixtures/create.json", "done", check_opsgenie),
]


def post(server: Server, source: str, event: str, body: bytes, **kw: Any) -> Any:
    if source == "github":
        return server.github(event, body, **kw)
    if source == "gitlab":
        return server.gitlab(body, **kw)
    if source == "pagerduty":
        return server.pagerduty(body, **kw)
    return server.client.post(
        f"{server.url}/webhooks/opsgenie",
        content=body,
        headers={"Authorization": f"Bearer {kw.get('token', 'ingest-token')}"},
    )


@pytest.mark.parametrize(("source", "event", "fixture", "status", "check"), CASES, ids=[c[2] for c in CASES])
def test_fixture_lands_in_the_right_tables(
    server: Server,
    fixtures_dir: Path,
    source: str,
    event: str,
    fixture: str,
    status: str,
    check: Callable[[Session], Any],
) -> None:
    body = load_fixture(fixtures_dir, fixture)
    if fixture.endswith("review_request_removed.payload.json"):
        # A request can only be removed once it was made: request it first, from the same fixture.
        requested = json.loads(body) | {"action": "review_requested"}
        assert post(server, source, event, json.dumps(requested).encode()).status_code == 202
    response = post(server, source, event, body)
    assert response.status_code == 202, response.text
    worker.drain(server.engine)
    with session_scope(server.engine) as session:
        raw = session.scalars(select(RawEvent).order_by(RawEvent.id.desc())).first()
        assert raw is not None and bytes(raw.body) == body
        assert (raw.status, raw.error) == (status, None)
        check(session)
        if fixture.endswith("review_request_removed.payload.json"):
            assert one(session, ReviewRequest, reviewer="octocat").removed_at is not None


@pytest.mark.parametrize(("source", "event", "fixture"), [c[:3] for c in CASES[::4]], ids=[c[2] for c in CASES[::4]])
def test_fixture_with_a_wrong_signature_lands_nowhere(
    server: Server, fixtures_dir: Path, source: str, event: str, fixture: str
) -> None:
    body = load_fixture(fixtures_dir, fixture)
    forged = {
        "github": {"signature": "sha256=" + "0" * 64},
        "gitlab": {"token": "not-the-token"},
        "pagerduty": {"secret": "not-the-secret"},
        "opsgenie": {"token": "not-the-token"},
    }[source]
    response = post(server, source, event, body, **forged)
    assert response.status_code == 401
    worker.drain(server.engine)
    with session_scope(server.engine) as session:
        assert count(session, RawEvent) == 0
        check_nothing(session)


def test_unknown_repository_is_kept_with_its_error_and_replays_once_configured(
    server: Server, fixtures_dir: Path
) -> None:
    payload = json.loads(load_fixture(fixtures_dir, f"{GH}/pull_request/opened.payload.json"))
    payload["repository"]["full_name"] = "someone/else"
    assert server.github("pull_request", payload).status_code == 202
    worker.drain(server.engine)
    with session_scope(server.engine) as session:
        raw = one(session, RawEvent)
        assert raw.status == "error" and "unknown repository someone/else" in (raw.error or "")
        assert count(session, PullRequest) == 0
    from tests.ingest.conftest import TEAMS_YML, apply_teams

    apply_teams(server.engine, TEAMS_YML.replace("repos: [acme/api]", "repos: [acme/api, someone/else]"))
    assert worker.replay(server.engine)["done"] == 1
    with session_scope(server.engine) as session:
        assert pr(session, "someone/else", 2).state == "open"
        assert one(session, RawEvent).status == "done"
