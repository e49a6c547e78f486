"""the warehouse's own vans: vehicles, a day's routes and their stops (issue #12, item 1)

Revision ID: 0015_routes
Revises: 0014_stored_messages
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0015_routes'
down_revision = '0014_stored_messages'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
