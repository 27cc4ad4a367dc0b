"""languages: a story's language and an editor's desk language

Revision ID: 0011_languages
Revises: 0010_key_figures
Create Date: 2026-11-30 23:10:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0011_languages'
down_revision = '0010_key_figures'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
