"""The sync change log (sync/engine.py): written by the commit, one row per entity
row per transaction, in one statement, with the transaction's id on PostgreSQL."""
from sqlalchemy import event, select

from server.inventory import services as inventory
from server.inventory.models import Stock
from sync.models import SyncChange

from .helpers import make_seller, make_sku, make_warehouse


def _changes(s, stock_ids):
    return s.execute(select(SyncChange.entity_id, SyncChange.deleted, SyncChange.tx)
                     .where(SyncChange.entity == "stock",
                            SyncChange.entity_id.in_(stock_ids))).all()


def test_a_row_changed_many_times_in_one_transaction_is_one_change(db_session):
    """Five receipts of one stock row and one of another, flushed one by one, then a
    commit: are there two change rows, written by one INSERT, carrying the
    transaction's id (PostgreSQL), with no statement asking for that id?"""
    s = db_session
    seller = make_seller(s)
    _wh, bins = make_warehouse(s)
    sku = make_sku(s, seller)
    s.commit()
    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    connection = s.connection()
    event.listen(connection, "before_cursor_execute", note)
    try:
        for _ in range(5):
            inventory.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=1)
        inventory.receive(s, sku_id=sku.id, bin_id=bins[1].id, quantity=1)
        s.commit()
    finally:
        event.remove(connection, "before_cursor_execute", note)
    ids = [i for (i,) in s.execute(select(Stock.id).where(Stock.sku_id == sku.id))]
    rows = _changes(s, ids)
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert not any(r[1] for r in rows)
    assert sum("INTO sync_changes" in st for st in statements) == 1
    assert not any("pg_current_xact_id()::text::bigint\n" in st or
                   st.strip().upper().startswith("SELECT PG_CURRENT_XACT_ID")
                   for st in statements)
    if s.get_bind().dialect.name == "postgresql":
        assert len({r[2] for r in rows}) == 1 and rows[0][2] is not None


def test_a_savepoint_rolled_back_leaves_no_change_row(db_session):
    """A change made inside a savepoint that rolls back: is it left out of the log,
    while the change made outside it is kept?"""
    s = db_session
    seller = make_seller(s)
    _wh, bins = make_warehouse(s)
    sku = make_sku(s, seller)
    kept = inventory.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=1)
    s.commit()
    inventory.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=1)
    savepoint = s.begin_nested()
    dropped = inventory.receive(s, sku_id=sku.id, bin_id=bins[1].id, quantity=1)
    dropped_id = dropped.id
    savepoint.rollback()
    s.commit()
    before = {r[0] for r in _changes(s, [kept.id])}
    assert before == {kept.id}
    assert _changes(s, [dropped_id]) == []
