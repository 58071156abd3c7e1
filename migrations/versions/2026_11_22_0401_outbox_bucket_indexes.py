"""Index the outbox by channel so that claiming the next message of each channel stays cheap.

Revision ID: 0401
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0401"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_channel_status_not_before", ["channel", "status", "not_before"], unique=False)
        batch_op.create_index("ix_outbox_channel_sent_at", ["channel", "sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_sent_at")
        batch_op.drop_index("ix_outbox_channel_status_not_before")
