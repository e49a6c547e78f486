"""Invariant 5 as a property: whatever sellers, orders, pick lists and exceptions
exist, does any list a seller can read hold a row of another seller?"""
import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.allocation.services import allocate_order
from server.auth.services import create_token
from server.carriers.demo import seed_carriers
from server.catalog.models import Sku
from server.inventory import services as inventory
from server.orders.models import Order
from server.orders.services import create_order
from server.warehouse.models import Task
from server.warehouse.services import release_wave

from .helpers import make_seller, make_sku, make_user, make_warehouse

# An order: (seller index, quantity, released to the floor?); an exception task:
# (seller index whose SKU it is about, about the order rather than the SKU?).
orders_st = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3), st.booleans()),
                     min_size=1, max_size=6)
exceptions_st = st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=5)

LISTS = ("/api/orders?limit=200", "/api/tasks?limit=200", "/api/stock?limit=200",
         "/api/ledger?limit=200", "/api/skus?limit=200", "/api/channels/accounts",
         "/api/inbound?limit=200", "/api/sync/pull")


def _headers(s, user):
    row, token = create_token(s, user, "property")
    row.last_used_at = datetime.now(UTC)  # no touch-and-commit inside the example
    s.flush()
    return {"Authorization": f"Bearer {token}"}


def _owner_of(s, kind, row):
    """The seller a row of a listing belongs to (tasks through their SKU or order)."""
    if kind == "tasks":
        if row.get("order_id"):
            return s.get(Order, row["order_id"]).seller_id
        return s.get(Sku, row["sku_id"]).seller_id if row.get("sku_id") else None
    return row.get("seller_id")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(orders=orders_st, exceptions=exceptions_st)
def test_no_seller_reads_another_sellers_rows(client, db_session, orders, exceptions):
    s = db_session
    example = s.begin_nested()
    try:
        seed_carriers(s)
        wh, bins = make_warehouse(s)
        sellers = [make_seller(s) for _ in range(3)]
        skus = [make_sku(s, seller) for seller in sellers]
        for sku in skus:
            inventory.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=20)
        placed = []
        for who, qty, released in orders:
            order = create_order(s, seller_id=sellers[who].id, external_id=uuid.uuid4().hex[:12],
                                 ship_to={"name": "C", "zip": "90001"},
                                 lines=[{"sku_id": skus[who].id, "quantity": qty}])
            allocate_order(s, order.id)
            placed.append((order, released))
        to_release = [o.id for o, released in placed if released and o.status == "allocated"]
        if to_release:
            release_wave(s, wh.id, order_ids=to_release)
        for who, about_order in exceptions:
            mine = [o for o, _ in placed if o.seller_id == sellers[who].id]
            s.add(Task(warehouse_id=wh.id, kind="exception", reason="short_pick",
                       status="open", title="x", data={},
                       order_id=mine[0].id if about_order and mine else None,
                       sku_id=None if about_order and mine else skus[who].id))
        s.flush()
        users = [make_user(s, "seller", seller=seller) for seller in sellers]
        for seller, user in zip(sellers, users):
            headers = _headers(s, user)
            for url in LISTS:
                response = client.get(url, headers=headers)
                assert response.status_code == 200, (url, response.get_json())
                body = response.get_json()
                if isinstance(body, list):
                    body = {"items": body}
                groups = body["changes"].items() if "changes" in body else [
                    (url.split("/")[2].split("?")[0], body["items"])]
                for kind, rows in groups:
                    for row in rows:
                        if row.get("deleted"):
                            continue
                        owner = _owner_of(s, kind, row) if kind == "tasks" else \
                            row.get("seller_id", row.get("id") if kind == "sellers" else None)
                        assert owner == seller.id, (url, kind, row)
            # And the seller does see its own exceptions: the property is not vacuous.
            expected = {t.id for t in s.scalars(select(Task).where(Task.kind == "exception"))
                        if (t.sku_id and s.get(Sku, t.sku_id).seller_id == seller.id)
                        or (t.order_id and s.get(Order, t.order_id).seller_id == seller.id)}
            got = {t["id"] for t in client.get("/api/tasks?limit=200",
                                               headers=headers).get_json()["items"]}
            assert got == expected
    finally:
        example.rollback()
        s.expire_all()
