"""Normalisation: raw deliveries → plain facts (pure parsers per provider) → delivery tables (``apply``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.ingest.normalize.api import parse_api
from bot.ingest.normalize.facts import Fact
from bot.ingest.normalize.github import parse_github
from bot.ingest.normalize.gitlab import parse_gitlab
from bot.ingest.normalize.opsgenie import parse_opsgenie
from bot.ingest.normalize.pagerduty import parse_pagerduty
from bot.ingest.payload import ShapeError

SOURCES = ("github", "gitlab", "pagerduty", "opsgenie", "api")


def decode_json(body: bytes) -> Any:
    """The decoded body; ``ShapeError`` saying why when it is not JSON."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise ShapeError("(body)", "JSON nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise ShapeError("(body)", f"not valid JSON: {str(exc)[:200]}") from exc


def parse_delivery(
    *, source: str, event: str, payload: Any, received_at: datetime, idempotency_key: str | None = None
) -> list[Fact]:
    """Facts of one delivery of any source; ``Ignored`` or ``ShapeError`` when there are none."""
    if source == "github":
        return parse_github(event, payload, received_at)
    if source == "gitlab":
        return parse_gitlab(event, payload, received_at)
    if source == "pagerduty":
        return parse_pagerduty(event, payload, received_at)
    if source == "opsgenie":
        return parse_opsgenie(event, payload, received_at)
    if source == "api":
        return parse_api(event, payload, received_at, idempotency_key)
    raise ValueError(f"unknown source {source!r}")
