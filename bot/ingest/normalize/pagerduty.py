"""PagerDuty v3 webhook payloads → incident facts (pure). The service id says whose incident it is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.ingest.normalize.facts import Fact, Ignored, IncidentFact
from bot.ingest.payload import Doc


def parse_pagerduty(event: str, payload: Any, received_at: datetime) -> list[Fact]:
    """``incident.*`` events: triggered opens, resolved resolves, reopened reopens; others refresh.

    ``{"event": {"id": "01BZYIL05THJDFF2Y08X9SVMTU", "event_type": "incident.triggered",
    "resource_type": "incident", "occurred_at": "2021-06-04T13:35:29.781Z", "data": {"id": "PFQZPSY",
    "title": "Test Incident 3", "html_url": "https://acme.pagerduty.com/incidents/PFQZPSY",
    "service": {"id": "PA2P440", "summary": "checkout"}}}}``
    """
    envelope = Doc(payload).child("event")
    event_type = envelope.text("event_type")
    if not event_type.startswith("incident.") or envelope.opt_text("resource_type") not in (None, "incident"):
        raise Ignored(f"PagerDuty {event_type[:60]!r} events are not used")
    occurred = envelope.opt_time("occurred_at") or received_at
    data = envelope.child("data")
    service = data.child("service").text("id")
    title = data.opt_text("title") or data.opt_text("summary") or ""
    fields = {
        "source": "pagerduty",
        "service": service,
        "title": title,
        "text": title,
        "opened_at": data.opt_time("created_at") or occurred,
        "resolved_at": occurred if event_type == "incident.resolved" else None,
        "url": data.opt_text("html_url"),
    }
    uid = f"pagerduty:{data.ident('id')}"
    return [IncidentFact(uid, fields, services=(service,), reopened=event_type == "incident.reopened")]
