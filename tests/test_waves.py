"""Waves and picking on the floor: pick lists in walking order, scans through the
sync protocol, wrong items refused, short picks sent back to allocation."""
import uuid

import pytest
from sqlalchemy import func, select

from server.allocation.services import allocate_order
from server.carriers.demo import seed_carriers
from server.catalog.services import set_kit_components
from server.inventory import services as inventory
from server.inventory.models import Stock
from server.jobs import run_deferred
from server.orders import services as orders
from server.warehouse.models import Task
from server.warehouse.services import release_wave
from sync import engine

from .helpers import make_seller, make_sku, make_user, make_warehouse

BINS = ("C-10-1", "A-02-1", "A-10-1", "B-01-1")  # walking order, B-01, C-10


@pytest.fixture
def floor(db_session):
    s = db_session
    seed_carriers(s)
    seller = make_seller(s)
    wh, bins = make_warehouse(s, bins=BINS)
    picker = make_user(s, "picker", warehouses=[wh])
    skus = [make_sku(s, seller, weight_g=500, length_mm=100, width_mm=100, height_mm=100)
            for _ in range(3)]
    by_code = {b.code: b for b in bins}
    inventory.receive(s, sku_id=skus[0].id, bin_id=by_code["C-10-1"].id, quantity=5)
    inventory.receive(s, sku_id=skus[1].id, bin_id=by_code["A-10-1"].id, quantity=5)
    inventory.receive(s, sku_id=skus[2].id, bin_id=by_code["A-02-1"].id, quantity=5)
    inventory.receive(s, sku_id=skus[0].id, bin_id=by_code["B-01-1"].id, quantity=1)

    class F:
        pass
    f = F()
    f.s, f.wh, f.bins, f.picker, f.skus, f.seller = s, wh, by_code, picker, skus, seller
    f.device = f"dev-{uuid.uuid4().hex[:10]}"
    f.next_id = 0
    return f


def place(f, lines):
    o = orders.create_order(f.s, seller_id=f.seller.id, external_id=uuid.uuid4().hex[:12],
                            ship_to={"zip": "90001"},
                            lines=[{"sku_id": sku.id, "quantity": q, "unit_price_cents": 2000}
                                   for sku, q in lines])
    return allocate_order(f.s, o.id)


def scan(f, name, **args):
    f.next_id += 1
    answer = engine.push(f.s, f.picker, f.device, [{"id": f.next_id, "name": name,
                                                     "args": args}])
    return answer["results"][0]


def test_a_wave_is_one_pick_list_in_walking_order(floor):
    """Are the highest-priority allocated orders released as one list whose stops
    follow the bins' walking order, and is an order never in two waves?"""
    a = place(floor, [(floor.skus[0], 2), (floor.skus[1], 1)])
    b = place(floor, [(floor.skus[2], 1)])
    task = release_wave(floor.s, floor.wh.id)
    assert [line.bin.code for line in task.lines] == ["A-02-1", "A-10-1", "C-10-1"]
    assert {a.status, b.status} == {"released"}
    assert sum(line.quantity for line in task.lines) == 4
    with pytest.raises(Exception):
        release_wave(floor.s, floor.wh.id)  # nothing left to release


def test_picking_a_wave_by_scans_finishes_the_task_and_the_orders(floor):
    """When every line is scanned (bin, then item), is the task done, are the
    orders picked, and did the stock leave the shelves?"""
    o = place(floor, [(floor.skus[0], 2), (floor.skus[2], 1)])
    task = release_wave(floor.s, floor.wh.id)
    for line in task.lines:
        result = scan(floor, "pick.confirm", task_line_id=line.id, bin=line.bin.code,
                      sku=line.sku.code, qty=line.quantity)
        assert result["status"] == "applied", result
    assert task.status == "done" and o.status == "picked"
    on_hand = floor.s.scalar(select(func.sum(Stock.on_hand)))
    assert on_hand == 16 - 3
    assert floor.s.scalar(select(func.sum(Stock.reserved))) == 0
    assert inventory.verify_ledger(floor.s) == []


def test_a_wrong_item_or_bin_is_refused_with_a_clear_message(floor):
    """Does scanning the wrong item or the wrong bin get refused, naming it, with
    nothing picked?"""
    place(floor, [(floor.skus[0], 1)])
    line = release_wave(floor.s, floor.wh.id).lines[0]
    wrong_item = scan(floor, "pick.confirm", task_line_id=line.id, bin=line.bin.code,
                      sku=floor.skus[1].code, qty=1)
    assert wrong_item["status"] == "rejected"
    assert "wrong item" in wrong_item["detail"]["fields"]["sku"][0]
    wrong_bin = scan(floor, "pick.confirm", task_line_id=line.id, bin="A-02-1",
                     sku=line.sku.code, qty=1)
    assert wrong_bin["status"] == "rejected" and "bin" in wrong_bin["detail"]["fields"]
    assert line.quantity_done == 0
    assert floor.s.scalar(select(func.sum(Stock.reserved))) == 1


def test_a_short_pick_goes_back_to_allocation(floor):
    """The picker finds 1 of 2 in C-10-1: is 1 picked, the other released, an
    exception raised for a supervisor, and the order reallocated from B-01-1?"""
    o = place(floor, [(floor.skus[0], 2)])
    line = release_wave(floor.s, floor.wh.id).lines[0]
    assert line.bin.code == "C-10-1" and line.quantity == 2
    result = scan(floor, "pick.confirm", task_line_id=line.id, bin="C-10-1",
                  sku=line.sku.code, qty=1, short=1)
    assert result["status"] == "conflict" and result["detail"]["short"] == 1
    exception = floor.s.get(Task, result["detail"]["task_id"])
    assert exception.reason == "short_pick" and exception.status == "open"
    assert o.status == "backordered"
    floor.s.commit()
    run_deferred()  # the backorder job that the released unit queued
    floor.s.refresh(o)
    assert o.status == "allocated"
    reserved_in = dict(floor.s.execute(select(Stock.bin_id, Stock.reserved)
                                       .where(Stock.reserved > 0)).all())
    assert reserved_in == {floor.bins["B-01-1"].id: 1}
    assert inventory.verify_ledger(floor.s) == []


def test_two_devices_racing_for_one_pick_line(floor):
    """Two pickers confirm the same last unit: does one apply and the other get a
    clear refusal, with the unit picked once?"""
    place(floor, [(floor.skus[2], 1)])
    line = release_wave(floor.s, floor.wh.id).lines[0]
    other = make_user(floor.s, "picker", warehouses=[floor.wh])
    first = engine.push(floor.s, floor.picker, "device-one-1", [{
        "id": 1, "name": "pick.confirm", "args": {"task_line_id": line.id, "bin": "A-02-1",
                                                  "sku": line.sku.code, "qty": 1}}])
    second = engine.push(floor.s, other, "device-two-2", [{
        "id": 1, "name": "pick.confirm", "args": {"task_line_id": line.id, "bin": "A-02-1",
                                                  "sku": line.sku.code, "qty": 1}}])
    assert first["results"][0]["status"] == "applied"
    assert second["results"][0]["status"] == "rejected"
    assert floor.s.scalar(select(func.sum(Stock.on_hand)).where(
        Stock.sku_id == floor.skus[2].id)) == 4


def test_a_kit_is_picked_by_its_components(floor):
    """Does a kit order's pick list name its components, and does picking them all
    mark the kit picked?"""
    kit = make_sku(floor.s, floor.seller, name="Kit")
    set_kit_components(floor.s, kit, [(floor.skus[1].id, 2), (floor.skus[2].id, 1)])
    o = place(floor, [(kit, 1)])
    task = release_wave(floor.s, floor.wh.id)
    assert sorted((l.sku_id, l.quantity) for l in task.lines) == sorted(
        [(floor.skus[1].id, 2), (floor.skus[2].id, 1)])
    for line in task.lines:
        assert scan(floor, "pick.confirm", task_line_id=line.id, bin=line.bin.code,
                    sku=line.sku.code, qty=line.quantity)["status"] == "applied"
    assert o.status == "picked" and task.status == "done"


def test_waves_through_the_api(client, floor):
    """Can a picker release a wave for its warehouse and read its lines in order,
    but not for another warehouse?"""
    from .helpers import token_headers
    place(floor, [(floor.skus[0], 1), (floor.skus[2], 1)])
    other_wh, _ = make_warehouse(floor.s, bins=("Z-01-1",))
    floor.s.commit()
    h = token_headers(floor.s, floor.picker)
    refused = client.post("/api/waves", headers=h, json={"warehouse_id": other_wh.id})
    assert refused.status_code == 404
    made = client.post("/api/waves", headers=h, json={"warehouse_id": floor.wh.id})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    # One unit: the first bin in walking order that holds it all (B-01-1).
    assert [l["bin_code"] for l in body["lines"]] == ["A-02-1", "B-01-1"]
    listed = client.get("/api/tasks?kind=pick&status=open", headers=h).get_json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]
    claimed = client.post(f"/api/tasks/{body['id']}/claim", headers=h)
    assert claimed.status_code == 200 and claimed.get_json()["status"] == "claimed"


def test_packing_checks_the_items_and_the_weight(client, floor):
    """At the pack station: is a parcel missing an item, holding an extra one, or
    weighing wrong refused by field with nothing labelled; and the right parcel
    packed with a label?"""
    from .helpers import token_headers
    o = place(floor, [(floor.skus[0], 2), (floor.skus[2], 1)])
    task = release_wave(floor.s, floor.wh.id)
    for line in task.lines:
        scan(floor, "pick.confirm", task_line_id=line.id, bin=line.bin.code,
             sku=line.sku.code, qty=line.quantity)
    floor.s.commit()
    h = token_headers(floor.s, floor.picker)
    url = f"/api/orders/{o.id}/pack"
    right = [{"sku_id": floor.skus[0].id, "quantity": 2}, {"sku_id": floor.skus[2].id,
                                                           "quantity": 1}]
    missing = client.post(url, headers=h, json={"warehouse_id": floor.wh.id,
                                                "items": right[:1], "weight_g": 1000})
    assert missing.status_code == 409 and "missing 1" in missing.get_json()["fields"]["items"][0]
    extra = client.post(url, headers=h, json={"warehouse_id": floor.wh.id, "weight_g": 1500,
                                              "items": right + [{"sku_id": floor.skus[1].id,
                                                                 "quantity": 1}]})
    assert extra.status_code == 409 and "extra 1" in extra.get_json()["fields"]["items"][0]
    heavy = client.post(url, headers=h, json={"warehouse_id": floor.wh.id, "items": right,
                                              "weight_g": 4000})
    assert heavy.status_code == 409 and "weight_g" in heavy.get_json()["fields"]
    assert o.shipments == [] and o.status == "picked"
    packed = client.post(url, headers=h, json={"warehouse_id": floor.wh.id, "items": right,
                                               "weight_g": 1530})
    assert packed.status_code == 200, packed.get_json()
    (shipment,) = packed.get_json()
    assert shipment["tracking_number"] and shipment["label_url"].endswith("label.pdf")
    floor.s.refresh(o)
    assert o.status == "packed"
