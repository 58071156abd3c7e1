"""Sends requests to the bot exactly as Slack does: v0-signed, with Slack's bodies and headers.

::

    driver = SlackDriver(app_url, signing_secret="secret", slack=fake)   # or the ``live_app`` fixture
    reply = driver.command("/dora", "team-a", channel_id="C0123ABCD")
    assert reply.status == 200 and reply.elapsed < 3 and "Crunching" in reply.text
    reply.response_url                          # issued by the fake: its posts are in fake.response_posts
    driver.block_action("survey-open", value="42", user_id="U01AAAAAAA")       # ``payload=`` form field
    driver.view_submission("survey-submit", values={"q1": {"answer": {...}}})
    driver.event({"type": "app_home_opened", "user": "U01AAAAAAA", "tab": "home"})  # JSON envelope
    driver.command("/dora", forge=True).status == 401                         # bad signature
    driver.command("/dora", timestamp=time.time() - 600).status == 401        # stale timestamp

Slash commands are ``application/x-www-form-urlencoded`` bodies, interactions a form with one
``payload`` field holding JSON, events a JSON envelope with ``event_id`` and ``authorizations``.
When a ``FakeSlack`` is given, ``trigger_id`` and ``response_url`` come from it, so the fake can
check them later; otherwise they are placeholders.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.fakes.slack_api import FakeSlack

DEFAULT_USER = "U01AAAAAAA"
DEFAULT_CHANNEL = "C0123ABCD"


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's ``X-Slack-Signature`` for a body sent at ``timestamp``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class DriverResponse:
    """What the bot answered, and how long it took (seconds, wall clock)."""

    status: int
    text: str
    headers: dict[str, str]
    elapsed: float
    trigger_id: str | None = None
    response_url: str | None = None
    sent: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON (Bolt answers JSON when the ack has blocks or options)."""
        return json.loads(self.text)

    @property
    def ack_text(self) -> str:
        """The text a person sees as the immediate answer (plain body or JSON ``text``)."""
        if self.headers.get("content-type", "").startswith("application/json") and self.text:
            return str(self.json().get("text", ""))
        return self.text


class SlackDriver:
    """Signs and sends commands, interactions and events to a running bot."""

    def __init__(
        self,
        app_url: str,
        *,
        signing_secret: str,
        slack: FakeSlack | None = None,
        team_id: str = "T0TEST001",
        team_domain: str = "acme",
        api_app_id: str = "A0TEST001",
        path: str = "/slack/events",
        timeout: float = 30.0,
    ):
        self.url = app_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.slack = slack
        self.team_id = team_id
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    # --- low level ------------------------------------------------------------------------------

    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        forge: bool = False,
        timestamp: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> DriverResponse:
        """POST a raw body with Slack's headers; ``forge`` signs with a wrong secret."""
        ts = str(int(time.time() if timestamp is None else timestamp))
        secret = "not-" + self.signing_secret if forge else self.signing_secret
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        started = time.perf_counter()
        response = self.http.post(self.url, content=body, headers=all_headers)
        elapsed = time.perf_counter() - started
        return DriverResponse(
            status=response.status_code,
            text=response.text,
            headers={k.lower(): v for k, v in response.headers.items()},
            elapsed=elapsed,
        )

    def _ids(self) -> tuple[str, str]:
        if self.slack is not None:
            return self.slack.issue_trigger_id(), self.slack.issue_response_url()
        key = secrets.token_hex(8)
        return f"0.0.{key}", f"https://hooks.slack.com/commands/{self.team_id}/0/{key}"

    # --- slash commands -------------------------------------------------------------------------

    def command_body(self, command: str, text: str = "", *, user_id: str, channel_id: str) -> dict[str, str]:
        """The form fields Slack sends for a slash command (without ids)."""
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": "team-channel" if channel_id.startswith("C") else "directmessage",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
        }

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = DEFAULT_USER,
        channel_id: str = DEFAULT_CHANNEL,
        forge: bool = False,
        timestamp: float | None = None,
    ) -> DriverResponse:
        """Send a slash command (``/dora team-a 30d``) as a signed form body."""
        trigger_id, response_url = self._ids()
        fields = {
            **self.command_body(command, text, user_id=user_id, channel_id=channel_id),
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        reply = self.send(
            urlencode(fields).encode(), "application/x-www-form-urlencoded", forge=forge, timestamp=timestamp
        )
        reply.trigger_id, reply.response_url, reply.sent = trigger_id, response_url, fields
        return reply

    # --- interactivity --------------------------------------------------------------------------

    def interaction(
        self,
        payload: dict[str, Any],
        *,
        with_response_url: bool = True,
        forge: bool = False,
        timestamp: float | None = None,
    ) -> DriverResponse:
        """Send an interaction payload (``payload=<json>`` form field); fills in team, app and ids."""
        trigger_id, response_url = self._ids()
        payload = {
            "team": {"id": self.team_id, "domain": self.team_domain},
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "trigger_id": trigger_id,
            "is_enterprise_install": False,
            "enterprise": None,
            **payload,
        }
        if with_response_url:
            payload.setdefault("response_url", response_url)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        reply = self.send(body, "application/x-www-form-urlencoded", forge=forge, timestamp=timestamp)
        reply.trigger_id, reply.response_url, reply.sent = trigger_id, payload.get("response_url"), payload
        return reply

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str = DEFAULT_USER,
        channel_id: str = DEFAULT_CHANNEL,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        block_id: str = "actions",
        element: dict[str, Any] | None = None,
    ) -> DriverResponse:
        """Click a button (or pick an option with ``element``) in a message, or in ``view`` when given."""
        now = f"{time.time():.6f}"
        action = element or {"type": "button", "text": {"type": "plain_text", "text": action_id}, "value": value}
        action = {"action_id": action_id, "block_id": block_id, "action_ts": now, **action}
        user = {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": self.team_id}
        payload: dict[str, Any] = {"type": "block_actions", "user": user, "actions": [action]}
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0")}
            payload["view"] = view
        else:
            message = message or {"type": "message", "ts": now, "text": "", "blocks": []}
            payload["container"] = {
                "type": "message",
                "message_ts": message.get("ts", now),
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel_id, "name": "team-channel"}
            payload["message"] = message
            payload["state"] = {"values": {}}
        return self.interaction(payload, with_response_url=view is None)

    def view_submission(
        self,
        callback_id: str,
        *,
        values: dict[str, dict[str, Any]],
        user_id: str = DEFAULT_USER,
        private_metadata: str = "",
        view_id: str = "V0TEST001",
        blocks: list[dict[str, Any]] | None = None,
    ) -> DriverResponse:
        """Submit a modal: ``values`` is ``state.values`` (``{block_id: {action_id: {...}}}``)."""
        user = {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": self.team_id}
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": blocks or [],
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "sei-bot"},
            "root_view_id": view_id,
            "app_id": self.api_app_id,
        }
        payload = {"type": "view_submission", "user": user, "view": view, "response_urls": []}
        return self.interaction(payload, with_response_url=False)

    # --- events ---------------------------------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        forge: bool = False,
        timestamp: float | None = None,
    ) -> DriverResponse:
        """Send an Events API ``event_callback`` envelope (JSON); a retry adds ``X-Slack-Retry-*``."""
        event_id = event_id or "Ev" + secrets.token_hex(5).upper()
        bot_user = self.slack.bot_user_id if self.slack is not None else "U0BOT0001"
        now = int(time.time())
        envelope = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{now}.000100", **event},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": bot_user,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_hex(16),
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        reply = self.send(
            json.dumps(envelope).encode(), "application/json", forge=forge, timestamp=timestamp, headers=headers
        )
        reply.sent = envelope
        return reply

    def url_verification(
        self, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    ) -> DriverResponse:
        """The handshake Slack sends when the Request URL is set."""
        body = {"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"}
        return self.send(json.dumps(body).encode(), "application/json")
