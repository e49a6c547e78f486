"""trust: per-user session version; ledger and order history append-only against
UPDATE, DELETE and TRUNCATE

Revision ID: 0007_trust
Revises: 0006_inbound
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_trust'
down_revision = '0006_inbound'
branch_labels = None
depends_on = None

# The stock ledger and every order's history are facts: the database itself
# refuses to change or remove one, whatever code or person tries (invariant 2).
APPEND_ONLY = ("stock_movements", "order_events")


def upgrade():
    # Log-out and a password change raise it, and every session cookie and
    # remember-me cookie minted under the old value stops working.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='1'))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stock_movements_append_only ON stock_movements")
        op.execute("DROP FUNCTION IF EXISTS stock_movements_append_only()")
        op.execute("""
            CREATE FUNCTION haicang_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$ LANGUAGE plpgsql""")
        for table in APPEND_ONLY:
            op.execute(f"""
                CREATE TRIGGER {table}_append_only
                BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION haicang_append_only()""")
            op.execute(f"""
                CREATE TRIGGER {table}_no_truncate
                BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION haicang_append_only()""")
    else:
        # SQLite has no TRUNCATE: its "DELETE FROM t" runs the DELETE trigger
        # (a trigger turns off the truncate optimisation).
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER IF NOT EXISTS order_events_no_{action.lower()}
                BEFORE {action} ON order_events
                BEGIN SELECT RAISE(ABORT, 'order history is append-only'); END""")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS haicang_append_only()")
        op.execute("""
            CREATE FUNCTION stock_movements_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'stock ledger is append-only: % on stock_movements', TG_OP;
            END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER stock_movements_append_only
            BEFORE UPDATE OR DELETE ON stock_movements
            FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()""")
    else:
        op.execute("DROP TRIGGER IF EXISTS order_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS order_events_no_delete")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
