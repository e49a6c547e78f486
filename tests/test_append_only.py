"""The ledger and the order history are facts (invariant 2): the database itself
refuses UPDATE, DELETE and TRUNCATE on them, whoever asks, on SQLite and
PostgreSQL alike."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.orders.services import create_order

STATEMENTS = {
    "update": "UPDATE {table} SET {column} = {column}",
    "delete": "DELETE FROM {table}",
    # SQLite has no TRUNCATE: its whole-table DELETE is the same request.
    "truncate": "TRUNCATE {table}",
}
TABLES = {"stock_movements": "reason", "order_events": "message"}


@pytest.mark.parametrize("table", sorted(TABLES))
@pytest.mark.parametrize("action", sorted(STATEMENTS))
def test_history_cannot_be_rewritten(world, db_session, table, action):
    """Is each of UPDATE, DELETE and TRUNCATE of the ledger and of the order
    history refused by the database, with every row still there?"""
    create_order(db_session, seller_id=world.seller_a.id, external_id="HIST-1",
                 lines=[{"sku_id": world.sku_a.id, "quantity": 1, "unit_price_cents": 100}],
                 ship_to={"name": "A", "address1": "1 St", "city": "LA", "state": "CA",
                          "zip": "90001"})
    db_session.commit()
    count = f"SELECT count(*) FROM {table}"
    before = db_session.execute(text(count)).scalar()
    assert before > 0
    sql = STATEMENTS[action]
    if action == "truncate" and db_session.get_bind().dialect.name == "sqlite":
        sql = STATEMENTS["delete"]
    savepoint = db_session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db_session.execute(text(sql.format(table=table, column=TABLES[table])))
    savepoint.rollback()
    assert db_session.execute(text(count)).scalar() == before
