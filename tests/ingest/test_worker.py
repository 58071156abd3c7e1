"""The normaliser and replay: ordering, idempotence, the background thread and the CLI verbs."""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.cli import CommandError, main
from bot.db import import_all_models, session_scope
from bot.delivery.models import Incident, PullRequest
from bot.ingest import worker
from bot.ingest.cli import cmd_replay, parse_since
from bot.ingest.log import DirectWriter, GroupCommitWriter, Inbound
from bot.ingest.models import RawEvent
from bot.settings import Settings
from tests.ingest.conftest import Server, load_fixture
from tests.ingest.test_api import DEPLOY, INCIDENT
from tests.ingest.test_webhook_fixtures import CASES, post

DELIVERY_TABLES = (
    "pull_request",
    "pr_commit",
    "pr_review",
    "review_request",
    "commit",
    "deployment",
    "incident",
    "pipeline_run",
)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the delivery tables, in a comparable form."""
    tables = {t.name: t for t in import_all_models().sorted_tables if t.name in DELIVERY_TABLES}
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr) for name, table in tables.items()}


def test_replay_twice_gives_the_same_tables(
    server: Server, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for source, event, fixture, _, _ in CASES:
        post(server, source, event, load_fixture(fixtures_dir, fixture))
    server.api("deployments", DEPLOY)
    server.api("incidents", INCIDENT)
    server.api("incidents", {"id": "INC-2041", "resolved_at": "2026-10-05T21:00:00+00:00"})
    worker.drain(server.engine)
    before = dump(server.engine)
    assert sum(len(rows) for rows in before.values()) > 50
    settings = Settings(database_url=str(server.engine.url))
    for _ in range(2):
        assert cmd_replay(argparse.Namespace(since=None, source=None), settings) == 0
        assert dump(server.engine) == before
    out = capsys.readouterr().out
    assert out.count("Replayed") == 2 and " done" in out and " ignored" in out
    assert cmd_replay(argparse.Namespace(since="2d", source="gitlab"), settings) == 0
    assert dump(server.engine) == before


def test_an_older_snapshot_delivered_late_does_not_undo_the_merge(server: Server, fixtures_dir: Path) -> None:
    merged = json.loads(
        load_fixture(fixtures_dir, "github-webhooks/integrations-slack-fixtures/pull_request.closed.json")
    )
    opened = json.loads(json.dumps(merged))
    pr = opened["pull_request"]
    pr.update(
        state="open", merged=False, merged_at=None, closed_at=None, title="old title", updated_at=pr["created_at"]
    )
    opened["action"] = "opened"
    server.github("pull_request", merged)
    server.github("pull_request", opened)
    worker.drain(server.engine)
    with session_scope(server.engine) as session:
        row = session.scalars(select(PullRequest)).one()
        assert row.state == "merged" and row.title == merged["pull_request"]["title"]
        # ...but what only the opening event knows is still recorded.
        assert row.ready_at == row.created_at


def test_removing_the_incident_label_removes_the_incident(server: Server, fixtures_dir: Path) -> None:
    labeled = json.loads(
        load_fixture(fixtures_dir, "github-webhooks/octokit-payload-examples/issues/labeled.payload.json")
    )
    server.github("issues", labeled)
    worker.drain(server.engine)
    with session_scope(server.engine) as session:
        assert session.scalars(select(Incident)).one().uid == "github:Codertocat/Hello-World#1"
    unlabeled = labeled | {"action": "unlabeled"}
    unlabeled["issue"] = labeled["issue"] | {"labels": []}
    server.github("issues", unlabeled)
    worker.drain(server.engine)
    with session_scope(server.engine) as session:
        assert session.scalars(select(Incident)).all() == []


def test_background_normaliser_wakes_on_new_deliveries(server: Server, fixtures_dir: Path) -> None:
    [thread] = worker.start_normaliser(Settings(), server.engine)
    assert isinstance(thread, worker.NormaliserThread)
    try:
        started = time.monotonic()
        server.github(
            "pull_request",
            load_fixture(fixtures_dir, "github-webhooks/octokit-payload-examples/pull_request/opened.payload.json"),
        )
        while time.monotonic() - started < 10:
            with session_scope(server.engine) as session:
                if session.scalars(select(PullRequest)).first() is not None:
                    break
            time.sleep(0.02)
        # Woken by the delivery, not by its 2-second poll.
        assert time.monotonic() - started < 1.5
    finally:
        thread.stop()
    assert not thread.is_alive()


def test_group_commit_batches_concurrent_requests_and_deduplicates(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    results: list[Any] = []
    barrier = threading.Barrier(32)

    def send(n: int) -> None:
        barrier.wait()
        for i in range(20):
            # Every delivery is sent by two threads: one of the two must see a duplicate.
            delivery = f"d-{(n // 2)}-{i}"
            results.append(writer.append(Inbound(source="github", delivery_id=delivery, event_type="ping", body=b"{}")))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 640 and sum(r.created for r in results) == 320
    assert len({r.id for r in results}) == 320
    assert writer.batches < writer.appended  # several requests shared a commit
    with session_scope(engine) as session:
        assert len(session.scalars(select(RawEvent.id)).all()) == 320


def test_direct_writer_deduplicates_too(engine: Engine) -> None:
    writer = DirectWriter(engine)
    item = Inbound(source="gitlab", delivery_id="x", event_type="push", body=b"{}")
    first, second = writer.append(item), writer.append(item)
    assert first.created and not second.created and first.id == second.id


def test_since_and_source_arguments() -> None:
    now = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now=now) == datetime(2026, 10, 3, 12, 0, tzinfo=UTC)
    assert parse_since("2026-10-01") == datetime(2026, 10, 1, tzinfo=UTC)
    assert parse_since("2026-10-01T00:00:00+02:00") == datetime(2026, 9, 30, 22, tzinfo=UTC)
    with pytest.raises(CommandError, match="--since 'soon'"):
        parse_since("soon")
    with pytest.raises(CommandError, match="--source 'svn'"):
        cmd_replay(argparse.Namespace(since=None, source="svn"), Settings())


def test_cli_lists_nothing_on_a_clean_log(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["ingest", "errors"]) == 0
    assert main(["ingest", "replay"]) == 0
    out = capsys.readouterr().out
    assert "No refused or failed deliveries." in out and "Nothing to replay." in out
