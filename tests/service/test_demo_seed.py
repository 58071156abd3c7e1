"""Generated histories in the database: the bulk writer stores what the upserts store, and reports make sense."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.delivery import service
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
from bot.demo.generator import Progress, generate_org, seed_demo, seed_teams
from bot.demo.org import org_teams
from bot.metrics.periods import parse_period
from bot.metrics.service import build_report
from bot.teams.service import get_team, list_teams

END = datetime(2026, 11, 1, tzinfo=UTC)
PR_CHILDREN = (PrCommit, PrReview, ReviewRequest)
TOP_LEVEL = (Commit, Deployment, Incident, PipelineRun)


def _snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every delivery row without surrogate ids; children name their PR by ``(repo, number)``."""
    prs = {pr.id: (pr.repo, pr.number) for pr in session.scalars(select(PullRequest))}
    snap: dict[str, list[tuple[Any, ...]]] = {}
    for model in (PullRequest, *PR_CHILDREN, *TOP_LEVEL):
        table = model.__table__  # type: ignore[attr-defined]
        columns = [c for c in table.columns if c.name != "id"]
        rows = []
        for row in session.execute(select(*columns)):
            values = dict(zip([c.name for c in columns], row, strict=True))
            if "pr_id" in values:
                values["pr_id"] = prs[values["pr_id"]]
            rows.append(tuple(sorted((k, repr(v)) for k, v in values.items())))
        snap[table.name] = sorted(rows)
    return snap


def test_bulk_generation_stores_what_the_upserts_store(engine: Engine) -> None:
    seen: list[Progress] = []
    org = generate_org(engine=engine, teams=3, days=12, seed=5, end=END, progress=seen.append)
    assert [p.teams_done for p in seen] == [1, 2, 3] and seen[-1].rows == org.counts
    assert seen[-1].total_rows == sum(org.counts.values()) > 1000
    with session_scope(engine) as session:
        bulk = _snapshot(session)
        assert {t.id for t in list_teams(session=session)} == {s.id for s in org.specs}
        for model in (*PR_CHILDREN, *TOP_LEVEL, PullRequest):
            session.execute(delete(model))
    with session_scope(engine) as session:
        seeded = seed_teams(session=session, specs=org_teams(3, seed=5), end=END, days=12, seed=5)
    with session_scope(engine) as session:
        upserted = _snapshot(session)
    assert seeded.counts == org.counts
    for table, rows in bulk.items():
        assert len(rows) == org.counts[table], table
        assert rows == upserted[table], f"{table}: the bulk rows differ from the upserted ones"


def test_ingest_keeps_working_after_a_bulk_generation(engine: Engine) -> None:
    generate_org(engine=engine, teams=2, days=10, seed=2, end=END)
    with session_scope(engine) as session:
        before = session.scalar(select(PullRequest.id).order_by(PullRequest.id.desc()).limit(1))  # type: ignore[union-attr]
        pr = service.upsert_pull_request(session=session, repo="acme/new-repo", number=1, created_at=END)
        assert before is not None and pr.id is not None and pr.id > before


@pytest.fixture
def demo(session: Session) -> Any:
    return seed_demo(session=session, as_of=END, seed=1, days=50)


def test_demo_reports_tell_the_teams_apart(demo: Any, session: Session) -> None:
    reports = {}
    for spec in demo.specs:
        team = get_team(session=session, team_id=spec.id)
        assert team.timezone == spec.timezone and team.channel == spec.channel
        report = build_report(session=session, team=team, period=parse_period("30d"), as_of=END)
        cur = report.current
        # A figure is there exactly when its data is.
        assert cur.frequency.deployments > 0 and cur.frequency.tier is not None and cur.frequency.per_week
        assert cur.change_failure_rate.rate is not None and cur.change_failure_rate.tier is not None
        assert (cur.lead_time.median_s is not None) == (cur.lead_time.tier is not None) == (cur.lead_time.changes > 0)
        assert all((v is not None) == (cur.lead_time.changes > 0) for v in cur.lead_time.stages.values()), spec.id
        assert (cur.recovery_time.median_s is not None) == (cur.recovery_time.recovered > 0)
        assert (cur.time_to_restore.median_s is not None) == (cur.time_to_restore.resolved > 0)
        reports[spec.persona.key] = cur
    rank = {"elite": 0, "high": 1, "medium": 2, "low": 3}
    elite, struggling = reports["elite"], reports["struggling"]
    assert elite.lead_time.changes > 50 and struggling.lead_time.changes > 0
    assert rank[elite.frequency.tier] < rank[struggling.frequency.tier]  # type: ignore[index]
    assert rank[elite.lead_time.tier] < rank[struggling.lead_time.tier]  # type: ignore[index]
    assert elite.lead_time.median_s * 5 < struggling.lead_time.median_s  # type: ignore[operator]
    assert elite.frequency.deployments > 5 * struggling.frequency.deployments
    assert elite.time_to_restore.median_s * 5 < struggling.time_to_restore.median_s  # type: ignore[operator]
