"""the public tracking page: each order's unguessable link (issue #11, item 3)

Revision ID: 0012_tracking_page
Revises: 0011_tracking_events

`orders.tracking_token` (the /t/<token> link) is filled for every existing order
here, and for every new one however it is written: the model's Python default
(secrets.token_urlsafe, for the ORM and the Core INSERT of orders/store.py), and
in the database itself for any INSERT that does not give one (bulk SQL, a bench
seed): a BEFORE INSERT trigger on PostgreSQL, an AFTER INSERT trigger on SQLite
(which cannot give an added column an expression default). Both draw from the
database's strong random source: gen_random_uuid() (pg_strong_random; two of them,
244 random bits) and randomblob() (SQLite's ChaCha20 seeded from the OS).
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_tracking_page'
down_revision = '0011_tracking_events'
branch_labels = None
depends_on = None

PG_TOKEN = "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')"
SQLITE_TOKEN = "lower(hex(randomblob(24)))"


def upgrade():
    op.add_column('orders', sa.Column('tracking_token', sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE orders SET tracking_token = {PG_TOKEN} WHERE tracking_token IS NULL")
        op.execute(f"""
            CREATE FUNCTION haicang_order_tracking_token() RETURNS trigger AS $$
            BEGIN
                IF NEW.tracking_token IS NULL THEN
                    NEW.tracking_token := {PG_TOKEN};
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER orders_tracking_token
            BEFORE INSERT ON orders
            FOR EACH ROW EXECUTE FUNCTION haicang_order_tracking_token()""")
    else:
        op.execute(f"UPDATE orders SET tracking_token = {SQLITE_TOKEN} "
                   "WHERE tracking_token IS NULL")
        op.execute(f"""
            CREATE TRIGGER IF NOT EXISTS orders_tracking_token
            AFTER INSERT ON orders FOR EACH ROW WHEN NEW.tracking_token IS NULL
            BEGIN
                UPDATE orders SET tracking_token = {SQLITE_TOKEN} WHERE id = NEW.id;
            END""")
    op.create_index(op.f('ix_orders_tracking_token'), 'orders', ['tracking_token'],
                    unique=True)


def downgrade():
    op.drop_index(op.f('ix_orders_tracking_token'), table_name='orders')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS orders_tracking_token ON orders")
        op.execute("DROP FUNCTION IF EXISTS haicang_order_tracking_token()")
    else:
        op.execute("DROP TRIGGER IF EXISTS orders_tracking_token")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('tracking_token')
