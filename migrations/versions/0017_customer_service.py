"""customer service replies (issue #11, item 6)

Revision ID: 0017_customer_service
Revises: 0016_proof_of_delivery
"""
revision = '0017_customer_service'
down_revision = '0016_proof_of_delivery'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
