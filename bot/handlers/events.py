"""Listeners for Slack events the app subscribes to but does not act on yet (Bolt answers 404 otherwise)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

log = logging.getLogger(__name__)


def handle_ignored_event(event: dict[str, Any]) -> None:
    """Accept an event we subscribe to for future use; Slack must get a 2xx or it retries."""
    log.debug("ignored event %s", event.get("type"))


def register(app: App) -> None:
    """Register no-op listeners so subscribed events are acknowledged."""
    for event_type in ("app_home_opened", "app_uninstalled", "tokens_revoked", "member_joined_channel"):
        app.event(event_type)(handle_ignored_event)
