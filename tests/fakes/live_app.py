"""The real WSGI app (Bolt inside) under a real threaded server, wired to a fake Slack.

Used through the ``live_app`` fixture of ``tests/conftest.py``::

    def test_something(live_app: LiveApp) -> None:
        reply = live_app.driver.command("/dora", "team-a")       # signed, over HTTP
        live_app.slack.wait_for("chat.postMessage")              # what the bot sent to Slack
        with live_app.session() as session: ...                  # the same database the app uses

Teams come from the ``teams_yml`` fixture (override it in a test module for other teams). The
server is waitress, as in production (``sei-bot serve``). ``live_app.stop()`` (also at teardown)
waits for the Bolt listener pool, so lazy work cannot outlive the test; call it before asserting
that something was *not* sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from waitress import wasyncore
from waitress.server import create_server

from bot.db import session_scope
from bot.settings import Settings
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config
from bot.web import WebApp, create_wsgi_app
from tests.factories import TEAMS_YML
from tests.fakes.driver import SlackDriver
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example


@dataclass
class LiveApp:
    """A running bot: its URL, settings, engine, the fake Slack it talks to and a driver for it."""

    url: str
    settings: Settings
    engine: Engine
    slack: FakeSlack
    driver: SlackDriver
    wsgi: WebApp
    server: Any = field(repr=False, default=None)
    thread: threading.Thread | None = field(repr=False, default=None)
    stopping: threading.Event = field(repr=False, default_factory=threading.Event)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A committed unit of work on the app's database (seed rows, read results)."""
        with session_scope(self.engine) as session:
            yield session

    def stop(self) -> None:
        """Stop serving and wait for every lazy listener to finish; then assert on what was (not) sent."""
        if self.server is None:
            return
        self.driver.close()
        # Leave the socket loop first: closing sockets under a running select() fails with EBADF.
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown()
        wasyncore.close_all(self.server._map)
        if self.wsgi.services.bolt is not None:
            # Let listeners and lazy listeners finish before the fake Slack goes away.
            runner = self.wsgi.services.bolt.listener_runner
            runner.listener_executor.shutdown(wait=True)
            runner.lazy_listener_runner.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        self.server = None


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
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)  # type: ignore[union-attr]

    thread = threading.Thread(target=serve, name="live-app", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    driver = SlackDriver(url, signing_secret=SIGNING_SECRET, slack=slack, team_id=slack.team_id)
    app = LiveApp(url, settings, engine, slack, driver, wsgi, server, thread, stopping)
    try:
        yield app
    finally:
        app.stop()
