"""Reports from the database: the DESIGN.md §3 figures for a hand-worked history, and explain."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.errors import UserFacingError
from bot.metrics.periods import parse_period
from bot.metrics.service import build_report, explain_metric
from bot.teams.service import get_team
from tests.factories import History, apply_teams, utc

H = timedelta(hours=1)
AS_OF = utc(2026, 10, 31)


@pytest.fixture
def history(session: Session) -> History:
    apply_teams(session)
    return History(session)


def _seed_october(h: History) -> None:
    """A hand-worked month for team-a (acme/api), window Oct 1 – Oct 31 2026."""
    h.deploy(utc(2026, 9, 20, 12), "base00")  # baseline, before the window
    # Batched: #1 and #2 ship together on Oct 5 18:00.
    h.merge(1, utc(2026, 10, 5, 9), "m1", first_commit=utc(2026, 10, 4, 18), review_at=utc(2026, 10, 5, 8))
    h.merge(2, utc(2026, 10, 5, 15), "m2", first_commit=utc(2026, 10, 5, 10), review_at=utc(2026, 10, 5, 14))
    h.deploy(utc(2026, 10, 5, 18), "m2")  # deploy-0002
    # An incident 1 h later, unlinked: time attribution fails deploy-0002; resolved 3 h after it opened.
    h.incident("INC-900", utc(2026, 10, 5, 19), utc(2026, 10, 5, 22))
    # A direct push to main, deployed on Oct 12.
    h.push("p3", utc(2026, 10, 12, 10), authored_at=utc(2026, 10, 12, 9), message="Bump timeout")
    h.deploy(utc(2026, 10, 12, 11), "p3")  # deploy-0003
    # A staging deployment never counts; a failed production one neither.
    h.deploy(utc(2026, 10, 13, 11), "p3", env="staging")
    h.deploy(utc(2026, 10, 14, 11), "p3", status="failure")
    # A redeploy of the same SHA on Oct 20.
    h.deploy(utc(2026, 10, 20, 11), "p3")  # deploy-0006


def test_hand_worked_month(history: History, session: Session) -> None:
    _seed_october(history)
    team = get_team(session=session, team_id="team-a")
    report = build_report(session=session, team=team, period=parse_period("30d"), as_of=AS_OF)
    data = report.to_json()
    assert data["team"] == "team-a" and data["profile"] == "dora-2023"
    assert data["start"] == "2026-10-01T00:00:00+00:00" and data["end"] == "2026-10-31T00:00:00+00:00"
    df = data["deployment_frequency"]
    assert df["deployments"] == 3 and df["per_day"] == pytest.approx(0.1) and df["per_week"] == pytest.approx(0.7)
    lt = data["lead_time"]
    # #1: Oct 4 18:00 → Oct 5 18:00 = 24 h; #2: Oct 5 10:00 → 18:00 = 8 h; push: 09:00 → 11:00 = 2 h.
    assert lt["changes"] == 3 and lt["median_s"] == 8 * 3600 and lt["excluded_negative"] == 0
    assert lt["p90_s"] == pytest.approx(8 * 3600 + 0.8 * 16 * 3600)
    assert lt["tier"] == "elite"
    assert lt["stages"]["deploy_s"] == 3 * 3600  # medians of 9 h, 3 h, 1 h
    cfr = data["change_failure_rate"]
    assert (cfr["failed"], cfr["deployments"], cfr["rate"], cfr["tier"]) == (1, 3, 0.3333, "low")
    rec = data["recovery_time"]
    assert (rec["recovered"], rec["open"], rec["median_s"], rec["tier"]) == (1, 0, 4 * 3600, "high")
    ttr = data["time_to_restore"]
    assert (ttr["resolved"], ttr["open"], ttr["median_s"]) == (1, 0, 3 * 3600)
    assert data["rework_rate"]["rate"] == 0
    prev = data["previous"]
    assert prev["deployment_frequency"]["deployments"] == 1  # the baseline on Sep 20
    assert prev["lead_time"]["median_s"] is None and prev["lead_time"]["tier"] is None
    json.dumps(data)  # serialisable as is


def test_knowledge_stops_at_as_of(history: History, session: Session) -> None:
    _seed_october(history)
    team = get_team(session=session, team_id="team-a")
    # As of Oct 5 21:00 the incident is still open and the later deployments have not happened.
    report = build_report(session=session, team=team, period=parse_period("7d"), as_of=utc(2026, 10, 5, 21))
    cur = report.current
    assert cur.frequency.deployments == 1 and cur.recovery_time.open == 1 and cur.time_to_restore.open == 1


def test_records_of_one_pipeline_run_are_one_deployment(history: History, session: Session) -> None:
    history.deploy(utc(2026, 10, 1, 9), "base")
    history.merge(5, utc(2026, 10, 10, 9), "m5")
    for region, minute in (("eu", 5), ("us", 12), ("ap", 20)):
        history.deploy(utc(2026, 10, 10, 10, minute), "m5", env="production", run_key="run-77", ext_id=f"r77-{region}")
    team = get_team(session=session, team_id="team-a")
    report = build_report(session=session, team=team, period=parse_period("30d"), as_of=AS_OF)
    assert report.current.frequency.deployments == 2
    assert report.current.lead_time.median_s == (utc(2026, 10, 10, 10, 20) - utc(2026, 10, 9, 23)).total_seconds()


def test_prs_into_other_branches_are_not_changes(history: History, session: Session) -> None:
    history.deploy(utc(2026, 10, 1, 9), "base")
    history.merge(6, utc(2026, 10, 10, 9), "m6", base_ref="develop")
    history.merge(7, utc(2026, 10, 10, 10), "m7")
    history.deploy(utc(2026, 10, 10, 11), "m7")
    team = get_team(session=session, team_id="team-a")
    report = build_report(session=session, team=team, period=parse_period("30d"), as_of=AS_OF)
    assert report.current.lead_time.changes == 1


def test_push_carrying_a_merge_commit_belongs_to_its_pr(history: History, session: Session) -> None:
    history.deploy(utc(2026, 10, 1, 9), "base")
    # A rebase merge: two rebased commits land in one push; the last is the PR's merge sha.
    history.push("rb1", utc(2026, 10, 8, 12), authored_at=utc(2026, 10, 6, 9), push_key="acme/api:rb2")
    history.push("rb2", utc(2026, 10, 8, 12), authored_at=utc(2026, 10, 7, 9), push_key="acme/api:rb2")
    history.merge(8, utc(2026, 10, 8, 12), "rb2", first_commit=utc(2026, 10, 6, 9))
    history.deploy(utc(2026, 10, 8, 13), "rb2")
    team = get_team(session=session, team_id="team-a")
    report = build_report(session=session, team=team, period=parse_period("30d"), as_of=AS_OF)
    assert report.current.lead_time.changes == 1
    assert report.current.lead_time.median_s == (utc(2026, 10, 8, 13) - utc(2026, 10, 6, 9)).total_seconds()


def test_no_data_is_said_plainly(history: History, session: Session) -> None:
    team = get_team(session=session, team_id="team-a")
    report = build_report(session=session, team=team, period=parse_period("30d"), as_of=AS_OF)
    assert report.current.frequency.tier is None and report.to_json()["change_failure_rate"]["rate"] is None
    assert report.no_data_hint and "No deployments recorded yet" in report.no_data_hint
    history.deploy(utc(2026, 10, 3), "s1", env="staging")
    report = build_report(session=session, team=team, period=parse_period("30d"), as_of=AS_OF)
    assert report.no_data_hint and "production.environments" in report.no_data_hint and "staging" in report.no_data_hint


def test_explain_lists_the_records_behind_a_number(history: History, session: Session) -> None:
    _seed_october(history)
    team = get_team(session=session, team_id="team-a")
    period = parse_period("30d")
    cfr = explain_metric(session=session, team=team, metric="cfr", period=period, as_of=AS_OF)
    assert cfr.metric == "change-failure-rate"
    assert cfr.headline.startswith("Change failure rate 33 % = 1 failed of 3 production deployments")
    failed = [line for line in cfr.lines if line.ok is False]
    assert len(failed) == 1 and "PRs #1 #2" in failed[0].text
    assert "incident INC-900 started 1 h later (time attribution, window 24 h)" in failed[0].text
    assert failed[0].url == "https://ci.example.com/deploy-0002"
    lead = explain_metric(session=session, team=team, metric="lead-time", period=period, as_of=AS_OF)
    assert "#1 Change: 24 h" in lead.lines[0].text  # slowest first
    ttr = explain_metric(session=session, team=team, metric="time-to-restore", period=period, as_of=AS_OF)
    assert "resolved in 3 h" in ttr.lines[0].text
    with pytest.raises(UserFacingError, match="I can explain"):
        explain_metric(session=session, team=team, metric="happiness", period=period, as_of=AS_OF)
