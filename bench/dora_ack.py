"""Ack latency of ``/dora`` under 20 concurrent signed requests against ``sei-bot serve``, and its memory.

The server is a separate process (``bench/serve.py``: waitress, SQLite with 90 days of seeded
history) talking to the fake Slack of the test harness. Twenty people run ``/dora team-a`` at the
same moment from twenty channels, five times. The baseline is the same server with the work done
before ``ack()``. Targets: p99 ≤ 300 ms, none over 3 s.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

from bot.db import dispose_engines, get_engine, session_scope, utcnow
from bot.migrate import upgrade
from tests.factories import TEAMS_YML, History, apply_teams
from tests.fakes.driver import SlackDriver
from tests.fakes.live_app import SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack

CONCURRENCY = 20
ROUNDS = 5
H = timedelta(hours=1)


def seed(url: str) -> None:
    """Team A: 90 days of merged PRs, ~2 production deployments a working day, some incidents."""
    upgrade(url)
    with session_scope(get_engine(url)) as session:
        apply_teams(session)
        h = History(session)
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        h.deploy(now - timedelta(days=100), "base")
        pr = 0
        for day in range(95, 0, -1):
            moment = now - timedelta(days=day)
            if moment.weekday() >= 5:
                continue
            for slot in (10, 15):
                pr += 1
                deployed = moment.replace(hour=slot)
                h.merge(
                    pr,
                    deployed - 2 * H,
                    f"sha{pr:05d}",
                    first_commit=deployed - (6 + pr % 40) * H,
                    review_at=deployed - 3 * H,
                )
                h.deploy(deployed, f"sha{pr:05d}")
            if day % 9 == 0:
                h.incident(f"INC-{day}", moment.replace(hour=16), moment.replace(hour=18))
    dispose_engines()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def _burst(app_url: str, slack: FakeSlack, round_no: int) -> list[tuple[int, float]]:
    drivers = [SlackDriver(app_url, signing_secret=SIGNING_SECRET, slack=slack) for _ in range(CONCURRENCY)]
    results: list[tuple[int, float]] = []
    gate = threading.Barrier(CONCURRENCY)

    def one(i: int) -> None:
        gate.wait()
        reply = drivers[i].command("/dora", "team-a", channel_id=f"C0BENCH{round_no}{i:02d}", user_id=f"U0BENCH{i:03d}")
        results.append((reply.status, reply.elapsed))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in drivers:
        d.close()
    return results


def measure(mode: str, database_url: str, teams_file: Path) -> dict[str, object]:
    """Serve in ``mode``, fire the bursts, wait for every report, return the figures."""
    with FakeSlack() as slack:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SEI_TEAMS_FILE": str(teams_file),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.base_url,
        }
        server = subprocess.Popen([sys.executable, "-m", "bench.serve", mode, str(port)], env=env)
        app_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(app_url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            idle = _memory_kib(server.pid)["VmRSS"]
            samples: list[tuple[int, float]] = []
            started = time.perf_counter()
            for round_no in range(ROUNDS):
                samples += _burst(app_url, slack, round_no)
            slack.wait_for("files.completeUploadExternal", CONCURRENCY * ROUNDS, timeout=240)
            delivered = time.perf_counter() - started
            memory = _memory_kib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    times = sorted(elapsed * 1000 for _, elapsed in samples)
    return {
        "p50": statistics.median(times),
        "p99": times[math.ceil(len(times) * 0.99) - 1],  # nearest rank
        "max": times[-1],
        "over_3s": sum(1 for status, elapsed in samples if elapsed > 3 or status != 200),
        "n": len(times),
        "delivered_s": delivered,
        "rss_idle_mib": idle / 1024,
        "rss_mib": memory["VmRSS"] / 1024,
        "peak_mib": memory["VmHWM"] / 1024,
    }


def run() -> str:
    """Both modes on the same seeded database, one after the other."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        seed(url)
        teams_file = Path(tmp) / "teams.yml"
        teams_file.write_text(TEAMS_YML)
        load = os.getloadavg()[0]
        results = {mode: measure(mode, url, teams_file) for mode in ("lazy", "work-before-ack")}
    rows = [
        f"| {name} | {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} | {r['over_3s']} / {r['n']} | "
        f"{r['delivered_s']:.1f} | {r['rss_idle_mib']:.0f} → {r['rss_mib']:.0f} (peak {r['peak_mib']:.0f}) |"
        for name, r in (
            ("ack first, work in lazy listeners (shipped)", results["lazy"]),
            ("baseline: work before ack", results["work-before-ack"]),
        )
    ]
    return (
        f"{ROUNDS} bursts of {CONCURRENCY} concurrent signed `/dora team-a` (one per channel) against "
        f"`sei-bot serve` (waitress, 16 threads, SQLite, 90 days of history: ~130 deployments and PRs); "
        f"load average {load:.1f} on {os.cpu_count()} cores at the start. Targets: p99 ≤ 300 ms, none over 3 s.\n\n"
        "| mode | p50 ack ms | p99 ack ms | max ack ms | over 3 s or failed | all reports + charts "
        "delivered (s) | server RSS MiB idle → after |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
