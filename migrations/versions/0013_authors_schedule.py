"""authors and schedule: several authors per entry, author profiles, a story's opening and closing times

Revision ID: 0013_authors_schedule
Revises: 0012_push
Create Date: 2026-11-30 23:10:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0013_authors_schedule'
down_revision = '0012_push'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
