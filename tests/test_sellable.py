"""Only sellable stock sells (invariant 7): units in the dock or a damaged bin are
on hand, but never reserved, allocated or offered to a channel; putting them away
onto a shelf makes them sellable, and then backorders take them."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.allocation.services import allocate_order
from server.carriers.demo import seed_carriers
from server.channels.fake_marketplace import FakeMarketplace
from server.channels.jobs import flush_stock_pushes, sellable
from server.errors import InsufficientStock
from server.inventory import services as inventory
from server.inventory.models import Bin, Reservation, Stock
from server.inventory.services import ReserveLine
from server.inventory.warehouses import create_bins
from server.jobs import run_deferred
from server.orders import services as orders
from server.orders.models import Order
from sync import engine

from .channel_helpers import make_shop
from .helpers import make_seller, make_sku, make_user, make_warehouse, token_headers, unique

LA = "90001"


@pytest.fixture
def site(db_session):
    """One warehouse with two shelves, a dock and a damaged bin; a seller, its SKU
    and a picker of that warehouse."""
    s = db_session
    seed_carriers(s)
    seller = make_seller(s)
    wh, shelves = make_warehouse(s, bins=("A-01-1", "A-01-2"))
    (dock,) = create_bins(s, wh, ["RECV-01"], kind="receiving")
    (damaged,) = create_bins(s, wh, ["DMG-01"], kind="damaged")
    sku = make_sku(s, seller, price_cents=2500, cost_cents=500, weight_g=500,
                   length_mm=200, width_mm=150, height_mm=100)
    picker = make_user(s, "picker", warehouses=[wh])
    s.commit()

    class Site:
        pass
    x = Site()
    x.s, x.seller, x.wh, x.shelves, x.dock, x.damaged, x.sku, x.picker = (
        s, seller, wh, shelves, dock, damaged, sku, picker)
    x.device, x.n = f"dock-{uuid.uuid4().hex[:8]}", 0
    return x


def scan(x, name, **args):
    """One scan from the picker's device, committed as a sync push would be, and
    the jobs it queued run (inline, as without Redis)."""
    x.n += 1
    result = engine.push(x.s, x.picker, x.device, [{"id": x.n, "name": name,
                                                     "args": args}])["results"][0]
    x.s.commit()
    run_deferred()
    return result


def place(x, units, sku=None):
    sku = sku or x.sku
    order = orders.create_order(x.s, seller_id=x.seller.id, external_id=unique("EXT-"),
                                ship_to={"name": "Ann", "zip": LA},
                                lines=[{"sku_id": sku.id, "quantity": units,
                                        "unit_price_cents": 2500}])
    allocate_order(x.s, order.id)
    x.s.commit()
    run_deferred()
    return order


def row(x, bin_):
    x.s.expire_all()
    return x.s.scalar(select(Stock).where(Stock.sku_id == x.sku.id, Stock.bin_id == bin_.id))


def test_dock_stock_waits_for_putaway_then_a_backorder_takes_it(site):
    """An order for 5 waits; 9 arrive at the dock. Are they left unreserved (the
    order still waits, and all 9 can be put away), and once they are on a shelf,
    does the waiting order take 5 of them from the shelf?"""
    x = site
    order = place(x, 5)
    assert order.status == "backordered"

    received = scan(x, "receive.scan", bin="RECV-01", sku=x.sku.code, qty=9)
    assert received["status"] == "applied"
    assert received["detail"]["suggested_bin"] in ("A-01-1", "A-01-2")
    x.s.refresh(order)
    assert order.status == "backordered"
    assert (row(x, x.dock).on_hand, row(x, x.dock).reserved) == (9, 0)
    assert inventory.available_by_warehouse(x.s, x.sku.id).get(x.wh.id, 0) == 0

    put = scan(x, "putaway.confirm", from_bin="RECV-01", to_bin="A-01-1", sku=x.sku.code,
               qty=9)
    assert put["status"] == "applied", put
    assert put["detail"] == {"warehouse_id": x.wh.id, "moved": 9, "short": 0}
    x.s.refresh(order)
    assert order.status == "allocated"
    held = x.s.execute(select(Reservation.bin_id, Reservation.quantity)
                       .where(Reservation.quantity > 0,
                              Reservation.sku_id == x.sku.id)).all()
    assert held == [(x.shelves[0].id, 5)]
    assert inventory.available_by_warehouse(x.s, x.sku.id) == {x.wh.id: 4}
    assert inventory.verify_ledger(x.s) == []


def test_units_received_straight_onto_a_shelf_go_to_a_waiting_order(site):
    """Receiving onto a storage bin (no dock) or finding units in a count: do they
    reach the backorder at once, as before?"""
    x = site
    first = place(x, 2)
    assert scan(x, "receive.scan", bin="A-01-2", sku=x.sku.code, qty=2)["status"] == "applied"
    x.s.refresh(first)
    assert first.status == "allocated"
    second = place(x, 3)
    assert second.status == "backordered"
    assert scan(x, "count.submit", bin="A-01-1", sku=x.sku.code, counted=3)["status"] == \
        "applied"
    x.s.refresh(second)
    assert second.status == "allocated"
    assert inventory.verify_ledger(x.s) == []


def test_damaged_stock_is_never_reserved(site, client):
    """5 units lie in the damaged bin: is an order for 1 backordered, a direct
    reservation refused, and does the seller see them on hand but not available?
    Moving shelf units into the damaged bin takes them out of sale, but never the
    promised ones; moving them back makes them sellable again."""
    x = site
    inventory.receive(x.s, sku_id=x.sku.id, bin_id=x.damaged.id, quantity=5, reason="returns")
    x.s.commit()
    run_deferred()
    waiting = place(x, 1)
    assert waiting.status == "backordered"
    with pytest.raises(InsufficientStock) as refused:
        inventory.reserve(x.s, [ReserveLine(x.sku.id, x.wh.id, 1)], reference="by-hand")
    assert refused.value.data["shortages"][0]["available"] == 0
    assert row(x, x.damaged).reserved == 0

    seller = make_user(x.s, "seller", seller=x.seller)
    listed = client.get(f"/api/stock?sku_id={x.sku.id}",
                        headers=token_headers(x.s, seller)).get_json()["items"]
    (shown,) = listed
    assert (shown["bin_kind"], shown["on_hand"], shown["reserved"], shown["available"],
            shown["sellable"]) == ("damaged", 5, 0, 0, False)

    # 3 good units on a shelf: the waiting order takes 1; 2 are left to sell.
    inventory.receive(x.s, sku_id=x.sku.id, bin_id=x.shelves[0].id, quantity=3)
    x.s.commit()
    run_deferred()
    x.s.refresh(waiting)
    assert waiting.status == "allocated"
    # All 3 are damaged: only the 2 unpromised ones may go to the damaged bin.
    with pytest.raises(InsufficientStock):
        inventory.move(x.s, sku_id=x.sku.id, from_bin_id=x.shelves[0].id,
                       to_bin_id=x.damaged.id, quantity=3)
    inventory.move(x.s, sku_id=x.sku.id, from_bin_id=x.shelves[0].id,
                   to_bin_id=x.damaged.id, quantity=2, reason="damaged")
    x.s.commit()
    run_deferred()
    assert (row(x, x.shelves[0]).on_hand, row(x, x.shelves[0]).reserved) == (1, 1)
    assert (row(x, x.damaged).on_hand, row(x, x.damaged).reserved) == (7, 0)
    later = place(x, 2)
    assert later.status == "backordered"
    # Inspected, 2 are fine after all: back on a shelf, the later order takes them.
    inventory.move(x.s, sku_id=x.sku.id, from_bin_id=x.damaged.id,
                   to_bin_id=x.shelves[1].id, quantity=2, reason="inspected: good")
    x.s.commit()
    run_deferred()
    x.s.refresh(later)
    assert later.status == "allocated"
    assert row(x, x.damaged).reserved == 0
    assert inventory.verify_ledger(x.s) == []


# -- the property: whatever happens, nothing outside a sellable bin is promised ------

WAREHOUSE_BINS = (("A-01-1", "storage"), ("B-01-1", "storage"), ("RECV-01", "receiving"),
                  ("DMG-01", "damaged"))  # 0, 1 shelves; 2 the dock; 3 damaged
# What the warehouse means by sellable, written out here rather than read from the
# code under test (the test must be able to disagree with it).
SHELF = "storage"

op = st.one_of(
    # receive into any bin of any warehouse: (sku, warehouse, bin, units)
    st.tuples(st.just("receive"), st.integers(0, 1), st.integers(0, 1), st.integers(0, 3),
              st.integers(1, 6)),
    # any move inside a warehouse: (sku, warehouse, from, to, units)
    st.tuples(st.just("move"), st.integers(0, 1), st.integers(0, 1), st.integers(0, 3),
              st.integers(0, 3), st.integers(1, 6)),
    # putaway out of the dock onto a shelf: (sku, warehouse, shelf, units)
    st.tuples(st.just("putaway"), st.integers(0, 1), st.integers(0, 1), st.integers(0, 1),
              st.integers(1, 6)),
    # units from a shelf found damaged: (sku, warehouse, shelf, units)
    st.tuples(st.just("damage"), st.integers(0, 1), st.integers(0, 1), st.integers(0, 1),
              st.integers(1, 6)),
    # an order placed and allocated: (sku, units)
    st.tuples(st.just("order"), st.integers(0, 1), st.integers(1, 5)),
    # an order cancelled (its units released): (which)
    st.tuples(st.just("cancel"), st.integers(0, 9)),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=20))
def test_nothing_outside_a_sellable_bin_is_ever_promised(db_session, ops):
    """After random receipts into shelves, the dock and the damaged bin, moves,
    putaways, damage, orders and cancellations (each committed, its jobs run): does
    every stock row outside a sellable bin hold nothing reserved, reserved stay
    within the sellable units on hand per SKU and warehouse, a putaway out of the
    dock always move every unit there, no order wait while sellable units of its
    SKU lie free, and the ledger balance?"""
    s = db_session
    seller = make_seller(s)
    warehouses, bins = [], []  # bins[w][i] as in WAREHOUSE_BINS
    # California and New Jersey: an order to Los Angeles prefers the first, so the
    # same operations always allocate the same way.
    for place_ in ({}, {"zip_": "08837", "state": "NJ", "tz": "America/New_York",
                        "lat": 40.52, "lon": -74.35}):
        wh, _none = make_warehouse(s, bins=(), **place_)
        warehouses.append(wh)
        bins.append([create_bins(s, wh, [code], kind=kind)[0] for code, kind in WAREHOUSE_BINS])
    skus = [make_sku(s, seller, price_cents=2500, cost_cents=500, weight_g=500) for _ in range(2)]
    s.commit()
    sku_ids = [k.id for k in skus]
    model = {}  # (sku, warehouse, bin) -> units on hand
    placed: list[int] = []

    def step(rule, **args):
        savepoint = s.begin_nested()  # one request: all of it or none of it
        try:
            rule(s, **args)
            savepoint.commit()
            return True
        except InsufficientStock:
            savepoint.rollback()
            return False

    for operation in ops:
        kind = operation[0]
        if kind == "receive":
            _, k, w, b, q = operation
            step(inventory.receive, sku_id=sku_ids[k], bin_id=bins[w][b].id, quantity=q,
                 reason="arrived")
            model[(k, w, b)] = model.get((k, w, b), 0) + q
        elif kind in ("move", "putaway", "damage"):
            if kind == "move":
                _, k, w, b1, b2, q = operation
                if b1 == b2:
                    continue
            elif kind == "putaway":
                _, k, w, b2, q = operation
                b1 = 2
                q = min(q, model.get((k, w, 2), 0))  # the receiver moves what is there
                if not q:
                    continue
            else:
                _, k, w, b1, q = operation
                b2 = 3
            moved = step(inventory.move, sku_id=sku_ids[k], from_bin_id=bins[w][b1].id,
                         to_bin_id=bins[w][b2].id, quantity=q)
            if b1 in (2, 3):
                # Nothing in the dock or the damaged bin is promised: all of it moves.
                assert moved == (q <= model.get((k, w, b1), 0)), (kind, q, model)
            if moved:
                model[(k, w, b1)] -= q
                model[(k, w, b2)] = model.get((k, w, b2), 0) + q
        elif kind == "order":
            _, k, q = operation
            order = orders.create_order(s, seller_id=seller.id, external_id=unique("P-"),
                                        ship_to={"name": "Ann", "zip": LA},
                                        lines=[{"sku_id": sku_ids[k], "quantity": q,
                                                "unit_price_cents": 2500}])
            allocate_order(s, order.id)
            placed.append(order.id)
        elif kind == "cancel":
            _, which = operation
            live = [o for o in (s.get(Order, i) for i in placed)
                    if o.status in orders.CANCELLABLE]
            if not live:
                continue
            orders.cancel_order(s, live[which % len(live)], reason="changed their mind")
        s.commit()
        run_deferred()  # the backorder and channel jobs the commit queued
        s.expire_all()

        rows = s.execute(select(Stock.sku_id, Stock.warehouse_id, Stock.bin_id, Bin.kind,
                                Stock.on_hand, Stock.reserved)
                         .join(Bin, Bin.id == Stock.bin_id)
                         .where(Stock.sku_id.in_(sku_ids))).all()
        by_bin = {(r.sku_id, r.bin_id): r.on_hand for r in rows}
        for (k, w, b), units in model.items():
            assert by_bin.get((sku_ids[k], bins[w][b].id), 0) == units
        for r in rows:
            if r.kind != SHELF:
                assert r.reserved == 0, (r, operation)
        for k, sku_id in enumerate(sku_ids):
            free_to_sell = 0
            for wh in warehouses:
                mine = [r for r in rows if (r.sku_id, r.warehouse_id) == (sku_id, wh.id)]
                sellable_on_hand = sum(r.on_hand for r in mine if r.kind == SHELF)
                reserved = sum(r.reserved for r in mine)
                assert reserved <= sellable_on_hand
                free_to_sell += sellable_on_hand - reserved
            waiting = s.scalar(select(func.count()).select_from(Order).where(
                Order.id.in_(placed), Order.status == "backordered",
                Order.lines.any(sku_id=sku_id)))
            # A putaway, a receipt onto a shelf or a release must reach the backorders.
            assert not (waiting and free_to_sell), (k, waiting, free_to_sell, operation)
    assert inventory.verify_ledger(s) == []


# -- the channels are told only what can sell ----------------------------------------

@pytest.fixture
def fake():
    marketplace = FakeMarketplace(page_size=2).start()
    yield marketplace
    marketplace.stop()


def _told(fake, channel_sku):
    calls = [c for c in fake.calls("/listings/2021-08-01/items/")
             if c["path"].endswith("/" + channel_sku)]
    return calls[-1]["body"]["patches"][0]["value"][0]["quantity"] if calls else None


def test_the_channel_is_told_shelf_units_only(db_session, fake):
    """10 widgets on a shelf, 6 at the dock, 4 damaged: is Amazon told 10 (not 20),
    and 16 once the dock's 6 are put away?"""
    shop = make_shop(db_session, base_url=fake.url)
    widget, amazon = shop.skus["WIDGET"], shop.accounts["amazon"]
    (dock,) = create_bins(db_session, shop.wh, ["RECV-01"], kind="receiving")
    (damaged,) = create_bins(db_session, shop.wh, ["DMG-01"], kind="damaged")
    db_session.commit()
    run_deferred()
    now = datetime.now(UTC)
    flush_stock_pushes(now=now - timedelta(seconds=120))
    assert _told(fake, "WIDGET-RED") == 10
    fake.requests.clear()

    inventory.receive(db_session, sku_id=widget.id, bin_id=dock.id, quantity=6)
    inventory.receive(db_session, sku_id=widget.id, bin_id=damaged.id, quantity=4)
    db_session.commit()
    run_deferred()
    assert sellable(db_session, amazon, "WIDGET-RED") == 10
    flush_stock_pushes(now=now)
    assert _told(fake, "WIDGET-RED") in (None, 10)  # told again, or not at all: never 20

    inventory.move(db_session, sku_id=widget.id, from_bin_id=dock.id,
                   to_bin_id=shop.bins[0].id, quantity=6, reason="putaway")
    db_session.commit()
    run_deferred()
    assert sellable(db_session, amazon, "WIDGET-RED") == 16
    flush_stock_pushes(now=now + timedelta(seconds=61))
    assert _told(fake, "WIDGET-RED") == 16
