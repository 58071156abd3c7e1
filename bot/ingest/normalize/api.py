"""The generic ingest API's bodies → facts (pure), with every problem named by its field.

``POST /api/v1/deployments`` and ``POST /api/v1/incidents`` (DESIGN.md §2). The record's id is the
``id`` field, else the ``Idempotency-Key`` header, else a digest of the body, so the same report
sent twice names the same deployment or incident.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.ingest.normalize.facts import DeploymentFact, Fact, Ignored, IncidentFact
from bot.ingest.normalize.github import root_cause_sha
from bot.ingest.payload import ShapeError, parse_timestamp
from bot.teams.config import REPO

EVENTS = ("deployment", "incident")
_SHA = r"^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$"
_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "string_too_short": "must not be empty",
}


class ApiProblems(ShapeError):
    """A body that fails validation; ``problems`` are ``{"field": …, "problem": …}`` for the 422."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        first = problems[0]
        super().__init__(first["field"], "; ".join(f"{p['field']}: {p['problem']}" for p in problems)[:2000])

    def __str__(self) -> str:
        return self.problem


def _timestamp(value: Any) -> Any:
    if value is None:
        return None
    try:
        return parse_timestamp(value, "")
    except ShapeError as exc:
        raise ValueError(exc.problem) from exc


def _repo(value: Any) -> Any:
    if isinstance(value, str) and not REPO.match(value):
        raise ValueError("expected owner/name (or gitlab:group/project) as in teams.yml")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
Id = Annotated[str, Field(min_length=1, max_length=200)]
Repo = Annotated[str, BeforeValidator(_repo), Field(max_length=300)]
Sha = Annotated[str, Field(pattern=_SHA)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class DeploymentIn(_Body):
    """A deployment reported by any CI: whose (``repo``), where, which SHA, how it ended, when."""

    id: Id | None = None
    repo: Repo
    environment: Annotated[str, Field(min_length=1, max_length=200)]
    sha: Sha | None = None
    status: Literal["success", "failure", "cancelled"]
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    url: Annotated[str, Field(max_length=1000)] | None = None
    rollback: bool = False

    @model_validator(mode="after")
    def _order(self) -> DeploymentIn:
        if self.started_at and self.finished_at and self.finished_at < self.started_at:
            raise ValueError("finished_at: is before started_at")
        return self


class IncidentIn(_Body):
    """An incident from any tool, owned by ``repo`` or ``service``; a repeat with ``resolved_at`` resolves it."""

    id: Id | None = None
    repo: Repo | None = None
    service: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    title: Annotated[str, Field(max_length=1000)] = ""
    description: str = ""
    opened_at: Timestamp | None = None
    resolved_at: Timestamp | None = None
    url: Annotated[str, Field(max_length=1000)] | None = None
    deployment_id: Id | None = None
    root_cause_sha: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{7,64}$")] | None = None

    @model_validator(mode="after")
    def _order(self) -> IncidentIn:
        if self.opened_at and self.resolved_at and self.resolved_at < self.opened_at:
            raise ValueError("resolved_at: is before opened_at")
        return self


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    problems = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(body)"
        problem = _MESSAGES.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        problem = problem.replace("Input should be ", "expected ", 1)
        if err["type"] == "string_pattern_mismatch":
            problem = "expected a full commit SHA in hex" if field == "sha" else "expected a commit SHA in hex"
        if ": " in problem and field == "(body)":  # cross-field problems name their field first
            field, problem = problem.split(": ", 1)
        problems.append({"field": field, "problem": problem})
    return problems


def _validate(model: type[_Body], payload: Any) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ApiProblems(_problems(exc)) from exc


def record_id(body: _Body, payload: Any, key: str | None) -> str:
    """The record's id: ``id``, else the Idempotency-Key, else ``auto-`` and a digest of the body."""
    explicit = getattr(body, "id", None)
    if explicit:
        return str(explicit)
    if key:
        return key[:200]
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return "auto-" + hashlib.sha256(canonical).hexdigest()[:24]


def parse_api(event: str, payload: Any, received_at: datetime, key: str | None = None) -> list[Fact]:
    """Facts of one generic API request; ``ApiProblems`` lists every invalid field.

    ``deployment``: ``{"id": "jenkins-api-8812", "repo": "acme/api", "environment": "production",
    "sha": "0d1f…", "status": "success", "finished_at": "2026-10-05T18:00:00+00:00", "rollback": false}``
    (``finished_at`` defaults to the time the request was received).
    ``incident``: ``{"id": "INC-2041", "repo": "acme/api", "title": "Checkout errors",
    "opened_at": "2026-10-05T19:00:00+00:00", "resolved_at": null, "deployment_id": "jenkins-api-8812"}``
    """
    if event == "deployment":
        dep = _validate(DeploymentIn, payload)
        ext_id = record_id(dep, payload, key)
        fields = {
            "ext_id": ext_id,
            "source": "api",
            "repo": dep.repo,
            "environment": dep.environment,
            "sha": dep.sha.lower() if dep.sha else None,
            "status": dep.status,
            "started_at": dep.started_at,
            "finished_at": dep.finished_at or received_at,
            "url": dep.url,
            "is_rollback": dep.rollback,
        }
        return [DeploymentFact(f"api:{dep.repo.lower()}:{ext_id}", fields)]
    if event == "incident":
        inc = _validate(IncidentIn, payload)
        text = f"{inc.title}\n\n{inc.description}".strip()
        explicit_sha = inc.root_cause_sha.lower() if inc.root_cause_sha else None
        fields = {
            "source": "api",
            "service": inc.service,
            "title": inc.title if "title" in inc.model_fields_set else None,
            "text": text if inc.model_fields_set & {"title", "description"} else None,
            "opened_at": inc.opened_at,
            "resolved_at": inc.resolved_at,
            "url": inc.url,
            "deployment_ref": inc.deployment_id,
            "root_cause_sha": explicit_sha or root_cause_sha(text),
        }
        reopened = "resolved_at" in inc.model_fields_set and inc.resolved_at is None
        services = (inc.service,) if inc.service else ()
        return [
            IncidentFact(
                f"api:{record_id(inc, payload, key)}", fields, repo=inc.repo, services=services, reopened=reopened
            )
        ]
    raise Ignored(f"unknown API record {event[:40]!r}")
