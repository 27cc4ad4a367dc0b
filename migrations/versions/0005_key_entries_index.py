"""key entries index: the LATEST box reads a story's key entries without scanning the story

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_story_key', ['story_id', 'pinned', 'key_order'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_story_key')
