"""An index of a run's pages by kind: the audit asks for the run's home page (``kind = 'home'``) and settling
a run's documents for its pages of one kind; without it each read every page of the run (0.9 s for the home
page alone at 100,000 pages).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 15:00:00
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_page_run_kind', 'page', ['crawl_run_id', 'kind'])


def downgrade() -> None:
    op.drop_index('ix_page_run_kind', table_name='page')
