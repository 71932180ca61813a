"""listing: a listing as a person reviewed it, per marketplace profile (what is sent)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 00:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('listing',
    sa.Column('pattern_id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reviewed', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['pattern_id'], ['pattern.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pattern_id', 'profile')
    )


def downgrade() -> None:
    op.drop_table('listing')
