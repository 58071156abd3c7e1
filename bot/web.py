"""The WSGI application: Slack, webhooks, the generic ingest API and health, on one port.

A sync Bolt app under a threaded WSGI server (waitress): no event loop to block. Routes map to
functions ``(request, services) -> Response`` in the package that owns them.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine, text
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bot.settings import Settings

log = logging.getLogger(__name__)

# Largest body accepted (GitHub sends webhook payloads of up to 25 MB).
MAX_BODY_BYTES = 26 * 1024 * 1024


@dataclass
class Services:
    """What route handlers need: settings, the engine, and the Bolt app."""

    settings: Settings
    engine: Engine
    bolt: App | None = None


Handler = Callable[[Request, Services], Response]

# (rule, methods, "module:function"); the owning package implements the function.
ROUTES: list[tuple[str, tuple[str, ...], str]] = [
    ("/healthz", ("GET", "HEAD"), "bot.web:handle_healthz"),
    ("/webhooks/github", ("POST",), "bot.ingest.http:handle_github_webhook"),
    ("/webhooks/gitlab", ("POST",), "bot.ingest.http:handle_gitlab_webhook"),
    ("/webhooks/pagerduty", ("POST",), "bot.ingest.http:handle_pagerduty_webhook"),
    ("/webhooks/opsgenie", ("POST",), "bot.ingest.http:handle_opsgenie_webhook"),
    ("/api/v1/deployments", ("POST",), "bot.ingest.http:handle_api_deployments"),
    ("/api/v1/incidents", ("POST",), "bot.ingest.http:handle_api_incidents"),
]


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON response."""
    return Response(json.dumps(data, default=str), status=status, mimetype="application/json")


def handle_healthz(request: Request, services: Services) -> Response:
    """Liveness and a database round trip."""
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy"
        log.warning("health check: database unreachable: %s", exc)
        return json_response({"status": "error", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "database": "ok"})


class WebApp:
    """WSGI callable routing ``/slack/*`` to Bolt and everything else to ``ROUTES``."""

    def __init__(self, services: Services, routes: Iterable[tuple[str, tuple[str, ...], str]] | None = None):
        self.services = services
        self.slack_handler = SlackRequestHandler(services.bolt) if services.bolt is not None else None
        rules, self.endpoints = [], {}
        for path, methods, target in routes if routes is not None else ROUTES:
            module_name, _, attr = target.partition(":")
            self.endpoints[target] = getattr(importlib.import_module(module_name), attr)
            rules.append(Rule(path, methods=list(methods), endpoint=target))
        self.url_map = Map(rules, strict_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/slack/"):
            if self.slack_handler is None:
                return json_response({"error": "Slack is not configured (set SLACK_SIGNING_SECRET)"}, 503)(
                    environ, start_response
                )
            return self.slack_handler(environ, start_response)
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        try:
            endpoint, _ = self.url_map.bind_to_environ(environ).match()
            response = self.endpoints[endpoint](request, self.services)
        except NotFound:
            response = json_response({"error": f"no route {path}"}, 404)
        except MethodNotAllowed as exc:
            response = json_response({"error": f"method not allowed; use {', '.join(exc.valid_methods or [])}"}, 405)
        except HTTPException as exc:
            response = json_response({"error": exc.description}, exc.code or 400)
        except Exception:
            log.exception("error serving %s", path)
            response = json_response({"error": "internal error; it has been logged"}, 500)
        return response(environ, start_response)


def create_wsgi_app(settings: Settings, *, engine: Engine | None = None, bolt: App | None = None) -> WebApp:
    """The WSGI app for these settings; builds the Bolt app when Slack is configured."""
    from bot.db import get_engine

    engine = engine or get_engine(settings.database_url)
    if bolt is None and settings.slack_signing_secret is not None:
        from bot.app import create_app

        bolt = create_app(settings, engine=engine)
    return WebApp(Services(settings=settings, engine=engine, bolt=bolt))
