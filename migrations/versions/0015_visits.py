"""visits: page views, daily unique estimates, referrers and embedding sites, without cookies

Revision ID: 0015_visits
Revises: 0014_audience_samples
Create Date: 2026-12-01 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_visits'
down_revision = '0014_audience_samples'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
