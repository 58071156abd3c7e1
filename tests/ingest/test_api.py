"""The generic ingest API: what a CI script sees, and what lands in the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.delivery.models import Deployment, Incident
from bot.ingest.models import RawEvent
from tests.ingest.conftest import Server, configured_settings, serve

SHA = "0d1f3c5e7a9b0d1f3c5e7a9b0d1f3c5e7a9b0d1f"
DEPLOY = {
    "id": "jenkins-api-8812",
    "repo": "acme/api",
    "environment": "production",
    "sha": SHA,
    "status": "success",
    "started_at": "2026-10-05T17:40:00+00:00",
    "finished_at": "2026-10-05T20:00:00+02:00",
    "url": "https://ci.example.com/job/8812",
    "rollback": False,
}
INCIDENT = {
    "id": "INC-2041",
    "repo": "acme/api",
    "title": "Checkout errors",
    "opened_at": "2026-10-05T19:00:00+00:00",
    "resolved_at": None,
    "url": "https://status.example.com/INC-2041",
    "deployment_id": "jenkins-api-8812",
    "root_cause_sha": None,
}


def rows(server: Server, model: type) -> list[Any]:
    with session_scope(server.engine) as session:
        return list(session.scalars(select(model)))


def raw_count(server: Server) -> int:
    with session_scope(server.engine) as session:
        return session.scalar(select(func.count()).select_from(RawEvent)) or 0


def test_deployment_is_created_then_repeated(server: Server) -> None:
    first = server.api("deployments", DEPLOY)
    assert first.status_code == 201, first.text
    assert first.json()["uid"] == "api:acme/api:jenkins-api-8812"
    again = server.api("deployments", DEPLOY)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    [dep] = rows(server, Deployment)
    assert (dep.source, dep.repo, dep.environment, dep.sha, dep.status) == (
        "api",
        "acme/api",
        "production",
        SHA,
        "success",
    )
    # The offset is honoured: 20:00+02:00 is 18:00 UTC.
    assert dep.finished_at == datetime(2026, 10, 5, 18, 0, tzinfo=UTC)
    assert dep.started_at == datetime(2026, 10, 5, 17, 40, tzinfo=UTC) and dep.ext_id == "jenkins-api-8812"
    assert raw_count(server) == 1


def test_rollback_and_default_finish_time(server: Server) -> None:
    body = {k: v for k, v in DEPLOY.items() if k not in ("id", "started_at", "finished_at")} | {"rollback": True}
    before = datetime.now(UTC)
    assert server.api("deployments", body).status_code == 201
    [dep] = rows(server, Deployment)
    assert dep.is_rollback is True and dep.finished_at is not None and dep.finished_at >= before.replace(microsecond=0)


def test_idempotency_key_stores_once_and_refuses_a_different_body(server: Server) -> None:
    body = {k: v for k, v in DEPLOY.items() if k != "id"}
    assert server.api("deployments", body, key="run-77").status_code == 201
    assert server.api("deployments", body, key="run-77").status_code == 200
    changed = server.api("deployments", body | {"status": "failure"}, key="run-77")
    assert changed.status_code == 422
    assert changed.json()["errors"] == [
        {"field": "Idempotency-Key", "problem": "already used for a different request body"}
    ]
    [dep] = rows(server, Deployment)
    assert dep.ext_id == "run-77" and dep.status == "success"


def test_incident_is_opened_then_resolved_by_a_repeat_with_resolved_at(server: Server) -> None:
    assert server.api("incidents", INCIDENT).status_code == 201
    [inc] = rows(server, Incident)
    assert inc.resolved_at is None and inc.deployment_ref == "jenkins-api-8812" and inc.repo == "acme/api"
    resolved = server.api("incidents", {"id": "INC-2041", "resolved_at": "2026-10-05T21:00:00Z"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "updated"
    [inc] = rows(server, Incident)
    assert inc.resolved_at == datetime(2026, 10, 5, 21, 0, tzinfo=UTC)
    assert (inc.title, inc.opened_at) == ("Checkout errors", datetime(2026, 10, 5, 19, 0, tzinfo=UTC))
    # An explicit null reopens it.
    assert server.api("incidents", {"id": "INC-2041", "resolved_at": None}).status_code == 200
    assert rows(server, Incident)[0].resolved_at is None


def test_incident_by_service_with_root_cause_marker(server: Server) -> None:
    body = {
        "id": "PAY-1",
        "service": "payments",
        "title": "Card declines",
        "description": f"root cause: {SHA[:12]}",
        "opened_at": "2026-10-06T08:00:00-04:00",
    }
    assert server.api("incidents", body).status_code == 201
    [inc] = rows(server, Incident)
    assert (inc.service, inc.repo, inc.root_cause_sha) == ("payments", None, SHA[:12])
    assert inc.opened_at == datetime(2026, 10, 6, 12, 0, tzinfo=UTC) and "Card declines" in inc.text


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("deployments", DEPLOY | {"finished_at": "2026-10-05T18:00:00"}, [("finished_at", "has no UTC offset")]),
        ("deployments", DEPLOY | {"status": "ok"}, [("status", "expected 'success', 'failure' or 'cancelled'")]),
        ("deployments", DEPLOY | {"sha": "abc"}, [("sha", "expected a full commit SHA in hex")]),
        ("deployments", DEPLOY | {"rollback": "yes"}, [("rollback", "expected true or false")]),
        ("deployments", DEPLOY | {"repo": 12}, [("repo", "expected a string")]),
        ("deployments", {k: v for k, v in DEPLOY.items() if k != "environment"}, [("environment", "required")]),
        ("deployments", DEPLOY | {"finshed_at": "2026-10-05T18:00:00Z"}, [("finshed_at", "unknown field")]),
        (
            "deployments",
            DEPLOY | {"started_at": "2026-10-05T21:00:00+00:00"},
            [("finished_at", "is before started_at")],
        ),
        ("deployments", DEPLOY | {"repo": "acme/nope"}, [("repo", "unknown repository acme/nope")]),
        ("deployments", [1, 2], [("(body)", "expected a JSON object")]),
        ("deployments", b'{"id": ', [("(body)", "not valid JSON")]),
        ("incidents", INCIDENT | {"repo": None, "service": "nope"}, [("service", "unknown service nope")]),
        (
            "incidents",
            {"id": "NEW-1", "title": "x"},
            [("repo", "required for a new incident"), ("opened_at", "required")],
        ),
        ("incidents", INCIDENT | {"opened_at": "yesterday"}, [("opened_at", "not an ISO 8601 timestamp")]),
    ],
)
def test_bad_bodies_get_422_naming_field_and_problem_and_are_kept(
    server: Server, kind: str, body: Any, expected: list[tuple[str, str]]
) -> None:
    response = server.api(kind, body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field for field, _ in expected]
    for error, (_, problem) in zip(errors, expected, strict=True):
        assert problem in error["problem"]
    with session_scope(server.engine) as session:
        raw = session.scalars(select(RawEvent)).one()
        assert raw.status == "refused" and expected[0][0] in (raw.error or "")
        assert session.scalar(select(func.count()).select_from(Deployment)) == 0


def test_token_is_required(server: Server) -> None:
    assert server.api("deployments", DEPLOY, token="wrong").status_code == 401
    response = server.client.post(f"{server.url}/api/v1/incidents", json=INCIDENT)
    assert response.status_code == 401 and "SEI_INGEST_TOKEN" in response.json()["error"]
    assert raw_count(server) == 0


def test_unconfigured_endpoints_answer_503_and_store_nothing(engine: Any, db_url: str) -> None:
    settings = configured_settings(db_url, sei_ingest_token=None, github_webhook_secret=None)
    for srv in serve(settings, engine):
        response = srv.api("deployments", DEPLOY)
        assert response.status_code == 503 and "set SEI_INGEST_TOKEN" in response.json()["error"]
        response = srv.github("ping", {"zen": "hi"})
        assert response.status_code == 503 and "set GITHUB_WEBHOOK_SECRET" in response.json()["error"]
        assert raw_count(srv) == 0
