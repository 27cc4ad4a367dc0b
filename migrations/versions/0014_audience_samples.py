"""audience samples: concurrent readers over time, and each entry's reach

Revision ID: 0014_audience_samples
Revises: 0013_authors_schedule
Create Date: 2026-12-01 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_audience_samples'
down_revision = '0013_authors_schedule'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
