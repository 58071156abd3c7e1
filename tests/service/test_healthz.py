"""GET /healthz reports liveness and a database round trip."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from werkzeug.test import Client

from bot.db import make_engine
from bot.settings import Settings
from bot.web import create_wsgi_app


def test_healthz_ok(engine: Engine, db_url: str) -> None:
    client = Client(create_wsgi_app(Settings(database_url=db_url), engine=engine))
    response = client.get("/healthz")
    assert response.status_code == 200 and json.loads(response.data) == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database() -> None:
    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    client = Client(create_wsgi_app(Settings(), engine=broken))
    response = client.get("/healthz")
    assert response.status_code == 503 and json.loads(response.data)["database"] == "unreachable"


def test_unknown_route_and_method(engine: Engine) -> None:
    client = Client(create_wsgi_app(Settings(), engine=engine))
    assert client.get("/nope").status_code == 404
    assert client.post("/healthz").status_code == 405
