"""tracking events: each shipment's timeline as the carrier reports it, append-only
(issue #11, item 2)

Revision ID: 0011_tracking_events
Revises: 0010_carrier_gateway
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_tracking_events'
down_revision = '0010_carrier_gateway'
branch_labels = None
depends_on = None

STATUSES = ("status IN ('labelled', 'shipped', 'in_transit', 'out_for_delivery', "
            "'delivered', 'failed_attempt', 'returned', 'cancelled')")


def upgrade():
    op.create_table(
        'shipment_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('seller_id', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('carrier_status', sa.String(length=64), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('provider_event_id', sa.String(length=128), nullable=False),
        sa.Column('est_delivery_date', sa.Date(), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f('ck_shipment_events_status')),
        sa.CheckConstraint("source IN ('webhook', 'poll')",
                           name=op.f('ck_shipment_events_source')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], ondelete='CASCADE',
                                name=op.f('fk_shipment_events_shipment_id_shipments')),
        sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'],
                                name=op.f('fk_shipment_events_seller_id_sellers')),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'],
                                name=op.f('fk_shipment_events_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_events')),
        sa.UniqueConstraint('shipment_id', 'provider_event_id',
                            name=op.f('uq_shipment_events_shipment_id_provider_event_id')),
    )
    op.create_index(op.f('ix_shipment_events_shipment_id'), 'shipment_events',
                    ['shipment_id'], unique=False)
    # A timeline is facts, like order_events (0007): the database refuses to change
    # or remove a line, whoever asks.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE TRIGGER shipment_events_append_only
            BEFORE UPDATE OR DELETE ON shipment_events
            FOR EACH ROW EXECUTE FUNCTION haicang_append_only()""")
        op.execute("""
            CREATE TRIGGER shipment_events_no_truncate
            BEFORE TRUNCATE ON shipment_events
            FOR EACH STATEMENT EXECUTE FUNCTION haicang_append_only()""")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER IF NOT EXISTS shipment_events_no_{action.lower()}
                BEFORE {action} ON shipment_events
                BEGIN SELECT RAISE(ABORT, 'shipment timeline is append-only'); END""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS shipment_events_append_only ON shipment_events")
        op.execute("DROP TRIGGER IF EXISTS shipment_events_no_truncate ON shipment_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS shipment_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS shipment_events_no_delete")
    op.drop_index(op.f('ix_shipment_events_shipment_id'), table_name='shipment_events')
    op.drop_table('shipment_events')
