"""政务新媒体 accounts: each configured account's public page as a crawl run fetched it (NM01, NM02).

Runs stored before have no rows: the NM checks then find the account not fetched in that run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'new_media_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('crawl_run_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('platform', sa.String(length=40), nullable=False),
        sa.Column('unit', sa.String(length=200), nullable=True),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('final_url', sa.Text(), nullable=True),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('title', sa.Text(), nullable=True),
        sa.Column('latest_post', sa.Date(), nullable=True),
        sa.Column('latest_text', sa.String(length=200), nullable=True),
        sa.Column('posts_seen', sa.Integer(), nullable=False),
        sa.Column('closed_notice', sa.Text(), nullable=True),
        sa.Column('fetched_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_run.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('crawl_run_id', 'url'),
    )
    with op.batch_alter_table('new_media_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_new_media_account_crawl_run_id'), ['crawl_run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('new_media_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_new_media_account_crawl_run_id'))
    op.drop_table('new_media_account')
