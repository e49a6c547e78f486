"""self-service delivery bookings (issue #12, item 3)

Revision ID: 0018_bookings
Revises: 0017_customer_service
"""
revision = '0018_bookings'
down_revision = '0017_customer_service'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
