"""webhook cursors: delivery goes by each story's seq, and the lease has an owner token

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_cursors',
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], ),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ),
    sa.PrimaryKeyConstraint('endpoint_id', 'story_id')
    )
    # Each endpoint goes on in every story it covers from the newest event at or below its old
    # cursor (an event id); what the old cursor had skipped is lost either way.
    op.execute(
        "INSERT INTO webhook_cursors (endpoint_id, story_id, last_seq)"
        " SELECT w.id, s.id, COALESCE((SELECT MAX(e.seq) FROM events e"
        "  WHERE e.story_id = s.id AND e.id <= w.cursor_event_id), 0)"
        " FROM webhook_endpoints w JOIN stories s ON w.story_id IS NULL OR w.story_id = s.id"
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
        batch_op.drop_column('cursor_event_id')


def downgrade():
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor_event_id', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.drop_column('lease_owner')
    # Back to one event id: just before the oldest event not yet given, so nothing is skipped
    # (some events may go out twice).
    op.execute(
        "UPDATE webhook_endpoints SET cursor_event_id = COALESCE("
        " (SELECT MIN(e.id) - 1 FROM events e LEFT JOIN webhook_cursors c"
        "   ON c.endpoint_id = webhook_endpoints.id AND c.story_id = e.story_id"
        "  WHERE e.seq > COALESCE(c.last_seq, 0)"
        "   AND (webhook_endpoints.story_id IS NULL OR e.story_id = webhook_endpoints.story_id)),"
        " (SELECT MAX(id) FROM events), 0)"
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('cursor_event_id', server_default=None)
    op.drop_table('webhook_cursors')
