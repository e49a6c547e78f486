"""outbox: jobs and events written in the transaction that causes them

Revision ID: 0008_outbox
Revises: 0007_trust
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_outbox'
down_revision = '0007_trust'
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'outbox',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', UTC_TS, nullable=False),
        sa.Column('available_at', UTC_TS, nullable=False),
        sa.Column('claimed_until', UTC_TS, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('sent_at', UTC_TS, nullable=True),
        sa.Column('failed_at', UTC_TS, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    op.create_index('ix_outbox_pending', 'outbox', ['available_at', 'id'],
                    postgresql_where=sa.text('sent_at IS NULL AND failed_at IS NULL'),
                    sqlite_where=sa.text('sent_at IS NULL AND failed_at IS NULL'))


def downgrade():
    op.drop_index('ix_outbox_pending', table_name='outbox')
    op.drop_table('outbox')
