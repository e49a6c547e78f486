"""Channel orders in: exactly once, in order, cancellations that release exactly
what they reserved, held orders with a fix, dead letters, the Shopify webhook."""
import copy
import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from server.catalog.models import Sku
from server.channels import services as channels
from server.channels.adapters.shopify import sign
from server.channels.fake_marketplace import FakeMarketplace
from server.channels.jobs import poll_account
from server.channels.models import DeadLetter, WebhookReceipt
from server.orders.models import Order

from .channel_helpers import amazon_raws, fixture, make_shop, reserved
from .helpers import make_user, token_headers


def _count(s, model) -> int:
    return s.scalar(select(func.count()).select_from(model))


def _shopify(version: int, current: int, address1: str) -> dict:
    order = copy.deepcopy(fixture("shopify_order.json"))
    order["line_items"] = order["line_items"][:1]
    order["line_items"][0]["current_quantity"] = current
    order["updated_at"] = f"2025-03-10T14:0{version}:00-04:00"
    order["shipping_address"]["address1"] = address1
    return order


def _webhook(client, account, body: bytes, webhook_id: str, secret=None,
             topic="orders/updated"):
    return client.post(f"/api/channels/shopify/{account.id}/webhook", data=body,
                       content_type="application/json",
                       headers={"X-Shopify-Hmac-Sha256": sign(body, secret or account
                                                              .credentials["webhook_secret"]),
                                "X-Shopify-Webhook-Id": webhook_id,
                                "X-Shopify-Topic": topic})


def test_three_deliveries_out_of_order_make_one_order_in_its_latest_state(client, db_session):
    """Version 2 arrives by webhook, version 3 by a poll, then version 1 by a late
    webhook, and version 2's webhook is retried: is there one order, in version 3's
    state (one of two mugs removed: one unit reserved, the new address)?"""
    shop = make_shop(db_session)
    account = shop.accounts["shopify"]
    fake = FakeMarketplace().start()
    try:
        account.base_url = fake.url
        account.last_updated_after = datetime(2025, 3, 1, tzinfo=UTC)  # the poll cursor
        db_session.commit()
        v1, v2, v3 = (_shopify(1, 2, "1 Old Rd"), _shopify(2, 2, "2 New Rd"),
                      _shopify(3, 1, "2 New Rd"))
        body2 = json.dumps(v2).encode()
        assert _webhook(client, account, body2, "wh-2").get_json()["status"] == "accepted"
        assert reserved(db_session, shop.skus["MUG"]) == 2
        fake.add_shopify(v3)
        summary = poll_account(account.id)
        assert [o["action"] for o in summary["orders"]] == ["updated"], summary
        late = _webhook(client, account, json.dumps(v1).encode(), "wh-1")
        assert late.status_code == 200
        again = _webhook(client, account, body2, "wh-2")
        assert again.get_json()["status"] == "duplicate"
    finally:
        fake.stop()
    orders = db_session.scalars(select(Order).where(Order.external_id == "5801234567890")).all()
    assert len(orders) == 1
    (order,) = orders
    assert [(l.quantity, l.quantity_cancelled) for l in order.lines] == [(2, 1)]
    assert order.ship_to_address1 == "2 New Rd"
    assert order.channel_updated_at.isoformat() == "2025-03-10T18:03:00+00:00"
    assert order.status == "allocated"
    assert reserved(db_session, shop.skus["MUG"]) == 1
    assert _count(db_session, WebhookReceipt) == 2


def test_a_full_cancellation_releases_exactly_what_the_order_reserved(db_session):
    """An Amazon order (2 widgets + 1 gadget) and another order of 1 widget are
    allocated; the first is then Canceled on Amazon: is exactly its stock released,
    the other order's reservation kept?"""
    shop = make_shop(db_session)
    account = shop.accounts["amazon"]
    mfn = amazon_raws()[0]
    other = copy.deepcopy(mfn)
    other["order"]["AmazonOrderId"] = "113-0000000-0000009"
    other["items"] = [dict(other["items"][0], QuantityOrdered=1,
                           ItemPrice={"CurrencyCode": "USD", "Amount": "19.99"})]
    first = channels.ingest(db_session, account.id, mfn, source="test")
    channels.ingest(db_session, account.id, other, source="test")
    assert reserved(db_session, shop.skus["WIDGET"]) == 3
    assert reserved(db_session, shop.skus["GADGET"]) == 1
    cancelled = copy.deepcopy(mfn)
    cancelled["order"].update(OrderStatus="Canceled", LastUpdateDate="2025-03-10T20:00:00Z")
    result = channels.ingest(db_session, account.id, cancelled, source="test")
    assert result.action == "updated" and result.order_id == first.order_id
    order = db_session.get(Order, first.order_id)
    assert order.status == "cancelled"
    assert reserved(db_session, shop.skus["WIDGET"]) == 1
    assert reserved(db_session, shop.skus["GADGET"]) == 0


def test_a_partial_cancellation_releases_exactly_the_cancelled_units(db_session):
    """A Temu multipack order (6 units open of 8... 3 packs of 2, 1 pack cancelled)
    loses one more pack: are exactly 2 more units released, the rest kept?"""
    shop = make_shop(db_session)
    account = shop.accounts["temu"]
    raw = channels.adapter("temu").split(fixture("temu_orders.json"))[0]
    first = channels.ingest(db_session, account.id, raw, source="test")
    assert reserved(db_session, shop.skus["TAPE"]) == 4
    later = copy.deepcopy(raw)
    later["order"]["parentOrderMap"]["updateTime"] += 600
    later["order"]["orderList"][0]["canceledQuantityBeforeShipment"] = 2
    assert channels.ingest(db_session, account.id, later, source="test").action == "updated"
    order = db_session.get(Order, first.order_id)
    assert [(l.quantity, l.quantity_cancelled) for l in order.lines] == [(6, 4)]
    assert order.status == "allocated"
    assert reserved(db_session, shop.skus["TAPE"]) == 2
    # The same update again, and an older one, change nothing.
    assert channels.ingest(db_session, account.id, later, source="test").action == "unchanged"
    assert channels.ingest(db_session, account.id, raw, source="test").action == "stale"
    assert reserved(db_session, shop.skus["TAPE"]) == 2


def test_an_unmapped_sku_holds_the_order_until_the_seller_maps_and_releases_it(
        client, db_session):
    """Is an order for a channel SKU nobody mapped kept, held, with a reason that
    names the SKU, nothing reserved; refused release while unmapped; and once the
    seller maps it and releases, allocated?"""
    shop = make_shop(db_session)
    seller = make_user(db_session, "seller", seller=shop.seller)
    headers = token_headers(db_session, seller)
    raw = amazon_raws()[0]
    raw["items"][1]["SellerSKU"] = "GADGET-NEW-LISTING"
    result = channels.ingest(db_session, shop.accounts["amazon"].id, raw, source="test")
    order = db_session.get(Order, result.order_id)
    assert order.status == "held" and "GADGET-NEW-LISTING" in order.hold_reason
    assert reserved(db_session, shop.skus["WIDGET"]) == 0
    listed = client.get("/api/channels/exceptions", headers=headers).get_json()
    assert [(e["order_id"], e["unmapped"]) for e in listed] == [(order.id,
                                                                 ["GADGET-NEW-LISTING"])]
    refused = client.post(f"/api/channels/orders/{order.id}/release", headers=headers, json={})
    assert refused.status_code == 409 and "GADGET-NEW-LISTING" in refused.get_json()["message"]
    mapped = client.put(f"/api/channels/accounts/{shop.accounts['amazon'].id}/mappings",
                        headers=headers, json={"channel_sku": "GADGET-NEW-LISTING",
                                               "components": [{"sku_id": shop.skus["GADGET"].id,
                                                               "quantity": 1}]})
    assert mapped.status_code == 200, mapped.get_json()
    released = client.post(f"/api/channels/orders/{order.id}/release", headers=headers, json={})
    assert released.status_code == 200, released.get_json()
    assert released.get_json()["status"] == "allocated"
    assert reserved(db_session, shop.skus["GADGET"]) == 1
    assert reserved(db_session, shop.skus["WIDGET"]) == 2


def test_why_an_order_is_held_reads_in_the_sellers_language(client, db_session):
    """Does a seller reading in Chinese or Spanish see why the order waits in that
    language, on the exceptions list and on the order, naming the SKU, while the
    stored English (for search and logs) stays English?"""
    shop = make_shop(db_session)
    seller = make_user(db_session, "seller", seller=shop.seller)
    raw = amazon_raws()[0]
    raw["items"][1]["SellerSKU"] = "GADGET-NEW-LISTING"
    result = channels.ingest(db_session, shop.accounts["amazon"].id, raw, source="test")
    order = db_session.get(Order, result.order_id)
    assert order.hold_reason.startswith("No SKU mapping for channel SKU")
    for lang, words in (("zh-CN", "没有对应的 SKU"), ("es", "no está asociado"),
                        ("en", "No SKU mapping")):
        seller.locale = lang  # the seller's own setting picks the language
        db_session.commit()
        headers = token_headers(db_session, seller)
        listed = client.get("/api/channels/exceptions", headers=headers).get_json()
        shown = client.get(f"/api/orders/{order.id}", headers=headers).get_json()
        for reason in (listed[0]["hold_reason"], shown["hold_reason"]):
            assert words in reason and "GADGET-NEW-LISTING" in reason, (lang, reason)


def test_a_bad_hmac_is_refused_and_leaves_nothing(client, db_session):
    """Is a webhook signed with the wrong secret, or not signed, answered 401 with
    no receipt, order or dead letter stored?"""
    shop = make_shop(db_session)
    account = shop.accounts["shopify"]
    before = (_count(db_session, WebhookReceipt), _count(db_session, Order),
              _count(db_session, DeadLetter))
    body = json.dumps(fixture("shopify_order.json")).encode()
    assert _webhook(client, account, body, "w1", secret="wrong").status_code == 401
    unsigned = client.post(f"/api/channels/shopify/{account.id}/webhook", data=body,
                           content_type="application/json",
                           headers={"X-Shopify-Webhook-Id": "w2"})
    assert unsigned.status_code == 401
    tampered = body.replace(b'"19.99"', b'"0.01"')
    response = client.post(f"/api/channels/shopify/{account.id}/webhook", data=tampered,
                           content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": sign(body, "fake-webhook-secret"),
                                    "X-Shopify-Webhook-Id": "w3"})
    assert response.status_code == 401
    db_session.expire_all()
    assert (_count(db_session, WebhookReceipt), _count(db_session, Order),
            _count(db_session, DeadLetter)) == before
    ok = _webhook(client, account, body, "w4")
    assert ok.status_code == 200 and _count(db_session, Order) == before[1] + 1


def test_an_unreadable_payload_is_a_dead_letter_that_can_be_replayed(client, db_session):
    """A webhook for an order whose SKU the seller deactivated cannot be recorded:
    is it kept as a dead letter with the reason, seen by its seller only, and once
    the SKU is active again, replayed into an order?"""
    shop = make_shop(db_session)
    account = shop.accounts["shopify"]
    headers = token_headers(db_session, make_user(db_session, "seller", seller=shop.seller))
    stranger = token_headers(db_session, make_user(db_session, "seller",
                                                   seller=make_shop(db_session).seller))
    db_session.get(Sku, shop.skus["MUG"].id).active = False
    db_session.commit()
    body = json.dumps(_shopify(1, 2, "1 Old Rd")).encode()
    assert _webhook(client, account, body, "dl-1").status_code == 200
    assert _count(db_session, Order) == 0
    garbage = b'{"id": 1, "line_items": "not a list"'
    assert _webhook(client, account, garbage, "dl-2").status_code == 200
    letters = client.get("/api/channels/dead-letters", headers=headers).get_json()["items"]
    assert len(letters) == 2
    assert "inactive" in letters[1]["reason"] and letters[1]["payload"] == body.decode()
    assert letters[0]["reason"]
    assert client.get("/api/channels/dead-letters",
                      headers=stranger).get_json()["items"] == []
    assert client.post(f"/api/channels/dead-letters/{letters[1]['id']}/replay",
                       headers=stranger).status_code == 404
    still = client.post(f"/api/channels/dead-letters/{letters[1]['id']}/replay", headers=headers)
    assert still.status_code == 409
    db_session.get(Sku, shop.skus["MUG"].id).active = True
    db_session.commit()
    replayed = client.post(f"/api/channels/dead-letters/{letters[1]['id']}/replay",
                           headers=headers)
    assert replayed.status_code == 200, replayed.get_json()
    assert replayed.get_json()["action"] == "created"
    order = db_session.get(Order, replayed.get_json()["order_id"])
    assert order.status == "allocated"
    open_letters = client.get("/api/channels/dead-letters?open=true",
                              headers=headers).get_json()["items"]
    assert [l["id"] for l in open_letters] == [letters[0]["id"]]


def test_accounts_never_show_their_credentials(client, db_session):
    """Does the accounts API return health but never credentials, and only the
    seller's own accounts?"""
    shop = make_shop(db_session)
    headers = token_headers(db_session, make_user(db_session, "seller", seller=shop.seller))
    made = client.post("/api/channels/accounts", headers=headers, json={
        "channel": "shopify", "account_key": "another.myshopify.com",
        "credentials": {"access_token": "shpat_secret", "webhook_secret": "s3cr3t"}})
    assert made.status_code == 201, made.get_json()
    listed = client.get("/api/channels/accounts", headers=headers)
    assert len(listed.get_json()) == 5
    assert b"shpat" not in listed.data and b"s3cr3t" not in listed.data \
        and b"fake-secret" not in listed.data
    assert all("credentials" not in a and a["has_credentials"] for a in listed.get_json())
    other = token_headers(db_session, make_user(db_session, "seller",
                                                seller=make_shop(db_session).seller))
    ids = {a["id"] for a in client.get("/api/channels/accounts", headers=other).get_json()}
    assert made.get_json()["id"] not in ids
