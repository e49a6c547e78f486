"""Receiving against an inbound shipment, and where to put the units away."""
import uuid

import pytest
from sqlalchemy import func, select

from server.inventory import services as inventory
from server.inventory.models import Stock
from server.inventory.warehouses import create_bins
from server.warehouse.models import Task
from server.warehouse.services import create_inbound, suggest_bin
from sync import engine

from .helpers import make_seller, make_sku, make_user, make_warehouse, token_headers


@pytest.fixture
def dock(db_session):
    s = db_session
    seller = make_seller(s)
    wh, bins = make_warehouse(s, bins=("A-01-1", "A-01-2", "B-01-1"))
    (recv,) = create_bins(s, wh, ["RECV-01"], kind="receiving")
    picker = make_user(s, "picker", warehouses=[wh])
    skus = [make_sku(s, seller) for _ in range(3)]

    class D:
        pass
    d = D()
    d.s, d.seller, d.wh, d.bins, d.recv, d.picker, d.skus = s, seller, wh, bins, recv, picker, skus
    d.device, d.n = f"dock-{uuid.uuid4().hex[:8]}", 0
    return d


def scan(d, **args):
    d.n += 1
    return engine.push(d.s, d.picker, d.device, [{"id": d.n, "name": "receive.scan",
                                                   "args": args}])["results"][0]


def test_receiving_a_container_records_over_short_and_damaged(dock):
    """Receiving an ASN of 5 A and 3 B: 6 A arrive, 2 B good and 1 damaged. Does
    closing it raise one exception per difference, with only good units in stock?"""
    asn = create_inbound(dock.s, seller_id=dock.seller.id, warehouse_id=dock.wh.id,
                         reference="CONT-7", lines=[{"sku_id": dock.skus[0].id, "quantity": 5},
                                                    {"sku_id": dock.skus[1].id, "quantity": 3}])
    for _ in range(6):
        assert scan(dock, bin="RECV-01", sku=dock.skus[0].code, qty=1,
                    inbound_id=asn.id)["status"] == "applied"
    assert scan(dock, bin="RECV-01", sku=dock.skus[1].code, qty=2,
                inbound_id=asn.id)["status"] == "applied"
    assert scan(dock, bin="RECV-01", sku=dock.skus[1].code, qty=1, inbound_id=asn.id,
                damaged=True)["status"] == "applied"
    stranger = scan(dock, bin="RECV-01", sku=dock.skus[2].code, qty=1, inbound_id=asn.id)
    assert stranger["status"] == "rejected" and "not on CONT-7" in \
        stranger["detail"]["fields"]["sku"][0]
    from server.warehouse.services import close_inbound
    raised = close_inbound(dock.s, asn)
    found = sorted((t.sku_id, tuple(sorted(k for k in t.data if k in
                                          ("over", "short", "damaged")))) for t in raised)
    assert found == [(dock.skus[0].id, ("over",)), (dock.skus[1].id, ("damaged", "short"))]
    on_hand = dict(dock.s.execute(select(Stock.sku_id, func.sum(Stock.on_hand))
                                  .group_by(Stock.sku_id)).all())
    assert on_hand == {dock.skus[0].id: 6, dock.skus[1].id: 2}
    closed = scan(dock, bin="RECV-01", sku=dock.skus[0].code, qty=1, inbound_id=asn.id)
    assert closed["status"] == "rejected"


def test_putaway_goes_where_the_sku_already_is_else_the_first_empty_bin(dock):
    """Is the suggestion the bin already holding most of the SKU, else the first empty
    storage bin in walking order, never the dock?"""
    a, b = dock.skus[0], dock.skus[1]
    inventory.receive(dock.s, sku_id=a.id, bin_id=dock.bins[1].id, quantity=4)
    inventory.receive(dock.s, sku_id=a.id, bin_id=dock.bins[2].id, quantity=9)
    assert suggest_bin(dock.s, dock.wh.id, a.id).code == "B-01-1"
    assert suggest_bin(dock.s, dock.wh.id, b.id).code == "A-01-1"
    answer = scan(dock, bin="RECV-01", sku=b.code, qty=2)
    assert answer["detail"]["suggested_bin"] == "A-01-1"
    moved = engine.push(dock.s, dock.picker, dock.device, [{
        "id": dock.n + 1, "name": "putaway.confirm", "args": {
            "from_bin": "RECV-01", "to_bin": "A-01-1", "sku": b.code, "qty": 2}}])
    assert moved["results"][0]["status"] == "applied"
    assert inventory.verify_ledger(dock.s) == []


def test_inbound_shipments_through_the_api(client, dock, db_session):
    """Can a seller announce a shipment of its own SKUs (not another's), and a picker
    of that warehouse close it?"""
    other_seller_sku = make_sku(db_session, make_seller(db_session))
    seller_user = make_user(db_session, "seller", seller=dock.seller)
    db_session.commit()
    h = token_headers(db_session, seller_user)
    body = {"warehouse_id": dock.wh.id, "reference": "ASN-1",
            "lines": [{"sku_id": dock.skus[0].id, "quantity": 10}]}
    made = client.post("/api/inbound", headers=h, json=body)
    assert made.status_code == 201, made.get_json()
    refused = client.post("/api/inbound", headers=h, json={
        **body, "lines": [{"sku_id": other_seller_sku.id, "quantity": 1}]})
    assert refused.status_code == 404 and "lines.0.sku_id" in refused.get_json()["fields"]
    picker = token_headers(db_session, dock.picker)
    closed = client.post(f"/api/inbound/{made.get_json()['id']}/close", headers=picker)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    tasks = client.get("/api/tasks?status=open", headers=picker).get_json()["items"]
    assert [t["reason"] for t in tasks] == ["receiving_difference"]
    assert db_session.scalar(select(func.count()).select_from(Task)) == 1
