"""``/dora`` figures on a generated org (200 teams, 2 years), against a naive baseline in the same run.

``python -m bench metrics [--db sqlite|postgres|both] [--scale 0.05] [--reuse]``: generate the org
with ``bot.demo.generator`` (SQLite file ``bench/results/bench.db``; PostgreSQL database ``bench``, its
schema dropped and migrated), then measure ``bot.metrics.service.build_report`` and the naive baseline
(``bench.naive``): one team's 90-day report (several teams, many repetitions, median and p95; target
≤ 50 ms) and the reports of every team in a row (target ≤ 10 s). Every run checks that both give the
same figures for every team, so a speed-up can never come from computing something else.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.naive import naive_report
from bot.db import dispose_engines, make_engine
from bot.demo.generator import Progress, generate_org
from bot.metrics.compute import percentile
from bot.metrics.periods import Period, parse_period
from bot.metrics.report import DoraReport
from bot.metrics.service import build_report
from bot.migrate import upgrade
from bot.teams.config import TeamConfig
from bot.teams.service import list_teams

RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
SQLITE_PATH = RESULTS / "bench.db"
FULL_TEAMS = 200
END = datetime(2026, 11, 1, tzinfo=UTC)  # a fixed end keeps every run's data identical

ReportFn = Callable[..., DoraReport]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Timing:
    """Seconds of repeated runs of one measurement."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median sample."""
        return percentile(self.samples, 0.5) or 0.0

    @property
    def p95(self) -> float:
        """The 95th percentile (linear interpolation)."""
        return percentile(self.samples, 0.95) or 0.0


@dataclass
class MetricsResult:
    """What one run measured on one database."""

    database: str
    server: str
    teams: int
    days: int
    seed: int
    period: str
    counts: dict[str, int]
    generation_s: float | None  # None when an earlier run's data was reused
    sampled_teams: list[str]
    repeat: int
    naive_repeat: int
    single: Timing
    single_naive: Timing
    all_teams: Timing
    all_teams_cpu: Timing
    all_teams_naive: Timing
    identical: int
    compared: int
    mismatched: list[str] = field(default_factory=list)


def url_for(database: str, *, postgres_url: str = POSTGRES_URL, sqlite_path: Path = SQLITE_PATH) -> str:
    """The benchmark database of a kind (``sqlite`` or ``postgres``)."""
    if database == "postgres":
        return postgres_url
    if database == "sqlite":
        return f"sqlite:///{sqlite_path}"
    raise ValueError(f"unknown database {database!r} (sqlite or postgres)")


def reset_database(url: str) -> None:
    """Start from nothing: drop and recreate the schema (PostgreSQL) or the file (SQLite), then migrate."""
    dispose_engines()  # the migrator's pooled connections may still hold a file about to be replaced
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def prepare(
    url: str,
    *,
    teams: int,
    days: int,
    seed: int,
    end: datetime = END,
    reuse: bool = False,
    results: Path = RESULTS,
    log: Log = print,
) -> tuple[dict[str, int], float | None]:
    """A migrated database holding the generated org: ``(rows per table, seconds to generate)``.

    With ``reuse``, data an earlier run generated with the same parameters (recorded in ``results``) is
    kept and only migrated to the latest schema (seconds ``None``).
    """
    wanted = {"url": url, "teams": teams, "days": days, "seed": seed, "end": end.isoformat()}
    marker = results / f"{'sqlite' if url.startswith('sqlite') else 'postgres'}-generated.json"
    if reuse and marker.exists():
        known = json.loads(marker.read_text())
        if {k: known.get(k) for k in wanted} == wanted:
            log(f"reusing the org generated earlier in {url} (migrating it to the latest schema)")
            upgrade(url)
            return known["counts"], None
    marker.unlink(missing_ok=True)
    reset_database(url)
    engine = make_engine(url)
    last_line = [0.0]

    def show(p: Progress) -> None:
        now = time.perf_counter()
        if now - last_line[0] >= 5 or p.teams_done == p.teams_total:
            last_line[0] = now
            log(
                f"  teams {p.teams_done:>4}/{p.teams_total}  rows {p.total_rows:>10,}  "
                f"PRs {p.rows.get('pull_request', 0):>8,}  deployments {p.rows.get('deployment', 0):>7,}  "
                f"incidents {p.rows.get('incident', 0):>6,}  {p.rows_per_s:>8,.0f} rows/s  {p.elapsed_s:>6.1f} s"
            )

    log(f"generating {teams} teams × {days} days (seed {seed}) into {url}")
    org = generate_org(engine=engine, teams=teams, days=days, seed=seed, end=end, progress=show)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    engine.dispose()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({**wanted, "counts": org.counts}))
    return org.counts, org.seconds


def _timed(engine: Engine, fn: ReportFn, team: TeamConfig, period: Period, as_of: datetime) -> tuple[float, DoraReport]:
    with Session(engine) as session:
        began = time.perf_counter()
        report = fn(session=session, team=team, period=period, as_of=as_of)
        return time.perf_counter() - began, report


def _digest(report: DoraReport) -> str:
    """A report's figures in a few bytes, so that comparing them keeps no large objects alive."""
    return hashlib.sha256(json.dumps(report.to_json(), sort_keys=True, default=str).encode()).hexdigest()


def time_one_team(
    engine: Engine,
    fns: dict[str, ReportFn],
    teams: Sequence[TeamConfig],
    *,
    period: Period,
    as_of: datetime,
    repeats: dict[str, int],
) -> dict[str, Timing]:
    """A warm-up per team and function, then rounds over the teams in which the functions take turns
    (so that they share the machine's noise), ``repeats[name]`` rounds each; one sample per report."""
    for team in teams:
        for fn in fns.values():
            _timed(engine, fn, team, period, as_of)
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(max(repeats.values())):
        for team in teams:
            for name, fn in fns.items():
                if round_ < repeats[name]:
                    samples[name].append(_timed(engine, fn, team, period, as_of)[0])
    return {name: Timing(tuple(found)) for name, found in samples.items()}


def time_all_teams(
    engine: Engine, fn: ReportFn, teams: Sequence[TeamConfig], *, period: Period, as_of: datetime, rounds: int = 1
) -> tuple[Timing, Timing, dict[str, str]]:
    """Every team's report in a row, ``rounds`` times: wall and CPU seconds of each round (the reports
    only, a fresh session each), and a digest of each team's figures."""
    wall, cpu, digests = [], [], {}
    for _ in range(rounds):
        gc.collect()  # start each round without the previous one's garbage
        round_wall = round_cpu = 0.0
        for team in teams:
            started_cpu = time.process_time()
            seconds, report = _timed(engine, fn, team, period, as_of)
            round_cpu += time.process_time() - started_cpu
            round_wall += seconds
            digests[team.id] = _digest(report)
        wall.append(round_wall)
        cpu.append(round_cpu)
    return Timing(tuple(wall)), Timing(tuple(cpu)), digests


def sample_teams(teams: Sequence[TeamConfig], count: int) -> list[TeamConfig]:
    """``count`` teams spread evenly over the list (the generator cycles personas, so all appear)."""
    count = max(1, min(count, len(teams)))
    return [teams[(i * len(teams)) // count] for i in range(count)]


def run_metrics(
    engine: Engine,
    *,
    sample: int = 10,
    repeat: int = 10,
    naive_repeat: int = 2,
    all_rounds: int = 3,
    period: str = "90d",
    as_of: datetime = END,
    log: Log = print,
) -> dict[str, Any]:
    """Measure the engine and the naive baseline on the org in ``engine``; see the module docstring."""
    with Session(engine) as session:
        teams = list_teams(session=session)
    per = parse_period(period)
    chosen = sample_teams(teams, sample)
    log(f"one team, {period}: {len(chosen)} teams × {repeat} repetitions (naive × {naive_repeat})")
    timed = time_one_team(
        engine,
        {"engine": build_report, "naive": naive_report},
        chosen,
        period=per,
        as_of=as_of,
        repeats={"engine": repeat, "naive": naive_repeat},
    )
    single, single_naive = timed["engine"], timed["naive"]
    log(f"  engine  median {single.median * 1000:7.1f} ms  p95 {single.p95 * 1000:7.1f} ms")
    log(f"  naive   median {single_naive.median * 1000:7.1f} ms  p95 {single_naive.p95 * 1000:7.1f} ms")
    log(f"all {len(teams)} teams, {period}:")
    all_teams, all_cpu, reports = time_all_teams(
        engine, build_report, teams, period=per, as_of=as_of, rounds=all_rounds
    )
    log(f"  engine  {all_teams.median:7.2f} s (median of {all_rounds}; CPU of this process {all_cpu.median:.2f} s)")
    all_naive, _, naive_reports = time_all_teams(engine, naive_report, teams, period=per, as_of=as_of)
    log(f"  naive   {all_naive.median:7.2f} s")
    mismatched = [team_id for team_id, data in reports.items() if naive_reports.get(team_id) != data]
    log(f"figures identical for {len(reports) - len(mismatched)} of {len(reports)} teams")
    return {
        "sampled_teams": [t.id for t in chosen],
        "single": single,
        "single_naive": single_naive,
        "all_teams": all_teams,
        "all_teams_cpu": all_cpu,
        "all_teams_naive": all_naive,
        "identical": len(reports) - len(mismatched),
        "compared": len(reports),
        "mismatched": mismatched,
    }


def server_version(engine: Engine) -> str:
    """``PostgreSQL 15.20`` / ``SQLite 3.40.1``."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
        return "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar())


def benchmark(
    database: str,
    *,
    url: str | None = None,
    scale: float = 1.0,
    days: int = 730,
    seed: int = 1,
    reuse: bool = False,
    sample: int = 10,
    repeat: int = 10,
    naive_repeat: int = 2,
    all_rounds: int = 3,
    log: Log = print,
) -> MetricsResult:
    """Generate (or reuse) the org in one database and measure it."""
    url = url or url_for(database)
    teams = max(2, round(FULL_TEAMS * scale))
    counts, generation_s = prepare(url, teams=teams, days=days, seed=seed, reuse=reuse, log=log)
    engine = make_engine(url)
    try:
        measured = run_metrics(
            engine, sample=sample, repeat=repeat, naive_repeat=naive_repeat, all_rounds=all_rounds, log=log
        )
        server = server_version(engine)
    finally:
        engine.dispose()
    return MetricsResult(
        database=database,
        server=server,
        teams=teams,
        days=days,
        seed=seed,
        period="90d",
        counts=counts,
        generation_s=generation_s,
        repeat=repeat,
        naive_repeat=naive_repeat,
        **measured,
    )


def environment_note() -> str:
    """Library versions of this run."""
    import psycopg

    return f"SQLAlchemy {sqlalchemy.__version__}, psycopg {psycopg.__version__}"


def save_json(result: MetricsResult) -> Path:
    """Keep the raw samples beside the generated databases (not in git)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"metrics-{result.database}.json"
    path.write_text(json.dumps(asdict(result), indent=1, default=str))
    return path


TABLES = (
    ("pull_request", "pull requests"),
    ("pr_commit", "PR commits"),
    ("pr_review", "reviews"),
    ("review_request", "review requests"),
    ("commit", "commits on main"),
    ("deployment", "deployments"),
    ("incident", "incidents"),
    ("pipeline_run", "CI runs"),
)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def _row(label: str, engine: float, naive: float, unit: Callable[[float], str], target: str = "") -> str:
    ratio = f"{naive / engine:,.0f}×" if engine > 0 else "–"
    return f"| {label} | {unit(engine)} | {unit(naive)} | {ratio} | {target} |"


def render(result: MetricsResult, *, load: float) -> str:
    """The Markdown of one database's run."""
    r = result
    total = sum(r.counts.values())
    rows = ", ".join(f"{r.counts.get(k, 0):,} {label}" for k, label in TABLES)
    generated = (
        f"generated in {r.generation_s:,.0f} s ({total / r.generation_s:,.0f} rows/s)"
        if r.generation_s
        else "generated by an earlier run (`--reuse`)"
    )
    one = "met" if r.single.median <= 0.050 else "missed"
    every = ("met" if r.all_teams.median <= 10 else "missed") if r.teams == FULL_TEAMS else "for 200 teams"
    differ = f" (differ: {', '.join(r.mismatched[:10])})" if r.mismatched else ""
    return (
        f"**{r.server}** ({environment_note()}); load average {load:.1f} on {os.cpu_count()} cores at the start, "
        f"shared with other work.\n\n"
        f"Org: {r.teams} teams, {r.days} days, seed {r.seed}: {rows} ({total:,} rows), {generated}.\n\n"
        f"| {r.period} `/dora` figures | engine (`build_report`) | naive baseline | naive ÷ engine | target |\n"
        "|---|---:|---:|---:|---|\n"
        + _row("one team: median", r.single.median, r.single_naive.median, _ms, f"≤ 50 ms: {one}")
        + "\n"
        + _row("one team: p95", r.single.p95, r.single_naive.p95, _ms)
        + "\n"
        + _row(f"all {r.teams} teams", r.all_teams.median, r.all_teams_naive.median, _s, f"≤ 10 s: {every}")
        + "\n\n"
        f"One team: {len(r.sampled_teams)} teams ({', '.join(r.sampled_teams)}) × {r.repeat} repetitions "
        f"(naive × {r.naive_repeat}) after a warm-up, a fresh session per report. All teams: every team in a "
        f"row, the reports' own time summed, median of {len(r.all_teams.samples)} rounds (naive: "
        f"{len(r.all_teams_naive.samples)}); the engine's rounds took {_s(r.all_teams_cpu.median)} of this "
        f"process's CPU{' (the database server works beside it)' if r.database == 'postgres' else ''}. "
        f"Figures identical for {r.identical} of {r.compared} teams{differ}."
    )


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m bench metrics``."""
    parser = argparse.ArgumentParser(prog="python -m bench metrics", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full org of 200 teams (0.05: 10 teams)")
    parser.add_argument("--days", type=int, default=730, help="history length in days (default 730)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--reuse", action="store_true", help="keep an org generated earlier with the same options")
    parser.add_argument("--sample", type=int, default=10, help="teams timed one by one (default 10)")
    parser.add_argument("--repeat", type=int, default=10, help="repetitions per sampled team (default 10)")
    parser.add_argument("--naive-repeat", type=int, default=2, help="repetitions of the naive baseline (default 2)")
    parser.add_argument("--all-rounds", type=int, default=3, help="rounds over every team (default 3)")
    return parser


def run(argv: Sequence[str] = ()) -> str:
    """Generate (or reuse) the org in each database, measure it, and return the Markdown section."""
    args = build_parser().parse_args(list(argv))

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    sections = []
    for database in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        log(f"== metrics on {database}")
        load = os.getloadavg()[0]
        result = benchmark(
            database,
            url=args.postgres_url if database == "postgres" else None,
            scale=args.scale,
            days=args.days,
            seed=args.seed,
            reuse=args.reuse,
            sample=args.sample,
            repeat=args.repeat,
            naive_repeat=args.naive_repeat,
            all_rounds=args.all_rounds,
            log=log,
        )
        log(f"raw samples: {save_json(result)}")
        sections.append(render(result, load=load))
    return "\n\n".join(sections)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
