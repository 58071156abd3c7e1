"""The /dora benchmark at a tiny scale, so its code cannot rot between full runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench import metrics
from bench.naive import naive_report
from bot.delivery.models import PullRequest
from bot.demo.generator import generate_org
from bot.metrics.periods import parse_period
from bot.metrics.service import build_report
from bot.teams.service import list_teams

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_engine_and_naive_baseline_agree_and_are_timed(engine: Engine) -> None:
    generate_org(engine=engine, teams=3, days=120, seed=4, end=END)
    lines: list[str] = []
    measured = metrics.run_metrics(
        engine, sample=2, repeat=2, naive_repeat=1, all_rounds=1, as_of=END, log=lines.append
    )
    assert measured["identical"] == measured["compared"] == 3 and not measured["mismatched"]
    assert len(measured["single"].samples) == 4 and len(measured["single_naive"].samples) == 2
    assert all(s > 0 for s in measured["single"].samples + measured["all_teams"].samples)
    assert measured["all_teams_cpu"].median > 0
    assert measured["single"].p95 >= measured["single"].median
    assert any("figures identical for 3 of 3 teams" in line for line in lines)
    result = metrics.MetricsResult(
        database="sqlite",
        server="SQLite",
        teams=3,
        days=120,
        seed=4,
        period="90d",
        counts={"pull_request": 10},
        generation_s=1.0,
        repeat=2,
        naive_repeat=1,
        **measured,
    )
    text = metrics.render(result, load=1.0)
    assert "| one team: median |" in text and "Figures identical for 3 of 3 teams." in text
    assert "≤ 10 s: for 200 teams" in text  # a small org does not claim the full-size target


def test_naive_baseline_reads_what_the_engine_reads_for_every_period(engine: Engine) -> None:
    generate_org(engine=engine, teams=2, days=200, seed=8, end=END)
    with Session(engine) as session:
        for team in list_teams(session=session):
            for period in ("7d", "30d", "90d", "quarter"):
                args = {"session": session, "team": team, "period": parse_period(period), "as_of": END}
                assert naive_report(**args).to_json() == build_report(**args).to_json(), (team.id, period)


def test_prepare_generates_once_and_reuses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    logged: list[str] = []
    counts, seconds = metrics.prepare(url, teams=2, days=15, seed=3, results=tmp_path, log=logged.append)
    assert seconds is not None and counts["pull_request"] > 0
    assert any("teams    2/2" in line for line in logged)  # progress: counts and rate per table
    again, reused = metrics.prepare(url, teams=2, days=15, seed=3, reuse=True, results=tmp_path, log=logged.append)
    assert reused is None and again == counts
    engine = metrics.make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(PullRequest)) == counts["pull_request"]
    engine.dispose()
    # Other options mean another org: generated afresh, never mixed with the old one.
    _, regenerated = metrics.prepare(url, teams=2, days=10, seed=3, reuse=True, results=tmp_path, log=logged.append)
    assert regenerated is not None
