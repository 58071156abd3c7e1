"""Plain facts that parsers read out of payloads, before any team configuration is consulted.

A parser turns one delivery into a list of facts (or raises ``Ignored`` for an event the bot does not
use, or ``ShapeError`` for a payload of the wrong shape); ``normalize.apply`` writes them with the
idempotent upserts of ``bot.delivery.service``. ``fields`` hold column values of the target table;
``None`` means "not known from this event" and leaves what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Ignored(Exception):
    """The delivery is an event the bot does not use: kept in the log, marked ``ignored``."""


@dataclass(frozen=True)
class PullRequestFact:
    """A snapshot of a pull (merge) request; ``ready_if_new`` is ``ready_at`` for a first sighting."""

    repo: str
    number: int
    fields: dict[str, Any]
    ready_if_new: datetime | None = None


@dataclass(frozen=True)
class ReviewRequestFact:
    """A review requested from (or no longer requested of) ``reviewer``."""

    repo: str
    number: int
    reviewer: str
    at: datetime
    removed: bool = False


@dataclass(frozen=True)
class ReviewFact:
    """A review submitted, edited or dismissed."""

    repo: str
    number: int
    ext_id: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class PushFact:
    """Commits pushed to a branch; ``commits`` are dicts of ``Commit`` columns (sha, authored_at…)."""

    repo: str
    branch: str
    after: str
    pushed_at: datetime
    commits: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class DeploymentFact:
    """A deployment record (or a new status of one) by ``uid``."""

    uid: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class PipelineRunFact:
    """A CI run, job, check suite or pipeline attempt by ``uid``."""

    uid: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class WorkflowRunFact:
    """A GitHub Actions run that becomes a deployment when its workflow is a team's deploy workflow."""

    repo: str
    run_id: str
    names: tuple[str, ...]  # workflow name, path and file name, any of which teams.yml may list
    head_branch: str | None
    fields: dict[str, Any]  # Deployment columns: sha, status, started_at, finished_at, url, creator_login


@dataclass(frozen=True)
class IssueFact:
    """A GitHub issue; it is an incident while it carries an owning team's incident label."""

    repo: str
    number: int
    labels: tuple[str, ...]
    deleted: bool
    fields: dict[str, Any]  # Incident columns: title, text, opened_at, resolved_at, url, root_cause_sha
    is_open: bool = True


@dataclass(frozen=True)
class IncidentFact:
    """An incident from an incident tool or the generic API, owned by a repository or a service."""

    uid: str
    fields: dict[str, Any]
    repo: str | None = None
    services: tuple[str, ...] = ()
    reopened: bool = False


Fact = (
    PullRequestFact
    | ReviewRequestFact
    | ReviewFact
    | PushFact
    | DeploymentFact
    | PipelineRunFact
    | WorkflowRunFact
    | IssueFact
    | IncidentFact
)


@dataclass
class Delivery:
    """What a parser needs besides the payload: the event name and when it was received."""

    event: str
    received_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
