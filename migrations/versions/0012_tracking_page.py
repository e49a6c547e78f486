"""the public tracking page: each order's unguessable link (issue #11, item 3)

Revision ID: 0012_tracking_page
Revises: 0011_tracking_events
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0012_tracking_page'
down_revision = '0011_tracking_events'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
