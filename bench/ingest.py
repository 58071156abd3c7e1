"""Sustained ingest of signed GitHub deliveries into one server process, on SQLite and PostgreSQL.

For each database and each writer (the shipped group commit, and the naive one commit per
request) a fresh server process is started and loaded with real fixture payloads, each with its
own delivery id and a valid ``X-Hub-Signature-256``:

1. closed loop: 16 keep-alive connections send as fast as the server answers (the ceiling);
2. open loop: deliveries scheduled at a fixed 1,000/s; latency runs from the scheduled time, so a
   server that falls behind is charged for the queue it builds.

Afterwards every delivery must be in the log exactly once. The normaliser then drains the log of
the group-commit run, timed. PostgreSQL runs when ``BENCH_DATABASE_URL`` names a database the
benchmark may wipe.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from bench.ingest_server import SECRET

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "github-webhooks"
SAMPLES = [
    ("pull_request", "octokit-payload-examples/pull_request/opened.payload.json"),
    ("pull_request_review", "octokit-payload-examples/pull_request_review/submitted.payload.json"),
    ("push", "integrations-slack-fixtures/push.json"),
    ("deployment_status", "octokit-payload-examples/deployment_status/payload.json"),
    ("workflow_job", "octokit-payload-examples/workflow_job/completed.success.with-organization.payload.json"),
    ("workflow_run", "octokit-payload-examples/workflow_run/completed.payload.json"),
    ("issues", "octokit-payload-examples/issues/labeled.payload.json"),
    ("ping", "octokit-payload-examples/ping/payload.json"),
]
CONNECTIONS = 16
CLOSED_SECONDS = 8.0
RATE = 1000
OPEN_SECONDS = 10.0


@dataclass
class Payload:
    event: str
    body: bytes
    signature: str


@dataclass
class Result:
    sent: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def payloads() -> list[Payload]:
    out = []
    for event, path in SAMPLES:
        body = (FIXTURES / path).read_bytes()
        out.append(Payload(event, body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()))
    return out


class Connection:
    """A keep-alive HTTP/1.1 connection that sends pre-built requests with little client CPU."""

    def __init__(self, port: int):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def post(self, payload: Payload, delivery: str) -> int:
        head = (
            f"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload.body)}\r\nX-GitHub-Event: {payload.event}\r\n"
            f"X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {payload.signature}\r\n"
            "User-Agent: GitHub-Hookshot/bench\r\n\r\n"
        )
        self.sock.sendall(head.encode() + payload.body)
        status = int(self.reader.readline().split()[1])
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        self.reader.read(length)
        return status

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def closed_loop(port: int, items: list[Payload], prefix: str) -> tuple[float, Result]:
    result, counter, stop = Result(), itertools.count(), time.monotonic() + CLOSED_SECONDS

    def client() -> None:
        conn = Connection(port)
        try:
            while time.monotonic() < stop:
                n = next(counter)
                started = time.perf_counter()
                status = conn.post(items[n % len(items)], f"{prefix}-{n}")
                elapsed = time.perf_counter() - started
                with result.lock:
                    result.sent += 1
                    result.failed += status != 202
                    result.latencies.append(elapsed)
        finally:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result.sent / (time.monotonic() - started), result


def open_loop(port: int, items: list[Payload], prefix: str) -> Result:
    result, counter = Result(), itertools.count()
    total = int(RATE * OPEN_SECONDS)
    start = time.perf_counter() + 0.2

    def client() -> None:
        conn = Connection(port)
        try:
            while (n := next(counter)) < total:
                due = start + n / RATE
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                status = conn.post(items[n % len(items)], f"{prefix}-{n}")
                latency = time.perf_counter() - due
                with result.lock:
                    result.sent += 1
                    result.failed += status != 202
                    result.latencies.append(latency)
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000 if len(values) > 1 else float("nan")


def _fresh_postgres(url: str) -> None:
    from bot.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run_one(database: str, mode: str, workdir: Path) -> dict[str, object]:
    from bot.db import dispose_engines, get_engine
    from bot.ingest import worker
    from bot.ingest.models import RawEvent

    url = f"sqlite:///{workdir / f'{mode}.db'}" if database == "SQLite" else os.environ["BENCH_DATABASE_URL"]
    if database != "SQLite":
        _fresh_postgres(url)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_server", mode, url, str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        items = payloads()
        ceiling, closed = closed_loop(port, items, f"{mode}-closed")
        opened = open_loop(port, items, f"{mode}-open")
    finally:
        server.terminate()
        server.wait(10)
    engine = get_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(RawEvent.__table__)).scalar_one()  # type: ignore[attr-defined]
    row: dict[str, object] = {
        "database": database,
        "mode": mode,
        "ceiling": ceiling,
        "closed_p99": _pct(closed.latencies, 99),
        "p50": _pct(opened.latencies, 50),
        "p99": _pct(opened.latencies, 99),
        "max": max(opened.latencies) * 1000,
        "failed": closed.failed + opened.failed,
        "sent": closed.sent + opened.sent,
        "stored": stored,
    }
    if mode == "group":
        started = time.perf_counter()
        drained = worker.drain(engine)
        row["normalised_per_s"] = drained / (time.perf_counter() - started)
    dispose_engines()
    return row


def run() -> str:
    databases = ["SQLite"] + (["PostgreSQL"] if os.environ.get("BENCH_DATABASE_URL") else [])
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            for mode in ("group", "direct"):
                print(f"   {database} / {mode}", file=sys.stderr)
                rows.append(run_one(database, mode, Path(tmp)))
    lines = [
        f"Signed GitHub deliveries (8 real fixtures, 0.3–25 KiB) into one `waitress` process with 16 threads; "
        f"closed loop: {CONNECTIONS} keep-alive connections for {CLOSED_SECONDS:.0f} s; open loop: {RATE}/s for "
        f"{OPEN_SECONDS:.0f} s, latency from the scheduled send time; load average {load:.1f} on {os.cpu_count()} "
        "cores at the start (the client shares the machine). Targets: ≥ 1,000 deliveries/s, p99 ≤ 50 ms.",
        "",
        "| database | raw log writer | ceiling deliveries/s | p99 ms at ceiling | at 1,000/s: p50 ms | p99 ms | max ms "
        "| non-2xx | stored / sent | normaliser events/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        writer = "group commit (shipped)" if r["mode"] == "group" else "baseline: one commit per request"
        normalised = f"{r['normalised_per_s']:.0f}" if "normalised_per_s" in r else "–"
        lines.append(
            f"| {r['database']} | {writer} | {r['ceiling']:.0f} | {r['closed_p99']:.1f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['max']:.0f} | {r['failed']} | {r['stored']} / {r['sent']} | {normalised} |"
        )
    if "PostgreSQL" not in databases:
        lines += ["", "PostgreSQL skipped: set BENCH_DATABASE_URL to a database the benchmark may wipe."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
