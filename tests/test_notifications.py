"""Notifications to the customer (issue #11, item 4), on both backends: e-mail to a
real local SMTP server (aiosmtpd) in the recipient's language, SMS through the
official Twilio client against a local fake of its Messages API, a down SMTP server
retried with nothing lost, one notification however often a trigger fires, opt-out
by the public signed link, the 'delayed' notice once, and the embedded default's
held outbox for admins and sellers."""
import email
import email.policy
import socket
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from server.allocation.services import allocate_order
from server.jobs import run_deferred
from server.jobs.clock import Clock
from server.jobs.models import OutboxMessage
from server.jobs.outbox import relay_due
from server.models_base import utcnow
from server.notifications import jobs as notification_jobs
from server.notifications import services
from server.notifications.fake_twilio import FakeTwilio
from server.notifications.models import Notification, NotificationOptOut
from server.orders import fulfilment
from server.orders.services import create_order

from . import test_carrier_gateway as gateway_tests
from . import test_tracking as tracking_tests

aggregator_server = gateway_tests.aggregator_server
aggregator = gateway_tests.aggregator
ep_warehouse = gateway_tests.ep_warehouse
_at = tracking_tests._at


@pytest.fixture(autouse=True)
def _forget_loaded_catalogues(app):
    """Flask-Babel keeps the catalogues it loaded on the one Babel object of
    server/i18n.py, for every app of the process: the Chinese and Spanish messages
    rendered here would otherwise stay cached for tests that build their own
    catalogues (tests/test_i18n.py)."""
    yield
    from server import i18n
    with app.app_context():
        i18n.babel.domain_instance.cache.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


class Smtp:
    def __init__(self, port: int):
        self.port = port
        self.sink = Sink()
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.sink.messages


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free port, and the app sending to it (email only)."""
    server = Smtp(free_port()).start()
    saved = {k: app.config.get(k) for k in ("SMTP_URL", "NOTIFY_CHANNELS",
                                            "SMTP_TIMEOUT_SECONDS")}
    app.config.update(SMTP_URL=server.url, NOTIFY_CHANNELS="email", SMTP_TIMEOUT_SECONDS=5)
    yield server
    server.stop()
    app.config.update(saved)


@pytest.fixture
def down_smtp(app):
    """An SMTP_URL where nothing listens yet (start() brings the server up)."""
    server = Smtp(free_port())
    saved = {k: app.config.get(k) for k in ("SMTP_URL", "NOTIFY_CHANNELS",
                                            "SMTP_TIMEOUT_SECONDS")}
    app.config.update(SMTP_URL=server.url, NOTIFY_CHANNELS="email", SMTP_TIMEOUT_SECONDS=5)
    yield server
    server.stop()
    app.config.update(saved)


@pytest.fixture
def twilio(app):
    fake = FakeTwilio().start()
    keys = ("SMS_PROVIDER", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE",
            "SMS_FROM", "NOTIFY_CHANNELS")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=fake.account_sid,
                      TWILIO_AUTH_TOKEN=fake.auth_token, TWILIO_API_BASE=fake.base_url,
                      SMS_FROM="+13105550100", NOTIFY_CHANNELS="sms")
    yield fake
    fake.stop()
    app.config.update(saved)


@pytest.fixture
def embedded(app):
    """The embedded default: no SMTP server, no SMS provider."""
    keys = ("SMTP_URL", "SMS_PROVIDER", "NOTIFY_CHANNELS")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(SMTP_URL=None, SMS_PROVIDER=None, NOTIFY_CHANNELS="email,sms")
    yield
    app.config.update(saved)


def ship_to(email_="ann.lee@example.com", phone="(213) 555-0199"):
    return {"name": "Ann Lee", "address1": "1 Main St", "city": "Los Angeles", "state": "CA",
            "zip": "90001", "phone": phone, "email": email_}


def shipped(db_session, world, number="N-1", locale="", seller="a", **contact):
    """An order (the customer's contact and language as a channel gives them),
    allocated, picked, packed with a label from the fake aggregator, and shipped."""
    seller_id, sku = (world.seller_a.id, world.sku_a) if seller == "a" else \
        (world.seller_b.id, world.sku_b)
    order = create_order(db_session, seller_id=seller_id, external_id=number,
                         lines=[{"sku_id": sku.id, "quantity": 1, "unit_price_cents": 1000}],
                         ship_to=ship_to(**contact), customer_locale=locale)
    allocate_order(db_session, order.id)
    for step in ("released", "picked", "packed", "shipped"):
        fulfilment.STEPS[step](db_session, order)
        db_session.commit()
    run_deferred()
    (shipment,) = order.shipments
    return order, shipment


def rows(db_session, **where):
    stmt = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Notification, key) == value)
    db_session.expire_all()
    return db_session.scalars(stmt).all()


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def post_tracker(client, aggregator, world, shipment, details, est=None):
    tracker = aggregator.script_tracker(shipment.tracking_number, details,
                                        est_delivery_date=est)
    answer = tracking_tests.post(client, aggregator, world, tracker)
    assert answer.status_code == 200, answer.get_json()
    return answer


# -- e-mail in the recipient's language -----------------------------------------------

@pytest.mark.parametrize("locale,subject,lead,label", [
    ("zh-CN", "已发货", "从我们的仓库发出", "运单号"),
    ("es-MX", "ha sido enviado", "ha salido de nuestro almacén", "Número de seguimiento"),
    ("zh-TW", "已出貨", "從我們的倉庫寄出", "追蹤號碼"),
    ("", "has shipped", "has left our warehouse", "Tracking number"),
])
def test_the_shipped_email_arrives_in_the_customers_language(db_session, world, ep_warehouse,
                                                             smtp, locale, subject, lead,
                                                             label):
    """The floor ships an order whose channel said the buyer reads Chinese (or
    Spanish, or Traditional Chinese, or nothing: English): does one e-mail reach the
    SMTP server, its subject and both bodies in that language, with the order
    number, the carrier, the tracking number, the ETA and the tracking link, and is
    it recorded as sent with its Message-ID?"""
    order, shipment = shipped(db_session, world, locale=locale)
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "ann.lee@example.com"
    assert subject in mail["Subject"] and "N-1" in mail["Subject"]
    body, html = text_of(mail), html_of(mail)
    for text in (body, html):
        assert lead in text and label in text
        assert "N-1" in text and shipment.tracking_number in text
        assert f"/t/{order.tracking_token}" in text
        assert shipment.service.carrier.name in text
    assert world.seller_a.name in mail["From"]
    assert "/n/unsubscribe/" in mail["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (row,) = rows(db_session, order_id=order.id)
    assert (row.kind, row.channel, row.status, row.attempts) == ("shipped", "email", "sent", 1)
    assert row.provider_message_id == mail["Message-ID"] and row.sent_at is not None
    assert row.locale == (services.i18n.match_locale(locale) or "en")


def test_the_eta_is_written_in_the_customers_language(db_session, world, ep_warehouse, smtp):
    """Is the expected delivery date in the message, formatted for a Spanish reader?"""
    _order, shipment = shipped(db_session, world, locale="es")
    assert shipment.delivery_date is not None
    from flask_babel import force_locale, format_date
    with force_locale("es"):
        eta = format_date(shipment.delivery_date, format="long")
    assert "Entrega prevista" in text_of(smtp.messages[0])
    assert eta in text_of(smtp.messages[0])


# -- tracker events: each kind once -------------------------------------------------

def test_tracker_events_notify_each_kind_once(client, db_session, world, ep_warehouse,
                                              aggregator, smtp):
    """Tracker events through the signed webhook: a failed attempt, then out for
    delivery (delivered twice by the aggregator), then delivered, then all of it
    again: is there one notification per kind, and one e-mail each?"""
    order, shipment = shipped(db_session, world, locale="zh-CN")
    d = aggregator.detail
    transit = d("in_transit", _at(1), "Departed facility", "Ontario", "CA")
    failure = d("failure", _at(5), "Nobody home", "Los Angeles", "CA")
    out = d("out_for_delivery", _at(20), "Out for delivery", "Los Angeles", "CA")
    delivered = d("delivered", _at(23), "Delivered, front door", "Los Angeles", "CA")
    post_tracker(client, aggregator, world, shipment, [transit, failure])
    post_tracker(client, aggregator, world, shipment, [transit, failure, out])
    post_tracker(client, aggregator, world, shipment, [transit, failure, out])
    post_tracker(client, aggregator, world, shipment, [transit, failure, out, delivered])
    post_tracker(client, aggregator, world, shipment, [transit, failure, out, delivered])
    kinds = [(r.kind, r.status) for r in rows(db_session, order_id=order.id)]
    assert kinds == [("shipped", "sent"), ("failed_attempt", "sent"),
                     ("out_for_delivery", "sent"), ("delivered", "sent")]
    subjects = [m["Subject"] for m in smtp.messages]
    assert len(subjects) == 4
    assert "未能送达" in subjects[1] and "正在派送" in subjects[2] and "已送达" in subjects[3]
    assert "Los Angeles, CA" in text_of(smtp.messages[1])


def test_a_change_that_rolls_back_notifies_nobody(db_session, world, ep_warehouse, smtp):
    """A shipment marked delivered in a transaction that rolls back: no row, no mail."""
    order, shipment = shipped(db_session, world)
    shipment.status = "delivered"
    db_session.flush()
    db_session.rollback()
    run_deferred()
    assert [r.kind for r in rows(db_session, order_id=order.id)] == ["shipped"]
    assert len(smtp.messages) == 1


# -- a down SMTP server -------------------------------------------------------------

def test_a_down_smtp_server_is_retried_and_the_mail_arrives_once(db_session, world,
                                                                 ep_warehouse, down_smtp):
    """Nothing listens at SMTP_URL when the order ships: is the notification kept
    (queued, the error and the try recorded, its job still in the outbox), and once
    the server is up, does the retry deliver it exactly once?"""
    order, _shipment = shipped(db_session, world, locale="es")
    (row,) = rows(db_session, order_id=order.id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    job = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.payload["func"].as_string() == notification_jobs.SEND_PATH)).one()
    assert job.sent_at is None and job.failed_at is None and job.attempts == 1

    down_smtp.start()
    assert relay_due(now=utcnow() + timedelta(minutes=10)) >= 1
    (row,) = rows(db_session, order_id=order.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(down_smtp.messages) == 1
    assert "ha sido enviado" in down_smtp.messages[0]["Subject"]
    relay_due(now=utcnow() + timedelta(hours=3))  # nothing left to send
    assert len(down_smtp.messages) == 1


def test_after_the_last_try_the_notification_is_failed_with_the_error(db_session, world,
                                                                       ep_warehouse,
                                                                       down_smtp):
    """An SMTP server that never comes back: after the job's last try, is the
    notification 'failed' with the error, and the outbox done with its job?"""
    order, _shipment = shipped(db_session, world)
    tries = notification_jobs.max_attempts()
    for hours in range(1, tries + 2):
        relay_due(now=utcnow() + timedelta(hours=3 * hours))
    (row,) = rows(db_session, order_id=order.id)
    assert (row.status, row.attempts) == ("failed", tries)
    assert row.last_error
    assert services.opted_out(db_session, "email", row.recipient, order.id) is False
    db_session.expire_all()
    job = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.payload["func"].as_string() == notification_jobs.SEND_PATH)).one()
    assert job.sent_at is not None  # the job ended (it recorded the failure itself)


# -- SMS ------------------------------------------------------------------------------

def test_sms_goes_through_the_twilio_client_and_is_retried(db_session, world, ep_warehouse,
                                                          twilio):
    """SMS_PROVIDER=twilio against the fake Messages API: the first try answered 503,
    is it tried again and sent once, in Spanish, to the phone in E.164, with the
    tracking link, recorded with Twilio's sid?"""
    twilio.fail_next(1, status=503)
    order, _shipment = shipped(db_session, world, locale="es")
    (row,) = rows(db_session, order_id=order.id)
    assert (row.channel, row.status, row.attempts) == ("sms", "queued", 1)
    assert "503" in row.last_error
    relay_due(now=utcnow() + timedelta(minutes=10))
    (row,) = rows(db_session, order_id=order.id)
    assert row.status == "sent" and row.recipient == "+12135550199"
    (sms,) = twilio.messages
    assert sms["to"] == "+12135550199" and sms["from"] == "+13105550100"
    assert "ha sido enviado" in sms["body"] and f"/t/{order.tracking_token}" in sms["body"]
    assert row.provider_message_id == sms["sid"]


def test_an_sms_to_a_number_that_replied_stop_is_suppressed(db_session, world, ep_warehouse,
                                                            twilio):
    """Twilio refuses a number whose owner replied STOP (21610): is the notification
    suppressed, not retried, and the number opted out for later ones?"""
    twilio.stopped.add("+12135550199")
    order, _shipment = shipped(db_session, world)
    (row,) = rows(db_session, order_id=order.id)
    assert row.status == "suppressed" and "21610" in row.last_error
    assert services.opted_out(db_session, "sms", "+12135550199", order.id)
    assert twilio.messages == []


# -- opting out -------------------------------------------------------------------------

def test_the_unsubscribe_link_is_public_and_later_notifications_are_suppressed(
        client, db_session, world, ep_warehouse, smtp):
    """The link in the e-mail, opened without a log-in: does it show one button, does
    a click (POST) record the opt-out once, and is the next notification to that
    address 'suppressed' with nothing sent, for this order and for another one?"""
    order, _shipment = shipped(db_session, world, number="N-1")
    link = smtp.messages[0]["List-Unsubscribe"].strip("<>")
    path = urlsplit(link).path
    assert link in text_of(smtp.messages[0])
    page = client.get(path)
    assert page.status_code == 200 and b'method="post"' in page.data
    assert db_session.scalar(select(func.count()).select_from(NotificationOptOut)) == 0
    done = client.post(path, data={"scope": "address"})
    assert done.status_code == 200 and b"ann.lee@example.com" in done.data
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert db_session.scalar(select(func.count()).select_from(NotificationOptOut)) == 1

    fulfilment.deliver_order(db_session, order)
    db_session.commit()
    run_deferred()
    other, _ = shipped(db_session, world, number="N-2")
    assert [(r.kind, r.status) for r in rows(db_session, order_id=order.id)] == \
        [("shipped", "sent"), ("delivered", "suppressed")]
    assert [(r.kind, r.status) for r in rows(db_session, order_id=other.id)] == \
        [("shipped", "suppressed")]
    assert len(smtp.messages) == 1


def test_an_order_opt_out_stops_only_that_order(client, db_session, world, ep_warehouse,
                                                smtp):
    """'Only about this order': is that order's next notice suppressed while another
    order to the same address is still sent?"""
    order, _ = shipped(db_session, world, number="N-1")
    path = urlsplit(smtp.messages[0]["List-Unsubscribe"].strip("<>")).path
    assert client.post(path, data={"scope": "order"}).status_code == 200
    fulfilment.deliver_order(db_session, order)
    db_session.commit()
    run_deferred()
    other, _ = shipped(db_session, world, number="N-2")
    assert rows(db_session, order_id=order.id)[-1].status == "suppressed"
    assert rows(db_session, order_id=other.id)[0].status == "sent"
    assert len(smtp.messages) == 2


def test_a_tampered_or_made_up_unsubscribe_token_is_refused(client, db_session, world,
                                                            ep_warehouse, smtp):
    """A token with one character changed, another address in a forged payload, or
    nonsense: 404 on GET and POST, nothing recorded."""
    order, _ = shipped(db_session, world)
    path = urlsplit(smtp.messages[0]["List-Unsubscribe"].strip("<>")).path
    token = path.rsplit("/", 1)[1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    from itsdangerous import URLSafeSerializer
    forged = URLSafeSerializer("not-our-key", salt="notifications.opt-out").dumps(
        {"c": "email", "a": "someone@else.example", "o": order.id})
    for bad in (flipped, forged, "nonsense", "1"):
        assert client.get(f"/n/unsubscribe/{bad}").status_code == 404
        assert client.post(f"/n/unsubscribe/{bad}", data={"scope": "address"}).status_code \
            == 404
    assert db_session.scalar(select(func.count()).select_from(NotificationOptOut)) == 0


# -- delayed ----------------------------------------------------------------------------

def test_a_late_parcel_is_told_once(app, db_session, world, ep_warehouse, smtp):
    """A shipment whose ETA passed days ago without delivery: does the clock's tick
    send one 'delayed' e-mail, and do later sweeps send no second one? A parcel due
    today, and a delivered one that was late, are not told."""
    late, late_shipment = shipped(db_session, world, number="LATE", locale="zh-CN")
    today, today_shipment = shipped(db_session, world, number="TODAY")
    _done, done_shipment = shipped(db_session, world, number="DONE")
    late_shipment.delivery_date = date.today() - timedelta(days=3)
    today_shipment.delivery_date = date.today()
    done_shipment.delivery_date = date.today() - timedelta(days=3)
    done_shipment.status = "delivered"
    db_session.commit()
    run_deferred()
    assert services.delayed_due(db_session) == [late_shipment.id]
    did = Clock(app).tick()
    assert did.get("delayed") is True
    run_deferred()
    notification_jobs.notify_delayed()
    run_deferred()
    assert [(r.order_id, r.status) for r in rows(db_session, kind="delayed")] == \
        [(late.id, "sent")]
    delayed = [m for m in smtp.messages if "LATE" in m["Subject"] and "晚于" in m["Subject"]]
    assert len(delayed) == 1
    assert str(late_shipment.delivery_date.year) in text_of(delayed[0])
    # Five days on, the one due today is late too, and told once; the first is not
    # told again.
    for _ in range(2):
        notification_jobs.notify_delayed((utcnow() + timedelta(days=5)).isoformat())
        run_deferred()
    assert [(r.order_id, r.status) for r in rows(db_session, kind="delayed")] == \
        [(late.id, "sent"), (today.id, "sent")]
    assert not any("DONE" in m["Subject"] and "late" in m["Subject"] for m in smtp.messages)
    assert len([m for m in smtp.messages if "running late" in m["Subject"]]) == 1


# -- the embedded default: held, visible -------------------------------------------------

def test_without_smtp_notifications_are_held_for_admins_and_sellers_see_their_own(
        client, db_session, world, ep_warehouse, embedded):
    """No SMTP_URL and no SMS provider: are the notifications kept 'held' (e-mail and
    SMS), listed for an admin at GET /api/notifications, and does a seller see only
    its own orders' (and a picker none)?"""
    a, _ = shipped(db_session, world, number="A-1", seller="a")
    b, _ = shipped(db_session, world, number="B-1", seller="b",
                   email_="bo@example.com", phone="+1 646 555 0100")
    assert {(r.order_id, r.channel, r.status) for r in rows(db_session)} == {
        (a.id, "email", "held"), (a.id, "sms", "held"),
        (b.id, "email", "held"), (b.id, "sms", "held")}
    admin = client.get("/api/notifications?status=held", headers=world.headers["admin"])
    assert admin.status_code == 200
    items = admin.get_json()["items"]
    assert {i["order_id"] for i in items} == {a.id, b.id}
    email_row = next(i for i in items if i["order_id"] == a.id and i["channel"] == "email")
    assert "A-1" in email_row["subject"] and "A-1" in email_row["body"]
    mine = client.get("/api/notifications", headers=world.headers["seller_a"]).get_json()
    assert {i["order_id"] for i in mine["items"]} == {a.id}
    theirs = client.get(f"/api/notifications?order_id={b.id}",
                        headers=world.headers["seller_a"]).get_json()
    assert theirs["items"] == []
    assert client.get("/api/notifications", headers=world.headers["picker1"]).status_code \
        == 403
    assert client.get("/api/notifications").status_code == 401


def test_a_seller_stops_its_own_orders_notices_only(client, db_session, world, ep_warehouse,
                                                    embedded):
    """POST /api/notifications/opt-outs: a seller stops its own order (held ones
    become suppressed), gets 404 for another seller's, and may not stop an address;
    an admin may."""
    a, _ = shipped(db_session, world, number="A-1", seller="a")
    b, _ = shipped(db_session, world, number="B-1", seller="b")
    h = world.headers["seller_a"]
    answer = client.post("/api/notifications/opt-outs", json={"order_id": a.id}, headers=h)
    assert answer.status_code == 201 and answer.get_json()["new"] is True
    assert {r.status for r in rows(db_session, order_id=a.id)} == {"suppressed"}
    assert client.post("/api/notifications/opt-outs", json={"order_id": b.id},
                       headers=h).status_code == 404
    assert client.post("/api/notifications/opt-outs", json={
        "channel": "email", "address": "ann.lee@example.com"}, headers=h).status_code == 403
    assert {r.status for r in rows(db_session, order_id=b.id)} == {"held"}
    answer = client.post("/api/notifications/opt-outs", json={
        "channel": "sms", "address": "(213) 555-0199"}, headers=world.headers["admin"])
    assert answer.status_code == 201 and answer.get_json()["address"] == "+12135550199"
    assert rows(db_session, order_id=b.id, channel="sms")[0].status == "suppressed"


# -- what the orders carry ------------------------------------------------------------------

def test_orders_carry_the_customers_email_and_language(client, db_session, world):
    """POST /api/orders takes ship_to.email and customer_locale, and the channels'
    payloads give theirs: Shopify's e-mail and customer_locale, eBay's ship-to e-mail
    and marketplace, Amazon's buyer e-mail and marketplace."""
    answer = client.post("/api/orders", headers=world.headers["seller_a"], json={
        "external_id": "WEB-9", "ship_to": ship_to(), "customer_locale": "zh-TW",
        "lines": [{"sku_id": world.sku_a.id, "quantity": 1}], "allocate": False})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["ship_to"]["email"] == "ann.lee@example.com"
    from server.orders.models import Order
    order = db_session.get(Order, answer.get_json()["id"])
    assert order.customer_locale == "zh-TW" and services.locale_for(order) == "zh_Hant"
    bad = client.post("/api/orders", headers=world.headers["seller_a"], json={
        "external_id": "WEB-10", "ship_to": ship_to(email_="not an address"),
        "lines": [{"sku_id": world.sku_a.id, "quantity": 1}]})
    assert bad.status_code == 422 and "ship_to.email" in str(bad.get_json()["fields"])

    import json
    from pathlib import Path

    from server.channels.adapters import amazon, ebay, shopify
    fixtures = Path(__file__).parent / "fixtures" / "channels"
    norm = shopify.parse(json.loads((fixtures / "shopify_order.json").read_text()))
    assert norm.ship_to["email"] == "jon.smith@example.com"
    raw = json.loads((fixtures / "shopify_order.json").read_text())
    raw["customer_locale"] = "es-MX"
    assert shopify.parse(raw).locale == "es-MX"
    orders = ebay.split(json.loads((fixtures / "ebay_orders.json").read_text()))
    norm = ebay.parse(orders[0])
    assert norm.ship_to["email"] == "8f2a1c@members.ebay.com" and norm.locale == "en-US"
    assert amazon.MARKETPLACE_LANGUAGE["A1AM78C64UM0Y8"] == "es-MX"


def test_phone_numbers_and_languages_are_normalised():
    assert services.normal_phone("(213) 555-0199") == "+12135550199"
    assert services.normal_phone("1-213-555-0199") == "+12135550199"
    assert services.normal_phone("+86 138 0013 8000") == "+8613800138000"
    assert services.normal_phone("555-0199") is None
    assert services.normal_phone("") is None
    assert services.normal_email(" Ann.Lee@Example.com ") == "ann.lee@example.com"
    assert services.normal_email("nobody") is None
