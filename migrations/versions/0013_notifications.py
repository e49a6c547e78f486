"""notifications to the customer, with their status and opt-outs (issue #11, item 4)

Revision ID: 0013_notifications
Revises: 0012_tracking_page

The customer's e-mail and language on the order (as the channel gives them), the
notifications (one per shipment, kind and channel) and the opt-outs.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_notifications'
down_revision = '0012_tracking_page'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch copy): the orders table keeps its triggers (0012).
    op.add_column('orders', sa.Column('ship_to_email', sa.String(length=254), nullable=False,
                                      server_default=''))
    op.add_column('orders', sa.Column('customer_locale', sa.String(length=16), nullable=False,
                                      server_default=''))
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seller_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('provider_message_id', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('shipped', 'out_for_delivery', 'delivered', "
                           "'failed_attempt', 'delayed')", name=op.f('ck_notifications_kind')),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_notifications_channel')),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'suppressed', 'held')",
                           name=op.f('ck_notifications_status')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_notifications_attempts')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE',
                                name=op.f('fk_notifications_order_id_orders')),
        sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'],
                                name=op.f('fk_notifications_seller_id_sellers')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], ondelete='CASCADE',
                                name=op.f('fk_notifications_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('shipment_id', 'kind', 'channel', name='uq_notifications_once'),
    )
    op.create_index('ix_notifications_seller', 'notifications', ['seller_id', 'id'])
    op.create_index('ix_notifications_status', 'notifications', ['status', 'id'])
    op.create_index('ix_notifications_order', 'notifications', ['order_id', 'id'])
    op.create_table(
        'notification_opt_outs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=True),
        sa.Column('address', sa.String(length=254), nullable=True),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('address', 'order')",
                           name=op.f('ck_notification_opt_outs_scope')),
        sa.CheckConstraint("source IN ('link', 'api', 'provider')",
                           name=op.f('ck_notification_opt_outs_source')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE',
                                name=op.f('fk_notification_opt_outs_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_opt_outs')),
        sa.UniqueConstraint('key', name=op.f('uq_notification_opt_outs_key')),
    )


def downgrade():
    op.drop_table('notification_opt_outs')
    op.drop_index('ix_notifications_order', table_name='notifications')
    op.drop_index('ix_notifications_status', table_name='notifications')
    op.drop_index('ix_notifications_seller', table_name='notifications')
    op.drop_table('notifications')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('customer_locale')
        batch.drop_column('ship_to_email')

