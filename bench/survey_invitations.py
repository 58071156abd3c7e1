"""Survey invitations to 5,000 people through the outbox, at Slack's rate ceiling, beside a naive loop.

    .venv/bin/python -m bench survey_invitations               # 5,000 people; appends to BENCHMARKS.md
    .venv/bin/python -m bench.survey_invitations --people 500  # a quick look, printed only

A team of N people opens a pulse survey (one outbox row per invitation, in one transaction), then the
outbox sender delivers every DM to the fake Slack Web API, which enforces per-method rate ceilings
(429 with ``Retry-After`` once a method's bucket is empty), and injects extra 429s and occasional 5xx
at random (seeded). Slack's ceilings are scaled by ``--scale``: a DM is ``conversations.open``
(Tier 3, about 50 a minute) then ``chat.postMessage``, so at Slack's real rates 5,000 invitations need
100 minutes at least; the benchmark runs the same ceilings ``--scale`` times faster.

Reported, for the outbox and for a naive baseline in the same run (a sequential loop over slack_sdk
with its rate-limit and server-error retry handlers, as a simple bot would do): wall time against the
theoretical minimum (N ÷ the lowest ceiling on the path), and messages lost or duplicated.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot.db import dispose_engines, get_engine, session_scope, utcnow
from bot.migrate import upgrade
from bot.outbox.compute import DeliveryPolicy
from bot.outbox.sender import drain_outbox
from bot.settings import Settings
from bot.surveys import flows, service
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config, get_team
from tests.fakes.slack_api import FakeSlack, Fault

# Slack's published ceilings for the calls on a DM's path, per minute (SLACK.md "Web API").
CEILINGS_PER_MINUTE = {"conversations.open": 50.0, "chat.postMessage": 600.0}


class CeilingSlack(FakeSlack):
    """The shared fake Web API with per-method rate buckets and random faults (seeded)."""

    def __init__(self, *, scale: float, extra_429: float, server_errors: float, seed: int, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rates = {m: per_minute * scale / 60 for m, per_minute in CEILINGS_PER_MINUTE.items()}
        self.extra_429, self.server_errors = extra_429, server_errors
        self._random = random.Random(seed)
        self._tokens = dict(self.rates)  # a bucket holds one second's worth: Slack allows short bursts
        self._filled = dict.fromkeys(self.rates, time.monotonic())
        self._bucket_lock = threading.Lock()
        self.limited = Counter[str]()

    def _take_fault(self, method: str) -> Fault | None:
        queued = super()._take_fault(method)
        if queued is not None or method not in self.rates:
            return queued
        with self._bucket_lock:
            now = time.monotonic()
            rate = self.rates[method]
            self._tokens[method] = min(rate, self._tokens[method] + (now - self._filled[method]) * rate)
            self._filled[method] = now
            draw = self._random.random()
            if self._tokens[method] < 1:
                self.limited[method] += 1
                return Fault(status=429, retry_after=math.ceil((1 - self._tokens[method]) / rate))
            self._tokens[method] -= 1
        if draw < self.server_errors:
            return Fault(status=503)
        if draw < self.server_errors + self.extra_429:
            self.limited[method] += 1
            return Fault(status=429, retry_after=1)
        return None


@dataclass
class Outcome:
    """One way of sending the invitations, measured."""

    name: str
    seconds: float
    delivered: int
    lost: int
    duplicated: int
    rate_limited: int
    detail: str = ""


def _count(slack: FakeSlack, people: list[str]) -> tuple[int, int, int]:
    """(people with one invitation, people with none, extra copies) from what the fake received."""
    opened = {c.response["channel"]["id"]: c.args["users"] for c in slack.calls_to("conversations.open") if c.ok}
    posts = Counter(
        opened.get(c.args["channel"], c.args["channel"]) for c in slack.calls_to("chat.postMessage") if c.ok
    )
    delivered = sum(1 for p in people if posts[p] >= 1)
    return delivered, len(people) - delivered, sum(max(0, n - 1) for n in posts.values())


def _teams_yml(people: list[str]) -> str:
    return f"""\
teams:
  bench:
    name: Bench Team
    channel: C0BENCH001
    repos: [acme/bench]
    members: [{", ".join(people)}]
"""


def run_outbox(slack: CeilingSlack, people: list[str], workdir: Path, workers: int) -> Outcome:
    """Open a survey for everyone and let the outbox sender deliver the invitations."""
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    engine = get_engine(url)
    settings = Settings(
        slack_bot_token=slack.bot_token, slack_api_url=slack.base_url, database_url=url, sei_secret_key="bench"
    )  # type: ignore[arg-type]
    with session_scope(engine) as session:
        apply_config(session=session, config=parse_teams_yaml(_teams_yml(people)))
    started = time.perf_counter()
    with session_scope(engine) as session:
        team = get_team(session=session, team_id="bench")
        template = service.resolve_template(session=session, key="pulse")
        flows.start_survey(session=session, team=team, template=template, now=utcnow())
    queued = time.perf_counter() - started
    report = drain_outbox(
        settings, engine, policy=DeliveryPolicy(workers=workers), max_seconds=3600, horizon_seconds=3600
    )
    seconds = time.perf_counter() - started
    delivered, lost, duplicated = _count(slack, people)
    dispose_engines()
    detail = f"queued in {queued:.1f} s; sender: {report.describe()}"
    return Outcome("outbox", seconds, delivered, lost, duplicated, sum(slack.limited.values()), detail)


def run_naive(slack: CeilingSlack, people: list[str]) -> Outcome:
    """A simple bot: one person after the other, slack_sdk retrying 429 and 5xx by itself."""
    client = WebClient(
        token=slack.bot_token,
        base_url=slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3), ServerErrorRetryHandler(max_retry_count=2)],
    )
    started = time.perf_counter()
    failures = 0
    for person in people:
        try:
            channel = client.conversations_open(users=person)["channel"]["id"]
            client.chat_postMessage(channel=channel, text="Bench Team's developer experience pulse is open.")
        except SlackApiError:
            failures += 1
    seconds = time.perf_counter() - started
    delivered, lost, duplicated = _count(slack, people)
    return Outcome(
        "naive loop", seconds, delivered, lost, duplicated, sum(slack.limited.values()), f"{failures} gave up"
    )


def measure(
    *,
    people: int = 5000,
    scale: float = 200.0,
    extra_429: float = 0.01,
    server_errors: float = 0.005,
    workers: int | None = None,
    seed: int = 7,
    naive: bool = True,
) -> tuple[str, list[Outcome]]:
    """Both ways against fresh fakes with the same ceilings and faults; a Markdown section and the outcomes."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    ids = [f"U{i:09d}" for i in range(1, people + 1)]
    fake_options = {"scale": scale, "extra_429": extra_429, "server_errors": server_errors, "seed": seed}
    minimum = len(ids) / (min(CEILINGS_PER_MINUTE.values()) * scale / 60)
    load = os.getloadavg()[0]
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp, CeilingSlack(**fake_options) as slack:  # type: ignore[arg-type]
        outcomes.append(run_outbox(slack, ids, Path(tmp), workers or DeliveryPolicy().workers))
    if naive:
        with CeilingSlack(**fake_options) as slack:  # type: ignore[arg-type]
            outcomes.append(run_naive(slack, ids))
    rates = ", ".join(f"`{m}` {r * scale / 60:.0f}/s" for m, r in CEILINGS_PER_MINUTE.items())
    rows = "\n".join(
        f"| {o.name} | {o.seconds:.1f} | ×{o.seconds / minimum:.2f} | {o.delivered} | {o.lost} | {o.duplicated} | "
        f"{o.rate_limited} | {o.detail} |"
        for o in outcomes
    )
    section = (
        f"{len(ids)} survey invitations (one DM each: `conversations.open`, then `chat.postMessage`) from one "
        f"`/pulse start` to the last delivery. The fake Slack enforces Slack's per-method ceilings ×{scale:g} "
        f"({rates}) with 429 + `Retry-After`, and answers {extra_429:.1%} of calls 429 and {server_errors:.1%} "
        f"503 at random (seed {seed}). Theoretical minimum: {minimum:.1f} s (N ÷ the lowest ceiling; "
        f"{minimum * scale / 60:.0f} min at Slack's real rates). Load average {load:.1f} on {os.cpu_count()} "
        "cores at the start; SQLite.\n\n"
        "| way | seconds | vs minimum | delivered | lost | duplicated | 429s answered | notes |\n"
        "|---|---|---|---|---|---|---|---|\n" + rows
    )
    return section, outcomes


def run() -> str:
    """The benchmark as ``python -m bench`` runs it."""
    return measure()[0]


def main(argv: list[str] | None = None) -> int:
    """Command line with smaller or harsher settings; prints the section without appending it."""
    parser = argparse.ArgumentParser(prog="python -m bench.survey_invitations", description=__doc__)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--scale", type=float, default=200.0, help="run Slack's ceilings this many times faster")
    parser.add_argument("--extra-429", type=float, default=0.01, help="share of calls answered 429 at random")
    parser.add_argument("--server-errors", type=float, default=0.005, help="share of calls answered 503")
    parser.add_argument("--workers", type=int, default=None, help="outbox sender workers (default: the policy's)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args(argv)
    section, outcomes = measure(
        people=args.people,
        scale=args.scale,
        extra_429=args.extra_429,
        server_errors=args.server_errors,
        workers=args.workers,
        seed=args.seed,
        naive=not args.skip_naive,
    )
    print(section)
    return 0 if outcomes[0].lost == 0 and outcomes[0].duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
