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


# -- a pick list always finishes (issue #8) ------------------------------------------

def _one_line_of_two(floor):
    """An order of 2 units from C-10-1 (5 there), the only line of its pick list."""
    o = place(floor, [(floor.skus[0], 2)])
    task = release_wave(floor.s, floor.wh.id)
    (line,) = task.lines
    assert line.bin.code == "C-10-1" and line.quantity == 2
    return o, task, line


def test_after_a_short_pick_the_rest_of_the_line_is_picked_and_the_list_finishes(floor):
    """The picker reports 1 of 2 short before taking any: the order goes back to
    allocation for that unit, yet the other unit is still picked from the list, and
    the list is done with the short line accounted; the unit allocated again goes
    out in the next wave, and the order ends picked."""
    o, task, line = _one_line_of_two(floor)
    short = scan(floor, "pick.confirm", task_line_id=line.id, bin="C-10-1",
                 sku=line.sku.code, qty=0, short=1)
    assert short["status"] == "conflict" and short["detail"]["line_open"] == 1
    assert o.status == "backordered" and task.status in ("open", "claimed")
    picked = scan(floor, "pick.confirm", task_line_id=line.id, bin="C-10-1",
                  sku=line.sku.code, qty=1)
    assert picked["status"] == "applied", picked
    assert task.status == "done"
    assert (line.quantity_done, line.quantity_short, line.open_quantity) == (1, 1, 0)
    # Nothing more to take or report on it.
    again = scan(floor, "pick.confirm", task_line_id=line.id, bin="C-10-1",
                 sku=line.sku.code, qty=0, short=1)
    assert again["status"] == "rejected"
    floor.s.commit()
    run_deferred()  # the backorder job: the short unit allocated again
    floor.s.refresh(o)
    assert o.status == "allocated"
    second = release_wave(floor.s, floor.wh.id)
    assert sum(l.quantity for l in second.lines) == 1
    for l in second.lines:
        assert scan(floor, "pick.confirm", task_line_id=l.id, bin=l.bin.code,
                    sku=l.sku.code, qty=1)["status"] == "applied"
    assert second.status == "done" and o.status == "picked"
    assert floor.s.scalar(select(func.sum(Stock.reserved))) == 0
    assert inventory.verify_ledger(floor.s) == []


def test_resolving_the_short_pick_closes_its_pick_list(client, floor, monkeypatch):
    """The picker reports 1 of 2 short and leaves the other: resolving the
    exception closes the line (the untaken unit goes back to allocation too), the
    pick list is done, and its detail says what was short."""
    from .helpers import token_headers
    # The backorder job is held back until the end: the test client runs queued jobs
    # after every request, and with 5 units still on record in C-10-1 it would
    # reserve them again at once, hiding what resolving itself released.
    asked = []
    monkeypatch.setattr("server.allocation.jobs.allocate_backorders", asked.append)
    o, task, line = _one_line_of_two(floor)
    short = scan(floor, "pick.confirm", task_line_id=line.id, bin="C-10-1",
                 sku=line.sku.code, qty=0, short=1)
    exception_id = short["detail"]["task_id"]
    floor.s.commit()
    h = token_headers(floor.s, floor.picker)
    before = client.get(f"/api/tasks/{task.id}", headers=h).get_json()
    assert before["lines"][0]["to_pick"] == 1
    assert before["lines"][0]["order_status"] == "backordered"
    resolved = client.post(f"/api/tasks/{exception_id}/resolve", headers=h, json={"note": "counted"})
    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json()["data"]["closed_short"][0]["units"] == 1
    after = client.get(f"/api/tasks/{task.id}", headers=h).get_json()
    assert after["status"] == "done"
    assert [(l["quantity_done"], l["quantity_short"], l["open_quantity"], l["to_pick"])
            for l in after["lines"]] == [(0, 2, 0, 0)]
    floor.s.expire_all()
    assert floor.s.scalar(select(func.sum(Stock.reserved))) == 0
    assert o.status == "backordered"
    # Resolving it again changes nothing.
    again = client.post(f"/api/tasks/{exception_id}/resolve", headers=h, json={"note": "x"})
    assert again.status_code == 200 and again.get_json()["data"]["note"] == "counted"
    assert again.get_json()["data"]["closed_short"] == resolved.get_json()["data"]["closed_short"]
    closed = resolved.get_json()["data"]["closed_short"][0]
    assert (closed["task_line_id"], closed["sku"], closed["units"]) == (line.id, line.sku.code, 1)
    assert inventory.verify_ledger(floor.s) == []
    # Both units went back to allocation: the job was asked for the SKU, and once it
    # runs the order is allocated again and the next wave lists both units.
    assert [line.sku_id] in asked
    monkeypatch.undo()
    from server.allocation.jobs import allocate_backorders
    allocate_backorders([line.sku_id])
    floor.s.expire_all()
    assert o.status == "allocated"
    assert sum(l.quantity for l in release_wave(floor.s, floor.wh.id).lines) == 2
    assert inventory.verify_ledger(floor.s) == []


def test_a_short_on_one_line_leaves_the_orders_other_lines_pickable(floor):
    """An order of two SKUs: the first stop is reported short entirely; the second
    stop of the same order is still picked, and the list finishes."""
    o = place(floor, [(floor.skus[2], 1), (floor.skus[1], 2)])
    task = release_wave(floor.s, floor.wh.id)
    first, second = task.lines
    assert scan(floor, "pick.confirm", task_line_id=first.id, bin=first.bin.code,
                sku=first.sku.code, qty=0, short=1)["status"] == "conflict"
    assert o.status == "backordered"
    result = scan(floor, "pick.confirm", task_line_id=second.id, bin=second.bin.code,
                  sku=second.sku.code, qty=2)
    assert result["status"] == "applied", result
    assert task.status == "done"
    assert inventory.verify_ledger(floor.s) == []


def test_a_line_that_can_no_longer_be_picked_is_closed_from_the_floor(client, floor):
    """An order on the list is cancelled while the picker walks: its line cannot be
    picked, so the device reports its units short and that closes it (no exception:
    nothing is missing), the rest of the list is still picked, and the list ends done.
    The pick list's detail says all along what is left and what can be taken."""
    from .helpers import token_headers
    a = place(floor, [(floor.skus[2], 1)])
    b = place(floor, [(floor.skus[0], 2)])
    task = release_wave(floor.s, floor.wh.id)
    first, last = task.lines
    assert (first.order_id, last.order_id) == (a.id, b.id)
    orders.cancel_order(floor.s, b, reason="buyer changed their mind")
    floor.s.commit()
    h = token_headers(floor.s, floor.picker)
    lines = client.get(f"/api/tasks/{task.id}", headers=h).get_json()["lines"]
    assert [(l["open_quantity"], l["to_pick"]) for l in lines] == [(1, 1), (2, 0)]
    # Taking what cannot be taken is still refused, naming the field.
    refused = scan(floor, "pick.confirm", task_line_id=last.id, bin=last.bin.code,
                   sku=last.sku.code, qty=1)
    assert refused["status"] == "rejected" and "allocation_id" in refused["detail"]["fields"]
    closed = scan(floor, "pick.confirm", task_line_id=last.id, bin=last.bin.code,
                  sku=last.sku.code, qty=0, short=2)
    assert closed["status"] == "applied", closed
    assert closed["detail"]["closed"] == 2 and closed["detail"]["line_open"] == 0
    assert floor.s.scalar(select(func.count(Task.id)).where(Task.kind == "exception")) == 0
    assert task.status in ("open", "claimed")
    assert scan(floor, "pick.confirm", task_line_id=first.id, bin=first.bin.code,
                sku=first.sku.code, qty=1)["status"] == "applied"
    assert task.status == "done" and a.status == "picked" and b.status == "cancelled"
    assert floor.s.scalar(select(func.sum(Stock.reserved))) == 0
    assert inventory.verify_ledger(floor.s) == []


def test_resolving_asks_for_a_short_note_and_a_pick_list_closes_by_hand(client, floor):
    """A note over 500 characters is refused naming `note`, changing nothing; a pick
    list resolved by hand closes every open line short and says so."""
    from .helpers import token_headers
    o, task, line = _one_line_of_two(floor)
    floor.s.commit()
    h = token_headers(floor.s, floor.picker)
    bad = client.post(f"/api/tasks/{task.id}/resolve", headers=h, json={"note": "x" * 501})
    assert bad.status_code == 422 and "note" in bad.get_json()["fields"]
    assert client.get(f"/api/tasks/{task.id}", headers=h).get_json()["status"] == "open"
    done = client.post(f"/api/tasks/{task.id}/resolve", headers=h, json={"note": "aisle shut"})
    assert done.status_code == 200
    assert [(c["task_line_id"], c["units"]) for c in done.get_json()["data"]["closed_short"]] \
        == [(line.id, 2)]
    after = client.get(f"/api/tasks/{task.id}", headers=h).get_json()
    assert after["status"] == "done"
    assert [(l["quantity_short"], l["open_quantity"]) for l in after["lines"]] == [(2, 0)]
    floor.s.expire_all()
    assert o.status in ("backordered", "allocated")
    assert inventory.verify_ledger(floor.s) == []
