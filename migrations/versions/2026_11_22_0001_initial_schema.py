"""Initial schema: teams and people, delivery data, raw event log, outbox, surveys, Slack and scheduler stores.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apscheduler_jobs'))
    )
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apscheduler_jobs_next_run_time'), ['next_run_time'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('commit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('branch', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('authored_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('landed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('push_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('author_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('author_email', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commit')),
    sa.UniqueConstraint('repo', 'sha', name=op.f('uq_commit_repo_sha'))
    )
    with op.batch_alter_table('commit', schema=None) as batch_op:
        batch_op.create_index('ix_commit_push_key', ['push_key'], unique=False)
        batch_op.create_index('ix_commit_repo_landed_at', ['repo', 'landed_at'], unique=False)

    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('ext_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('started_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('is_rollback', sa.Boolean(), nullable=False),
    sa.Column('run_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('creator_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment')),
    sa.UniqueConstraint('uid', name=op.f('uq_deployment_uid'))
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_ext_id', ['ext_id'], unique=False)
        batch_op.create_index('ix_deployment_repo_sha', ['repo', 'sha'], unique=False)
        batch_op.create_index('ix_deployment_repo_status_finished_at', ['repo', 'status', 'finished_at'], unique=False)

    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('opened_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('deployment_ref', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('root_cause_sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident')),
    sa.UniqueConstraint('uid', name=op.f('uq_incident_uid'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_repo_opened_at', ['repo', 'opened_at'], unique=False)
        batch_op.create_index('ix_incident_service_opened_at', ['service', 'opened_at'], unique=False)

    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('started_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    sa.UniqueConstraint('key', name=op.f('uq_job_run_key'))
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_run_job_id'), ['job_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('claimed_until', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_not_before', ['status', 'not_before'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slack_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('github_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('gitlab_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('slack_id', name=op.f('uq_person_slack_id'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_email', ['email'], unique=False)
        batch_op.create_index('ix_person_github_login', ['github_login'], unique=False)
        batch_op.create_index('ix_person_gitlab_login', ['gitlab_login'], unique=False)

    op.create_table('pipeline_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('workflow', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('head_sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('head_branch', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('conclusion', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('started_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('actor_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_run')),
    sa.UniqueConstraint('uid', name=op.f('uq_pipeline_run_uid'))
    )
    with op.batch_alter_table('pipeline_run', schema=None) as batch_op:
        batch_op.create_index('ix_pipeline_run_repo_finished_at', ['repo', 'finished_at'], unique=False)
        batch_op.create_index('ix_pipeline_run_repo_head_sha', ['repo', 'head_sha'], unique=False)

    op.create_table('pull_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('author_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('draft', sa.Boolean(), nullable=False),
    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merged_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merge_commit_sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('head_sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('head_ref', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('base_ref', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('additions', sa.Integer(), nullable=True),
    sa.Column('deletions', sa.Integer(), nullable=True),
    sa.Column('changed_files', sa.Integer(), nullable=True),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pull_request')),
    sa.UniqueConstraint('repo', 'number', name=op.f('uq_pull_request_repo_number'))
    )
    with op.batch_alter_table('pull_request', schema=None) as batch_op:
        batch_op.create_index('ix_pull_request_repo_merge_commit_sha', ['repo', 'merge_commit_sha'], unique=False)
        batch_op.create_index('ix_pull_request_repo_merged_at', ['repo', 'merged_at'], unique=False)
        batch_op.create_index('ix_pull_request_repo_state', ['repo', 'state'], unique=False)

    op.create_table('raw_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('delivery_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('received_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('processed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_event')),
    sa.UniqueConstraint('source', 'delivery_id', name=op.f('uq_raw_event_source_delivery_id'))
    )
    with op.batch_alter_table('raw_event', schema=None) as batch_op:
        batch_op.create_index('ix_raw_event_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_raw_event_status_id', ['status', 'id'], unique=False)

    op.create_table('slack_bots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('enterprise_id', sa.String(length=32), nullable=True),
    sa.Column('enterprise_name', sa.String(length=200), nullable=True),
    sa.Column('team_id', sa.String(length=32), nullable=True),
    sa.Column('team_name', sa.String(length=200), nullable=True),
    sa.Column('bot_token', sa.String(length=200), nullable=True),
    sa.Column('bot_id', sa.String(length=32), nullable=True),
    sa.Column('bot_user_id', sa.String(length=32), nullable=True),
    sa.Column('bot_scopes', sa.String(length=1000), nullable=True),
    sa.Column('bot_refresh_token', sa.String(length=200), nullable=True),
    sa.Column('bot_token_expires_at', sa.DateTime(), nullable=True),
    sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
    sa.Column('installed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_bots'))
    )
    with op.batch_alter_table('slack_bots', schema=None) as batch_op:
        batch_op.create_index('slack_bots_idx', ['client_id', 'enterprise_id', 'team_id', 'installed_at'], unique=False)

    op.create_table('slack_event_seen',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('seen_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_slack_event_seen'))
    )
    with op.batch_alter_table('slack_event_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_event_seen_seen_at'), ['seen_at'], unique=False)

    op.create_table('slack_installations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('enterprise_id', sa.String(length=32), nullable=True),
    sa.Column('enterprise_name', sa.String(length=200), nullable=True),
    sa.Column('enterprise_url', sa.String(length=200), nullable=True),
    sa.Column('team_id', sa.String(length=32), nullable=True),
    sa.Column('team_name', sa.String(length=200), nullable=True),
    sa.Column('bot_token', sa.String(length=200), nullable=True),
    sa.Column('bot_id', sa.String(length=32), nullable=True),
    sa.Column('bot_user_id', sa.String(length=32), nullable=True),
    sa.Column('bot_scopes', sa.String(length=1000), nullable=True),
    sa.Column('bot_refresh_token', sa.String(length=200), nullable=True),
    sa.Column('bot_token_expires_at', sa.DateTime(), nullable=True),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('user_token', sa.String(length=200), nullable=True),
    sa.Column('user_scopes', sa.String(length=1000), nullable=True),
    sa.Column('user_refresh_token', sa.String(length=200), nullable=True),
    sa.Column('user_token_expires_at', sa.DateTime(), nullable=True),
    sa.Column('incoming_webhook_url', sa.String(length=200), nullable=True),
    sa.Column('incoming_webhook_channel', sa.String(length=200), nullable=True),
    sa.Column('incoming_webhook_channel_id', sa.String(length=200), nullable=True),
    sa.Column('incoming_webhook_configuration_url', sa.String(length=200), nullable=True),
    sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
    sa.Column('token_type', sa.String(length=32), nullable=True),
    sa.Column('installed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_installations'))
    )
    with op.batch_alter_table('slack_installations', schema=None) as batch_op:
        batch_op.create_index('slack_installations_idx', ['client_id', 'enterprise_id', 'team_id', 'user_id', 'installed_at'], unique=False)

    op.create_table('slack_oauth_states',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('state', sa.String(length=200), nullable=False),
    sa.Column('expire_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_oauth_states'))
    )
    op.create_table('survey_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('opened_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('salt', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_run')),
    sa.UniqueConstraint('key', name=op.f('uq_survey_run_key'))
    )
    with op.batch_alter_table('survey_run', schema=None) as batch_op:
        batch_op.create_index('ix_survey_run_team_id_opened_at', ['team_id', 'opened_at'], unique=False)

    op.create_table('survey_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_template')),
    sa.UniqueConstraint('key', name=op.f('uq_survey_template_key'))
    )
    op.create_table('team',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('profile', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('updated_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team'))
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_channel'), ['channel'], unique=False)

    op.create_table('pr_commit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pr_id', sa.Integer(), nullable=False),
    sa.Column('sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('authored_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('committed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('author_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['pr_id'], ['pull_request.id'], name=op.f('fk_pr_commit_pr_id_pull_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pr_commit')),
    sa.UniqueConstraint('pr_id', 'sha', name=op.f('uq_pr_commit_pr_id_sha'))
    )
    with op.batch_alter_table('pr_commit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pr_commit_pr_id'), ['pr_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pr_commit_sha'), ['sha'], unique=False)

    op.create_table('pr_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pr_id', sa.Integer(), nullable=False),
    sa.Column('ext_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reviewer_login', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('reviewer_is_bot', sa.Boolean(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('submitted_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pr_id'], ['pull_request.id'], name=op.f('fk_pr_review_pr_id_pull_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pr_review')),
    sa.UniqueConstraint('pr_id', 'ext_id', name=op.f('uq_pr_review_pr_id_ext_id'))
    )
    with op.batch_alter_table('pr_review', schema=None) as batch_op:
        batch_op.create_index('ix_pr_review_pr_id_submitted_at', ['pr_id', 'submitted_at'], unique=False)

    op.create_table('review_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pr_id', sa.Integer(), nullable=False),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('requested_at', bot.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pr_id'], ['pull_request.id'], name=op.f('fk_review_request_pr_id_pull_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_request')),
    sa.UniqueConstraint('pr_id', 'reviewer', name=op.f('uq_review_request_pr_id_reviewer'))
    )
    with op.batch_alter_table('review_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_request_pr_id'), ['pr_id'], unique=False)

    op.create_table('survey_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('slack_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('remind_after', bot.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dm_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('dm_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['survey_run.id'], name=op.f('fk_survey_participant_run_id_survey_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_participant')),
    sa.UniqueConstraint('run_id', 'slack_id', name=op.f('uq_survey_participant_run_id_slack_id'))
    )
    with op.batch_alter_table('survey_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_participant_run_id'), ['run_id'], unique=False)

    op.create_table('survey_response',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('respondent_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['survey_run.id'], name=op.f('fk_survey_response_run_id_survey_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_response')),
    sa.UniqueConstraint('run_id', 'respondent_hash', name=op.f('uq_survey_response_run_id_respondent_hash'))
    )
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_response_run_id'), ['run_id'], unique=False)

    op.create_table('survey_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('week', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('invited', sa.Integer(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('shown', sa.Boolean(), nullable=False),
    sa.Column('index_value', sa.Float(), nullable=True),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['survey_run.id'], name=op.f('fk_survey_result_run_id_survey_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_result')),
    sa.UniqueConstraint('run_id', name=op.f('uq_survey_result_run_id'))
    )
    with op.batch_alter_table('survey_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_result_team_id'), ['team_id'], unique=False)

    op.create_table('team_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_team_member_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_member_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_member')),
    sa.UniqueConstraint('team_id', 'person_id', name=op.f('uq_team_member_team_id_person_id'))
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_team_id'), ['team_id'], unique=False)

    op.create_table('team_repo',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('repo', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_repo_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'repo', name=op.f('pk_team_repo'))
    )
    with op.batch_alter_table('team_repo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_repo_repo'), ['repo'], unique=False)

    op.create_table('team_service',
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_service_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'service', name=op.f('pk_team_service'))
    )
    with op.batch_alter_table('team_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_service_service'), ['service'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('team_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_service_service'))

    op.drop_table('team_service')
    with op.batch_alter_table('team_repo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_repo_repo'))

    op.drop_table('team_repo')
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_team_id'))
        batch_op.drop_index(batch_op.f('ix_team_member_person_id'))

    op.drop_table('team_member')
    with op.batch_alter_table('survey_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_result_team_id'))

    op.drop_table('survey_result')
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_response_run_id'))

    op.drop_table('survey_response')
    with op.batch_alter_table('survey_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_participant_run_id'))

    op.drop_table('survey_participant')
    with op.batch_alter_table('review_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_request_pr_id'))

    op.drop_table('review_request')
    with op.batch_alter_table('pr_review', schema=None) as batch_op:
        batch_op.drop_index('ix_pr_review_pr_id_submitted_at')

    op.drop_table('pr_review')
    with op.batch_alter_table('pr_commit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pr_commit_sha'))
        batch_op.drop_index(batch_op.f('ix_pr_commit_pr_id'))

    op.drop_table('pr_commit')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_channel'))

    op.drop_table('team')
    op.drop_table('survey_template')
    with op.batch_alter_table('survey_run', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_run_team_id_opened_at')

    op.drop_table('survey_run')
    op.drop_table('slack_oauth_states')
    with op.batch_alter_table('slack_installations', schema=None) as batch_op:
        batch_op.drop_index('slack_installations_idx')

    op.drop_table('slack_installations')
    with op.batch_alter_table('slack_event_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_event_seen_seen_at'))

    op.drop_table('slack_event_seen')
    with op.batch_alter_table('slack_bots', schema=None) as batch_op:
        batch_op.drop_index('slack_bots_idx')

    op.drop_table('slack_bots')
    with op.batch_alter_table('raw_event', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_event_status_id')
        batch_op.drop_index('ix_raw_event_received_at')

    op.drop_table('raw_event')
    with op.batch_alter_table('pull_request', schema=None) as batch_op:
        batch_op.drop_index('ix_pull_request_repo_state')
        batch_op.drop_index('ix_pull_request_repo_merged_at')
        batch_op.drop_index('ix_pull_request_repo_merge_commit_sha')

    op.drop_table('pull_request')
    with op.batch_alter_table('pipeline_run', schema=None) as batch_op:
        batch_op.drop_index('ix_pipeline_run_repo_head_sha')
        batch_op.drop_index('ix_pipeline_run_repo_finished_at')

    op.drop_table('pipeline_run')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_gitlab_login')
        batch_op.drop_index('ix_person_github_login')
        batch_op.drop_index('ix_person_email')

    op.drop_table('person')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_not_before')

    op.drop_table('outbox')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_run_job_id'))

    op.drop_table('job_run')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_service_opened_at')
        batch_op.drop_index('ix_incident_repo_opened_at')

    op.drop_table('incident')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index('ix_deployment_repo_status_finished_at')
        batch_op.drop_index('ix_deployment_repo_sha')
        batch_op.drop_index('ix_deployment_ext_id')

    op.drop_table('deployment')
    with op.batch_alter_table('commit', schema=None) as batch_op:
        batch_op.drop_index('ix_commit_repo_landed_at')
        batch_op.drop_index('ix_commit_push_key')

    op.drop_table('commit')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apscheduler_jobs_next_run_time'))

    op.drop_table('apscheduler_jobs')
