"""The real WSGI app (Bolt inside) under a real threaded server, wired to a fake Slack.

Used through the ``live_app`` fixture of ``tests/conftest.py``::

    def test_something(live_app: LiveApp) -> None:
        reply = live_app.driver.command("/dora", "team-a")       # signed, over HTTP
        live_app.slack.wait_for("chat.postMessage")              # what the bot sent to Slack
        with live_app.session() as session: ...                  # the same database the app uses

Teams come from the ``teams_yml`` fixture (override it in a test module for other teams). The
server is waitress, as in production (``sei-bot serve``); stopping it waits for the Bolt listener
pool, so lazy work cannot outlive the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from waitress import wasyncore
from waitress.server import create_server

from bot.db import session_scope
from bot.settings import Settings
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config
from bot.web import WebApp, create_wsgi_app
from tests.fakes.driver import SlackDriver
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example

TEAMS_YML = """\
teams:
  team-a:
    name: Team A
    channel: C0123ABCD
    timezone: Europe/Berlin
    repos: [acme/api, acme/web]
    members: [U01AAAAAAA, U01BBBBBBB]
    leads: [U01AAAAAAA]
    incidents: {services: [checkout]}
  team-b:
    name: Team B
    channel: C0456EFGH
    repos: [acme/mobile]
    members: [U01CCCCCCC]
people:
  - {slack: U01AAAAAAA, github: alice, email: alice@example.com}
  - {slack: U01BBBBBBB, github: bob, email: bob@example.com}
  - {slack: U01CCCCCCC, github: carol, email: carol@example.com}
"""


@dataclass
class LiveApp:
    """A running bot: its URL, settings, engine, the fake Slack it talks to and a driver for it."""

    url: str
    settings: Settings
    engine: Engine
    slack: FakeSlack
    driver: SlackDriver
    wsgi: WebApp

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A committed unit of work on the app's database (seed rows, read results)."""
        with session_scope(self.engine) as session:
            yield session


def live_settings(slack: FakeSlack, database_url: str, **overrides: object) -> Settings:
    """Settings of a bot that talks to ``slack`` and uses ``database_url``."""
    values: dict[str, object] = {
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.base_url,
        "database_url": database_url,
        "sei_public_url": "https://sei-bot.example.com",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def run_live_app(
    settings: Settings, engine: Engine, slack: FakeSlack, *, teams_yml: str | None = TEAMS_YML, threads: int = 8
) -> Iterator[LiveApp]:
    """Apply ``teams_yml``, build the WSGI app and serve it on a random local port until exit."""
    if teams_yml:
        with session_scope(engine) as session:
            apply_config(session=session, config=parse_teams_yaml(teams_yml))
    wsgi = create_wsgi_app(settings, engine=engine)
    server = create_server(wsgi, host="127.0.0.1", port=0, threads=threads, ident="sei-bot-test")
    thread = threading.Thread(target=server.run, name="live-app", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    driver = SlackDriver(url, signing_secret=SIGNING_SECRET, slack=slack, team_id=slack.team_id)
    try:
        yield LiveApp(url=url, settings=settings, engine=engine, slack=slack, driver=driver, wsgi=wsgi)
    finally:
        driver.close()
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)  # type: ignore[union-attr]
        thread.join(timeout=5)
        if wsgi.services.bolt is not None:
            # Lazy listeners run in this pool; let them finish before the fake Slack goes away.
            wsgi.services.bolt.listener_runner.listener_executor.shutdown(wait=True)
