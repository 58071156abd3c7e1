"""The outbox sender against the fake Slack Web API over real HTTP (``SLACK_API_URL``)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.db import session_scope
from bot.outbox import service
from bot.outbox.compute import DeliveryPolicy
from bot.outbox.models import OutboxMessage
from bot.outbox.sender import OutboxSender, build_sender, drain_outbox
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"chart-bytes" * 10
# Small intervals where the real value is not what is tested (one test below keeps Slack's 1 s).
FAST = DeliveryPolicy(
    channel_interval=0.05,
    backoff_base=0.05,
    backoff_cap=0.3,
    reference_wait=0.05,
    lease_seconds=5,
    request_timeout=2,
    workers=4,
    poll_interval=0.01,
    idle_interval=0.05,
)


@pytest.fixture
def settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(database_url=db_url, slack_api_url=fake_slack.base_url, slack_bot_token=fake_slack.bot_token)


def _post(engine: Engine, key: str, channel: str, **payload: object) -> None:
    with session_scope(engine) as session:
        service.enqueue(
            session=session, key=key, method="chat.postMessage", channel=channel, payload={"text": key, **payload}
        )


def _edit(engine: Engine, key: str, of: str, channel: str, text: str) -> None:
    with session_scope(engine) as session:
        service.enqueue(
            session=session,
            key=key,
            method="chat.update",
            channel=channel,
            payload={"ts": service.result_ref(of, "ts"), "text": text},
        )


def _rows(engine: Engine) -> dict[str, OutboxMessage]:
    with session_scope(engine) as session:
        return {r.key: r for r in session.scalars(select(OutboxMessage))}


def _posted_texts(slack: FakeSlack) -> Counter[str]:
    return Counter(str(c.args.get("text")) for c in slack.calls_to("chat.postMessage") if c.ok)


def _min_gap(times: list[float]) -> float:
    ordered = sorted(times)
    return min((b - a for a, b in itertools.pairwise(ordered)), default=float("inf"))


def test_every_method_is_delivered_and_later_rows_use_earlier_results(
    settings: Settings, engine: Engine, fake_slack: FakeSlack
) -> None:
    with session_scope(engine) as session:
        service.enqueue(session=session, key="post", method="chat.postMessage", channel="C1", payload={"text": "v1"})
        service.enqueue(
            session=session,
            key="post-edit",
            method="chat.update",
            channel="C1",
            payload={"ts": service.result_ref("post", "ts"), "text": "v2"},
        )
        service.enqueue(session=session, key="dm", method="dm", channel="U1", payload={"text": "survey is open"})
        service.enqueue(
            session=session,
            key="dm-edit",
            method="chat.update",
            channel="U1",
            payload={
                "channel": service.result_ref("dm", "channel"),
                "ts": service.result_ref("dm", "ts"),
                "text": "survey closed",
            },
        )
        service.enqueue(
            session=session,
            key="eph",
            method="chat.postEphemeral",
            channel="C1",
            payload={"user": "U2", "text": "only you"},
        )
        service.enqueue(
            session=session,
            key="chart",
            method="files.upload_v2",
            channel="C1",
            payload={"content": PNG, "filename": "dora.png", "title": "DORA", "thread_ts": None},
        )
        service.enqueue(
            session=session,
            key="chart-dm",
            method="files.upload_v2",
            channel="U3",
            payload={"content": PNG, "filename": "mine.png"},
        )
        service.enqueue(
            session=session,
            key="home",
            method="views.publish",
            channel="U1",
            payload={
                "view": {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
            },
        )
    report = drain_outbox(settings, engine, policy=FAST, max_seconds=20, horizon_seconds=1)

    rows = _rows(engine)
    assert {k: r.status for k, r in rows.items()} == dict.fromkeys(rows, "sent"), {
        k: r.last_error for k, r in rows.items()
    }
    assert report.sent == 8 and report.dead == 0
    assert [m["text"] for m in fake_slack.messages_in("C1")] == ["v2"]
    dm_channel = rows["dm"].result["channel"]
    assert dm_channel.startswith("D") and rows["dm-edit"].result == {
        "channel": dm_channel,
        "ts": rows["dm"].result["ts"],
    }
    assert [m["text"] for m in fake_slack.messages_in(dm_channel)] == ["survey closed"]
    assert [e["user"] for e in fake_slack.ephemerals] == ["U2"]
    shared = {f.channel: f for f in fake_slack.shared_files}
    assert shared["C1"].data == PNG and shared["C1"].title == "DORA"
    assert rows["chart-dm"].result["channel"].startswith("D") and shared[rows["chart-dm"].result["channel"]].data == PNG
    assert fake_slack.home_views["U1"]["id"] == rows["home"].result["view_id"]
    assert fake_slack.block_kit_violations == []


def test_one_message_per_second_per_channel_with_channels_in_parallel(
    settings: Settings, engine: Engine, fake_slack: FakeSlack
) -> None:
    for n in range(3):
        for channel in ("CA", "CB", "CC"):
            _post(engine, f"{channel}-{n}", channel)
    real = DeliveryPolicy(poll_interval=0.02, idle_interval=0.1)  # Slack's pacing: 1 s per channel
    started = time.monotonic()
    report = drain_outbox(settings, engine, policy=real, max_seconds=20)
    elapsed = time.monotonic() - started

    assert report.sent == 9
    for channel in ("CA", "CB", "CC"):
        assert _min_gap(fake_slack.post_times(channel)) >= 1.0
        assert fake_slack.peak_posts_per_second(channel) == 1
        assert [m["text"] for m in fake_slack.messages_in(channel)] == [f"{channel}-{n}" for n in range(3)]
    assert elapsed < 4.5  # 3 channels served side by side: about 2 s, not 8


def test_a_429_pauses_the_channel_for_retry_after_and_costs_no_attempt(
    settings: Settings, engine: Engine, fake_slack: FakeSlack
) -> None:
    _post(engine, "first", "C1")
    _post(engine, "second", "C1")
    _post(engine, "elsewhere", "C2")
    fake_slack.inject("chat.postMessage", status=429, retry_after=1, times=1)
    drain_outbox(settings, engine, policy=FAST, max_seconds=20, horizon_seconds=2)

    rows = _rows(engine)
    assert {r.status for r in rows.values()} == {"sent"}
    limited = next(c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429)
    row = rows[str(limited.args["text"])]
    assert row.attempts == 0 and row.last_error == "rate limited (Retry-After 1 s)"
    after = [c.at for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == row.channel]
    assert min(t for t in after if t > limited.at) - limited.at >= 1.0
    assert _posted_texts(fake_slack) == Counter({"first": 1, "second": 1, "elsewhere": 1})


def test_server_errors_are_retried_with_backoff(settings: Settings, engine: Engine, fake_slack: FakeSlack) -> None:
    _post(engine, "m", "C1")
    fake_slack.inject("chat.postMessage", status=503, times=2)
    drain_outbox(settings, engine, policy=FAST, max_seconds=20, horizon_seconds=2)
    row = _rows(engine)["m"]
    assert (row.status, row.attempts) == ("sent", 2)
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [503, 503, 200]


def test_permanent_errors_are_dead_at_once_with_the_error(
    settings: Settings, engine: Engine, fake_slack: FakeSlack
) -> None:
    _post(engine, "gone", "C404")
    _edit(engine, "gone-edit", of="gone", channel="C404", text="never")
    fake_slack.inject("chat.postMessage", error="channel_not_found")
    report = drain_outbox(settings, engine, policy=FAST, max_seconds=20, horizon_seconds=1)
    rows = _rows(engine)
    assert (rows["gone"].status, rows["gone"].last_error) == ("dead", "channel_not_found")
    assert rows["gone-edit"].status == "dead" and "which failed: channel_not_found" in (
        rows["gone-edit"].last_error or ""
    )
    assert report.dead == 2 and len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("chat.update") == []


def test_a_timed_out_post_is_retried_once_then_left_dead(
    settings: Settings, engine: Engine, fake_slack: FakeSlack
) -> None:
    policy = replace(FAST, request_timeout=0.5)
    _post(engine, "slow", "C1")
    _post(engine, "slow-once", "C2")
    # Slack answers too late: the first call to each channel times out on our side, yet posts.
    fake_slack.inject("chat.postMessage", delay=1.2, times=3)
    drain_outbox(settings, engine, policy=policy, max_seconds=20, horizon_seconds=2)
    time.sleep(1.3)  # let the fake finish the answers we stopped waiting for

    rows = _rows(engine)
    # Both rows were marked uncertain once; the retry of one came back in time, the other timed
    # out again and was not tried a third time.
    statuses = sorted((r.status, r.attempts) for r in rows.values())
    assert statuses == [("dead", 2), ("sent", 1)]
    dead = next(r for r in rows.values() if r.status == "dead")
    sent = next(r for r in rows.values() if r.status == "sent")
    assert (dead.last_error or "").startswith("outcome unknown twice")
    assert "uncertain" in sent.result and "uncertain" in dead.result
    calls = Counter(str(c.args["text"]) for c in fake_slack.calls_to("chat.postMessage"))
    assert calls[dead.key] == 2 and calls[sent.key] == 2


def test_a_timed_out_update_is_an_ordinary_retry(settings: Settings, engine: Engine, fake_slack: FakeSlack) -> None:
    policy = replace(FAST, request_timeout=0.5)
    _post(engine, "m", "C1")
    drain_outbox(settings, engine, policy=policy, max_seconds=10)
    _edit(engine, "edit", of="m", channel="C1", text="edited")
    fake_slack.inject("chat.update", delay=1.2, times=2)
    drain_outbox(settings, engine, policy=policy, max_seconds=20, horizon_seconds=2)
    edit = _rows(engine)["edit"]
    assert (edit.status, edit.attempts) == ("sent", 2) and "uncertain" not in edit.result


def _run_until(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def _status_count(engine: Engine, status: str) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).where(OutboxMessage.status == status)) or 0)


def _sent_count(engine: Engine) -> int:
    return _status_count(engine, "sent")


@pytest.fixture
def scenario(engine: Engine) -> Iterator[list[str]]:
    channels = [f"C{n}" for n in range(5)]
    keys = []
    with session_scope(engine) as session:
        for n in range(200):
            key = f"digest:{n:03d}"
            keys.append(key)
            service.enqueue(
                session=session, key=key, method="chat.postMessage", channel=channels[n % 5], payload={"text": key}
            )
    yield keys


def test_200_messages_with_429s_and_5xx_and_a_restart_are_each_delivered_once(
    settings: Settings, engine: Engine, fake_slack: FakeSlack, scenario: list[str]
) -> None:
    first = build_sender(settings, engine, policy=FAST)
    thread = threading.Thread(target=first.run)
    thread.start()
    injected = 0
    try:
        while _sent_count(engine) < 90:  # occasional trouble while the first sender works
            if injected < 12:
                fake_slack.inject("chat.postMessage", status=429 if injected % 3 == 0 else 503, retry_after=1)
                injected += 1
            time.sleep(0.05)
    finally:
        first.stop(timeout=10)  # a restart: stop mid-way, then a new process takes over
        thread.join(timeout=10)
    assert 90 <= _sent_count(engine) < 200

    second = build_sender(settings, engine, policy=FAST)
    fake_slack.inject("chat.postMessage", status=503, times=2)
    fake_slack.inject("chat.postMessage", status=429, retry_after=1)
    second.drain(max_seconds=60, horizon_seconds=2)
    second.stop()

    assert _posted_texts(fake_slack) == Counter(dict.fromkeys(scenario, 1))
    assert {r.status for r in _rows(engine).values()} == {"sent"}
    statuses = Counter(c.status for c in fake_slack.calls_to("chat.postMessage"))
    assert statuses[429] >= 4 and statuses[503] >= 8
    for channel in (f"C{n}" for n in range(5)):
        assert _min_gap(fake_slack.post_times(channel)) >= FAST.channel_interval
        texts = [m["text"] for m in fake_slack.messages_in(channel)]
        assert len(texts) == 40


CRASHING_WORKER = textwrap.dedent(
    """
    import sys
    from bot.db import get_engine
    from bot.outbox.compute import DeliveryPolicy
    from bot.outbox.sender import build_sender
    from bot.settings import Settings

    url, api, token = sys.argv[1:4]
    settings = Settings(database_url=url, slack_api_url=api, slack_bot_token=token)
    policy = DeliveryPolicy(channel_interval=0.05, backoff_base=0.05, backoff_cap=0.2, lease_seconds=1,
                            request_timeout=2, poll_interval=0.01, idle_interval=0.05)
    build_sender(settings, get_engine(url), policy=policy).run()
    """
)


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(
    settings: Settings, engine: Engine, fake_slack: FakeSlack, scenario: list[str], db_url: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WORKER, db_url, fake_slack.base_url, fake_slack.bot_token],
        cwd=ROOT,
        env=env,
    )
    try:
        _run_until(lambda: len(_posted_texts(fake_slack)) >= 60, timeout=30)
        # Slack starts failing slowly, so every post it accepted is recorded before the kill and the
        # worker dies with rows claimed, mid-request, that Slack never posts.
        outage = fake_slack.inject("chat.postMessage", status=503, delay=0.5, times=None)
        _run_until(lambda: _sent_count(engine) == sum(_posted_texts(fake_slack).values()), timeout=10)
        _run_until(lambda: _status_count(engine, "sending") >= 3, timeout=10)
        assert _sent_count(engine) == sum(_posted_texts(fake_slack).values())
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    outage.times = 1  # Slack recovers after one more failure
    outage.delay = 0.0
    stranded = _status_count(engine, "sending")
    assert stranded >= 3

    restarted = build_sender(settings, engine, policy=replace(FAST, lease_seconds=1))
    deadline = time.monotonic() + 40
    while _sent_count(engine) < 200 and time.monotonic() < deadline:
        restarted.drain(max_seconds=5, horizon_seconds=2)
    restarted.stop()

    assert _posted_texts(fake_slack) == Counter(dict.fromkeys(scenario, 1))
    rows = _rows(engine).values()
    assert {r.status for r in rows} == {"sent"}
    # The rows the dead worker held came back when its lease passed, marked as uncertain once.
    assert restarted.report.recovered == stranded
    assert sum("uncertain" in r.result for r in rows) == stranded


def test_the_outbox_without_a_token_is_not_delivered(engine: Engine, db_url: str) -> None:
    from bot.outbox.sender import start_sender

    assert start_sender(Settings(database_url=db_url), engine) == []
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        drain_outbox(Settings(database_url=db_url), engine)


def test_stopping_an_idle_sender_returns_quickly(settings: Settings, engine: Engine) -> None:
    sender: OutboxSender = build_sender(settings, engine, policy=FAST)
    thread = threading.Thread(target=sender.run)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    sender.stop(timeout=5)
    thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - started < 1
