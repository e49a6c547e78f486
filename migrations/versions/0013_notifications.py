"""notifications to the customer, with their status and opt-outs (issue #11, item 4)

Revision ID: 0013_notifications
Revises: 0012_tracking_page
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0013_notifications'
down_revision = '0012_tracking_page'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
