"""key figures: a story's key-figures box (JSON) and the history of its changes

Revision ID: 0010_key_figures
Revises: 0009_reader_questions
Create Date: 2026-11-30 19:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_key_figures'
down_revision = '0009_reader_questions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stories', schema=None) as batch_op:
        # No box on any existing story: NULL.
        batch_op.add_column(sa.Column('key_figures', sa.JSON(none_as_null=True), nullable=True))
    op.create_table('key_figures_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('editor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_figures', sa.JSON(none_as_null=True), nullable=True),
    sa.ForeignKeyConstraint(['editor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('key_figures_changes', schema=None) as batch_op:
        batch_op.create_index('ix_key_figures_changes_story', ['story_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('key_figures_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_key_figures_changes_story')
    op.drop_table('key_figures_changes')
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_column('key_figures')
