"""Annual reports found on a site (政府信息公开工作年度报告, 政府网站工作年度报表): pages and attachments
with the text and tables read from them (AR checks).

A crawl stored before this revision has no rows here; the AR checks then find no report for it, so
they are skipped for such runs (see checks/annual_reports.py).

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02 00:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'annual_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('crawl_run_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('page_url', sa.Text(), nullable=True),
        sa.Column('title', sa.Text(), nullable=True),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('published', sa.Date(), nullable=True),
        sa.Column('first_seen', sa.Date(), nullable=True),
        sa.Column('readable', sa.Boolean(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('tables', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_run.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('crawl_run_id', 'url'),
    )
    with op.batch_alter_table('annual_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_report_crawl_run_id'), ['crawl_run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('annual_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annual_report_crawl_run_id'))
    op.drop_table('annual_report')
