"""The Alembic migrations and the models describe the same schema, with one head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from bot.db import import_all_models
from bot.migrate import current_heads


def test_migrations_have_a_single_head() -> None:
    assert len(current_heads()) == 1


def test_models_match_migrations(engine: Engine) -> None:
    metadata = import_all_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ; generate a migration: {diff}"
