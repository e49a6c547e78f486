"""self-service delivery bookings (issue #12, item 3)

Revision ID: 0018_bookings
Revises: 0017_customer_service
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_bookings'
down_revision = '0017_customer_service'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seller_id", sa.Integer(), sa.ForeignKey("sellers.id"), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), sa.ForeignKey("warehouses.id"),
                  nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id")),
        sa.Column("shipment_id", sa.Integer(), sa.ForeignKey("shipments.id")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("delivery_date", sa.Date()),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("pickup", sa.JSON(), nullable=False),
        sa.Column("destination", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bookings_seller_id", "bookings", ["seller_id"])
    op.create_index("ix_bookings_warehouse_id", "bookings", ["warehouse_id"])


def downgrade():
    op.drop_table("bookings")
