"""Orders through the API, as a seller's integration and an admin would use them."""
import io

import pypdfium2 as pdfium
import zxingcpp

from server.carriers.demo import seed_carriers
from server.inventory import services as stock

from .helpers import make_sku, snapshot


def _order_body(w, external_id, qty=1, **extra):
    return {"external_id": external_id, "ship_to": {"name": "Ann Lee", "address1": "1 Main St",
                                                    "city": "Los Angeles", "state": "CA",
                                                    "zip": "90001"},
            "lines": [{"sku_id": w.sku_a.id, "quantity": qty, "unit_price_cents": 2599}],
            **extra}


def test_a_seller_creates_an_order_and_sees_why_it_went_where(client, world, db_session):
    """Does a seller's new order come back allocated, with its reason, lines and
    history, and its stock reserved?"""
    seed_carriers(db_session)
    response = client.post("/api/orders", headers=world.headers["seller_a"],
                           json=_order_body(world, "SHOP-1001", qty=2))
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "allocated" and order["seller_id"] == world.seller_a.id
    assert order["lines"][0]["allocated"][0]["quantity"] == 2
    assert order["allocation_reason"]["why"] and order["allocation_reason"]["candidates"]
    assert [e["kind"] for e in order["events"]][:2] == ["created", "allocation"]
    detail = client.get(f"/api/orders/{order['id']}", headers=world.headers["seller_a"])
    assert detail.get_json()["allocation_reason"] == order["allocation_reason"]
    listed = client.get("/api/orders?status=allocated", headers=world.headers["seller_a"])
    assert [o["id"] for o in listed.get_json()["items"]] == [order["id"]]


def test_a_seller_cannot_see_or_cancel_another_sellers_order(client, world, db_session):
    """Can seller B list, read or cancel seller A's order? (No, and nothing changes.)"""
    seed_carriers(db_session)
    order = client.post("/api/orders", headers=world.headers["seller_a"],
                        json=_order_body(world, "SHOP-2")).get_json()
    h = world.headers["seller_b"]
    assert client.get("/api/orders", headers=h).get_json()["items"] == []
    before = snapshot(db_session)
    assert client.get(f"/api/orders/{order['id']}", headers=h).status_code == 404
    assert client.post(f"/api/orders/{order['id']}/cancel", headers=h,
                       json={}).status_code == 404
    assert snapshot(db_session) == before
    # Nor order another seller's SKU.
    body = _order_body(world, "SHOP-3")
    refused = client.post("/api/orders", headers=h, json=body)
    assert refused.status_code == 404 and "lines.0.sku_id" in refused.get_json()["fields"]


def test_the_same_external_order_exists_once(client, world, db_session):
    """Is a second order with the same channel, account and external id refused?"""
    seed_carriers(db_session)
    first = client.post("/api/orders", headers=world.headers["seller_a"],
                        json=_order_body(world, "AMZ-1", channel="amazon"))
    again = client.post("/api/orders", headers=world.headers["seller_a"],
                        json=_order_body(world, "AMZ-1", channel="amazon"))
    assert first.status_code == 201 and again.status_code == 409
    assert "external_id" in again.get_json()["fields"]


def test_bad_orders_are_refused_by_field(client, world, db_session):
    """Are an unknown ZIP, a naive date, an empty order and a zero quantity refused,
    naming the field, with nothing stored?"""
    seed_carriers(db_session)
    before = snapshot(db_session)
    for body, field in [
        ({**_order_body(world, "X1"), "ship_to": {"zip": "00000"}}, "ship_to.zip"),
        ({**_order_body(world, "X2"), "ship_to": {"zip": "9000"}}, "ship_to.zip"),
        ({**_order_body(world, "X3"), "ship_by": "2026-12-01T10:00:00"}, "ship_by"),
        ({**_order_body(world, "X4"), "lines": []}, "lines"),
        ({**_order_body(world, "X5", qty=0)}, "lines.0.quantity"),
        ({**_order_body(world, "X6"), "channel": "alibaba"}, "channel"),
    ]:
        response = client.post("/api/orders", headers=world.headers["seller_a"], json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["fields"], (field, response.get_json())
    assert snapshot(db_session) == before


def test_an_order_goes_from_allocated_to_delivered_with_a_readable_label(client, world,
                                                                         db_session):
    """Does an order move released -> picked (stock leaves the shelf) -> packed (a
    labelled shipment whose barcode reads back) -> shipped -> delivered, each step
    in its history?"""
    seed_carriers(db_session)
    admin = world.headers["admin"]
    order = client.post("/api/orders", headers=world.headers["seller_a"],
                        json=_order_body(world, "SHOP-9", qty=3)).get_json()
    on_hand_before = sum(r["on_hand"] for r in client.get(
        f"/api/stock?sku_id={world.sku_a.id}", headers=admin).get_json()["items"])
    for step in ("released", "picked", "packed", "shipped", "delivered"):
        response = client.post(f"/api/orders/{order['id']}/advance", headers=admin,
                               json={"status": step})
        assert response.status_code == 200, (step, response.get_json())
        assert response.get_json()["status"] == step
    final = response.get_json()
    rows = client.get(f"/api/stock?sku_id={world.sku_a.id}", headers=admin).get_json()["items"]
    assert sum(r["on_hand"] for r in rows) == on_hand_before - 3
    assert sum(r["reserved"] for r in rows) == 0
    assert stock.verify_ledger(db_session) == []
    (shipment,) = final["shipments"]
    assert shipment["status"] == "delivered" and shipment["tracking_number"]
    assert [e["to_status"] for e in final["events"] if e["kind"] == "status"] == [
        "allocated", "released", "picked", "packed", "shipped", "delivered"]
    pdf = client.get(shipment["label_url"], headers=world.headers["seller_a"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    page = pdfium.PdfDocument(io.BytesIO(pdf.data))[0]
    image = page.render(scale=300 / 72).to_pil()
    decoded = {r.text for r in zxingcpp.read_barcodes(image)}
    assert shipment["tracking_number"] in decoded


def test_steps_out_of_order_are_refused(client, world, db_session):
    """Can an order be shipped before it is picked, or cancelled once picked? (No.)"""
    seed_carriers(db_session)
    admin = world.headers["admin"]
    order = client.post("/api/orders", headers=world.headers["seller_a"],
                        json=_order_body(world, "SHOP-10")).get_json()
    early = client.post(f"/api/orders/{order['id']}/advance", headers=admin,
                        json={"status": "shipped"})
    assert early.status_code == 409 and "status" in early.get_json()["fields"]
    for step in ("released", "picked"):
        client.post(f"/api/orders/{order['id']}/advance", headers=admin, json={"status": step})
    late = client.post(f"/api/orders/{order['id']}/cancel", headers=world.headers["seller_a"],
                       json={})
    assert late.status_code == 409


def test_a_kit_can_be_defined_and_ordered(client, world, db_session):
    """Can a seller make a bundle of two of its SKUs and order it, reserving the parts?"""
    seed_carriers(db_session)
    part = make_sku(db_session, world.seller_a, code="PART-2")
    stock.receive(db_session, sku_id=part.id, bin_id=world.bins1[1].id, quantity=5)
    kit = make_sku(db_session, world.seller_a, code="BUNDLE-1", name="Gift set")
    db_session.commit()
    h = world.headers["seller_a"]
    made = client.put(f"/api/skus/{kit.id}/components", headers=h, json={"components": [
        {"sku_id": world.sku_a.id, "quantity": 2}, {"sku_id": part.id, "quantity": 1}]})
    assert made.status_code == 200 and len(made.get_json()["components"]) == 2
    other = client.put(f"/api/skus/{kit.id}/components", headers=h, json={"components": [
        {"sku_id": world.sku_b.id, "quantity": 1}]})
    assert other.status_code == 404  # another seller's SKU cannot be a part
    body = _order_body(world, "KIT-1")
    body["lines"] = [{"sku_id": kit.id, "quantity": 2, "unit_price_cents": 5000}]
    order = client.post("/api/orders", headers=h, json=body).get_json()
    assert order["status"] == "allocated", order
    reserved = {r["sku_id"]: r["reserved"] for r in client.get(
        "/api/stock?in_stock=true&limit=200", headers=h).get_json()["items"] if r["reserved"]}
    assert reserved == {world.sku_a.id: 4, part.id: 2}


def test_seller_rules_through_the_api(client, world, db_session):
    """Can a seller set its own rules but not another seller's?"""
    h = world.headers["seller_a"]
    ok = client.patch(f"/api/sellers/{world.seller_a.id}/rules", headers=h,
                      json={"no_split": True, "allowed_warehouse_ids": [world.wh1.id]})
    assert ok.status_code == 200
    assert ok.get_json()["allowed_warehouse_ids"] == [world.wh1.id]
    assert client.patch(f"/api/sellers/{world.seller_b.id}/rules", headers=h,
                        json={"no_split": True}).status_code == 404


def test_order_changes_reach_the_sellers_socket_only(app, client, world, db_session):
    """Does a new order and its allocation reach its seller's Socket.IO room as
    order.updated, and no other seller's?"""
    from server.extensions import socketio

    from .helpers import login
    seed_carriers(db_session)
    login(client, world.users["seller_a"].email)
    mine = socketio.test_client(app, flask_test_client=client)
    other_client = app.test_client()
    login(other_client, world.users["seller_b"].email)
    theirs = socketio.test_client(app, flask_test_client=other_client)
    mine.get_received(), theirs.get_received()
    created = app.test_client().post("/api/orders", headers=world.headers["seller_a"],
                                     json=_order_body(world, "LIVE-1"))
    assert created.status_code == 201
    heard = [m["args"][0] for m in mine.get_received() if m["name"] == "order.updated"]
    assert heard and {h["order_id"] for h in heard} == {created.get_json()["id"]}
    assert heard[-1]["status"] == "allocated"
    assert [m for m in theirs.get_received() if m["name"] == "order.updated"] == []
