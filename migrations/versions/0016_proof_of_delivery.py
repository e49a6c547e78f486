"""proofs of delivery and failed attempts (issue #12, item 2)

Revision ID: 0016_proof_of_delivery
Revises: 0015_routes
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_proof_of_delivery'
down_revision = '0015_routes'
branch_labels = None
depends_on = None

_APPEND_ONLY_SQLITE = """
    CREATE TRIGGER IF NOT EXISTS shipment_events_no_{action}
    BEFORE {ACTION} ON shipment_events
    BEGIN SELECT RAISE(ABORT, 'shipment timeline is append-only'); END"""


def _event_sources(sources: str) -> None:
    """shipment_events.source may also be 'driver' (the own vans' events)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE shipment_events DROP CONSTRAINT ck_shipment_events_source")
        op.execute("ALTER TABLE shipment_events ADD CONSTRAINT ck_shipment_events_source "
                   f"CHECK (source IN ({sources}))")
        return
    # SQLite: the table is rebuilt, which drops its triggers: they are made again.
    with op.batch_alter_table('shipment_events', recreate='always') as batch:
        batch.drop_constraint(op.f('ck_shipment_events_source'), type_='check')
        batch.create_check_constraint(op.f('ck_shipment_events_source'), f"source IN ({sources})")
    for action in ("update", "delete"):
        op.execute(_APPEND_ONLY_SQLITE.format(action=action, ACTION=action.upper()))


def upgrade():
    op.add_column('route_stops', sa.Column('attempt', sa.Integer(), server_default='1',
                                           nullable=False))
    op.create_table('delivery_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('recipient_name', sa.String(length=120), nullable=False),
    sa.Column('photo_hashes', sa.JSON(), nullable=False),
    sa.Column('signature_hash', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('decision', sa.String(length=12), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('delivered', 'failed')", name=op.f('ck_delivery_attempts_outcome')),
    sa.CheckConstraint("reason IS NULL OR reason IN ('no_one_home', 'refused', 'wrong_address', 'damaged')", name=op.f('ck_delivery_attempts_reason')),
    sa.CheckConstraint("decision IS NULL OR decision IN ('reschedule', 'return')", name=op.f('ck_delivery_attempts_decision')),
    sa.ForeignKeyConstraint(['driver_id'], ['users.id'], name=op.f('fk_delivery_attempts_driver_id_users')),
    sa.ForeignKeyConstraint(['stop_id'], ['route_stops.id'], name=op.f('fk_delivery_attempts_stop_id_route_stops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_delivery_attempts_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts')),
    sa.UniqueConstraint('stop_id', 'attempt', name=op.f('uq_delivery_attempts_stop_id_attempt'))
    )
    op.create_index(op.f('ix_delivery_attempts_stop_id'), 'delivery_attempts', ['stop_id'], unique=False)
    op.create_table('proof_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_proof_files_uploaded_by_users')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_proof_files'))
    )
    _event_sources("'webhook', 'poll', 'driver'")


def downgrade():
    # The timeline is append-only, so the drivers' events stay, and with them the
    # wider source constraint.
    op.drop_table('proof_files')
    op.drop_index(op.f('ix_delivery_attempts_stop_id'), table_name='delivery_attempts')
    op.drop_table('delivery_attempts')
    with op.batch_alter_table('route_stops') as batch:
        batch.drop_column('attempt')
