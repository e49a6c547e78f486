"""Customer service (issue #11, item 6), on both backends: the one search box by
each key, sellers walled off, a templated reply in the customer's language to a
real SMTP server recorded on the order, opt-out refused, bad input refused."""
from sqlalchemy import select

from server.notifications import services as notify
from server.notifications.models import Notification
from server.orders.models import OrderEvent

from .test_notifications import (_forget_loaded_catalogues, aggregator,  # noqa: F401
                                 aggregator_server, ep_warehouse, shipped, smtp, text_of)


def _hits(client, world, q, who="seller_a"):
    r = client.get("/api/service/search", query_string={"q": q}, headers=world.headers[who])
    assert r.status_code == 200, r.get_json()
    return [h["id"] for h in r.get_json()["items"]]


def test_search_finds_the_order_by_each_key(client, db_session, world, ep_warehouse, smtp):
    """Does the box find the order by its number, tracking number, e-mail (any
    case), phone (any punctuation) and part of the name?"""
    order, shipment = shipped(db_session, world, number="CS-1001", email_="Mei.Wong@Example.com",
                              phone="(213) 555-0142")
    for q in ("CS-1001", shipment.tracking_number, "mei.wong@example.COM", "+1 213-555-0142",
              "2135550142", "ann l"):
        assert order.id in _hits(client, world, q), q


def test_a_seller_never_finds_another_sellers_order(client, db_session, world, ep_warehouse,
                                                    smtp):
    """Does seller A find nothing of seller B's order by any key, while the admin does?"""
    order, shipment = shipped(db_session, world, number="CS-B1", seller="b",
                              email_="bo@example.com", phone="(213) 555-0177")
    for q in ("CS-B1", shipment.tracking_number, "bo@example.com", "2135550177", "Ann Lee"):
        assert order.id not in _hits(client, world, q), q
        assert order.id in _hits(client, world, q, who="admin"), q
    r = client.get(f"/api/service/orders/{order.id}", headers=world.headers["seller_a"])
    assert r.status_code == 404


def test_a_reply_in_chinese_reaches_smtp_and_is_recorded(client, db_session, world,
                                                         ep_warehouse, smtp):
    """A Chinese customer asks where the order is: is the preview in Chinese with
    the tracking link, does the sent e-mail reach the SMTP server in Chinese, and
    is it on the order's timeline as sent?"""
    order, shipment = shipped(db_session, world, number="CS-ZH", locale="zh-CN")
    before = len(smtp.messages)
    h = world.headers["seller_a"]
    body = {"template": "where_is_my_order", "channel": "email"}
    p = client.post(f"/api/service/orders/{order.id}/replies/preview", json=body, headers=h)
    assert p.status_code == 200, p.get_json()
    assert p.get_json()["locale"] == "zh_Hans" and "关于您的订单" in p.get_json()["subject"]
    r = client.post(f"/api/service/orders/{order.id}/replies", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    assert len(smtp.messages) == before + 1
    mail = smtp.messages[-1]
    assert "CS-ZH" in mail["Subject"] and "关于您的订单" in mail["Subject"]
    assert f"/t/{order.tracking_token}" in text_of(mail)
    assert shipment.tracking_number in text_of(mail)
    db_session.expire_all()
    row = db_session.get(Notification, r.get_json()["notification_id"])
    assert (row.kind, row.status, row.shipment_id) == ("reply", "sent", None)
    events = db_session.scalars(select(OrderEvent).where(
        OrderEvent.order_id == order.id, OrderEvent.kind == "service_reply")).all()
    assert len(events) == 1 and events[0].message.startswith("Reply sent")
    t = client.get(f"/api/service/orders/{order.id}", headers=h).get_json()["timeline"]
    replies = [i for i in t if i["kind"] == "service_reply"]
    assert replies and replies[0]["status"] == "sent"
    assert any(i["source"] == "notification" for i in t)


def test_an_opted_out_customer_is_refused(client, db_session, world, ep_warehouse, smtp):
    """Is a reply to a customer who opted out refused with 409 naming the channel,
    and nothing written?"""
    order, _ = shipped(db_session, world, number="CS-OPT")
    notify.opt_out(db_session, scope="order", order_id=order.id, source="api")
    db_session.commit()
    count = len(db_session.scalars(select(Notification)).all())
    r = client.post(f"/api/service/orders/{order.id}/replies",
                    json={"template": "delayed", "channel": "email"},
                    headers=world.headers["seller_a"])
    assert r.status_code == 409 and "channel" in r.get_json()["fields"]
    assert "opted out" in r.get_json()["message"]
    assert len(db_session.scalars(select(Notification)).all()) == count


def test_bad_input_names_the_field_and_stores_nothing(client, db_session, world,
                                                      ep_warehouse, smtp):
    """A made-up template, or a too-short search: a 4xx naming the field, nothing stored?"""
    order, _ = shipped(db_session, world, number="CS-BAD")
    count = len(db_session.scalars(select(OrderEvent)).all())
    r = client.post(f"/api/service/orders/{order.id}/replies",
                    json={"template": "refund_now", "channel": "email"},
                    headers=world.headers["seller_a"])
    assert r.status_code == 422 and "template" in str(r.get_json())
    assert len(db_session.scalars(select(OrderEvent)).all()) == count
    for q in ("", "a", "  "):
        r = client.get("/api/service/search", query_string={"q": q},
                       headers=world.headers["seller_a"])
        assert r.status_code == 422 and "q" in r.get_json()["fields"], q


def test_search_takes_a_bounded_number_of_statements(client, db_session, world,
                                                     ep_warehouse, smtp, sql_counter):
    """With several matching orders, does a search take the same few statements?"""
    for i in range(4):
        shipped(db_session, world, number=f"CS-N{i}")
    sql_counter.clear()
    assert len(_hits(client, world, "Ann")) >= 4
    searching = [s for s in sql_counter if "orders" in s and "SELECT" in s.upper()]
    assert len(searching) <= 4, searching


def test_a_retried_send_with_the_same_ref_sends_once(client, db_session, world, ep_warehouse,
                                                     smtp):
    """When the screen's request is retried (the answer was lost), does the same
    client_ref answer the reply already sent, with one e-mail and one event?"""
    order, _shipment = shipped(db_session, world, number="CS-REF")
    before = len(smtp.messages)
    h = world.headers["seller_a"]
    body = {"template": "where_is_my_order", "channel": "email", "client_ref": "reply-0001abcd"}
    first = client.post(f"/api/service/orders/{order.id}/replies", json=body, headers=h)
    again = client.post(f"/api/service/orders/{order.id}/replies", json=body, headers=h)
    assert first.status_code == again.status_code == 201, again.get_json()
    assert again.get_json()["notification_id"] == first.get_json()["notification_id"]
    assert again.get_json()["already_sent"] is True
    assert len(smtp.messages) == before + 1
    other = client.post(f"/api/service/orders/{order.id}/replies", headers=h,
                        json={**body, "client_ref": "reply-0002abcd"})
    assert other.get_json()["notification_id"] != first.get_json()["notification_id"]
    short = client.post(f"/api/service/orders/{order.id}/replies", headers=h,
                        json={**body, "client_ref": "x"})
    assert short.status_code == 422 and "client_ref" in short.get_json()["fields"]
