"""HTTP routes of data in: verify, append to the raw event log, answer.

Webhooks (``/webhooks/github|gitlab|pagerduty|opsgenie``): a request that fails verification is
answered 401 and stored nowhere; an endpoint whose secret is not configured answers 503 naming the
variable to set, and stores nothing. A verified delivery is always logged before it is answered,
even when its body is refused (400 not JSON, 422 wrong shape): refused deliveries stay in the
dead-letter view of ``sei-bot ingest errors``. Accepted deliveries get 202 and are normalised from
the log by the background normaliser; a repeated delivery id gets 200 and is not stored again.

The generic API (``/api/v1/deployments|incidents``) validates, logs and applies at once, so the
answer says what happened: 201 created, 200 repeated or updated, 422 with every problem by field.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlmodel import select
from werkzeug.wrappers import Request, Response

from bot.db import session_scope
from bot.delivery.models import Deployment, Incident
from bot.ingest import worker
from bot.ingest.log import Inbound, loggable_headers, writer_for
from bot.ingest.models import RawEvent
from bot.ingest.normalize import decode_json, parse_delivery
from bot.ingest.normalize.api import ApiProblems
from bot.ingest.normalize.apply import Owners, UnknownOwnerError, fit
from bot.ingest.normalize.facts import DeploymentFact, Ignored, IncidentFact
from bot.ingest.payload import ShapeError
from bot.web import Services, json_response

log = logging.getLogger(__name__)


def _configured(secret: SecretStr | None) -> str | None:
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _not_configured(variable: str, what: str) -> Response:
    return json_response({"error": f"{what} are not configured on this server: set {variable}"}, 503)


def _store(item: Inbound, services: Services) -> Response | int:
    """Append to the log; a 503 response when the database cannot take it, else the row id."""
    try:
        result = writer_for(services.engine).append(item)
    except Exception:
        log.exception("could not store a %s delivery", item.source)
        return json_response({"error": "the delivery could not be stored; please retry"}, 503)
    if not result.created:
        return json_response({"status": "duplicate", "id": result.id}, 200)
    return result.id


@dataclass(frozen=True)
class Webhook:
    """How one provider signs its deliveries and names them."""

    source: str
    variable: str
    what: str
    verify: Callable[[str, bytes, Request], bool]
    delivery_id: Callable[[Any, bytes, Request], str]
    event_type: Callable[[Any, Request], str]
    event_field: str  # where the event type is read from, for the refusal when it is missing


def receive_webhook(request: Request, services: Services, hook: Webhook, secret: SecretStr | None) -> Response:
    """Verify, log (refused or pending), answer; the normaliser does the rest."""
    key = _configured(secret)
    if key is None:
        return _not_configured(hook.variable, hook.what)
    body = request.get_data(cache=False)
    if not hook.verify(key, body, request):
        return json_response({"error": "signature verification failed"}, 401)
    status, error, code, payload = "pending", None, 202, None
    try:
        payload = decode_json(body)
    except ShapeError as exc:
        status, error, code = "refused", str(exc), 400
    event = hook.event_type(payload, request)[:100]
    item = Inbound(
        source=hook.source,
        delivery_id=hook.delivery_id(payload, body, request)[:200],
        event_type=event,
        body=body,
        headers=loggable_headers(dict(request.headers)),
    )
    if status == "pending" and not event:
        status, error, code = "refused", f"no event type: {hook.event_field} is missing", 400
    if status == "pending":
        try:
            parse_delivery(source=hook.source, event=event, payload=payload, received_at=item.received_at)
        except Ignored:
            status = "ignored"
        except ShapeError as exc:
            status, error, code = "refused", str(exc), 422
    item.status, item.error = status, error
    stored = _store(item, services)
    if isinstance(stored, Response):
        return stored
    if status == "refused":
        return json_response({"error": error, "id": stored}, code)
    if status == "pending":
        worker.wake()
    return json_response({"status": "accepted" if status == "pending" else "ignored", "id": stored}, 202)


def _github_verify(key: str, body: bytes, request: Request) -> bool:
    given = request.headers.get("X-Hub-Signature-256", "")
    expected = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.encode("latin-1", "replace"), expected.encode())


def _gitlab_verify(key: str, body: bytes, request: Request) -> bool:
    return hmac.compare_digest(request.headers.get("X-Gitlab-Token", "").encode("latin-1", "replace"), key.encode())


def _pagerduty_verify(key: str, body: bytes, request: Request) -> bool:
    expected = ("v1=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()).encode()
    given = request.headers.get("X-PagerDuty-Signature", "")
    # PagerDuty lists one signature per active secret while a secret is being rotated.
    matches = [hmac.compare_digest(s.strip().encode("latin-1", "replace"), expected) for s in given.split(",")]
    return any(matches)


def _bearer_verify(key: str, body: bytes, request: Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("latin-1", "replace"), key.encode())


def _field(payload: Any, *path: str) -> str | None:
    for key in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload if isinstance(payload, str) and payload else None


GITHUB = Webhook(
    source="github",
    variable="GITHUB_WEBHOOK_SECRET",
    what="GitHub webhooks",
    verify=_github_verify,
    delivery_id=lambda payload, body, request: request.headers.get("X-GitHub-Delivery") or _digest(body),
    event_type=lambda payload, request: request.headers.get("X-GitHub-Event", ""),
    event_field="the X-GitHub-Event header",
)
GITLAB = Webhook(
    source="gitlab",
    variable="GITLAB_WEBHOOK_TOKEN",
    what="GitLab webhooks",
    verify=_gitlab_verify,
    delivery_id=lambda payload, body, request: (
        request.headers.get("Idempotency-Key") or request.headers.get("X-Gitlab-Event-UUID") or _digest(body)
    ),
    event_type=lambda payload, request: _field(payload, "object_kind") or request.headers.get("X-Gitlab-Event", ""),
    event_field="object_kind",
)
PAGERDUTY = Webhook(
    source="pagerduty",
    variable="PAGERDUTY_WEBHOOK_SECRET",
    what="PagerDuty webhooks",
    verify=_pagerduty_verify,
    delivery_id=lambda payload, body, request: _field(payload, "event", "id") or _digest(body),
    event_type=lambda payload, request: _field(payload, "event", "event_type") or "",
    event_field="event.event_type",
)
OPSGENIE = Webhook(
    source="opsgenie",
    variable="SEI_INGEST_TOKEN",
    what="Opsgenie webhooks",
    verify=_bearer_verify,
    delivery_id=lambda payload, body, request: _digest(body),
    event_type=lambda payload, request: _field(payload, "action") or "",
    event_field="action",
)


def handle_github_webhook(request: Request, services: Services) -> Response:
    """``POST /webhooks/github`` (``X-Hub-Signature-256``, deduplicated by ``X-GitHub-Delivery``)."""
    return receive_webhook(request, services, GITHUB, services.settings.github_webhook_secret)


def handle_gitlab_webhook(request: Request, services: Services) -> Response:
    """``POST /webhooks/gitlab`` (``X-Gitlab-Token``)."""
    return receive_webhook(request, services, GITLAB, services.settings.gitlab_webhook_token)


def handle_pagerduty_webhook(request: Request, services: Services) -> Response:
    """``POST /webhooks/pagerduty`` (v3, ``X-PagerDuty-Signature``)."""
    return receive_webhook(request, services, PAGERDUTY, services.settings.pagerduty_webhook_secret)


def handle_opsgenie_webhook(request: Request, services: Services) -> Response:
    """``POST /webhooks/opsgenie`` (a custom ``Authorization: Bearer $SEI_INGEST_TOKEN`` header)."""
    return receive_webhook(request, services, OPSGENIE, services.settings.sei_ingest_token)


# --- the generic API ---------------------------------------------------------------------------


def _problems(problems: list[dict[str, str]], stored: int | None = None) -> Response:
    body: dict[str, Any] = {"errors": problems}
    if stored is not None:
        body["id"] = stored
    return json_response(body, 422)


def _owner_problems(fact: DeploymentFact | IncidentFact, owners: Owners, exists: bool) -> list[dict[str, str]]:
    repo = fact.fields.get("repo") if isinstance(fact, DeploymentFact) else fact.repo
    problems = []
    if repo is not None:
        try:
            owners.repo(repo)
        except UnknownOwnerError:
            problems.append({"field": "repo", "problem": f"unknown repository {repo}: no team in teams.yml has it"})
    if isinstance(fact, IncidentFact):
        if fact.services and owners.known_service(fact.services) is None:
            problems.append(
                {"field": "service", "problem": f"unknown service {fact.services[0]}: no team in teams.yml lists it"}
            )
        if not exists and repo is None and not fact.services:
            problems.append({"field": "repo", "problem": "required for a new incident (or give service)"})
        if not exists and fact.fields.get("opened_at") is None:
            problems.append({"field": "opened_at", "problem": "required for a new incident"})
    return problems


def _exists(fact: DeploymentFact | IncidentFact, services: Services) -> tuple[bool, Owners]:
    model = Deployment if isinstance(fact, DeploymentFact) else Incident
    uid = fit(model, {"uid": fact.uid})["uid"]
    with session_scope(services.engine) as session:
        found = session.scalars(select(model.id).where(model.uid == uid)).first() is not None  # type: ignore[attr-defined]
        return found, Owners.load(session)


def _repeat(services: Services, raw_id: int, body: bytes) -> Response:
    with session_scope(services.engine) as session:
        raw = session.get(RawEvent, raw_id)
        same = raw is not None and bytes(raw.body) == body
    if not same:
        return _problems([{"field": "Idempotency-Key", "problem": "already used for a different request body"}])
    return json_response({"status": "duplicate", "id": raw_id}, 200)


def receive_api(request: Request, services: Services, event: str) -> Response:
    """Validate, log and apply one generic API record (see the module docstring)."""
    key = _configured(services.settings.sei_ingest_token)
    if key is None:
        return _not_configured("SEI_INGEST_TOKEN", "The ingest API")
    body = request.get_data(cache=False)
    if not _bearer_verify(key, body, request):
        return json_response(
            {"error": "missing or invalid bearer token (Authorization: Bearer $SEI_INGEST_TOKEN)"}, 401
        )
    idempotency_key = request.headers.get("Idempotency-Key") or None
    item = Inbound(
        source="api",
        delivery_id="",
        event_type=event,
        body=body,
        headers=loggable_headers(dict(request.headers)),
    )
    problems: list[dict[str, str]] = []
    fact: DeploymentFact | IncidentFact | None = None
    exists, owners = False, Owners()
    if idempotency_key is not None and len(idempotency_key) > 200:
        problems = [{"field": "Idempotency-Key", "problem": "longer than 200 characters"}]
    else:
        try:
            facts = parse_delivery(
                source="api",
                event=event,
                payload=decode_json(body),
                received_at=item.received_at,
                idempotency_key=idempotency_key,
            )
            assert isinstance(facts[0], DeploymentFact | IncidentFact)
            fact = facts[0]
        except ApiProblems as exc:
            problems = exc.problems
        except ShapeError as exc:
            problems = [{"field": exc.path, "problem": exc.problem}]
    if fact is not None:
        exists, owners = _exists(fact, services)
        problems = _owner_problems(fact, owners, exists)
    digest = hashlib.sha256(body).hexdigest()[:32]
    if idempotency_key is not None and not problems:
        item.delivery_id = f"key:{idempotency_key}"
    else:
        record = fact.uid if fact is not None else "invalid"
        item.delivery_id = f"{record}:{digest}"
    if problems:
        item.status = "refused"
        item.error = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    try:
        result = writer_for(services.engine).append(item)
    except Exception:
        log.exception("could not store an API %s", event)
        return json_response({"error": "the record could not be stored; please retry"}, 503)
    if problems:
        return _problems(problems, result.id)
    if not result.created:
        return (
            _repeat(services, result.id, body)
            if idempotency_key
            else json_response({"status": "duplicate", "id": result.id}, 200)
        )
    assert fact is not None
    status = worker.process_one(services.engine, result.id, owners)
    answer: dict[str, Any] = {"status": "updated" if exists else "created", "id": result.id, "uid": fact.uid}
    if status == "error":
        with session_scope(services.engine) as session:
            raw = session.get(RawEvent, result.id)
            answer = {"status": "stored", "id": result.id, "error": raw.error if raw else None}
        return json_response(answer, 202)
    return json_response(answer, 200 if exists else 201)


def handle_api_deployments(request: Request, services: Services) -> Response:
    """``POST /api/v1/deployments``: a deployment from any CI (DESIGN.md §2)."""
    return receive_api(request, services, "deployment")


def handle_api_incidents(request: Request, services: Services) -> Response:
    """``POST /api/v1/incidents``: an incident from any tool; a repeat with ``resolved_at`` resolves it."""
    return receive_api(request, services, "incident")
