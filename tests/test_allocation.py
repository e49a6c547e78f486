"""Allocation: which warehouse ships an order, with its stock reserved and its
reason kept. Hand-computed cases over three warehouses in three states."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.allocation.services import allocate_order
from server.catalog.services import set_kit_components
from server.inventory import services as stock
from server.inventory.models import Reservation, Stock
from server.jobs import run_deferred
from server.orders import services as orders

from .helpers import make_seller, make_sku, make_warehouse

LA, NYC, HOUSTON = "90001", "10001", "77002"


@pytest.fixture
def floor(db_session):
    """Three warehouses (CA, NJ, TX), the demo carriers' rate cards, one seller,
    SKUs with weight and size."""
    from server.carriers.demo import seed_carriers
    s = db_session
    seed_carriers(s)
    whs = {
        "LAX": make_warehouse(s, code="LAX9", zip_="91761", state="CA", lat=34.0633,
                              lon=-117.6509, bins=("A-01-1", "A-01-2"))[0],
        "EWR": make_warehouse(s, code="EWR9", zip_="08837", state="NJ",
                              tz="America/New_York", lat=40.5187, lon=-74.3471,
                              bins=("A-01-1", "A-01-2"))[0],
        "DFW": make_warehouse(s, code="DFW9", zip_="75062", state="TX",
                              tz="America/Chicago", lat=32.8468, lon=-96.975,
                              bins=("A-01-1", "A-01-2"))[0],
    }
    seller = make_seller(s)
    skus = {name: make_sku(s, seller, code=f"{name}-{seller.id}", name=name,
                           weight_g=900, length_mm=200, width_mm=150, height_mm=100,
                           cost_cents=500, price_cents=2500)
            for name in ("A", "B", "C")}
    s.flush()

    class Floor:
        pass
    f = Floor()
    f.s, f.whs, f.seller, f.skus = s, whs, seller, skus
    return f


def put(f, sku, wh, units):
    from server.inventory.models import Bin
    bin_ = f.s.scalars(select(Bin).where(Bin.warehouse_id == f.whs[wh].id)
                       .order_by(Bin.id)).first()
    stock.receive(f.s, sku_id=f.skus[sku].id, bin_id=bin_.id, quantity=units)


def order(f, zip_, lines, **kw):
    n = kw.pop("n", None) or f"EXT-{datetime.now(UTC).timestamp()}-{len(lines)}-{zip_}"
    o = orders.create_order(f.s, seller_id=f.seller.id, external_id=str(n),
                            channel=kw.pop("channel", "manual"),
                            ship_to={"name": "Ann", "zip": zip_},
                            lines=[{"sku_id": f.skus[k].id, "quantity": q,
                                    "unit_price_cents": p} for k, q, p in lines], **kw)
    return allocate_order(f.s, o.id)


def shipped_from(o):
    result = {}
    for a in o.allocations:
        if a.quantity:
            code = a.warehouse.code[:3]
            result[code] = result.get(code, 0) + a.quantity
    return result


def reserved_total(f):
    return f.s.scalar(select(func.coalesce(func.sum(Stock.reserved), 0)))


@pytest.mark.parametrize("zip_, expected", [(LA, "LAX"), (NYC, "EWR"), (HOUSTON, "DFW")])
def test_the_nearest_cheapest_warehouse_ships_when_all_can(floor, zip_, expected):
    """With stock everywhere, does the order go to the warehouse that ships it for
    least to the ship-to ZIP, and does the reason list every candidate?"""
    for wh in ("LAX", "EWR", "DFW"):
        put(floor, "A", wh, 5)
    o = order(floor, zip_, [("A", 2, 2500)])
    assert o.status == "allocated"
    assert shipped_from(o) == {expected: 2}
    reason = o.allocation_reason
    assert reason["strategy"] == "single" and reason["winners"][0].startswith(expected)
    assert {c["code"][:3] for c in reason["candidates"]} == {"LAX", "EWR", "DFW"}
    winner = reason["candidates"][0]
    assert all(winner["cost_cents"] <= c["cost_cents"] for c in reason["candidates"])
    assert expected in reason["why"]


def test_one_warehouse_that_has_everything_beats_a_nearer_split(floor):
    """Is a single parcel from Texas chosen over two parcels from a nearer mix?"""
    put(floor, "A", "LAX", 5)
    put(floor, "A", "DFW", 5)
    put(floor, "B", "DFW", 5)
    o = order(floor, LA, [("A", 1, 2500), ("B", 1, 2500)])
    assert shipped_from(o) == {"DFW": 2}
    assert o.allocation_reason["strategy"] == "single"


def test_split_only_when_no_single_warehouse_can_fill(floor):
    """When A is only in CA and B only in NJ, is the order split in two parcels?"""
    put(floor, "A", "LAX", 5)
    put(floor, "B", "EWR", 5)
    o = order(floor, LA, [("A", 1, 2500), ("B", 1, 2500)])
    assert o.status == "allocated"
    assert shipped_from(o) == {"LAX": 1, "EWR": 1}
    assert o.allocation_reason["strategy"] == "split"


def test_a_no_split_seller_waits_for_one_warehouse(floor):
    """With no-split, is the same order backordered whole, with nothing reserved?"""
    floor.seller.no_split = True
    put(floor, "A", "LAX", 5)
    put(floor, "B", "EWR", 5)
    o = order(floor, LA, [("A", 1, 2500), ("B", 1, 2500)])
    assert o.status == "backordered" and shipped_from(o) == {}
    assert reserved_total(floor) == 0
    assert "does not split" in o.allocation_reason["why"]


@pytest.mark.parametrize("b_price, expected", [(300, {"LAX": 1}), (3000, {"LAX": 1,
                                                                            "EWR": 1})])
def test_no_extra_parcel_for_a_cheap_line(floor, b_price, expected):
    """Is a $3 line left to wait rather than sent in a parcel of its own, while a $30
    line gets its parcel? (Split threshold: $15 by default.)"""
    put(floor, "A", "LAX", 5)
    put(floor, "B", "EWR", 5)
    o = order(floor, LA, [("A", 1, 5000), ("B", 1, b_price)])
    assert shipped_from(o) == expected
    assert o.status == ("backordered" if len(expected) == 1 else "allocated")


def test_seller_rules_allowed_and_preferred_warehouses(floor):
    """Does the seller's allowed list exclude a warehouse, and does its preferred
    warehouse win whenever it can ship everything?"""
    for wh in ("LAX", "EWR", "DFW"):
        put(floor, "A", wh, 5)
    floor.seller.allowed_warehouses = [floor.whs["EWR"], floor.whs["DFW"]]
    o = order(floor, LA, [("A", 1, 2500)])
    assert shipped_from(o) == {"DFW": 1}
    excluded = [c for c in o.allocation_reason["candidates"] if c.get("excluded")]
    assert [c["code"][:3] for c in excluded] == ["LAX"]
    floor.seller.preferred_warehouse_id = floor.whs["EWR"].id
    o2 = order(floor, LA, [("A", 1, 2500)])
    assert shipped_from(o2) == {"EWR": 1}
    assert "preferred" in o2.allocation_reason["why"]


def test_backorders_are_allocated_in_priority_order_when_stock_arrives(floor):
    """When one unit arrives for three waiting orders, does the one with the soonest
    ship-by get it; then by margin; then the oldest?"""
    now = datetime.now(UTC)
    late = order(floor, LA, [("A", 1, 2500)], n="late", ship_by=now + timedelta(days=3))
    rich = order(floor, LA, [("A", 1, 9900)], n="rich")
    soon = order(floor, LA, [("A", 1, 2500)], n="soon", ship_by=now + timedelta(days=1))
    poor = order(floor, LA, [("A", 1, 1000)], n="poor")
    assert {o.status for o in (late, rich, soon, poor)} == {"backordered"}
    floor.s.commit()
    run_deferred()
    winners = []
    for _ in range(4):
        put(floor, "A", "LAX", 1)
        floor.s.commit()
        run_deferred()  # the job that new stock queues, run inline
        for o in (late, rich, soon, poor):
            floor.s.refresh(o)
        new = [o.external_id for o in (late, rich, soon, poor)
               if o.status == "allocated" and o.external_id not in winners]
        assert len(new) == 1, new  # one unit, one order
        winners += new
    assert winners == ["soon", "late", "rich", "poor"]


def test_a_kit_reserves_its_components_all_or_nothing(floor):
    """Does a kit of 2 A + 1 B reserve its components, and a second kit that would
    find only one A reserve nothing at all?"""
    kit = make_sku(floor.s, floor.seller, code=f"KIT-{floor.seller.id}", name="Kit")
    set_kit_components(floor.s, kit, [(floor.skus["A"].id, 2), (floor.skus["B"].id, 1)])
    floor.skus["KIT"] = kit
    put(floor, "A", "LAX", 3)
    put(floor, "B", "LAX", 5)
    first = order(floor, LA, [("KIT", 1, 6000)])
    assert first.status == "allocated" and shipped_from(first) == {"LAX": 1}
    by_sku = dict(floor.s.execute(select(Reservation.sku_id, func.sum(Reservation.quantity))
                                  .group_by(Reservation.sku_id)).all())
    assert by_sku == {floor.skus["A"].id: 2, floor.skus["B"].id: 1}
    second = order(floor, LA, [("KIT", 1, 6000)])
    assert second.status == "backordered"
    assert reserved_total(floor) == 3
    orders.cancel_order(floor.s, first)
    assert reserved_total(floor) == 0


def test_cancellation_releases_exactly_what_was_reserved(floor):
    """Does a partial cancellation free exactly its units, and a full one the rest,
    leaving other orders' reservations alone?"""
    put(floor, "A", "LAX", 10)
    keep = order(floor, LA, [("A", 2, 2500)])
    o = order(floor, LA, [("A", 5, 2500)])
    assert reserved_total(floor) == 7
    orders.cancel_quantity(floor.s, o, o.lines[0], 2)
    assert reserved_total(floor) == 5 and o.status == "allocated"
    orders.cancel_order(floor.s, o)
    assert reserved_total(floor) == 2 and o.status == "cancelled"
    assert keep.status == "allocated"
    assert stock.verify_ledger(floor.s) == []


def test_partial_cancel_takes_backordered_units_first(floor):
    """When 3 of 5 units are allocated and 2 wait, does cancelling 2 keep the 3?"""
    floor.seller.no_split = False
    put(floor, "A", "LAX", 3)
    o = order(floor, LA, [("A", 5, 2500)])
    assert o.status == "backordered" and shipped_from(o) == {"LAX": 3}
    orders.cancel_quantity(floor.s, o, o.lines[0], 2)
    assert reserved_total(floor) == 3 and o.status == "allocated"


def test_editing_lines_releases_and_reallocates(floor):
    """Does a channel edit release the old reservation exactly and allocate anew?"""
    put(floor, "A", "LAX", 4)
    put(floor, "B", "LAX", 4)
    o = order(floor, LA, [("A", 3, 2500)])
    orders.edit_lines(floor.s, o, [{"sku_id": floor.skus["B"].id, "quantity": 1,
                                    "unit_price_cents": 2500}])
    allocate_order(floor.s, o.id)
    by_sku = dict(floor.s.execute(select(Stock.sku_id, func.sum(Stock.reserved))
                                  .group_by(Stock.sku_id)).all())
    assert by_sku[floor.skus["A"].id] == 0 and by_sku[floor.skus["B"].id] == 1


def test_orders_the_channel_fulfils_are_recorded_never_allocated(floor):
    """Is an Amazon AFN order kept, with nothing reserved?"""
    put(floor, "A", "LAX", 4)
    o = orders.create_order(floor.s, seller_id=floor.seller.id, external_id="AFN-1",
                            channel="amazon", ship_to={"zip": LA},
                            lines=[{"sku_id": floor.skus["A"].id, "quantity": 1}],
                            fulfilled_by_channel=True)
    assert o.status == "fulfilled_by_channel"
    with pytest.raises(Exception):
        allocate_order(floor.s, o.id)
    assert reserved_total(floor) == 0


def test_a_second_allocation_says_where_the_first_units_went(floor):
    """An order for 3 units of A that finds 2 in EWR is split-allocated there and
    the last unit backordered; when one arrives in DFW, is the stored reason true of
    the whole order: EWR's units named first, and never "no warehouse has the stock"
    while units are allocated?"""
    put(floor, "A", "EWR", 2)
    first = order(floor, NYC, [("A", 3, 2500)])
    assert first.status == "backordered" and shipped_from(first) == {"EWR": 2}
    why = first.allocation_reason["why"]
    assert "no allowed warehouse has the stock" not in why.lower()
    put(floor, "A", "DFW", 1)
    again = allocate_order(floor.s, first.id)
    assert again.status == "allocated" and shipped_from(again) == {"EWR": 2, "DFW": 1}
    why = again.allocation_reason["why"]
    assert why.startswith("Already allocated: EWR9: 2 units. For the rest: "), why
    assert "DFW9" in why
