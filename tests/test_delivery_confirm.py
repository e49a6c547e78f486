"""The driver's proof of delivery (issue #12, items 2 and 4): `delivery.confirm` and
`delivery.fail` through the sync protocol, photos and signatures by content hash,
exactly once per stop however many devices report it, and the dispatcher's decision
after a failed attempt."""
import hashlib
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server.carriers.demo import seed_carriers
from server.carriers.models import Parcel, Shipment, ShipmentEvent
from server.delivery import proof
from server.delivery.models import DeliveryAttempt, ProofFile, Route, RouteStop
from server.delivery.services import create_vehicle, own_fleet_service
from server.extensions import db
from server.orders.models import Order
from sync import engine

from .helpers import make_seller, make_user, make_warehouse, token_headers

DAY = date(2025, 6, 12)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 20


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _now_iso(minutes: int = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def mutation(i, name, **args):
    return {"id": i, "name": name, "args": args, "at": _now_iso()}


def van_with_stops(s, wh, seller, driver, n=2, *, with_order=False):
    """A dispatched route of DAY given to `driver`, with `n` stops of own-fleet
    shipments (each with a manual order when `with_order`)."""
    seed_carriers(s)
    service = own_fleet_service(s)
    van = create_vehicle(s, wh, name=f"Van {uuid.uuid4().hex[:6]}", capacity_volume_l=9000,
                         capacity_weight_kg=900, crew=2)
    route = Route(warehouse_id=wh.id, date=DAY, vehicle=van, status="planned",
                  driver_id=driver.id)
    s.add(route)
    for i in range(n):
        order_id = None
        if with_order:
            from server.models_base import utcnow
            from server.orders.store import insert_new_order
            order = insert_new_order(s, dict(
                seller_id=seller.id, channel="manual", account_key="pod",
                external_id=f"POD-{uuid.uuid4().hex[:8]}", placed_at=utcnow(),
                currency="USD", status="packed", fulfilled_by_channel=False,
                ship_to_name="Ann Lee", ship_to_zip="91761", ship_to_country="US"), [
                {"seller_id": seller.id, "sku_id": None, "quantity": 1,
                 "unit_price_cents": 0, "title": "Sofa"}])
            order_id = order.id
        number = "HC" + uuid.uuid4().hex[:14].upper()
        shipment = Shipment(seller_id=seller.id, warehouse_id=wh.id, service_id=service.id,
                            status="labelled", reference="POD", zone=1, cost_cents=0,
                            ship_date=DAY, order_id=order_id, tracking_number=number,
                            ship_to={"name": "Ann Lee", "address1": "1 Main St",
                                     "city": "Ontario", "state": "CA", "zip": "91761"})
        shipment.parcels.append(Parcel(seller_id=seller.id, warehouse_id=wh.id, number=1,
                                       tracking_number=number, weight_g=9000,
                                       length_mm=500, width_mm=400, height_mm=300,
                                       billable_weight_g=9000, cost_cents=0))
        s.add(shipment)
        s.flush()
        route.stops.append(RouteStop(warehouse_id=wh.id, date=DAY, sequence=i + 1,
                                     shipment_id=shipment.id, order_id=order_id,
                                     status="planned", latitude=34.06, longitude=-117.65,
                                     address=dict(shipment.ship_to)))
    s.flush()
    from server.delivery.services import set_route
    set_route(s, route, status="dispatched")
    s.flush()
    return route


@pytest.fixture
def day(db_session, world):
    route = van_with_stops(db_session, world.wh1, world.seller_a, world.users["driver1"])
    db_session.commit()
    return route


def _push(client, headers, device, mutations):
    answer = client.post("/api/sync/push", headers=headers,
                         json={"device_id": device, "mutations": mutations})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["results"]


def _upload(client, headers, body, content_type="image/png"):
    return client.put(f"/api/delivery/proofs/{sha(body)}", data=body, headers={
        **headers, "Content-Type": content_type})


def test_two_devices_confirming_one_stop_make_one_delivery(client, world, day, db_session):
    """When the driver's phone and a colleague's both confirm the same stop (one
    offline for an hour), is there one delivery, and do both get `applied` with the
    first one's data? Is the proof complete only once its files have arrived?"""
    driver = world.headers["driver1"]
    stop = day.stops[0]
    first = _push(client, driver, "van-phone-1", [mutation(
        1, "delivery.confirm", stop_id=stop.id, recipient_name="Ann Lee",
        photo_hashes=[sha(JPEG)], signature_hash=sha(PNG), lat=34.06, lng=-117.65,
        accuracy=8)])
    second = _push(client, driver, "van-phone-2", [mutation(
        1, "delivery.confirm", stop_id=stop.id, recipient_name="Someone Else",
        photo_hashes=[], signature_hash=sha(PNG))])
    assert first[0]["status"] == second[0]["status"] == "applied"
    assert second[0]["detail"] == first[0]["detail"]
    assert first[0]["detail"]["recipient_name"] == "Ann Lee"

    admin = world.headers["admin"]
    shown = client.get(f"/api/stops/{stop.id}/proof", headers=admin).get_json()
    assert shown["outcome"] == "delivered" and shown["complete"] is False
    assert sorted(shown["missing"]) == sorted([sha(JPEG), sha(PNG)])
    assert _upload(client, driver, JPEG, "image/jpeg").status_code == 200
    assert _upload(client, driver, PNG).status_code == 200
    assert _upload(client, driver, PNG).status_code == 200  # again: a no-op
    shown = client.get(f"/api/stops/{stop.id}/proof", headers=admin).get_json()
    assert shown["complete"] is True and shown["missing"] == []
    photo = client.get(f"/api/delivery/proofs/{sha(JPEG)}", headers=admin)
    assert photo.status_code == 200 and photo.data == JPEG

    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(DeliveryAttempt).where(
        DeliveryAttempt.stop_id == stop.id)) == 1
    events = db_session.scalars(select(ShipmentEvent.status).where(
        ShipmentEvent.shipment_id == stop.shipment_id)).all()
    assert events.count("delivered") == 1 and "out_for_delivery" in events
    assert db_session.get(Shipment, stop.shipment_id).status == "delivered"


def test_the_order_is_delivered_when_the_driver_confirms(client, world, db_session):
    """Does the driver's confirmation move the stop's order to delivered?"""
    route = van_with_stops(db_session, world.wh1, world.seller_a, world.users["driver1"], n=1,
                           with_order=True)
    db_session.commit()
    stop = route.stops[0]
    _push(client, world.headers["driver1"], "van-phone-9", [mutation(
        1, "delivery.confirm", stop_id=stop.id, recipient_name="Ann", signature_hash=sha(PNG))])
    order = client.get(f"/api/orders/{stop.order_id}", headers=world.headers["admin"])
    assert order.get_json()["status"] == "delivered"


def test_another_driver_cannot_report_the_stop(client, world, day, db_session):
    """Is a driver whose route it is not refused, naming stop_id, with nothing kept?"""
    other = make_user(db_session, "driver", warehouses=[world.wh1])
    headers = token_headers(db_session, other)
    results = _push(client, headers, "other-van-1", [mutation(
        1, "delivery.confirm", stop_id=day.stops[0].id, recipient_name="X",
        signature_hash=sha(PNG))])
    assert results[0]["status"] == "rejected"
    assert "stop_id" in str(results[0]["detail"])
    assert db_session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 0


@pytest.mark.parametrize("args, field", [
    ({"recipient_name": "", "signature_hash": "a" * 64}, "recipient_name"),
    ({"recipient_name": "Ann"}, "photo_hashes"),
    ({"recipient_name": "Ann", "photo_hashes": ["not-a-hash"]}, "photo_hashes"),
    ({"recipient_name": "Ann", "signature_hash": "a" * 64, "lat": 123}, "lat"),
    ({"recipient_name": "A" * 500, "signature_hash": "a" * 64}, "recipient_name"),
])
def test_a_bad_confirmation_is_rejected_naming_the_field(client, world, day, db_session,
                                                         args, field):
    """Is a malformed confirmation rejected with the field named, and nothing kept?"""
    results = _push(client, world.headers["driver1"], "van-bad-input", [mutation(
        1, "delivery.confirm", stop_id=day.stops[0].id, **args)])
    assert results[0]["status"] == "rejected", results
    assert field in str(results[0]["detail"])
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 0
    assert db_session.get(RouteStop, day.stops[0].id).status == "planned"


@pytest.mark.parametrize("body, claimed, field", [
    (b"GIF89a" + b"\0" * 20, None, "content_type"),
    (PNG, sha(JPEG), "sha256"),
    (b"", None, "body"),
    (PNG + b"\0" * proof.MAX_FILE_BYTES, None, "body"),
])
def test_a_bad_upload_is_refused_naming_the_field(client, world, body, claimed, field,
                                                  db_session):
    """Is an upload that is not an image, does not hash to its address, is empty or
    too big refused with a 4xx naming the field, and nothing stored?"""
    claimed = claimed or sha(body)
    answer = client.put(f"/api/delivery/proofs/{claimed}", data=body, headers={
        **world.headers["driver1"], "Content-Type": "image/png"})
    assert 400 <= answer.status_code < 500, answer.status_code
    assert field in answer.get_json()["fields"], answer.get_json()
    assert db_session.get(ProofFile, claimed) is None
    assert client.put("/api/delivery/proofs/xyz", data=PNG, headers=world.headers[
        "driver1"]).status_code == 422


def test_a_failed_attempt_waits_for_the_dispatcher_and_is_rescheduled(client, world, day,
                                                                      db_session):
    """After a failed attempt (no one home), is a confirm of the same attempt refused,
    and does the dispatcher's reschedule put the stop back, unassigned, for a later
    day as attempt 2 that the driver can then confirm?"""
    driver, admin = world.headers["driver1"], world.headers["admin"]
    stop = day.stops[1]
    failed = _push(client, driver, "van-failed", [mutation(
        1, "delivery.fail", stop_id=stop.id, reason="no_one_home", note="rang twice")])
    assert failed[0]["status"] == "applied" and failed[0]["detail"]["reason"] == "no_one_home"
    late = _push(client, driver, "van-failed", [mutation(
        2, "delivery.confirm", stop_id=stop.id, recipient_name="Ann", signature_hash=sha(PNG))])
    assert late[0]["status"] != "applied"
    assert client.post(f"/api/stops/{stop.id}/decision", headers=driver,
                       json={"decision": "reschedule"}).status_code == 403
    bad = client.post(f"/api/stops/{stop.id}/decision", headers=admin,
                      json={"decision": "reschedule", "date": DAY.isoformat()})
    assert bad.status_code == 422 and "date" in bad.get_json()["fields"]
    later = DAY + timedelta(days=1)
    ok = client.post(f"/api/stops/{stop.id}/decision", headers=admin,
                     json={"decision": "reschedule", "date": later.isoformat()})
    assert ok.status_code == 200, ok.get_json()
    db_session.expire_all()
    again = db_session.get(RouteStop, stop.id)
    assert (again.status, again.route_id, again.date, again.attempt) == \
        ("unassigned", None, later, 2)


def test_a_returned_stop_holds_its_order_with_the_reason(client, world, db_session):
    """Does a return after a failed attempt put the order in exception, saying why?"""
    route = van_with_stops(db_session, world.wh1, world.seller_a, world.users["driver1"], n=1,
                           with_order=True)
    db_session.commit()
    stop = route.stops[0]
    _push(client, world.headers["driver1"], "van-return", [mutation(
        1, "delivery.fail", stop_id=stop.id, reason="refused")])
    ok = client.post(f"/api/stops/{stop.id}/decision", headers=world.headers["admin"],
                     json={"decision": "return"})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["order_on_hold"] is True
    db_session.expire_all()
    order = db_session.get(Order, stop.order_id)
    assert "refused" in (order.hold_reason or "")


@pytest.mark.postgresql
def test_eight_devices_confirming_one_stop_at_once_on_postgresql(pg_app):
    """Eight devices confirm the same stop at the same moment, each with another
    recipient name: is there one attempt, one delivered event, and does every device
    get `applied` with the same data?"""
    with pg_app.app_context():
        s = db.session
        seller = make_seller(s)
        wh, _bins = make_warehouse(s, bins=["A-01-1"])
        driver = make_user(s, "driver", warehouses=[wh])
        route = van_with_stops(s, wh, seller, driver, n=1)
        s.commit()
        stop_id, driver_id, shipment_id = route.stops[0].id, driver.id, route.stops[0].shipment_id
        s.remove()
    barrier = threading.Barrier(8)
    answers, errors = [], []

    def device(n):
        from server.auth.models import User
        with pg_app.app_context():
            user = db.session.get(User, driver_id)
            barrier.wait()
            try:
                answer = engine.push_and_commit(db.session, user, f"pod-device-{n}", [mutation(
                    1, "delivery.confirm", stop_id=stop_id, recipient_name=f"Person {n}",
                    signature_hash=sha(PNG))])
                answers.append(answer["results"][0])
            except Exception as error:  # noqa: BLE001
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()
    threads = [threading.Thread(target=device, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(answers) == 8 and {a["status"] for a in answers} == {"applied"}
    assert len({str(sorted(a["detail"].items())) for a in answers}) == 1
    with pg_app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(DeliveryAttempt)
                        .where(DeliveryAttempt.stop_id == stop_id)) == 1
        assert s.scalar(select(func.count()).select_from(ShipmentEvent).where(
            ShipmentEvent.shipment_id == shipment_id,
            ShipmentEvent.status == "delivered")) == 1
        s.remove()


def test_the_tracking_page_shows_who_signed_and_the_photo(client, world, db_session):
    """Once the driver's confirmation and its photo have arrived, does the customer's
    tracking page say who signed (first name only) and show the photo, served by
    the page's token, while another order's token cannot fetch it?"""
    route = van_with_stops(db_session, world.wh1, world.seller_a, world.users["driver1"], n=2,
                           with_order=True)
    db_session.commit()
    stop, other = route.stops
    driver = world.headers["driver1"]
    _push(client, driver, "van-phone-page", [mutation(
        1, "delivery.confirm", stop_id=stop.id, recipient_name="Ann Lee",
        photo_hashes=[sha(JPEG)])])
    assert _upload(client, driver, JPEG, "image/jpeg").status_code == 200
    token = db_session.get(Order, stop.order_id).tracking_token
    page = client.get(f"/t/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ann" in html and "Lee" not in html
    assert f"/t/{token}/photo/{sha(JPEG)}" in html
    photo = client.get(f"/t/{token}/photo/{sha(JPEG)}")
    assert photo.status_code == 200 and photo.data == JPEG
    stranger = db_session.get(Order, other.order_id).tracking_token
    assert client.get(f"/t/{stranger}/photo/{sha(JPEG)}").status_code == 404


def test_the_drivers_words_on_the_timeline_read_in_the_customers_language(
        client, world, db_session):
    """Does a Chinese or Spanish customer read our own driver's timeline lines
    ("delivered, signed by", "attempt failed: no one home") in their language on the
    tracking page, not marked as English, and the seller's order history too?"""
    route = van_with_stops(db_session, world.wh1, world.seller_a, world.users["driver1"], n=2,
                           with_order=True)
    db_session.commit()
    done, failed = route.stops
    driver = world.headers["driver1"]
    _push(client, driver, "van-phone-words", [
        mutation(1, "delivery.confirm", stop_id=done.id, recipient_name="Ann Lee",
                 photo_hashes=[sha(JPEG)]),
        mutation(2, "delivery.fail", stop_id=failed.id, reason="no_one_home")])
    signed = client.get(f"/t/{db_session.get(Order, done.order_id).tracking_token}?lang=zh-CN")
    html = signed.get_data(as_text=True)
    assert "已送达，签收人：Ann" in html, html
    assert '<p class="trk-event-msg" lang="en">Delivered' not in html
    missed = client.get(f"/t/{db_session.get(Order, failed.order_id).tracking_token}?lang=es")
    assert "Intento de entrega fallido: no había nadie" in missed.get_data(as_text=True)
    history = client.get(f"/api/orders/{failed.order_id}?lang=zh-CN",
                         headers=world.headers["seller_a"]).get_json()
    assert any("投递未成功" in e["message"] for e in history["events"]), history["events"]
