"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL via TEST_DATABASE_URL), and
the Slack harness: ``fake_slack`` (a fake Web API over HTTP) and ``live_app`` (the real app served
over HTTP, wired to it, with a signed-request driver). How to use them: tests/fakes/__init__.py."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bot.db import dispose_engines, import_all_models, make_engine, session_scope
from bot.migrate import upgrade
from bot.settings import get_settings
from tests.factories import TEAMS_YML
from tests.fakes.live_app import LiveApp, live_settings, run_live_app
from tests.fakes.slack_api import FakeSlack

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
FIXTURES = SHARED / "fixtures"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")

for _var in list(os.environ):
    # A developer's own Slack or GitHub configuration must never leak into tests.
    if _var.startswith(("SLACK_", "GITHUB_", "GITLAB_", "PAGERDUTY_", "SEI_")):
        del os.environ[_var]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real-payload fixtures (never edited)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES}: clone the project beside ../shared")
    return FIXTURES


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite template file, or the PostgreSQL test database."""
    if TEST_DATABASE_URL:
        engine = make_engine(TEST_DATABASE_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    dispose_engines()
    return str(path)


def _truncate_all(engine: Engine) -> None:
    tables = [t.name for t in import_all_models().sorted_tables]
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def db_url(_migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """URL of a migrated, empty database for this test."""
    if TEST_DATABASE_URL:
        yield TEST_DATABASE_URL
        return
    path = tmp_path / "sei-bot.db"
    shutil.copyfile(_migrated_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on this test's empty database; emptied again afterwards on PostgreSQL."""
    from bot.db import get_engine

    eng = get_engine(db_url)
    if TEST_DATABASE_URL:
        _truncate_all(eng)
    yield eng
    dispose_engines()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session committed at the end of the test (so other threads see the data)."""
    with session_scope(engine) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings are read from the environment each test; nothing is cached between tests."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# --- Slack harness: a fake Web API, and the real app served over HTTP (tests/fakes/) -------------


@pytest.fixture
def fake_slack(fixtures_dir: Path) -> Iterator[FakeSlack]:
    """A fake Slack Web API on a random local port (see tests/fakes/slack_api.py)."""
    with FakeSlack(fixtures_dir=fixtures_dir) as slack:
        yield slack


@pytest.fixture
def teams_yml() -> str:
    """The teams.yml the live app starts with; override this fixture in a module for other teams."""
    return TEAMS_YML


@pytest.fixture
def live_app(fake_slack: FakeSlack, engine: Engine, db_url: str, teams_yml: str) -> Iterator[LiveApp]:
    """The real WSGI + Bolt app on a random port, talking to ``fake_slack``, on this test's database."""
    settings = live_settings(fake_slack, db_url)
    with run_live_app(settings, engine, fake_slack, teams_yml=teams_yml) as app:
        yield app
