"""Polling the (fake) marketplaces over real HTTP: pagination, auth, signatures,
429s and 5xx retried without losing an order; tracking and stock pushed back."""
import copy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.carriers.demo import seed_carriers
from server.channels import services as channels
from server.channels.fake_marketplace import FakeMarketplace
from server.channels.jobs import flush_stock_pushes, poll_account
from server.channels.models import ChannelAccount
from server.inventory import services as stock
from server.jobs import run_deferred
from server.orders import fulfilment
from server.orders.models import Order

from .channel_helpers import amazon_raws, fixture, make_shop, reserved

SINCE = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def fake():
    marketplace = FakeMarketplace(page_size=2).start()
    yield marketplace
    marketplace.stop()


def _shop(db_session, fake):
    shop = make_shop(db_session, base_url=fake.url)
    for account in shop.accounts.values():
        account.last_updated_after = SINCE
    db_session.commit()
    return shop


def _amazon_orders(fake, n=3):
    mfn = amazon_raws()[0]
    ids = []
    for i in range(n):
        raw = copy.deepcopy(mfn)
        order_id = f"113-400000{i}-0000000"
        raw["order"].update(AmazonOrderId=order_id,
                            LastUpdateDate=f"2025-03-10T18:5{i}:00Z")
        # Three items, so getOrderItems pages too (2 per page).
        raw["items"] = raw["items"] + [dict(raw["items"][1], OrderItemId=f"9{i}")]
        fake.add_amazon(raw["order"], raw["items"])
        ids.append(order_id)
    return ids


def test_an_amazon_poll_pages_through_orders_and_items_and_survives_a_429(db_session, fake):
    """With 2 orders per page and 2 items per page, and one 429 (Retry-After: 1) on
    an items call and one 503: are all 3 orders created with their 3 items, the
    throttled call made again, and the cursor moved?"""
    shop = _shop(db_session, fake)
    ids = _amazon_orders(fake)
    fake.inject("/orderItems", status=429, retry_after="1")
    fake.inject("/orders/v0/orders", status=503)
    summary = poll_account(shop.accounts["amazon"].id)
    assert summary["error"] is None, summary
    assert sorted(o["external_id"] for o in summary["orders"]) == ids
    assert {o["action"] for o in summary["orders"]} == {"created"}
    for order_id in ids:
        order = db_session.scalars(select(Order).where(Order.external_id == order_id)).one()
        assert len(order.lines) == 3 and order.status == "allocated"
    statuses = [c for c in fake.calls("/orders/v0/orders") if "NextToken" in c["query"]]
    assert statuses, "the second page was asked for with NextToken"
    throttled = fake.calls(f"/orders/v0/orders/{ids[0]}/orderItems")
    assert len(throttled) >= 2
    assert fake.calls("/auth/o2/token"), "logged in with Amazon first"
    account = db_session.get(ChannelAccount, shop.accounts["amazon"].id)
    assert account.last_updated_after > SINCE and account.last_error is None


def test_a_429_past_the_retries_loses_no_order(db_session, fake):
    """When the platform keeps answering 429 with a long Retry-After, does the poll
    stop with the error recorded and the cursor left where it was, and does the next
    poll take every order?"""
    shop = _shop(db_session, fake)
    ids = _amazon_orders(fake)
    fake.inject("/orderItems", status=429, retry_after="120", times=1)
    first = poll_account(shop.accounts["amazon"].id)
    assert "429" in first["error"]
    account = db_session.get(ChannelAccount, shop.accounts["amazon"].id)
    assert account.last_updated_after == SINCE and "429" in account.last_error
    second = poll_account(shop.accounts["amazon"].id)
    assert second["error"] is None
    found = db_session.scalars(select(Order.external_id).where(Order.external_id.in_(ids))).all()
    assert sorted(found) == ids  # each exactly once (unique per channel/account/id)


def test_ebay_shopify_and_temu_polls(db_session, fake):
    """Do the eBay (filter + offset pages), Shopify (Link-header pages) and Temu
    (signed router calls, answers wrapped twice) polls create their orders?"""
    shop = _shop(db_session, fake)
    ebay = fixture("ebay_orders.json")["orders"][0]
    for i in range(3):
        fake.add_ebay(dict(copy.deepcopy(ebay), orderId=f"12-0000{i}-00000",
                           lastModifiedDate=f"2025-03-09T21:1{i}:00.000Z"))
    base = fixture("shopify_order.json")
    for i in range(3):
        fake.add_shopify(dict(copy.deepcopy(base), id=900 + i,
                              updated_at=f"2025-03-10T14:0{i}:00-04:00"))
    fake.add_temu(channels.adapter("temu").split(fixture("temu_orders.json"))[0])
    fake.inject("/sell/fulfillment/v1/order", status=500)
    results = {c: poll_account(shop.accounts[c].id) for c in ("ebay", "shopify")}
    temu = shop.accounts["temu"]
    temu.last_updated_after = datetime(2025, 3, 10, tzinfo=UTC)
    db_session.commit()
    # The Temu fake checks timestamps against now: its orders are old, so ask for
    # the window they are in by moving the poll's "until" through the cursor.
    results["temu"] = _poll_temu(temu.id)
    for channel, summary in results.items():
        assert summary["error"] is None, (channel, summary)
    assert len(results["ebay"]["orders"]) == 3 and len(results["shopify"]["orders"]) == 3
    assert [o["action"] for o in results["temu"]["orders"]] == ["created"]
    assert {c["query"]["offset"] for c in fake.calls("/sell/fulfillment/v1/order")} >= {"0", "2"}
    assert any("page_info" in c["query"] for c in fake.calls("orders.json"))
    assert [c["api"] for c in fake.calls("/openapi/router")] == [
        "bg.order.list.v2.get", "bg.order.shippinginfo.v2.get", "bg.order.amount.query"]
    from types import SimpleNamespace
    good = db_session.get(ChannelAccount, shop.accounts["temu"].id)
    bad = SimpleNamespace(base_url=fake.url, credentials=dict(good.credentials,
                                                              app_secret="wrong"))
    from server.channels.adapters import temu as temu_adapter
    from server.channels.http import ChannelHTTPError
    with pytest.raises(ChannelHTTPError, match="sign invalid"):
        temu_adapter.router(bad, "bg.order.list.v2.get", pageNumber=1, pageSize=10)


def _poll_temu(account_id):
    from server.channels import jobs
    from server.extensions import db
    account = db.session.get(ChannelAccount, account_id)
    module = channels.adapter("temu")
    orders = [channels.ingest(db.session, account_id, raw, source="poll").to_dict()
              for raw in module.fetch(account, account.last_updated_after,
                                      datetime(2025, 3, 11, tzinfo=UTC))]
    return {"orders": orders, "error": None, "jobs": jobs.__name__}


def test_tracking_goes_back_to_the_channel_when_the_order_ships(db_session, fake):
    """When an eBay order is picked, packed (labelled) and shipped, is its tracking
    number sent to eBay's createShippingFulfillment for that order?"""
    seed_carriers(db_session)
    shop = _shop(db_session, fake)
    ebay = fixture("ebay_orders.json")
    fake.add_ebay(ebay["orders"][0])
    (result,) = channels.import_document(db_session, shop.accounts["ebay"], ebay)
    order = db_session.get(Order, result.order_id)
    for step in ("released", "picked", "packed", "shipped"):
        fulfilment.STEPS[step](db_session, order)
        db_session.commit()
    run_deferred()
    sent = fake.calls("/sell/fulfillment/v1/order/12-11423-90874/shipping_fulfillment")
    assert len(sent) == 1
    tracking = order.shipments[0].tracking_number
    assert sent[0]["body"]["trackingNumber"] == tracking
    assert sent[0]["body"]["lineItems"] == [{"lineItemId": "10067891234501", "quantity": 2}]
    assert any(e.kind == "tracking_pushed" for e in order.events)


def test_a_burst_of_stock_changes_is_one_push_per_channel_sku_per_window(db_session, fake):
    """1,000 stock changes to the widget (and its Amazon and eBay listings): is each
    channel SKU told once per debounce window, with available - buffer (Amazon,
    buffer 5) or the cap (eBay, cap 50); and a change inside the window waits for
    the next one?"""
    shop = _shop(db_session, fake)
    widget = shop.skus["WIDGET"]
    amazon, ebay = shop.accounts["amazon"], shop.accounts["ebay"]
    amazon.buffer = 5
    ebay.cap = 50
    channels.set_mapping(db_session, ebay, "WIDGET-EBAY", [(widget.id, 1)])
    channels.set_mapping(db_session, amazon, "WIDGET-2PACK", [(widget.id, 2)])
    db_session.commit()
    run_deferred()
    now = datetime.now(UTC)
    # The shop's first stock, pushed two windows ago: a clean start.
    flush_stock_pushes(now=now - timedelta(seconds=120))
    fake.requests.clear()
    for batch in range(10):
        for _ in range(100):
            stock.receive(db_session, sku_id=widget.id, bin_id=shop.bins[0].id, quantity=1)
        db_session.commit()
        run_deferred()
    assert fake.calls("/listings/") == []  # nothing yet: the pushes wait for the flush
    assert flush_stock_pushes(now=now)["pushed"] == 3
    available = 10 + 1000
    patches = {c["path"].rsplit("/", 1)[1]: c["body"]["patches"][0]["value"][0]["quantity"]
               for c in fake.calls("/listings/2021-08-01/items/")}
    assert patches == {"WIDGET-RED": available - 5, "WIDGET-2PACK": available // 2 - 5}
    (bulk,) = fake.calls("/sell/inventory/v1/bulk_update_price_quantity")
    assert bulk["body"]["requests"] == [{"sku": "WIDGET-EBAY",
                                         "shipToLocationAvailability": {"quantity": 50}}]
    # An order reserves 2 within the window: no call until the window has passed.
    channels.ingest(db_session, amazon.id, amazon_raws()[0], source="test")
    run_deferred()
    assert reserved(db_session, widget) == 2
    flush_stock_pushes(now=now + timedelta(seconds=30))
    # (GADGET-BLK, last told two windows ago, may go now; the widget listings wait.)
    assert len(fake.calls("/WIDGET-RED")) == 1 and len(fake.calls("/WIDGET-2PACK")) == 1
    assert flush_stock_pushes(now=now + timedelta(seconds=61))["pushed"] == 3  # + eBay
    latest = [c for c in fake.calls("/listings/2021-08-01/items/") if
              c["path"].endswith("/WIDGET-RED")][-1]
    assert latest["body"]["patches"][0]["value"][0]["quantity"] == available - 2 - 5
