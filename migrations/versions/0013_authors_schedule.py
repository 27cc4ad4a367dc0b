"""authors and schedule: several authors per entry, author profiles, a story's opening and closing times

Revision ID: 0013_authors_schedule
Revises: 0012_push
Create Date: 2026-11-30 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_authors_schedule'
down_revision = '0012_push'
branch_labels = None
depends_on = None


def upgrade():
    # Every entry so far has one author (entries.author_id); co-authors follow it in order.
    op.create_table(
        'entry_authors',
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('entry_id', 'position'),
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coauthor_count', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('job_title', sa.String(length=120), nullable=True))
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('archive_after_hours', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_column('archive_after_hours')
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('job_title')
        batch_op.drop_column('photo_url')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('coauthor_count')
    op.drop_table('entry_authors')
