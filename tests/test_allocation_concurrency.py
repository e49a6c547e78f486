"""Allocation under concurrency, on PostgreSQL: real threads, each its own
transaction, creating and allocating orders for the same scarce stock."""
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from server.allocation.services import allocate_order
from server.carriers.demo import seed_carriers
from server.extensions import db
from server.inventory import services as stock
from server.inventory.models import Bin, Reservation, Stock
from server.orders import services as orders
from server.orders.models import Order, OrderAllocation

from .helpers import make_seller, make_sku, make_warehouse

pytestmark = pytest.mark.postgresql

WAREHOUSES = [("LAX", "91761", "CA", 34.0633, -117.6509, "America/Los_Angeles"),
              ("DFW", "75062", "TX", 32.8468, -96.975, "America/Chicago"),
              ("EWR", "08837", "NJ", 40.5187, -74.3471, "America/New_York")]


def seed(app, units: dict[str, int]):
    """One seller, one SKU, the three warehouses with `units` of it each."""
    with app.app_context():
        s = db.session
        seed_carriers(s)
        seller = make_seller(s)
        sku = make_sku(s, seller, weight_g=700, length_mm=200, width_mm=150, height_mm=80,
                       cost_cents=400, price_cents=1999)
        whs = {}
        for code, zip_, state, lat, lon, tz in WAREHOUSES:
            wh, bins = make_warehouse(s, code=code + "1", zip_=zip_, state=state, lat=lat,
                                      lon=lon, tz=tz, bins=("A-01-1", "A-01-2"))
            whs[code] = wh.id
            if units.get(code):
                # Spread over two bins, so a reservation may have to take from both.
                first = units[code] // 2
                for bin_, n in zip(bins, (first, units[code] - first)):
                    if n:
                        stock.receive(s, sku_id=sku.id, bin_id=bin_.id, quantity=n)
        s.commit()
        return seller.id, sku.id, whs


def race(app, n, work):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                db.session.rollback()
                results[i] = error
            finally:
                db.session.remove()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "deadlock: a thread never finished"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    return results


def place(seller_id, sku_id, external_id, channel, zip_="90001", qty=1):
    order = orders.create_order(db.session, seller_id=seller_id, channel=channel,
                                external_id=external_id, ship_to={"zip": zip_},
                                lines=[{"sku_id": sku_id, "quantity": qty,
                                        "unit_price_cents": 1999}])
    order = allocate_order(db.session, order.id)
    return order.status, sorted({a.warehouse_id for a in order.allocations if a.quantity})


def test_amazon_and_temu_race_for_the_last_unit(pg_app):
    """Amazon and Temu orders for the last unit, at the same instant: does exactly
    one get it and the other backorder?"""
    seller_id, sku_id, _whs = seed(pg_app, {"LAX": 1})
    channels = ["amazon", "temu"]
    results = race(pg_app, 2, lambda i: place(seller_id, sku_id, f"{channels[i]}-1",
                                              channels[i]))
    assert sorted(status for status, _ in results) == ["allocated", "backordered"]


def test_the_loser_of_the_race_goes_to_the_next_warehouse(pg_app):
    """With one unit in Ontario CA and one in Dallas, do two LA orders racing end in
    one parcel from each, not two promises of the same unit?"""
    seller_id, sku_id, whs = seed(pg_app, {"LAX": 1, "DFW": 1})
    channels = ["amazon", "temu"]
    results = race(pg_app, 2, lambda i: place(seller_id, sku_id, f"{channels[i]}-2",
                                              channels[i]))
    assert [status for status, _ in results] == ["allocated", "allocated"]
    assert sorted(w for _, ws in results for w in ws) == sorted([whs["LAX"], whs["DFW"]])


def test_fifty_orders_for_twenty_units_over_three_warehouses(pg_app):
    """50 concurrent orders against 20 units spread over 3 warehouses: is no more
    than 20 ever reserved, does every order end allocated or backordered, and does
    the ledger balance?"""
    seller_id, sku_id, _whs = seed(pg_app, {"LAX": 8, "DFW": 7, "EWR": 5})
    zips = ["90001", "10001", "77002", "60601", "98101"]
    results = race(pg_app, 50, lambda i: place(
        seller_id, sku_id, f"order-{i}", ["amazon", "ebay", "shopify", "temu"][i % 4],
        zip_=zips[i % 5], qty=1 + i % 2))
    outcome = Counter(status for status, _ in results)
    assert set(outcome) <= {"allocated", "backordered"}
    assert outcome["allocated"] >= 10  # at least 20 units' worth of orders of 1-2 units
    with pg_app.app_context():
        s = db.session
        on_hand, reserved = s.execute(select(func.sum(Stock.on_hand), func.sum(Stock.reserved))
                                      .where(Stock.sku_id == sku_id)).one()
        held = s.scalar(select(func.sum(Reservation.quantity)).where(
            Reservation.sku_id == sku_id))
        promised = s.scalar(select(func.sum(OrderAllocation.quantity)))
        assert on_hand == 20 and reserved == held == promised <= 20
        for order in s.scalars(select(Order)):
            units = sum(a.quantity for a in order.allocations)
            if order.status == "allocated":
                assert units == order.lines[0].quantity
            else:
                assert units < order.lines[0].quantity
        # Every unit went to some order: none was lost to the race.
        assert reserved == 20
        assert stock.verify_ledger(s) == []
        assert s.scalar(select(func.max(Stock.reserved - Stock.on_hand))) <= 0
        statuses = Counter(s.scalars(select(Order.status)))
        assert statuses == outcome
        assert s.scalar(select(func.count()).select_from(Bin)) == 6
        s.remove()
