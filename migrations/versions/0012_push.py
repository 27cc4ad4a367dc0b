"""push: readers' Web Push subscriptions and the queue of alerts

Revision ID: 0012_push
Revises: 0011_languages
Create Date: 2026-11-30 23:10:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0012_push'
down_revision = '0011_languages'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
