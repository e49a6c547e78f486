"""server-written text kept as messages to render in the reader's language (issue #11, item 5)

Revision ID: 0014_stored_messages
Revises: 0013_notifications
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0014_stored_messages'
down_revision = '0013_notifications'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
