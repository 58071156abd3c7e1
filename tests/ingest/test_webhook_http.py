"""Webhook endpoints: deduplication, refusals kept in the dead-letter view, limits, verification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.delivery.models import PullRequest
from bot.ingest import worker
from bot.ingest.models import RawEvent
from tests.ingest.conftest import Server, github_signature, load_fixture

OPENED = "github-webhooks/octokit-payload-examples/pull_request/opened.payload.json"


def raw_events(server: Server) -> list[RawEvent]:
    with session_scope(server.engine) as session:
        return list(session.scalars(select(RawEvent).order_by(RawEvent.id)))


def test_same_delivery_twice_is_stored_once_and_processed_once(server: Server, fixtures_dir: Path) -> None:
    body = load_fixture(fixtures_dir, OPENED)
    first = server.github("pull_request", body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    second = server.github("pull_request", body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {"status": "duplicate", "id": first.json()["id"]}
    assert worker.drain(server.engine) == 1
    third = server.github("pull_request", body, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert third.status_code == 200 and worker.drain(server.engine) == 0
    [raw] = raw_events(server)
    assert (raw.status, raw.attempts, raw.delivery_id) == ("done", 1, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert raw.headers["X-Github-Event"] == "pull_request" and "X-Hub-Signature-256" in raw.headers


def test_not_json_is_400_and_kept_as_refused(server: Server) -> None:
    response = server.github("pull_request", b"\xff\xfe not json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    [raw] = raw_events(server)
    assert raw.status == "refused" and bytes(raw.body) == b"\xff\xfe not json"


def test_wrong_shape_is_422_naming_the_field_and_kept(server: Server, fixtures_dir: Path) -> None:
    payload = json.loads(load_fixture(fixtures_dir, OPENED))
    payload["pull_request"]["number"] = "two"
    response = server.github("pull_request", payload)
    assert response.status_code == 422
    assert response.json()["error"] == "pull_request.number: expected an integer, got a string"
    [raw] = raw_events(server)
    assert raw.status == "refused" and raw.error == "pull_request.number: expected an integer, got a string"
    assert worker.replay(server.engine).total() == 0  # refused deliveries were answered "no": not replayed


def test_large_body_is_stored_whole(server: Server, fixtures_dir: Path) -> None:
    payload = json.loads(load_fixture(fixtures_dir, OPENED))
    payload["pull_request"]["body"] = "x" * 5_000_000
    body = json.dumps(payload).encode()
    assert server.github("pull_request", body).status_code == 202
    worker.drain(server.engine)
    [raw] = raw_events(server)
    assert len(bytes(raw.body)) == len(body) and raw.status == "done"
    with session_scope(server.engine) as session:
        assert len(session.scalars(select(PullRequest)).one().body or "") == 5_000_000


def test_body_over_the_limit_is_413_not_500(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.web.MAX_BODY_BYTES", 1000)
    response = server.github("ping", b'{"zen": "' + b"z" * 2000 + b'"}')
    assert response.status_code == 413
    assert raw_events(server) == []


def test_unsigned_delivery_is_401(server: Server) -> None:
    response = server.client.post(f"{server.url}/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "ping"})
    assert response.status_code == 401 and raw_events(server) == []


def test_missing_event_header_is_refused_and_kept(server: Server) -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    response = server.client.post(
        f"{server.url}/webhooks/github", content=body, headers={"X-Hub-Signature-256": github_signature(body)}
    )
    assert response.status_code == 400 and "X-GitHub-Event header is missing" in response.json()["error"]
    [raw] = raw_events(server)
    assert raw.status == "refused" and raw.delivery_id.startswith("sha256:")


def test_gitlab_duplicate_by_event_uuid_and_token_check(server: Server, fixtures_dir: Path) -> None:
    body = load_fixture(fixtures_dir, "gitlab-webhooks/go-gitlab/pipeline.json")
    assert server.gitlab(body, uuid_="u-1").status_code == 202
    assert server.gitlab(body, uuid_="u-1").status_code == 200
    assert server.gitlab(body, token="").status_code == 401
    [raw] = raw_events(server)
    assert raw.event_type == "pipeline" and "X-Gitlab-Token" not in raw.headers  # secrets never logged


def test_pagerduty_signature_with_rotated_secrets(server: Server, fixtures_dir: Path) -> None:
    import hashlib
    import hmac

    body = load_fixture(fixtures_dir, "pagerduty/zulip-fixtures-v3/triggered_v3.json")
    good = "v1=" + hmac.new(b"pd-webhook-secret", body, hashlib.sha256).hexdigest()
    headers = {"X-PagerDuty-Signature": f"v1={'0' * 64},{good}"}
    response = server.client.post(f"{server.url}/webhooks/pagerduty", content=body, headers=headers)
    assert response.status_code == 202
    assert server.pagerduty(body, secret="other").status_code == 401
    [raw] = raw_events(server)
    assert (raw.delivery_id, raw.event_type) == ("01BZYIL05THJDFF2Y08X9SVMTU", "incident.triggered")


def test_dead_letter_lists_refused_and_failed(
    server: Server, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from bot.ingest.cli import cmd_errors

    server.github("pull_request", b"nope")
    payload = json.loads(load_fixture(fixtures_dir, OPENED))
    payload["repository"]["full_name"] = "stranger/repo"
    server.github("pull_request", payload, delivery="d-unknown")
    worker.drain(server.engine)
    from bot.settings import Settings

    cmd_errors(argparse.Namespace(limit=10), Settings(database_url=str(server.engine.url)))
    out = capsys.readouterr().out
    assert "refused: (body): not valid JSON" in out
    assert "d-unknown" in out and "error: unknown repository stranger/repo" in out
    with session_scope(server.engine) as session:
        assert session.scalar(select(func.count()).select_from(RawEvent)) == 2
