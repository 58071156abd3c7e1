"""Opsgenie alert webhooks → incident facts (pure). An alert's teams or entity say whose it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.ingest.normalize.facts import Fact, Ignored, IncidentFact
from bot.ingest.payload import Doc, ShapeError

_USED = {"create": "open", "acknowledge": "open", "close": "close", "delete": "close"}


def _epoch(doc: Doc, key: str, scale: float) -> datetime | None:
    """Opsgenie sends ``createdAt`` in milliseconds and ``updatedAt`` in nanoseconds since 1970."""
    value = doc.number(key)
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value / scale, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ShapeError(f"alert.{key}", f"{value!r} is not a valid time") from exc


def parse_opsgenie(event: str, payload: Any, received_at: datetime) -> list[Fact]:
    """``Create`` opens an incident at ``createdAt``; ``Close`` resolves it; other actions are ignored.

    ``{"action": "Create", "alert": {"alertId": "ec03dad6-…", "message": "another alert", "createdAt":
    1502709956288, "updatedAt": 1502709956288000110, "teams": ["checkout"], "entity": "Server",
    "tags": ["vip"], "tinyId": "2"}}``
    """
    doc = Doc(payload)
    action = doc.text("action")
    kind = _USED.get(action.lower())
    if kind is None:
        raise Ignored(f"Opsgenie {action[:40]!r} actions are not used")
    alert = doc.child("alert")
    message = alert.opt_text("message") or ""
    description = alert.opt_text("description") or ""
    owners = [*alert.texts("teams"), *([alert.text("entity")] if alert.opt_text("entity") else [])]
    fields = {
        "source": "opsgenie",
        "title": message,
        "text": f"{message}\n\n{description}".strip(),
        "opened_at": _epoch(alert, "createdAt", 1e3) or received_at,
        "resolved_at": (_epoch(alert, "updatedAt", 1e9) or received_at) if kind == "close" else None,
    }
    return [IncidentFact(f"opsgenie:{alert.ident('alertId')}", fields, services=tuple(owners))]
