"""Carriers and services with rate tables; shipments and parcels

Revision ID: 0002_carriers
Revises: 0001_foundation
Create Date: 2026-11-24

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002_carriers'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('carriers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('tracking_url', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carriers')),
    sa.UniqueConstraint('code', name=op.f('uq_carriers_code'))
    )
    op.create_table('carrier_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('transit_days_by_zone', sa.JSON(), nullable=False),
    sa.Column('cutoff_local_time', sa.String(length=5), nullable=False),
    sa.Column('dim_divisor', sa.Integer(), nullable=True),
    sa.Column('dim_min_cubic_in', sa.Integer(), nullable=False),
    sa.Column('max_weight_g', sa.Integer(), nullable=True),
    sa.Column('max_length_mm', sa.Integer(), nullable=True),
    sa.Column('max_length_girth_mm', sa.Integer(), nullable=True),
    sa.Column('large_length_mm', sa.Integer(), nullable=True),
    sa.Column('large_length_girth_mm', sa.Integer(), nullable=True),
    sa.Column('large_surcharge_cents', sa.Integer(), nullable=False),
    sa.Column('large_min_billable_g', sa.Integer(), nullable=True),
    sa.Column('handling_length_mm', sa.Integer(), nullable=True),
    sa.Column('handling_width_mm', sa.Integer(), nullable=True),
    sa.Column('handling_weight_g', sa.Integer(), nullable=True),
    sa.Column('handling_surcharge_cents', sa.Integer(), nullable=False),
    sa.Column('fuel_surcharge_pct', sa.Float(), nullable=False),
    sa.Column('pricing', sa.String(length=8), nullable=False),
    sa.Column('rate_table', sa.JSON(), nullable=True),
    sa.Column('per_lb_cents_by_zone', sa.JSON(), nullable=True),
    sa.Column('minimum_charge_cents', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("pricing IN ('table', 'per_lb')", name=op.f('ck_carrier_services_pricing')),
    sa.CheckConstraint('dim_divisor IS NULL OR dim_divisor > 0', name=op.f('ck_carrier_services_dim_divisor')),
    sa.CheckConstraint('fuel_surcharge_pct >= 0', name=op.f('ck_carrier_services_fuel')),
    sa.CheckConstraint('minimum_charge_cents >= 0 AND large_surcharge_cents >= 0 AND handling_surcharge_cents >= 0', name=op.f('ck_carrier_services_money')),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_carrier_services_carrier_id_carriers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_services')),
    sa.UniqueConstraint('code', name=op.f('uq_carrier_services_code'))
    )
    with op.batch_alter_table('carrier_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_services_carrier_id'), ['carrier_id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('tracking_number', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('zone', sa.Integer(), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=False),
    sa.Column('ship_date', sa.Date(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('ship_to', sa.JSON(), nullable=False),
    sa.Column('label_pdf', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('labelled', 'shipped', 'in_transit', 'out_for_delivery', 'delivered', 'failed_attempt', 'returned', 'cancelled')", name=op.f('ck_shipments_status')),
    sa.CheckConstraint('cost_cents >= 0', name=op.f('ck_shipments_cost')),
    sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'], name=op.f('fk_shipments_seller_id_sellers')),
    sa.ForeignKeyConstraint(['service_id'], ['carrier_services.id'], name=op.f('fk_shipments_service_id_carrier_services')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_shipments_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('tracking_number', name=op.f('uq_shipments_tracking_number'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_seller_id'), ['seller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_warehouse_id'), ['warehouse_id'], unique=False)

    op.create_table('parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('seller_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('tracking_number', sa.String(length=40), nullable=True),
    sa.Column('weight_g', sa.Integer(), nullable=False),
    sa.Column('length_mm', sa.Integer(), nullable=False),
    sa.Column('width_mm', sa.Integer(), nullable=False),
    sa.Column('height_mm', sa.Integer(), nullable=False),
    sa.Column('billable_weight_g', sa.Integer(), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('length_mm >= 0 AND width_mm >= 0 AND height_mm >= 0', name=op.f('ck_parcels_dims')),
    sa.CheckConstraint('weight_g > 0', name=op.f('ck_parcels_weight')),
    sa.ForeignKeyConstraint(['seller_id'], ['sellers.id'], name=op.f('fk_parcels_seller_id_sellers')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_parcels_shipment_id_shipments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_parcels_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcels')),
    sa.UniqueConstraint('shipment_id', 'number', name=op.f('uq_parcels_shipment_id_number')),
    sa.UniqueConstraint('tracking_number', name=op.f('uq_parcels_tracking_number'))
    )
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parcels_shipment_id'), ['shipment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parcels_shipment_id'))
    op.drop_table('parcels')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_warehouse_id'))
        batch_op.drop_index(batch_op.f('ix_shipments_seller_id'))
        batch_op.drop_index(batch_op.f('ix_shipments_order_id'))
    op.drop_table('shipments')
    with op.batch_alter_table('carrier_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carrier_services_carrier_id'))
    op.drop_table('carrier_services')
    op.drop_table('carriers')
