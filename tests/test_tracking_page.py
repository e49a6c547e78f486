"""The public tracking page (issue #11, item 3): /t/<token> and the /track lookup, on
both backends. Orders are made and shipped through the real flow (create, allocate,
release, pick, pack with the built-in rate cards, ship), and tracking events arrive
through carriers.tracking.record_tracker_update as the aggregator's webhook and
poller deliver them."""
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale, format_date
from sqlalchemy import event, select, text

from server.allocation.services import allocate_order
from server.carriers import tracking
from server.carriers.demo import seed_carriers
from server.extensions import db
from server.orders import fulfilment
from server.orders.models import Order
from server.orders.services import create_order
from server.tracking_page import services

SHIP_TO = {"name": "Jane Doe", "address1": "77 Sunset Blvd", "address2": "Apt 9",
           "city": "Los Angeles", "state": "CA", "zip": "90001", "phone": "+1 213 555 0199"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_order(db_session, world, number, ship_to=SHIP_TO, steps=("released", "picked",
                                                                  "packed", "shipped")):
    seed_carriers(db_session)
    order = create_order(db_session, seller_id=world.seller_a.id, external_id=number,
                         channel="shopify",
                         lines=[{"sku_id": world.sku_a.id, "quantity": 1,
                                 "unit_price_cents": 4321}], ship_to=ship_to)
    allocate_order(db_session, order.id)
    for step in steps:
        fulfilment.STEPS[step](db_session, order)
        db_session.commit()
    return order


def as_aggregator(db_session, shipment) -> None:
    """The label counts as bought through the aggregator (its webhook finds it)."""
    shipment.provider = "easypost"
    db_session.commit()


def tracker(db_session, shipment, details, est=None):
    payload = {"tracking_code": shipment.tracking_number, "tracking_details": [
        {"status": status, "datetime": _iso(at), "message": message,
         "tracking_location": {"city": city, "state": state}}
        for status, at, message, city, state in details]}
    if est:
        payload["est_delivery_date"] = f"{est.isoformat()}T00:00:00Z"
    result = tracking.record_tracker_update(db_session, "easypost", payload, "webhook")
    db_session.commit()
    return result


@pytest.fixture(autouse=True)
def _forget_loaded_catalogues(app):
    """Flask-Babel keeps the catalogues it loaded on the one Babel object of
    server/i18n.py, for every app of the process: this file's Spanish and Chinese
    pages would otherwise leave theirs cached for tests that build their own
    catalogues (tests/test_i18n.py)."""
    yield
    from server import i18n
    with app.app_context():
        i18n.babel.domain_instance.cache.clear()


@pytest.fixture
def moving(db_session, world):
    """An order out for delivery, the carrier's estimate two days out."""
    order = make_order(db_session, world, "SHOP-7001")
    (shipment,) = order.shipments
    as_aggregator(db_session, shipment)
    now = datetime.now(UTC).replace(microsecond=0)
    est = (now + timedelta(days=2)).date()
    tracker(db_session, shipment, [
        ("in_transit", now - timedelta(hours=20), "Departed FedEx hub", "Ontario", "CA"),
        ("out_for_delivery", now - timedelta(hours=1), "On vehicle for delivery",
         "Los Angeles", "CA")], est)
    return order, shipment, est


def page(client, token, lang=None, accept="en-US"):
    url = f"/t/{token}" + (f"?lang={lang}" if lang else "")
    return client.get(url, headers={"Accept-Language": accept})


def headline(html: str) -> str:
    found = re.search(r'<h1 id="trk-headline"[^>]*>(.*?)</h1>', html, re.DOTALL)
    return found.group(1).strip() if found else ""


def test_every_order_gets_an_unguessable_token_however_it_is_written(db_session, world):
    """ORM, the Core INSERT of orders/store.py, and a bare SQL INSERT: does every
    order get its own token, of at least 128 random bits?"""
    via_core = create_order(db_session, seller_id=world.seller_a.id, external_id="TOK-1",
                            lines=[{"sku_id": world.sku_a.id, "quantity": 1}],
                            ship_to=SHIP_TO)
    via_orm = Order(seller_id=world.seller_a.id, external_id="TOK-2", ship_to_zip="90001")
    db_session.add(via_orm)
    db_session.flush()
    db_session.execute(text(
        "INSERT INTO orders (seller_id, channel, account_key, external_id, status, placed_at,"
        " currency, ship_to_name, ship_to_address1, ship_to_address2, ship_to_city,"
        " ship_to_state, ship_to_zip, ship_to_country, ship_to_phone, fulfilled_by_channel,"
        " channel_status, created_at, updated_at) VALUES (:s, 'manual', '', 'TOK-3',"
        " 'received', :now, 'USD', '', '', '', '', '', '90001', 'US', '', false, '', :now,"
        " :now)"), {"s": world.seller_a.id, "now": datetime.now(UTC)})
    tokens = db_session.scalars(select(Order.tracking_token).where(
        Order.external_id.in_(["TOK-1", "TOK-2", "TOK-3"]))).all()
    assert len(tokens) == 3 and len(set(tokens)) == 3
    assert via_core.tracking_token in tokens and via_orm.tracking_token in tokens
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,64}", token)
    assert len(services.TOKEN_RE.pattern) and services.TOKEN_RE.match(tokens[2])


def test_the_page_shows_status_timeline_carrier_and_the_carriers_estimate(client, moving):
    """Does /t/<token> say "Out for delivery" in the headline, give the carrier's
    estimated date (and say it is the carrier's), the carrier with its own tracking
    link and number, and the timeline newest first with time, place and message?"""
    order, shipment, est = moving
    answer = page(client, order.tracking_token)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert headline(html) == "Out for delivery"
    assert '<html lang="en">' in html
    assert "Order SHOP-7001" in html
    assert "Estimated by the carrier" in html
    assert format_date(est, "full") in html
    assert shipment.tracking_number in html
    assert f"tracknum={shipment.tracking_number}" in html or \
        f"tLabels={shipment.tracking_number}" in html or \
        f"trknbr={shipment.tracking_number}" in html
    newest, older = html.index("On vehicle for delivery"), html.index("Departed FedEx hub")
    assert newest < older
    assert "Ontario, CA" in html and "Los Angeles, CA 90001" in html
    assert 'aria-current="step"><span>Out for delivery</span>' in html
    assert answer.headers["X-Robots-Tag"].startswith("noindex")
    assert "Accept-Language" in answer.headers["Vary"]
    assert "session=" not in answer.headers.get("Set-Cookie", "")


def test_without_a_carrier_estimate_the_rate_cards_date_is_expected(client, db_session, world):
    """A shipment labelled from the built-in rate cards and no tracking yet: is the
    date the label's (ship date + transit days) and called "Expected"?"""
    order = make_order(db_session, world, "SHOP-7002")
    (shipment,) = order.shipments
    html = page(client, order.tracking_token).get_data(as_text=True)
    assert headline(html) == "Shipped"
    assert "Expected delivery" in html and "Estimated by the carrier" not in html
    assert format_date(shipment.delivery_date, "full") in html
    assert "No updates from the carrier yet" in html
    # Built-in numbers are Haicang's own: no link to a carrier site that knows nothing.
    assert "ups.com" not in html and "fedex.com" not in html and "usps.com" not in html


def test_the_rate_card_gives_the_date_when_the_shipment_holds_none(db_session, world, client):
    """delivery_date empty: ship date + the service's transit days for the zone."""
    order = make_order(db_session, world, "SHOP-7003")
    (shipment,) = order.shipments
    days = shipment.service.transit_days_by_zone[str(shipment.zone)]
    expected = services.rate_card_eta(shipment.ship_date, shipment.service.transit_days_by_zone,
                                      shipment.zone)
    db_session.execute(text("UPDATE shipments SET delivery_date = NULL WHERE id = :i"),
                       {"i": shipment.id})
    db_session.commit()
    assert expected > shipment.ship_date and (expected - shipment.ship_date).days >= days
    html = page(client, order.tracking_token).get_data(as_text=True)
    assert format_date(expected, "full") in html and "Expected delivery" in html


def test_delivered_shows_when_and_where_as_proof(client, db_session, moving):
    """After the delivered event: the headline, the progress bar's last stage, and a
    proof of delivery with its time and place."""
    order, shipment, _est = moving
    now = datetime.now(UTC).replace(microsecond=0)
    tracker(db_session, shipment, [("delivered", now, "Delivered, front porch",
                                    "Los Angeles", "CA")])
    assert db_session.get(Order, order.id).status == "delivered"
    html = page(client, order.tracking_token).get_data(as_text=True)
    assert headline(html) == "Delivered"
    assert f'id="proof-{shipment.id}"' in html and "Proof of delivery" in html
    proof = html[html.index(f'id="proof-{shipment.id}"'):]
    assert "Delivered, front porch" in proof[:2000] and "Los Angeles, CA" in proof[:2000]
    assert 'aria-current="step"><span>Delivered</span>' in html
    assert "Expected delivery" not in html and "Estimated delivery" not in html


def test_a_guessed_or_malformed_token_is_a_translated_404(client, moving):
    """A token of the right shape that no order has, one of the wrong shape: 404 with
    the page in the visitor's language, nothing of any order."""
    import secrets
    order, _shipment, _est = moving
    last = "B" if order.tracking_token[-1] == "A" else "A"
    for token in (secrets.token_urlsafe(24), order.tracking_token[:-1] + last,
                  order.tracking_token.upper() if order.tracking_token.upper() !=
                  order.tracking_token else order.tracking_token.lower(),
                  "a/b", "%00", "a" * 300):
        answer = page(client, token)
        assert answer.status_code == 404, token
        assert "Tracking link not found" in answer.get_data(as_text=True)
        assert "SHOP-7001" not in answer.get_data(as_text=True)
    zh = page(client, secrets.token_urlsafe(24), accept="zh-CN")
    assert zh.status_code == 404 and "找不到追踪链接" in zh.get_data(as_text=True)


def test_nothing_of_the_customer_or_of_other_orders_appears(client, db_session, world, moving):
    """No street, no name, no phone, no price; and nothing of the seller's next order."""
    order, _shipment, _est = moving
    other = make_order(db_session, world, "SHOP-7999",
                       ship_to=dict(SHIP_TO, name="Other Person", address1="5 Elm St"))
    html = page(client, order.tracking_token).get_data(as_text=True)
    for secret in ("Jane", "Doe", "77 Sunset", "Apt 9", "555 0199", "5550199", "43.21",
                   "4321", "SHOP-7999", "Other Person", other.tracking_token,
                   other.shipments[0].tracking_number):
        assert secret not in html, secret


def _csrf(client, url="/track"):
    form = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)


def lookup(client, number, zip_code, url="/track", token=None):
    return client.post(url, data={"number": number, "zip": zip_code,
                                  "csrf_token": token or _csrf(client)})


def test_lookup_by_order_number_and_zip_redirects_to_the_page(client, moving):
    order, _shipment, _est = moving
    for number, zip_code in (("SHOP-7001", "90001"), ("#SHOP-7001", "90001-1234"),
                             ("  SHOP-7001 ", " 90001 ")):
        answer = lookup(client, number, zip_code)
        assert answer.status_code == 303, (number, zip_code)
        assert answer.headers["Location"].endswith(f"/t/{order.tracking_token}")


def test_lookup_by_tracking_number_and_zip(client, moving):
    order, shipment, _est = moving
    spaced = " ".join(re.findall(".{1,4}", shipment.tracking_number.lower()))
    for number in (shipment.tracking_number, spaced):
        answer = lookup(client, number, "90001")
        assert answer.status_code == 303, number
        assert answer.headers["Location"].endswith(f"/t/{order.tracking_token}")


def test_a_wrong_zip_reveals_nothing(client, moving):
    """Right number with the wrong ZIP, and an unknown number: the same answer, with
    nothing of the order in it."""
    order, shipment, _est = moving
    token = _csrf(client)
    wrong_zip = lookup(client, "SHOP-7001", "10001", token=token)
    unknown = lookup(client, "SHOP-0000", "10001", token=token)
    wrong_zip_tracking = lookup(client, shipment.tracking_number, "10001", token=token)
    assert wrong_zip.status_code == unknown.status_code == wrong_zip_tracking.status_code == 404
    a = wrong_zip.get_data(as_text=True).replace("SHOP-7001", "N")
    b = unknown.get_data(as_text=True).replace("SHOP-0000", "N")
    c = wrong_zip_tracking.get_data(as_text=True).replace(shipment.tracking_number, "N")
    assert a == b == c
    assert "could not find an order" in a
    assert order.tracking_token not in a and "Out for delivery" not in a
    assert "Location" not in wrong_zip.headers


def test_lookup_fields_are_checked_and_a_lost_csrf_token_gets_the_form(client):
    token = _csrf(client)
    empty = client.post("/track", data={"number": "", "zip": "", "csrf_token": token})
    assert empty.status_code == 422
    assert "Enter your order number or tracking number." in empty.get_data(as_text=True)
    bad_zip = client.post("/track", data={"number": "X", "zip": "9000", "csrf_token": token})
    assert bad_zip.status_code == 422 and "5 digits" in bad_zip.get_data(as_text=True)
    no_token = client.post("/track", data={"number": "X", "zip": "90001"})
    assert no_token.status_code == 400
    assert no_token.mimetype == "text/html"
    assert "This form had expired" in no_token.get_data(as_text=True)


def test_the_lookup_is_rate_limited_per_address(client, moving):
    """Ten tries a minute from one address; the eleventh is 429, even with the right
    number and ZIP."""
    token = _csrf(client)
    for n in range(10):
        assert lookup(client, f"NOPE-{n}", "90001", token=token).status_code == 404
    blocked = lookup(client, "SHOP-7001", "90001", token=token)
    assert blocked.status_code == 429
    assert "Too many lookups" in blocked.get_data(as_text=True)
    assert "Location" not in blocked.headers
    # Another address is not held back.
    other = client.post("/track", data={"number": "SHOP-7001", "zip": "90001",
                                        "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 303


TRANSLATED = {
    "zh_Hans": {"lang": "zh-Hans", "headline": "派送中", "estimate": "承运商预计",
                "updates": "物流动态", "ordered": "已下单", "accept": "zh-CN,zh;q=0.9"},
    "zh_Hant": {"lang": "zh-Hant", "headline": "配送中", "estimate": "貨運公司預估",
                "updates": "物流動態", "ordered": "已下單", "accept": "zh-TW"},
    "es": {"lang": "es", "headline": "En reparto", "estimate": "Estimada por el transportista",
           "updates": "Novedades", "ordered": "Entrega estimada", "accept": "es-MX"},
}


@pytest.mark.parametrize("locale", sorted(TRANSLATED))
def test_each_language_renders_translated_text(client, moving, locale, app):
    """From Accept-Language, and from ?lang= over an English browser: the headline,
    the labels and the dates in the language; the carrier's own words as sent."""
    order, _shipment, est = moving
    words = TRANSLATED[locale]
    for answer in (page(client, order.tracking_token, accept=words["accept"]),
                   page(client, order.tracking_token, lang=locale, accept="en-US")):
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert f'<html lang="{words["lang"]}">' in html
        assert headline(html) == words["headline"]
        for key in ("estimate", "updates", "ordered"):
            assert words[key] in html, (locale, key)
        with force_locale(locale):
            assert format_date(est, "full") in html
        assert "Estimated by the carrier" not in html and "Updates" not in html
        assert "On vehicle for delivery" in html  # the carrier's message, untouched
        assert 'aria-current="true">' + {"zh_Hans": "简体中文", "zh_Hant": "繁體中文",
                                         "es": "Español"}[locale] in html


def test_the_chosen_language_survives_the_lookup(client, moving):
    order, _shipment, _est = moving
    token = _csrf(client, "/track?lang=es")
    form = client.get("/track?lang=es").get_data(as_text=True)
    assert "Rastrea tu paquete" in form and 'action="/track?lang=es"' in form
    answer = lookup(client, "SHOP-7001", "90001", url="/track?lang=es", token=token)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/t/{order.tracking_token}?lang=es")


def test_the_page_costs_two_statements(client, moving, app):
    """The order with its shipments, then their timeline: two statements."""
    order, _shipment, _est = moving
    token = order.tracking_token
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK",
                                                      "BEGIN", "COMMIT")):
            statements.append(statement)
    page(client, token)  # warm-up
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert page(client, token).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements


def test_a_split_order_reads_as_its_least_advanced_package(db_session):
    """Two packages, one delivered: "partly delivered", at the other's stage."""
    view = services.ShipmentView
    now = datetime.now(UTC)
    delivered = view(1, "delivered", "A", "UPS", "UPS Ground", None, date.today(), None, None,
                     events=[services.Event("delivered", now, "LA, CA", "")])
    moving = view(2, "in_transit", "B", "UPS", "UPS Ground", None, date.today(), None, None)
    assert services._headline("shipped", [delivered, moving]) == ("partly_delivered", 2, False)
    assert services._headline("shipped", [moving]) == ("in_transit", 2, False)
    assert services._headline("packed", []) == ("preparing", 0, False)
    assert services._headline("cancelled", [moving]) == ("cancelled", None, False)
