"""Indexes for team reports: incidents by the deployment they name; earlier deployments and SHA landings from indexes alone.

Revision ID: 0601
Revises: 0301
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0601"
down_revision: str | None = "0301"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index("ix_incident_deployment_ref", ["deployment_ref"], unique=False)
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pull_request_repo_merge_commit_sha_merged_at", ["repo", "merge_commit_sha", "merged_at"], unique=False
        )
        batch_op.drop_index("ix_pull_request_repo_merge_commit_sha")
    with op.batch_alter_table("commit", schema=None) as batch_op:
        batch_op.create_index("ix_commit_repo_sha_landed_at", ["repo", "sha", "landed_at"], unique=False)
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deployment_repo_status_environment_finished_at",
            ["repo", "status", "environment", "finished_at", "sha", "started_at"],
            unique=False,
        )
        batch_op.drop_index("ix_deployment_repo_status_finished_at")


def downgrade() -> None:
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deployment_repo_status_finished_at", ["repo", "status", "finished_at"], unique=False
        )
        batch_op.drop_index("ix_deployment_repo_status_environment_finished_at")
    with op.batch_alter_table("commit", schema=None) as batch_op:
        batch_op.drop_index("ix_commit_repo_sha_landed_at")
    with op.batch_alter_table("pull_request", schema=None) as batch_op:
        batch_op.create_index("ix_pull_request_repo_merge_commit_sha", ["repo", "merge_commit_sha"], unique=False)
        batch_op.drop_index("ix_pull_request_repo_merge_commit_sha_merged_at")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_deployment_ref")
