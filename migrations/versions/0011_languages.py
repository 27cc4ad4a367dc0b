"""languages: a story's language and an editor's desk language

Revision ID: 0011_languages
Revises: 0010_key_figures
Create Date: 2026-11-30 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_languages'
down_revision = '0010_key_figures'
branch_labels = None
depends_on = None


def upgrade():
    # Every story and editor so far wrote and worked in English.
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=35), nullable=False,
                                      server_default='en'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=35), nullable=False,
                                      server_default='en'))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('stories', schema=None) as batch_op:
        batch_op.drop_column('language')
