"""Backfill state: a cursor per repository and resource, and the ETag cache of provider answers.

Revision ID: 0301
Revises: 0401
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db


revision: str = '0301'
down_revision: str | None = '0401'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('http_cache_entry',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('fetched_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_http_cache_entry'))
    )
    op.create_table('sync_cursor',
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('resource', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('cursor', sa.JSON(), nullable=False),
    sa.Column('updated_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'resource', name=op.f('pk_sync_cursor'))
    )


def downgrade() -> None:
    op.drop_table('sync_cursor')
    op.drop_table('http_cache_entry')
