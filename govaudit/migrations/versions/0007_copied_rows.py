"""Rows copied from an earlier run: ``page.copied_from`` and ``document.copied_from`` name the run whose
unchanged row an incremental crawl copied (crawler.writer.copy_carried), so that the audit does not read
it again for checks of the page alone.

Rows stored before this revision have none: they are audited as made afresh, which they were.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('page', sa.Column('copied_from', sa.Integer(), nullable=True))
    op.add_column('document', sa.Column('copied_from', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('document') as batch:
        batch.drop_column('copied_from')
    with op.batch_alter_table('page') as batch:
        batch.drop_column('copied_from')
