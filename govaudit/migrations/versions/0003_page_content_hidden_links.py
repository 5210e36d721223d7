"""Page text, meta tags and footer; why a link is hidden (content safety and site identity checks).

Existing rows keep NULL: pages crawled before were not read for their text, so SC/ID checks skip them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('meta_tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('footer', sa.JSON(), nullable=True))

    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.drop_column('hidden')

    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_column('footer')
        batch_op.drop_column('meta_tags')
        batch_op.drop_column('text')
