"""The carrier gateway (issue #11, item 1): labels bought through the real `easypost`
client against the fake aggregator (a real local HTTP server), the built-in provider
unchanged for warehouses without an account, write-only credentials, void, manifest,
and aggregator failures as clear 502/503 errors that store nothing."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import easypost
import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from server.carriers import gateway, labels, rating
from server.carriers.demo import seed_carriers
from server.carriers.fake_aggregator import DEFAULT_RATES, FakeAggregator
from server.carriers.models import CarrierAccount, Shipment
from server.carriers.services import (
    create_shipment,
    manifest,
    set_carrier_account,
    ship_from_address,
    void_shipment,
)
from server.errors import Conflict

from .test_carriers import carriers_api  # noqa: F401  (the fixture, for usefixtures)

KEY = "EZTK_test_secret_key_123"
SHIP_TO = {"name": "Jane Doe", "address1": "350 Fifth Avenue", "address2": "Floor 21",
           "city": "New York", "state": "NY", "zip": "10118"}
PARCEL = {"weight_g": 1200, "length_mm": 300, "width_mm": 200, "height_mm": 150}
# Monday 2 March 2026, 10:00 in Ontario CA: USPS (5 business days) arrives Monday
# 9 March, UPS Ground (3) Thursday 5 March, UPS Next Day Air (1) Tuesday 3 March.
AT = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
PROMISE = date(2026, 3, 6)


@pytest.fixture(scope="module")
def aggregator_server():
    fake = FakeAggregator(api_key=KEY, webhook_secret="whsec_test").start()
    yield fake
    fake.stop()


@pytest.fixture
def aggregator(aggregator_server, app):
    aggregator_server.reset()
    aggregator_server.rate_specs = [dict(r) for r in DEFAULT_RATES]
    app.config["CARRIER_GATEWAY_TIMEOUT_S"] = 2
    yield aggregator_server
    app.config.pop("CARRIER_GATEWAY_TIMEOUT_S", None)


@pytest.fixture
def ep_warehouse(db_session, world, aggregator):
    """wh1 labels through the fake aggregator."""
    set_carrier_account(db_session, world.wh1, api_key=KEY, api_base=aggregator.url,
                        webhook_secret="whsec_test")
    db_session.commit()
    return world.wh1


def ship(db_session, world, warehouse, **extra):
    extra.setdefault("parcels", [PARCEL])
    return create_shipment(db_session, warehouse=warehouse, seller_id=world.seller_a.id,
                           ship_to=SHIP_TO, ship_at=AT, reference="TEST:1001", **extra)


def shipment_count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Shipment))


def test_a_label_bought_at_the_aggregator_is_its_own_and_the_cheapest_that_keeps_the_promise(
        db_session, world, ep_warehouse, aggregator):
    """Through the real easypost client: does the shipment carry the aggregator's
    tracking number and 4x6 PDF label, and is the rate bought UPS Ground ($8.40, in by
    Thursday), not the cheaper USPS ($6.10) that arrives after the promised Friday?"""
    shipment = ship(db_session, world, ep_warehouse, promised_by=PROMISE)
    created = aggregator.calls("/v2/shipments")[0]
    assert created["authorization"] == f"Bearer {KEY}"
    sent = created["body"]["shipment"]
    # Inches and ounces: 1200 g = 42.3 oz, 300 x 200 x 150 mm = 11.8 x 7.9 x 5.9 in.
    assert sent["parcel"] == {"weight": 42.3, "length": 11.8, "width": 7.9, "height": 5.9}
    assert sent["to_address"]["street1"] == "350 Fifth Avenue"
    assert sent["to_address"]["zip"] == "10118" and sent["from_address"]["zip"] == "91761"
    assert sent["options"] == {"label_format": "PDF", "label_size": "4x6"}

    at_fake = aggregator.shipments[shipment.provider_shipment_id]
    ups_ground = next(r for r in at_fake["rates"] if r["service"] == "Ground")
    buy = aggregator.calls("/buy")
    assert len(buy) == 1 and buy[0]["body"] == {"rate": {"id": ups_ground["id"]}}
    assert shipment.provider == "easypost"
    assert shipment.tracking_number == at_fake["tracking_code"]
    assert shipment.parcels[0].tracking_number == at_fake["tracking_code"]
    assert shipment.label_pdf == at_fake["label"]
    assert shipment.service.code == "UPS_GROUND"
    assert shipment.cost_cents == 840
    assert shipment.delivery_date == date(2026, 3, 5) <= PROMISE
    assert shipment.status == "labelled"
    doc = pdfium.PdfDocument(shipment.label_pdf)
    try:
        assert len(doc) == 1 and tuple(round(x) for x in doc[0].get_size()) == (288, 432)
    finally:
        doc.close()
    # The cheapest overall would have missed the promise.
    usps = next(r for r in at_fake["rates"] if r["carrier"] == "USPS")
    assert float(usps["rate"]) < 8.40 and rating.add_business_days(date(2026, 3, 2), 5) > PROMISE


def test_without_a_promise_the_cheapest_and_a_persons_pick_wins(db_session, world,
                                                                 ep_warehouse, aggregator):
    """With no promise is the cheapest rate bought, and with `service` named is that
    one bought even though it costs more? A delivery_date from the aggregator is used
    as given."""
    aggregator.rate_specs[2]["delivery_date"] = "2026-03-03T23:59:00Z"
    cheapest = ship(db_session, world, ep_warehouse)
    assert (cheapest.service.code, cheapest.cost_cents) == ("USPS_GROUND_ADVANTAGE", 610)
    picked = ship(db_session, world, ep_warehouse, service="UPS_NEXT_DAY_AIR",
                  promised_by=PROMISE)
    assert (picked.service.code, picked.cost_cents) == ("UPS_NEXT_DAY_AIR", 3190)
    assert picked.delivery_date == date(2026, 3, 3)
    assert picked.tracking_number != cheapest.tracking_number
    # An aggregator's service is recorded inactive: the built-in rate shop never offers it.
    assert picked.service.active is False


@pytest.mark.usefixtures("carriers_api")
def test_a_voided_label_is_voided_at_the_aggregator(client, db_session, world, ep_warehouse,
                                                    aggregator):
    """Does POST /api/shipments/<id>/void refund the label at the aggregator and cancel
    the shipment, refuse a second void (409) and another seller (404)?"""
    shipment = ship(db_session, world, ep_warehouse, promised_by=PROMISE)
    db_session.commit()
    url = f"/api/shipments/{shipment.id}/void"
    assert client.post(url, headers=world.headers["seller_b"]).status_code == 404
    assert aggregator.calls("/refund") == []
    answer = client.post(url, headers=world.headers["seller_a"])
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "cancelled"
    assert answer.get_json()["provider"] == "easypost"
    refunds = aggregator.calls("/refund")
    assert [r["path"] for r in refunds] == \
        [f"/v2/shipments/{shipment.provider_shipment_id}/refund"]
    assert aggregator.shipments[shipment.provider_shipment_id]["refund_status"] == "submitted"
    again = client.post(url, headers=world.headers["seller_a"])
    assert again.status_code == 409 and "status" in again.get_json()["fields"]
    assert len(aggregator.calls("/refund")) == 1


def test_a_shipped_label_cannot_be_voided(db_session, world, ep_warehouse, aggregator):
    """Is a shipment that has left the dock refused with a Conflict, nothing refunded?"""
    shipment = ship(db_session, world, ep_warehouse)
    shipment.status = "shipped"
    with pytest.raises(Conflict):
        void_shipment(db_session, shipment)
    assert aggregator.calls("/refund") == []


@pytest.mark.usefixtures("carriers_api")
def test_a_warehouse_without_credentials_labels_as_before(db_session, world, aggregator):
    """Without an account, is the shipment the built-in one: the rate card's cheapest
    service, Haicang's own tracking number, the same label bytes labels.py draws,
    and not one request to the aggregator?"""
    seed_carriers(db_session)
    db_session.commit()
    assert isinstance(gateway.provider_for(db_session, world.wh1), gateway.BuiltInProvider)
    shipment = ship(db_session, world, world.wh1, promised_by=PROMISE)
    expected = rating.shop(db_session, world.wh1, SHIP_TO["zip"], [PARCEL], PROMISE, AT).chosen
    assert shipment.provider == "builtin" and shipment.provider_shipment_id is None
    assert shipment.service_id == expected.service_id
    assert shipment.cost_cents == expected.cost_cents
    assert shipment.delivery_date == expected.delivery_date
    assert shipment.tracking_number == labels.tracking_number_for(shipment.service,
                                                                  shipment.id, 1)
    sender = ship_from_address(db_session, world.wh1, world.seller_a.id)
    assert shipment.label_pdf == labels.render_labels(shipment, sender, shipment.ship_to)
    form = manifest(db_session, world.wh1, shipment.service.carrier.code)
    assert form.provider == "builtin" and form.tracking_numbers == [shipment.tracking_number]
    assert form.document.startswith(b"%PDF")
    void_shipment(db_session, shipment)  # nothing to refund: just cancelled
    assert shipment.status == "cancelled"
    assert aggregator.requests == []


@pytest.mark.usefixtures("carriers_api")
def test_the_api_never_returns_the_api_key(client, db_session, world, aggregator):
    """Can an admin set, read and clear a warehouse's aggregator account, with the key
    and webhook secret never in any answer, and may nobody else touch it?"""
    url = f"/api/warehouses/{world.wh1.id}/carrier-account"
    body = {"provider": "easypost", "api_key": KEY, "api_base": aggregator.url,
            "webhook_secret": "whsec_never_shown"}
    for who in ("seller_a", "picker1"):
        assert client.put(url, json=body, headers=world.headers[who]).status_code == 403
        assert client.get(url, headers=world.headers[who]).status_code == 403
    def provider():
        answer = client.get(url, headers=world.headers["admin"])
        assert answer.status_code == 200
        return answer.get_json()["provider"], answer.get_json()["has_api_key"]
    assert provider() == ("builtin", False)
    answers = [client.put(url, json=body, headers=world.headers["admin"]),
               client.get(url, headers=world.headers["admin"])]
    for answer in answers:
        assert answer.status_code == 200, answer.get_json()
        assert KEY not in answer.get_data(as_text=True)
        assert "whsec_never_shown" not in answer.get_data(as_text=True)
        assert answer.get_json() == {**answer.get_json(), "has_api_key": True,
                                     "has_webhook_secret": True, "provider": "easypost",
                                     "api_base": aggregator.url}
        assert "api_key" not in answer.get_json()
    stored = db_session.scalar(select(CarrierAccount)
                               .where(CarrierAccount.warehouse_id == world.wh1.id))
    assert stored.api_key == KEY
    bad = client.put(url, json={"api_key": ""}, headers=world.headers["admin"])
    assert bad.status_code == 422 and KEY not in bad.get_data(as_text=True)
    spec = client.get("/api/openapi.json").get_data(as_text=True)
    assert KEY not in spec
    assert client.delete(url, headers=world.headers["admin"]).status_code == 204
    assert provider() == ("builtin", False)
    assert isinstance(gateway.provider_for(db_session, world.wh1), gateway.BuiltInProvider)


@pytest.mark.parametrize("status, match, error_status, code", [
    (500, "/v2/shipments", 503, "carrier_unavailable"),   # rating fails
    (500, "/buy", 503, "carrier_unavailable"),            # buying fails after rating
    (422, "/buy", 502, "carrier_rejected"),
    ("timeout", "/v2/shipments", 503, "carrier_unavailable"),
])
def test_an_aggregator_failure_is_a_clear_error_and_stores_no_shipment(
        db_session, world, ep_warehouse, aggregator, status, match, error_status, code):
    """Does a 500, a 422 or a timeout from the aggregator give a 503/502 DomainError
    (not a 500) and leave no shipment, no parcel and no number behind?"""
    before = shipment_count(db_session)
    aggregator.fail(status, match=match, delay=3)
    with pytest.raises((gateway.CarrierUnavailable, gateway.CarrierRejected)) as error:
        ship(db_session, world, ep_warehouse, promised_by=PROMISE)
    assert (error.value.status, error.value.code) == (error_status, code)
    assert error.value.to_dict()["error"] == code
    assert shipment_count(db_session) == before
    # The next attempt, with the aggregator well again, labels.
    assert ship(db_session, world, ep_warehouse).provider == "easypost"
    assert shipment_count(db_session) == before + 1


def test_a_label_that_cannot_be_stored_is_voided_at_the_aggregator(db_session, world,
                                                                    ep_warehouse, aggregator):
    """When the aggregator sells a tracking number another shipment already has, is
    the purchase refused with a Conflict, nothing stored, and the label just bought
    voided there rather than left to be paid for?"""
    first = ship(db_session, world, ep_warehouse)
    before = shipment_count(db_session)
    aggregator.next_tracking_codes = [first.tracking_number]
    with pytest.raises(Conflict) as error:
        ship(db_session, world, ep_warehouse)
    assert "tracking_number" in error.value.fields
    assert shipment_count(db_session) == before
    (refund,) = aggregator.calls("/refund")
    orphan = refund["path"].split("/")[3]
    assert orphan != first.provider_shipment_id
    assert aggregator.shipments[orphan]["refund_status"] == "submitted"
    assert aggregator.shipments[first.provider_shipment_id]["refund_status"] is None


def test_the_end_of_day_manifest_is_a_scan_form_at_the_aggregator(db_session, world,
                                                                  ep_warehouse, aggregator):
    """Does the UPS manifest list only the labelled UPS shipments, as a scan form made
    at the aggregator with its URL?"""
    first = ship(db_session, world, ep_warehouse, promised_by=PROMISE)
    second = ship(db_session, world, ep_warehouse, service="UPS_NEXT_DAY_AIR")
    ship(db_session, world, ep_warehouse)  # USPS: not on the UPS form
    form = manifest(db_session, ep_warehouse, "UPS")
    assert form.provider == "easypost" and form.provider_id in aggregator.scan_forms
    assert sorted(form.tracking_numbers) == sorted([first.tracking_number,
                                                    second.tracking_number])
    assert form.url.endswith(f"/forms/{form.provider_id}.pdf")
    sent = aggregator.calls("/v2/scan_forms")[0]["body"]
    assert sent == {"scan_form": {"shipments": [{"id": first.provider_shipment_id},
                                                {"id": second.provider_shipment_id}]}}


def test_the_fake_signs_webhooks_as_easypost_does(aggregator):
    """Does easypost's own validate_webhook accept the fake's signature, and refuse it
    under another secret?"""
    body, headers = aggregator.webhook({"object": "Event", "description": "tracker.updated"})
    assert easypost.util.validate_webhook(body, headers, "whsec_test")["object"] == "Event"
    with pytest.raises(easypost.errors.SignatureVerificationError):
        easypost.util.validate_webhook(body, headers, "another secret")
