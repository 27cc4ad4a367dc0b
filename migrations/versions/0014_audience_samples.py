"""audience samples: concurrent readers over time, and each entry's reach

Revision ID: 0014_audience_samples
Revises: 0013_authors_schedule
Create Date: 2026-12-01 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_audience_samples'
down_revision = '0013_authors_schedule'
branch_labels = None
depends_on = None


def upgrade():
    # One row per story and sample period (taken_at is the period's start) while it has readers,
    # and one at 0 when they all leave; every process inserts, the key keeps the first.
    op.create_table(
        'audience_samples',
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('readers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('story_id', 'taken_at'),
    )
    # How many readers' pages showed each entry on screen (a row once one has).
    op.create_table(
        'entry_reach',
        sa.Column('entry_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seen', sa.Integer(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('entry_id'),
    )


def downgrade():
    op.drop_table('entry_reach')
    op.drop_table('audience_samples')
