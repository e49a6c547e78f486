"""Each platform's own payload (real-shaped, from its public docs) read into the
right SKUs, quantities, unit prices in cents, ship-to and status."""
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.channels import services as channels
from server.channels.adapters import adapter
from server.channels.normalise import UnreadablePayload, minor_units
from server.orders.models import Order

from .channel_helpers import fixture, make_shop, reserved


def _lines(order):
    return sorted((l.sku_id, l.quantity, l.quantity_cancelled, l.unit_price_cents)
                  for l in order.lines)


def test_money_is_read_exactly_whatever_the_platform_writes():
    """Are '41.8', '19.99', 12.345 and a yen amount read into exact minor units?"""
    assert minor_units("41.8", "USD") == 4180
    assert minor_units("19.99", "USD") == 1999
    assert minor_units("0.1", "USD") + minor_units("0.2", "USD") == 30
    assert minor_units("1500", "JPY") == 1500
    with pytest.raises(UnreadablePayload):
        minor_units("12,34", "USD")


def test_amazon_orders_and_items_become_orders_with_unit_prices(db_session):
    """Does an Amazon getOrders + getOrderItems answer become: the MFN order with
    WIDGET-RED x2 at $19.99 each (ItemPrice is the line total) and GADGET-BLK x1 at
    $12.50, ship-to and windows in UTC, allocated; the AFN order recorded as
    fulfilled by Amazon with nothing reserved; the Pending order not imported?"""
    shop = make_shop(db_session)
    results = channels.import_document(db_session, shop.accounts["amazon"],
                                       fixture("amazon_orders.json"))
    actions = {r.external_id: r.action for r in results}
    assert actions == {"113-4012345-6789012": "created", "113-7654321-0000001": "created",
                       "113-1111111-2222222": "ignored"}
    mfn = db_session.get(Order, results[0].order_id)
    assert _lines(mfn) == sorted([(shop.skus["WIDGET"].id, 2, 0, 1999),
                                  (shop.skus["GADGET"].id, 1, 0, 1250)])
    assert [l.channel_sku for l in mfn.lines] == ["WIDGET-RED", "GADGET-BLK"]
    assert (mfn.ship_to_name, mfn.ship_to_city, mfn.ship_to_state, mfn.ship_to_zip,
            mfn.ship_to_address2) == ("Maria Gonzalez", "Mountain View", "CA", "94043",
                                      "Apt 4")
    assert mfn.ship_by == datetime(2025, 3, 13, 6, 59, 59, tzinfo=UTC)
    assert mfn.promised_by == datetime(2025, 3, 19, 6, 59, 59, tzinfo=UTC)
    assert mfn.status == "allocated" and mfn.channel_status == "Unshipped"
    assert mfn.raw_payload["order"]["AmazonOrderId"] == "113-4012345-6789012"
    assert mfn.total_cents == 2 * 1999 + 1250
    afn = db_session.get(Order, results[1].order_id)
    assert afn.status == "fulfilled_by_channel" and afn.fulfilled_by_channel
    assert afn.allocations == []
    assert reserved(db_session, shop.skus["WIDGET"]) == 2  # the MFN order's alone


def test_a_shopify_webhook_body_with_a_bundle_and_an_empty_sku(db_session):
    """Is a Shopify order read with `price` as the unit price, its time offset made
    UTC, a line with an empty sku found by its variant id, and that bundle (2 mugs +
    coaster set) expanded into its SKUs?"""
    shop = make_shop(db_session)
    (result,) = channels.import_document(db_session, shop.accounts["shopify"],
                                         fixture("shopify_order.json"))
    order = db_session.get(Order, result.order_id)
    assert order.external_id == "5801234567890"
    assert order.placed_at == datetime(2025, 3, 10, 18, 5, 12, tzinfo=UTC)
    mug, coaster = shop.skus["MUG"].id, shop.skus["COASTER"].id
    by_sku = {}
    for line in order.lines:
        by_sku.setdefault(line.sku_id, []).append((line.channel_sku, line.quantity))
    assert by_sku == {mug: [("MUG-BLUE", 2), ("variant:44012345678999", 2)],
                      coaster: [("variant:44012345678999", 1)]}
    mug_line = next(l for l in order.lines if l.channel_sku == "MUG-BLUE")
    assert mug_line.unit_price_cents == 1999
    bundle = [l for l in order.lines if l.channel_sku.startswith("variant:")]
    assert abs(sum(l.unit_price_cents * l.quantity for l in bundle) - 3499) <= 2
    assert (order.ship_to_name, order.ship_to_state, order.ship_to_zip) == ("Jon Smith", "IL",
                                                                            "61350")
    assert order.status == "allocated"
    assert reserved(db_session, shop.skus["MUG"]) == 4


def test_an_ebay_order_with_a_one_decimal_line_total(db_session):
    """Is eBay's lineItemCost "41.8" for 2 units read as $20.90 each, the ship-to
    taken from fulfillmentStartInstructions, shipByDate kept?"""
    shop = make_shop(db_session)
    (result,) = channels.import_document(db_session, shop.accounts["ebay"],
                                         fixture("ebay_orders.json"))
    order = db_session.get(Order, result.order_id)
    assert _lines(order) == [(shop.skus["LED"].id, 2, 0, 2090)]
    assert (order.ship_to_name, order.ship_to_address2, order.ship_to_city,
            order.ship_to_state, order.ship_to_zip, order.ship_to_phone) == (
        "Robert Chen", "Suite 1400", "Austin", "TX", "78701", "5125550199")
    assert order.ship_by == datetime(2025, 3, 11, 6, 59, 59, tzinfo=UTC)
    assert order.channel_updated_at == datetime(2025, 3, 9, 21, 15, 10, 512000, tzinfo=UTC)
    assert order.status == "allocated"


def test_a_temu_multipack_partly_cancelled_in_cents(db_session):
    """Is a Temu parent order (answers wrapped twice) read with its child order's
    soldFactor 2 multipack (3 sold = 6 units, 1 cancelled before shipment = 2 units),
    the amount already in cents ($15.98 per pack = 799 per unit), the address from
    the shipping-info call (Washington -> WA)?"""
    shop = make_shop(db_session)
    (result,) = channels.import_document(db_session, shop.accounts["temu"],
                                         fixture("temu_orders.json"))
    order = db_session.get(Order, result.order_id)
    assert order.external_id == "PO-211-06682144932474090"
    assert _lines(order) == [(shop.skus["TAPE"].id, 6, 2, 799)]
    assert (order.ship_to_name, order.ship_to_city, order.ship_to_state,
            order.ship_to_zip) == ("Linda Park", "Seattle", "WA", "98109")
    assert order.placed_at == datetime.fromtimestamp(1741621563, UTC)
    assert order.ship_by == datetime.fromtimestamp(1741881599, UTC)
    assert order.status == "allocated"
    assert reserved(db_session, shop.skus["TAPE"]) == 4


def test_unreadable_payloads_say_why():
    """Does each adapter refuse a payload it cannot read with a reason, rather than
    guess?"""
    amazon = fixture("amazon_orders.json")
    order = amazon["getOrders"]["payload"]["Orders"][0]
    with pytest.raises(UnreadablePayload, match="getOrderItems"):
        adapter("amazon").parse({"order": order, "items": None})
    with pytest.raises(UnreadablePayload, match="OrderStatus"):
        adapter("amazon").parse({"order": {**order, "OrderStatus": "Lost"}, "items": []})
    ebay = fixture("ebay_orders.json")["orders"][0]
    with pytest.raises(UnreadablePayload, match="lineItemCost"):
        adapter("ebay").parse({**ebay, "lineItems": [{**ebay["lineItems"][0],
                                                      "lineItemCost": {"value": "n/a"}}]})
    with pytest.raises(UnreadablePayload, match="time zone"):
        adapter("shopify").parse({**fixture("shopify_order.json"),
                                  "created_at": "2025-03-10 14:05:12"})
    temu = adapter("temu").split(fixture("temu_orders.json"))[0]
    with pytest.raises(UnreadablePayload, match="amount"):
        adapter("temu").parse({**temu, "amount": None})


def test_the_cli_imports_a_file_and_prints_the_order_ids(committed_app, tmp_path):
    """Does `channels import --channel ebay --seller CODE FILE` print the id of the
    order it created, and on a second run the same id, unchanged?"""
    from server.extensions import db
    with committed_app.app_context():
        shop = make_shop(db.session)
        code = shop.seller.code
        db.session.remove()
    path = tmp_path / "ebay.json"
    path.write_text(json.dumps(fixture("ebay_orders.json")))
    runner = committed_app.test_cli_runner()
    first = runner.invoke(args=["channels", "import", "--channel", "ebay", "--seller", code,
                                str(path)])
    assert first.exit_code == 0, first.output
    with committed_app.app_context():
        order = db.session.scalars(select(Order).where(
            Order.external_id == "12-11423-90874")).one()
        assert order.status == "allocated" and order.seller_id == shop.seller.id
        order_id = order.id
        db.session.remove()
    assert first.stdout.split("\t")[:2] == [str(order_id), "created"]
    again = runner.invoke(args=["channels", "import", "--channel", "ebay", "--seller", code,
                                str(path)])
    assert again.stdout.split("\t")[:2] == [str(order_id), "unchanged"]
    bad = runner.invoke(args=["channels", "import", "--channel", "ebay", "--seller",
                              "nobody-such", str(path)])
    assert bad.exit_code == 1 and "no seller" in bad.output
