"""the warehouse's own vans: vehicles, a day's routes and their stops (issue #12, item 1)

Revision ID: 0015_routes
Revises: 0014_stored_messages
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_routes'
down_revision = '0014_stored_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vehicles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('capacity_volume_l', sa.Integer(), nullable=False),
    sa.Column('capacity_weight_kg', sa.Integer(), nullable=False),
    sa.Column('crew', sa.Integer(), nullable=False),
    sa.Column('shift_start', sa.String(length=5), nullable=False),
    sa.Column('shift_end', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity_volume_l > 0 AND capacity_weight_kg > 0', name=op.f('ck_vehicles_capacity')),
    sa.CheckConstraint('crew IN (1, 2)', name=op.f('ck_vehicles_crew')),
    sa.CheckConstraint('shift_start < shift_end', name=op.f('ck_vehicles_shift')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_vehicles_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicles')),
    sa.UniqueConstraint('warehouse_id', 'name', name=op.f('uq_vehicles_warehouse_id_name'))
    )
    op.create_index(op.f('ix_vehicles_warehouse_id'), 'vehicles', ['warehouse_id'], unique=False)
    op.create_table('routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('planned_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('planned_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('planned_distance_m', sa.Integer(), nullable=False),
    sa.Column('planned_duration_s', sa.Integer(), nullable=False),
    sa.Column('solver_stats', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'planned', 'dispatched', 'done')", name=op.f('ck_routes_status')),
    sa.ForeignKeyConstraint(['driver_id'], ['users.id'], name=op.f('fk_routes_driver_id_users')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_routes_vehicle_id_vehicles')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_routes_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routes')),
    sa.UniqueConstraint('vehicle_id', 'date', name=op.f('uq_routes_vehicle_id_date'))
    )
    op.create_index('ix_routes_day', 'routes', ['warehouse_id', 'date'], unique=False)
    op.create_index(op.f('ix_routes_driver_id'), 'routes', ['driver_id'], unique=False)
    op.create_index(op.f('ix_routes_vehicle_id'), 'routes', ['vehicle_id'], unique=False)
    op.create_table('route_stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('service_minutes', sa.Integer(), nullable=False),
    sa.Column('volume_l', sa.Float(), nullable=False),
    sa.Column('weight_g', sa.Integer(), nullable=False),
    sa.Column('needs_two', sa.Boolean(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('planned_arrival', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('drop_reason', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('unassigned', 'planned', 'delivered', 'failed', 'skipped')", name=op.f('ck_route_stops_status')),
    sa.CheckConstraint('volume_l >= 0 AND weight_g >= 0 AND service_minutes >= 0', name=op.f('ck_route_stops_load')),
    sa.ForeignKeyConstraint(['route_id'], ['routes.id'], name=op.f('fk_route_stops_route_id_routes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_route_stops_shipment_id_shipments')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_route_stops_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_stops'))
    )
    op.create_index('ix_route_stops_day', 'route_stops', ['warehouse_id', 'date'], unique=False)
    op.create_index(op.f('ix_route_stops_order_id'), 'route_stops', ['order_id'], unique=False)
    op.create_index(op.f('ix_route_stops_route_id'), 'route_stops', ['route_id'], unique=False)
    op.create_index(op.f('ix_route_stops_shipment_id'), 'route_stops', ['shipment_id'], unique=False)


def downgrade():
    op.drop_table('route_stops')
    op.drop_table('routes')
    op.drop_table('vehicles')

