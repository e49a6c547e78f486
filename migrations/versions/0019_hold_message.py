"""why a held order waits, and our drivers' timeline words, as stored messages in the
reader's language (issue #11, item 5)

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
    op.add_column("orders", sa.Column("hold_message", sa.JSON()))
    # Our own drivers' timeline words as stored messages (shipment_events keeps its
    # append-only triggers: a plain ADD COLUMN, never a table rebuild).
    op.add_column("shipment_events", sa.Column("message_i18n", sa.JSON()))


def downgrade():
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("hold_message")
    op.drop_column("shipment_events", "message_i18n")
