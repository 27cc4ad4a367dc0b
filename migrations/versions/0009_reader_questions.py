"""reader questions: a moderation queue of readers' questions, blocked senders (keyed hashes)

Revision ID: 0009_reader_questions
Revises: 0008_polls
Create Date: 2026-11-30 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_reader_questions'
down_revision = '0008_polls'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stories', schema=None) as batch_op:
        # Closed on every existing story: an editor opens the form where it is wanted.
        batch_op.add_column(sa.Column('questions_open', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('reader_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('sender_hash', sa.String(length=64), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reader_questions', schema=None) as batch_op:
        batch_op.create_index('ix_reader_questions_story_status', ['story_id', 'status', 'id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_reader_questions_sender_hash'), ['sender_hash'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_reader_questions_email_hash'), ['email_hash'],
                              unique=False)
    op.create_table('blocked_senders',
    sa.Column('sender_hash', sa.String(length=64), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['blocked_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('sender_hash')
    )


def downgrade():
    op.drop_table('blocked_senders')
    with op.batch_alter_table('reader_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reader_questions_email_hash'))
        batch_op.drop_index(batch_op.f('ix_reader_questions_sender_hash'))
        batch_op.drop_index('ix_reader_questions_story_status')
    op.drop_table('reader_questions')
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_column('questions_open')
