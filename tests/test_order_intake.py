"""New orders written around the unit of work (server/orders/store.py): does the
session treat them exactly as loaded orders, through rollbacks too?"""
from sqlalchemy import select

from server.orders import services as orders
from server.orders.models import Order

from .helpers import make_seller, make_sku


def _place(s, seller, sku, external_id):
    return orders.create_order(s, seller_id=seller.id, external_id=external_id,
                               ship_to={"name": "Ann", "zip": "10001"},
                               lines=[{"sku_id": sku.id, "quantity": 2,
                                       "unit_price_cents": 999}])


def test_an_order_rolled_back_leaves_nothing_behind_in_the_session(db_session):
    """An order created and rolled back, then another created (SQLite may hand it
    the same id): is the second one stored and read back as itself, with no stale
    object of the first in its way?"""
    s = db_session
    seller = make_seller(s)
    sku = make_sku(s, seller)
    s.commit()
    first = _place(s, seller, sku, "intake-rolled-back")
    first_id = first.id
    s.rollback()
    second = _place(s, seller, sku, "intake-kept")
    s.commit()
    s.expire_all()
    assert s.get(Order, second.id).external_id == "intake-kept"
    assert [l.quantity for l in s.get(Order, second.id).lines] == [2]
    assert s.scalar(select(Order.id).where(Order.external_id == "intake-rolled-back")) is None
    if second.id == first_id:  # the id was reused: the session holds the new order
        assert s.get(Order, first_id) is second


def test_a_new_order_reads_back_as_it_was_stored(db_session):
    """Every column of a new order and its lines, read in a fresh session, equals
    what the session was handed (no default the INSERT filled in differently)."""
    s = db_session
    seller = make_seller(s)
    sku = make_sku(s, seller)
    order = _place(s, seller, sku, "intake-columns")
    s.commit()
    handed = {c.key: getattr(order, c.key) for c in Order.__table__.columns}
    lines = [{c.key: getattr(l, c.key) for c in l.__table__.columns} for l in order.lines]
    s.expire_all()
    fresh = s.get(Order, order.id)
    assert {c.key: getattr(fresh, c.key) for c in Order.__table__.columns} == handed
    assert [{c.key: getattr(l, c.key) for c in l.__table__.columns}
            for l in fresh.lines] == lines


def test_a_duplicate_order_is_refused_and_changes_nothing(db_session):
    """The same channel order twice: 409 naming external_id, one order stored."""
    from server.errors import Conflict
    s = db_session
    seller = make_seller(s)
    sku = make_sku(s, seller)
    _place(s, seller, sku, "intake-twice")
    s.commit()
    try:
        _place(s, seller, sku, "intake-twice")
    except Conflict as error:
        assert "external_id" in error.fields
    else:
        raise AssertionError("a duplicate was accepted")
    s.rollback()
    assert len(s.scalars(select(Order).where(Order.external_id == "intake-twice")).all()) == 1
