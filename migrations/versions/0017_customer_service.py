"""customer service replies (issue #11, item 6)

Revision ID: 0017_customer_service
Revises: 0016_proof_of_delivery

- The search box's indexes on orders (the order number has one, 0009): the
  e-mail in lower case, and the phone's last ten digits (an expression over the
  stored text: nothing to fill or keep in step, existing rows are indexed at once).
  The same expressions are declared in server/customer_service/models.py and used by
  its search.
- A reply to the customer is a notification without a shipment (kind 'reply'):
  notifications.shipment_id becomes nullable and the kind check takes 'reply'.
  (shipment_id, kind, channel) stays unique; a reply's NULL shipment never collides.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_customer_service'
down_revision = '0016_proof_of_delivery'
branch_labels = None
depends_on = None

KINDS_OLD = "'shipped', 'out_for_delivery', 'delivered', 'failed_attempt', 'delayed'"
KINDS_NEW = KINDS_OLD + ", 'reply'"
# Keep in step with server/customer_service/models.py (phone_key).
PHONE_DIGITS = ("replace(replace(replace(replace(replace(replace(ship_to_phone, ' ', ''), "
                "'-', ''), '(', ''), ')', ''), '.', ''), '+', '')")
PHONE_KEY = f"substr({PHONE_DIGITS}, length({PHONE_DIGITS}) - 9)"


def _kinds(kinds: str, shipment_nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE notifications DROP CONSTRAINT ck_notifications_kind")
        op.execute("ALTER TABLE notifications ADD CONSTRAINT ck_notifications_kind "
                   f"CHECK (kind IN ({kinds}))")
        op.alter_column('notifications', 'shipment_id', existing_type=sa.Integer(),
                        nullable=shipment_nullable)
        return
    # SQLite: the table is rebuilt (notifications has no triggers to make again).
    with op.batch_alter_table('notifications', recreate='always') as batch:
        batch.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch.create_check_constraint(op.f('ck_notifications_kind'), f"kind IN ({kinds})")
        batch.alter_column('shipment_id', existing_type=sa.Integer(),
                           nullable=shipment_nullable)


def upgrade():
    # Indexes only on orders (no batch copy): it keeps its triggers (0012).
    op.create_index('ix_orders_email_lower', 'orders', [sa.text('lower(ship_to_email)')])
    op.create_index('ix_orders_phone_key', 'orders', [sa.text(PHONE_KEY)])
    _kinds(KINDS_NEW, True)


def downgrade():
    op.execute("DELETE FROM notifications WHERE kind = 'reply'")
    _kinds(KINDS_OLD, False)
    op.drop_index('ix_orders_phone_key', table_name='orders')
    op.drop_index('ix_orders_email_lower', table_name='orders')
