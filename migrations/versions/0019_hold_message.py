"""why a held order waits, as stored messages in the reader's language (issue #11, item 5)

Revision ID: 0019_hold_message
Revises: 0018_bookings
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_hold_message'
down_revision = '0018_bookings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("hold_message", sa.JSON()))


def downgrade():
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("hold_message")
