"""Messages of the message boards (领导信箱, 在线咨询): asked, replied, answered (IN01, IN02).

A new table only: runs crawled before have no messages, so IN01/IN02 find nothing in them.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('crawl_run_id', sa.Integer(), nullable=False),
    sa.Column('column_url', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('asked', sa.Date(), nullable=True),
    sa.Column('asked_text', sa.String(length=80), nullable=True),
    sa.Column('replied', sa.Date(), nullable=True),
    sa.Column('replied_text', sa.String(length=80), nullable=True),
    sa.Column('reply_unit', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=80), nullable=True),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('page_read', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('crawl_run_id', 'url')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_crawl_run_id'), ['crawl_run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_crawl_run_id'))

    op.drop_table('message')
