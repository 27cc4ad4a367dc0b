"""polls: a question with options on an entry, and readers' votes (a token's hash, no address)

Revision ID: 0008_polls
Revises: 0007
Create Date: 2026-11-30 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_polls'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('announced', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_polls_open_closes', 'polls', ['closed_at', 'closes_at'], unique=False)
    op.create_table('poll_options',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('text', sa.String(length=100), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ),
    sa.PrimaryKeyConstraint('poll_id', 'position')
    )
    op.create_table('poll_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('voter_hash', sa.String(length=64), nullable=False),
    sa.Column('option', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('poll_id', 'voter_hash', name='uq_poll_votes_voter')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('poll_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_entries_poll_id', 'polls', ['poll_id'], ['id'])


def downgrade():
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_constraint('fk_entries_poll_id', type_='foreignkey')
        batch_op.drop_column('poll_id')
    op.drop_table('poll_votes')
    op.drop_table('poll_options')
    op.drop_index('ix_polls_open_closes', table_name='polls')
    op.drop_table('polls')
