"""Tracking events (issue #11, item 2): the aggregator's tracker updates through the
real signed webhook and through the polling job against the fake aggregator (a
real local HTTP server, driven by the real `easypost` client), on both backends."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from server.allocation.services import allocate_order
from server.carriers import tracking
from server.carriers.models import Shipment, ShipmentEvent
from server.jobs.clock import Clock
from server.orders import fulfilment
from server.orders.models import Order
from server.orders.services import create_order

from . import test_carrier_gateway as gateway_tests

# The fake aggregator (one real server per module) and wh1 labelling through it.
aggregator_server = gateway_tests.aggregator_server
aggregator = gateway_tests.aggregator
ep_warehouse = gateway_tests.ep_warehouse

SHIP_TO = {"name": "Jane Doe", "address1": "1 Main St", "city": "Los Angeles",
           "state": "CA", "zip": "90001"}


def _at(hours: float) -> str:
    """A carrier time `hours` after now (the shipment ships today)."""
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shipped_order(db_session, world, number="TRK-1") -> tuple[Order, Shipment]:
    """An order of seller A, allocated, picked, packed (its label bought at the fake
    aggregator from wh1) and shipped: the real flow."""
    order = create_order(db_session, seller_id=world.seller_a.id, external_id=number,
                         lines=[{"sku_id": world.sku_a.id, "quantity": 1,
                                 "unit_price_cents": 1000}], ship_to=SHIP_TO)
    allocate_order(db_session, order.id)
    for step in ("released", "picked", "packed", "shipped"):
        fulfilment.STEPS[step](db_session, order)
        db_session.commit()
    (shipment,) = order.shipments
    assert shipment.provider == "easypost" and shipment.warehouse_id == world.wh1.id
    return order, shipment


def url(world) -> str:
    return f"/api/carriers/easypost/webhook/{world.wh1.id}"


def post(client, aggregator, world, tracker, secret=None, description="tracker.updated"):
    body, headers = aggregator.webhook(aggregator.tracker_event(tracker, description), secret)
    return client.post(url(world), data=body, headers=headers)


def events_of(db_session, shipment) -> list[ShipmentEvent]:
    return db_session.scalars(select(ShipmentEvent)
                              .where(ShipmentEvent.shipment_id == shipment.id)
                              .order_by(ShipmentEvent.occurred_at)).all()


def test_duplicate_and_out_of_order_events_make_one_timeline(client, db_session, world,
                                                            ep_warehouse, aggregator):
    """Tracker updates through the signed webhook, the delivered one first, then an
    older in-transit one, then everything again: is there one timeline in the
    carrier's order, the shipment delivered (the late older event never moves it
    back), the order delivered once, and the timeline on GET /api/shipments/<id>?"""
    order, shipment = shipped_order(db_session, world)
    d = aggregator.detail
    transit = d("in_transit", _at(1), "Departed facility", "Ontario", "CA")
    out = d("out_for_delivery", _at(5), "Out for delivery", "Los Angeles", "CA")
    delivered = d("delivered", _at(7), "Delivered, front door", "Los Angeles", "CA")
    est = _at(8)
    latest = aggregator.script_tracker(shipment.tracking_number, [out, delivered],
                                       est_delivery_date=est)
    answer = post(client, aggregator, world, latest)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["added"] == 2
    assert db_session.get(Order, order.id).status == "delivered"
    older = aggregator.script_tracker(shipment.tracking_number, [transit])
    assert post(client, aggregator, world, older).status_code == 200
    everything = aggregator.script_tracker(shipment.tracking_number,
                                           [transit, out, delivered], est_delivery_date=est)
    for _ in range(2):
        again = post(client, aggregator, world, everything)
        assert again.status_code == 200 and again.get_json()["added"] == 0

    db_session.expire_all()
    timeline = events_of(db_session, shipment)
    assert [e.status for e in timeline] == ["in_transit", "out_for_delivery", "delivered"]
    assert all(e.source == "webhook" for e in timeline)
    assert timeline[0].location == "Ontario, CA" and timeline[2].message.startswith("Delivered")
    shipment = db_session.get(Shipment, shipment.id)
    assert shipment.status == "delivered"
    assert shipment.delivery_date.isoformat() == est[:10]
    order = db_session.get(Order, order.id)
    assert order.status == "delivered"
    assert sum(1 for e in order.events if e.to_status == "delivered") == 1
    read = client.get(f"/api/shipments/{shipment.id}", headers=world.headers["seller_a"])
    assert read.status_code == 200
    assert [e["status"] for e in read.get_json()["events"]] == \
        ["in_transit", "out_for_delivery", "delivered"]
    assert client.get(f"/api/shipments/{shipment.id}",
                      headers=world.headers["seller_b"]).status_code == 404


def test_in_transit_and_failed_attempt_are_told_on_the_order(client, db_session, world,
                                                            ep_warehouse, aggregator):
    """Do in-transit and a failed attempt leave the order shipped, with a history line
    each, and a return to sender turn it into an exception?"""
    order, shipment = shipped_order(db_session, world)
    d = aggregator.detail
    steps = [d("in_transit", _at(1), "Arrived"), d("failure", _at(2), "No one home")]
    post(client, aggregator, world, aggregator.script_tracker(shipment.tracking_number, steps))
    order = db_session.get(Order, order.id)
    assert order.status == "shipped"
    notes = [e.message for e in order.events if e.kind == "tracking"]
    assert len(notes) == 1 and "delivery attempt failed" in notes[0]
    steps.append(d("return_to_sender", _at(3), "Returning to sender"))
    post(client, aggregator, world, aggregator.script_tracker(shipment.tracking_number, steps))
    db_session.expire_all()
    assert db_session.get(Shipment, shipment.id).status == "returned"
    assert db_session.get(Order, order.id).status == "exception"


@pytest.mark.parametrize("secret, signed", [("wrong secret", True), (None, False)])
def test_a_bad_or_missing_signature_is_refused_and_nothing_stored(
        client, db_session, world, ep_warehouse, aggregator, secret, signed):
    """A tracker update signed with another secret, or not signed at all: is it 401,
    with no timeline line, and the shipment and order unchanged?"""
    order, shipment = shipped_order(db_session, world)
    tracker = aggregator.script_tracker(
        shipment.tracking_number, [aggregator.detail("delivered", _at(3), "Delivered")])
    body, headers = aggregator.webhook(aggregator.tracker_event(tracker), secret)
    if not signed:
        headers.pop("X-Hmac-Signature")
    answer = client.post(url(world), data=body, headers=headers)
    assert answer.status_code == 401
    db_session.expire_all()
    assert events_of(db_session, shipment) == []
    assert db_session.get(Shipment, shipment.id).status == "shipped"
    assert db_session.get(Order, order.id).status == "shipped"
    # Another warehouse's door (no account, no secret) refuses it as well.
    other = client.post(f"/api/carriers/easypost/webhook/{world.wh2.id}", data=body,
                        headers=aggregator.webhook(aggregator.tracker_event(tracker))[1])
    assert other.status_code == 401


@pytest.mark.parametrize("body", [
    b"{not json", b"[1, 2]",
    b'{"description": "tracker.updated", "result": {"tracking_details": 3}}',
    b'{"description": "tracker.updated", "result": "x"}'])
def test_a_malformed_body_is_a_4xx_not_a_500(client, db_session, world, ep_warehouse,
                                             aggregator, body):
    """A signed body that is not JSON, not an event, or not a tracker: is it refused
    with a 4xx (never a 500) and nothing stored?"""
    before = db_session.scalar(select(func.count()).select_from(ShipmentEvent))
    headers = {"Content-Type": "application/json", "X-Hmac-Signature": aggregator.sign(body)}
    answer = client.post(url(world), data=body, headers=headers)
    assert 400 <= answer.status_code < 500, answer.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(ShipmentEvent)) == before


def test_other_events_are_acknowledged_and_ignored(client, db_session, world, ep_warehouse,
                                                   aggregator):
    """Is a signed batch.created event answered 200 and ignored?"""
    body, headers = aggregator.webhook({"object": "Event", "description": "batch.created",
                                        "result": {}})
    answer = client.post(url(world), data=body, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"


def test_an_event_from_a_recycled_numbers_earlier_life_is_not_attached(
        client, db_session, world, ep_warehouse, aggregator):
    """A carrier reused a tracking number: its events from before today's shipment
    shipped belong to the earlier parcel. Are they left out of the timeline, while
    the new shipment's own events attach to it?"""
    order, shipment = shipped_order(db_session, world)
    d = aggregator.detail
    old = d("delivered", _at(-24 * 40), "Delivered (another parcel, last month)")
    new = d("in_transit", _at(1), "Departed facility")
    tracker = aggregator.script_tracker(shipment.tracking_number, [old])
    answer = post(client, aggregator, world, tracker)
    assert answer.status_code == 200 and answer.get_json()["matched"] is False
    assert db_session.get(Order, order.id).status == "shipped"
    tracker = aggregator.script_tracker(shipment.tracking_number, [old, new])
    assert post(client, aggregator, world, tracker).get_json()["added"] == 1
    db_session.expire_all()
    assert [e.status for e in events_of(db_session, shipment)] == ["in_transit"]
    assert db_session.get(Shipment, shipment.id).status == "in_transit"
    assert db_session.get(Order, order.id).status == "shipped"


def test_the_poll_job_fetches_trackers_from_the_aggregator(app, db_session, world,
                                                          ep_warehouse, aggregator):
    """A shipment with no event for TRACKER_POLL_SECONDS: does the clock's tick run
    poll_trackers, which asks the fake through the easypost client and records what
    it says (source poll), and is a delivered shipment not asked again?"""
    order, shipment = shipped_order(db_session, world)
    d = aggregator.detail
    aggregator.script_tracker(shipment.tracking_number,
                              [d("in_transit", _at(1), "Departed"),
                               d("delivered", _at(4), "Delivered")])
    before = app.config.get("TRACKER_POLL_SECONDS", 3600)
    app.config["TRACKER_POLL_SECONDS"] = 0
    try:
        did = Clock(app).tick()
        assert did.get("trackers") is True
        asked = aggregator.calls("/v2/trackers")
        assert len(asked) == 1
        assert asked[0]["body"] == {"tracker": {"tracking_code": shipment.tracking_number,
                                                "carrier": shipment.service.carrier.code}}
        db_session.expire_all()
        timeline = events_of(db_session, shipment)
        assert [(e.status, e.source) for e in timeline] == [("in_transit", "poll"),
                                                            ("delivered", "poll")]
        assert db_session.get(Order, order.id).status == "delivered"
        assert tracking.trackers_due(db_session) == []
        assert tracking.poll_trackers() == []
        assert len(aggregator.calls("/v2/trackers")) == 1
    finally:
        app.config["TRACKER_POLL_SECONDS"] = before


def test_the_timeline_is_append_only_in_the_database(client, db_session, world, ep_warehouse,
                                                     aggregator):
    """Is an UPDATE or a DELETE of a timeline line refused by the database itself?"""
    _order, shipment = shipped_order(db_session, world)
    post(client, aggregator, world, aggregator.script_tracker(
        shipment.tracking_number, [aggregator.detail("in_transit", _at(1), "Departed")]))
    assert len(events_of(db_session, shipment)) == 1
    for sql in ("UPDATE shipment_events SET message = 'rewritten'",
                "DELETE FROM shipment_events"):
        savepoint = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db_session.execute(text(sql))
        savepoint.rollback()
    assert len(events_of(db_session, shipment)) == 1


def test_the_fake_posts_a_signed_tracker_webhook_to_a_url(aggregator):
    """Does fake.post_webhook deliver the event over HTTP with a signature that
    easypost's validate_webhook accepts?"""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import easypost
    got = {}

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def do_POST(self):
            got["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            got["headers"] = dict(self.headers)
            self.send_response(204)
            self.end_headers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tracker = aggregator.script_tracker("1ZHOOK", [aggregator.detail("in_transit", _at(1))])
        status, _ = aggregator.post_webhook(
            f"http://127.0.0.1:{server.server_address[1]}/hook",
            aggregator.tracker_event(tracker))
    finally:
        server.shutdown()
        server.server_close()
    assert status == 204
    event = easypost.util.validate_webhook(got["body"], got["headers"], "whsec_test")
    assert event["description"] == "tracker.updated"
    assert event["result"]["tracking_code"] == "1ZHOOK"
