"""trash: a pattern can be moved to the trash (and back) before it is deleted for good

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('pattern', sa.Column('trashed', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_pattern_trashed'), 'pattern', ['trashed'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pattern_trashed'), table_name='pattern')
    with op.batch_alter_table('pattern', schema=None) as batch_op:
        batch_op.drop_column('trashed')
