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
    # Daily counters only (analytics/visits.py): no address, user agent or visitor digest.
    op.create_table(
        'visit_counts',
        sa.Column('story_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=253), nullable=False),
        sa.Column('views', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('uniques', sa.Integer(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['story_id'], ['stories.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('story_id', 'day', 'kind', 'key'),
    )


def downgrade():
    op.drop_table('visit_counts')
