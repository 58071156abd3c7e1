"""Idempotent writes of delivery data: replays and out-of-order events leave the same tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.delivery import service
from bot.delivery.models import Commit, Deployment, PrCommit, PullRequest, ReviewRequest

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def test_pull_request_upsert_is_idempotent_and_never_unmerges(session: Session) -> None:
    pr = service.upsert_pull_request(session=session, repo="acme/api", number=7, created_at=T0, title="Add x")
    service.upsert_pull_request(
        session=session, repo="acme/api", number=7, merged_at=T0 + timedelta(hours=3), merge_commit_sha="m1"
    )
    # A stale "closed" arriving after the merge must not unmerge it; a None title keeps the old one.
    again = service.upsert_pull_request(session=session, repo="acme/api", number=7, state="closed", title=None)
    assert again.id == pr.id and again.state == "merged" and again.title == "Add x"
    assert session.scalar(select(func.count()).select_from(PullRequest)) == 1


def test_ready_at_is_set_once(session: Session) -> None:
    service.upsert_pull_request(session=session, repo="o/r", number=1, created_at=T0, draft=True)
    service.upsert_pull_request(session=session, repo="o/r", number=1, ready_at=T0 + timedelta(hours=1), draft=False)
    pr = service.upsert_pull_request(session=session, repo="o/r", number=1, ready_at=T0 + timedelta(hours=5))
    assert pr.ready_at == T0 + timedelta(hours=1)


def test_new_rows_need_their_key_facts(session: Session) -> None:
    with pytest.raises(ValueError, match="needs created_at"):
        service.upsert_pull_request(session=session, repo="o/r", number=2, title="x")
    with pytest.raises(ValueError, match="needs environment"):
        service.upsert_deployment(session=session, uid="api:o/r:1", ext_id="1", source="api", repo="o/r")


def test_pr_commits_are_added_once(session: Session) -> None:
    pr = service.upsert_pull_request(session=session, repo="o/r", number=3, created_at=T0)
    commits = [{"sha": "a", "authored_at": T0}, {"sha": "b", "authored_at": T0 + timedelta(minutes=5)}]
    assert service.add_pr_commits(session=session, pr=pr, commits=commits) == 2
    assert service.add_pr_commits(session=session, pr=pr, commits=commits) == 0
    assert session.scalar(select(func.count()).select_from(PrCommit)) == 2


def test_deployment_status_never_moves_backwards(session: Session) -> None:
    kw = {"ext_id": "9", "source": "github", "repo": "o/r", "environment": "production"}
    service.upsert_deployment(session=session, uid="github:o/r:9", status="pending", started_at=T0, **kw)
    service.upsert_deployment(
        session=session, uid="github:o/r:9", status="success", finished_at=T0 + timedelta(minutes=9)
    )
    service.upsert_deployment(
        session=session, uid="github:o/r:9", status="in_progress", finished_at=T0 + timedelta(hours=2)
    )
    row = session.scalars(select(Deployment)).one()
    assert row.status == "success" and row.finished_at == T0 + timedelta(minutes=9) and row.started_at == T0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("success", "success"),
        ("error", "failure"),
        ("FAILED", "failure"),
        ("canceled", "cancelled"),
        ("inactive", None),
        ("running", "in_progress"),
        ("nonsense", None),
    ],
)
def test_status_mapping(raw: str, expected: str | None) -> None:
    assert service.normalize_deployment_status(raw) == expected


def test_commit_keeps_earliest_landing_and_its_push(session: Session) -> None:
    service.upsert_commit(session=session, repo="o/r", sha="c1", landed_at=T0 + timedelta(hours=1), push_key="o/r:p2")
    service.upsert_commit(session=session, repo="o/r", sha="c1", landed_at=T0, push_key="o/r:p1", message="fix")
    service.upsert_commit(session=session, repo="o/r", sha="c1", landed_at=T0 + timedelta(hours=3), push_key="o/r:p3")
    row = session.scalars(select(Commit)).one()
    assert (row.landed_at, row.push_key, row.message) == (T0, "o/r:p1", "fix")


def test_review_requests_reopen_and_close(session: Session) -> None:
    pr = service.upsert_pull_request(session=session, repo="o/r", number=4, created_at=T0)
    service.request_review(session=session, pr=pr, reviewer="bob", requested_at=T0)
    service.remove_review_request(session=session, pr=pr, reviewer="bob", removed_at=T0 + timedelta(hours=1))
    service.request_review(session=session, pr=pr, reviewer="bob", requested_at=T0 + timedelta(hours=2))
    row = session.scalars(select(ReviewRequest)).one()
    assert row.removed_at is None and row.requested_at == T0 + timedelta(hours=2)


def test_incident_resolution_and_reopen(session: Session) -> None:
    service.upsert_incident(session=session, uid="api:INC-1", source="api", opened_at=T0, repo="o/r")
    service.upsert_incident(session=session, uid="api:INC-1", resolved_at=T0 + timedelta(hours=2))
    inc = service.upsert_incident(session=session, uid="api:INC-1", reopened=True)
    assert inc.resolved_at is None and inc.opened_at == T0
