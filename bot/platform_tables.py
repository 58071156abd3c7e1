"""Tables owned by libraries (Slack OAuth stores, APScheduler) declared in our metadata.

They live in the shared database so several processes agree, and declaring them here puts them under
Alembic like every other table. The libraries find them already created (they create with checkfirst).
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Column, Float, LargeBinary, Table, Unicode
from sqlmodel import SQLModel

metadata = SQLModel.metadata

slack_installations = SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
slack_bots = SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")

# The same shape APScheduler 3's SQLAlchemyJobStore creates for its default table name.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
