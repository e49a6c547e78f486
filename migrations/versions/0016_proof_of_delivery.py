"""proofs of delivery and failed attempts (issue #12, item 2)

Revision ID: 0016_proof_of_delivery
Revises: 0015_routes
"""
revision = '0016_proof_of_delivery'
down_revision = '0015_routes'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
