"""scheduled entries index: the scheduler finds due entries without scanning every entry

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_status_scheduled', ['status', 'scheduled_for'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_status_scheduled')
