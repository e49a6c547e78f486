"""carrier gateway: per-warehouse aggregator accounts; who labelled a shipment
(issue #11, item 1)

Revision ID: 0010_carrier_gateway
Revises: 0009_list_speed
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_carrier_gateway'
down_revision = '0009_list_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'carrier_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=False),
        sa.Column('api_key', sa.String(length=200), nullable=False),
        sa.Column('api_base', sa.String(length=300), nullable=True),
        sa.Column('webhook_secret', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("provider IN ('easypost')",
                           name=op.f('ck_carrier_accounts_provider')),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'],
                                name=op.f('fk_carrier_accounts_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_accounts')),
        sa.UniqueConstraint('warehouse_id', name=op.f('uq_carrier_accounts_warehouse_id')),
    )
    # Nullable columns: a plain ADD COLUMN on both backends, no batch copy needed.
    op.add_column('shipments', sa.Column('provider', sa.String(length=16), nullable=True))
    op.add_column('shipments', sa.Column('provider_shipment_id', sa.String(length=64),
                                         nullable=True))


def downgrade():
    with op.batch_alter_table('shipments') as batch:
        batch.drop_column('provider_shipment_id')
        batch.drop_column('provider')
    op.drop_table('carrier_accounts')
