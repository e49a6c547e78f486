"""list speed: the indexes `GET /api/orders?q=` searches with (issue #10, item 5)

`q` is an exact external order id or a part of the ship-to name. At 1,000,000
orders neither may scan the table: the id has a b-tree index; the name, on
PostgreSQL, a pg_trgm GIN index that serves `ILIKE '%...%'`. SQLite has no
trigram index: there the name index is a plain one (the models declare both
indexes, in server/orders/queries.py, so models and migrations still agree).

pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create
it. On a large table, create the indexes CONCURRENTLY by hand before upgrading, under
these names, and this migration leaves them be.

Revision ID: 0009_list_speed
Revises: 0008_outbox
"""
from alembic import op

revision = '0009_list_speed'
down_revision = '0008_outbox'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE INDEX IF NOT EXISTS ix_orders_external_id '
                   'ON orders (external_id)')
        op.execute('CREATE INDEX IF NOT EXISTS ix_orders_ship_to_name_trgm '
                   'ON orders USING gin (ship_to_name gin_trgm_ops)')
    else:
        op.create_index('ix_orders_external_id', 'orders', ['external_id'])
        op.create_index('ix_orders_ship_to_name_trgm', 'orders', ['ship_to_name'])


def downgrade():
    # The extension stays: other objects may use it.
    op.drop_index('ix_orders_ship_to_name_trgm', table_name='orders')
    op.drop_index('ix_orders_external_id', table_name='orders')
