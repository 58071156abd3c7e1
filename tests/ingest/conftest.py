"""Ingest tests: teams owning the fixtures' repositories, and the real WSGI app on a real port."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from werkzeug.serving import make_server

from bot.db import session_scope
from bot.settings import Settings
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config
from bot.web import create_wsgi_app

GITHUB_SECRET = "gh-webhook-secret"
GITLAB_TOKEN = "gl-webhook-token"
PAGERDUTY_SECRET = "pd-webhook-secret"
INGEST_TOKEN = "ingest-token"

# Every repository, service and label the shared fixtures use, split over teams with different rules.
TEAMS_YML = """
teams:
  team-a:
    name: Team A
    channel: C0TEAMAAA
    repos: [Codertocat/Hello-World, baxterthehacker/public-repo, gsmet/quarkus-bot-java-playground,
            lineville/elastic-machines-testing, Octocoders/Hello-World, company-group/acme-project-project,
            octo-org/octo-repo]
    production: {branch: master, environments: "^(production|prod)$", workflows: [test]}
    incidents: {github_label: bug, pagerduty_services: [PA2P440], opsgenie_teams: [Server]}
  team-b:
    name: Team B
    channel: C0TEAMBBB
    repos: [github-slack/app, github-slack/public-test]
    production: {branch: master, environments: "^(production|github-slack-app)$"}
    incidents: {github_label: question, services: [checkout]}
  team-gl:
    name: Team GitLab
    channel: C0TEAMGLB
    repos: ["gitlab:gitlabhq/gitlab-test", "gitlab:gitlab-org/gitlab-test", "gitlab:root/test-deployment-webhooks",
            "gitlab:jsmithy2/release-tools-fake", "gitlab:mike/diaspora", "gitlab:jsmithy2/test"]
    production: {branch: master}
  acme:
    name: Acme
    channel: C0ACMEAAA
    repos: [acme/api]
    production: {branch: main, environments: "^production$"}
    incidents: {github_label: incident, services: [payments]}
"""


def apply_teams(engine: Engine, text: str = TEAMS_YML) -> None:
    """Load a teams.yml text into the database."""
    with session_scope(engine) as session:
        apply_config(session=session, config=parse_teams_yaml(text))


def github_signature(body: bytes, secret: str = GITHUB_SECRET) -> str:
    """The ``X-Hub-Signature-256`` GitHub would send."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def load_fixture(fixtures_dir: Path, relative: str) -> bytes:
    """A shared fixture's bytes, exactly as published."""
    return (fixtures_dir / relative).read_bytes()


@dataclass
class Server:
    """The real app listening on a random local port, with an HTTP client."""

    url: str
    client: httpx.Client
    engine: Engine

    def github(
        self, event: str, body: bytes | dict[str, Any], *, delivery: str | None = None, **kw: Any
    ) -> httpx.Response:
        """POST a signed GitHub delivery."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": kw.pop("signature", None) or github_signature(raw),
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/test",
        }
        return self.client.post(f"{self.url}/webhooks/github", content=raw, headers=headers)

    def gitlab(
        self, body: bytes | dict[str, Any], *, token: str = GITLAB_TOKEN, uuid_: str | None = None
    ) -> httpx.Response:
        """POST a GitLab delivery with its token."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"X-Gitlab-Token": token, "X-Gitlab-Event-UUID": uuid_ or str(uuid.uuid4())}
        return self.client.post(f"{self.url}/webhooks/gitlab", content=raw, headers=headers)

    def pagerduty(self, body: bytes | dict[str, Any], *, secret: str = PAGERDUTY_SECRET) -> httpx.Response:
        """POST a PagerDuty v3 delivery, signed."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        signature = "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return self.client.post(
            f"{self.url}/webhooks/pagerduty", content=raw, headers={"X-PagerDuty-Signature": signature}
        )

    def api(self, kind: str, body: Any, *, token: str = INGEST_TOKEN, key: str | None = None) -> httpx.Response:
        """POST to the generic ingest API."""
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(f"{self.url}/api/v1/{kind}", content=raw, headers=headers)


def serve(settings: Settings, engine: Engine) -> Iterator[Server]:
    """Run the WSGI app in a threaded HTTP server on a random port until the generator is closed."""
    server = make_server("127.0.0.1", 0, create_wsgi_app(settings, engine=engine), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    with httpx.Client(timeout=30) as client:
        yield Server(url=f"http://127.0.0.1:{server.server_port}", client=client, engine=engine)
    server.shutdown()
    server.server_close()
    thread.join(5)


def configured_settings(db_url: str, **overrides: Any) -> Settings:
    """Settings with every ingest secret set."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "github_webhook_secret": GITHUB_SECRET,
        "gitlab_webhook_token": GITLAB_TOKEN,
        "pagerduty_webhook_secret": PAGERDUTY_SECRET,
        "sei_ingest_token": INGEST_TOKEN,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def server(engine: Engine, db_url: str) -> Iterator[Server]:
    """The app with every ingest secret configured and the test teams applied (no normaliser thread)."""
    apply_teams(engine)
    yield from serve(configured_settings(db_url), engine)
