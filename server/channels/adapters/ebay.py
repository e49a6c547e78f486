"""eBay Sell Fulfillment API: getOrders with the lastmodifieddate filter and
limit/offset pagination, createShippingFulfillment for tracking; Sell Inventory
bulkUpdatePriceQuantity for stock.

Traps: lineItemCost is the unit price times quantity, and a value may have one
decimal ("41.8"); times have milliseconds; the ship-to is under
fulfillmentStartInstructions[0].shippingStep.shipTo; a cancellation shows in
cancelStatus.cancelState."""
from ...i18n import message
from ..http import call, expect_ok
from ..normalise import (
    CANCELLED,
    OPEN,
    PENDING,
    SHIPPED,
    NormalisedLine,
    NormalisedOrder,
    UnreadablePayload,
    minor_units,
    parse_time,
    per_unit,
    quantity,
    require,
    ship_to,
)
from ..paging import Page, fetch_pages, page_size


def parse(raw: dict) -> NormalisedOrder:
    if not isinstance(raw, dict):
        raise UnreadablePayload("expected an order object")
    order_id = require(raw, "orderId", "order")
    cancel = (raw.get("cancelStatus") or {}).get("cancelState") or "NONE_REQUESTED"
    payment = raw.get("orderPaymentStatus") or ""
    fulfilment = raw.get("orderFulfillmentStatus") or ""
    if cancel == "CANCELED" or payment == "FULLY_REFUNDED":
        status = CANCELLED
    elif payment in ("PENDING", "FAILED"):
        status = PENDING
    elif fulfilment == "FULFILLED":
        status = SHIPPED
    else:
        status = OPEN
    total = (raw.get("pricingSummary") or {}).get("total") or {}
    currency = total.get("currency") or "USD"
    lines, ship_by, promised_by = [], None, None
    for n, item in enumerate(raw.get("lineItems") or []):
        what = f"lineItems[{n}]"
        ordered = quantity(require(item, "quantity", what), f"{what}.quantity")
        if ordered == 0:
            continue
        cost = item.get("lineItemCost") or {}
        line_total = minor_units(cost.get("value"), cost.get("currency") or currency,
                                 f"{what}.lineItemCost.value")
        lines.append(NormalisedLine(
            external_line_id=str(require(item, "lineItemId", what)),
            channel_sku=str(item.get("sku") or f"item:{item.get('legacyItemId', '')}"),
            title=item.get("title") or "", quantity=ordered, quantity_cancelled=0,
            unit_price_cents=per_unit(line_total, ordered)))
        instructions = item.get("lineItemFulfillmentInstructions") or {}
        ship_by = ship_by or parse_time(instructions.get("shipByDate"), f"{what}.shipByDate")
        promised_by = promised_by or parse_time(instructions.get("maxEstimatedDeliveryDate"),
                                                f"{what}.maxEstimatedDeliveryDate")
    if not raw.get("lineItems"):
        raise UnreadablePayload("order.lineItems is missing or empty")
    starts = raw.get("fulfillmentStartInstructions") or []
    ship = None
    if starts and (starts[0].get("shippingStep") or {}).get("shipTo"):
        to = starts[0]["shippingStep"]["shipTo"]
        address = to.get("contactAddress") or {}
        ship = ship_to(to.get("fullName"), address.get("addressLine1"),
                       address.get("addressLine2"), address.get("city"),
                       address.get("stateOrProvince"), address.get("postalCode"),
                       address.get("countryCode") or "US",
                       (to.get("primaryPhone") or {}).get("phoneNumber"),
                       to.get("email") or ((raw.get("buyer") or {}).get(
                           "buyerRegistrationAddress") or {}).get("email"))
    market = next((i.get("purchaseMarketplaceId") or i.get("listingMarketplaceId")
                   for i in raw.get("lineItems") or [] if isinstance(i, dict)), None)
    return NormalisedOrder(
        external_id=str(order_id), status=status,
        channel_status=f"{fulfilment}/{payment}/{cancel}"[:32],
        placed_at=parse_time(require(raw, "creationDate", "order"), "creationDate"),
        updated_at=parse_time(raw.get("lastModifiedDate") or raw["creationDate"],
                              "lastModifiedDate"),
        currency=currency, lines=lines, ship_to=ship, ship_by=ship_by,
        promised_by=promised_by,
        hold=message("the buyer asked to cancel: waiting for the cancellation decision")
        if cancel in ("IN_PROGRESS", "CANCEL_REQUESTED") else None,
        locale=MARKETPLACE_LANGUAGE.get(str(market or ""), ""), raw=raw)


# The language a marketplace's buyers read (eBay marketplace ids); unlisted: none said.
MARKETPLACE_LANGUAGE = {"EBAY_US": "en-US", "EBAY_CA": "en-CA", "EBAY_GB": "en-GB",
                        "EBAY_ES": "es-ES", "EBAY_HK": "zh-HK", "EBAY_AU": "en-AU"}


def split(document) -> list[dict]:
    if isinstance(document, list):
        return [o for d in document for o in split(d)]
    if isinstance(document, dict) and isinstance(document.get("orders"), list):
        return document["orders"]
    if isinstance(document, dict) and document.get("orderId"):
        return [document]
    raise UnreadablePayload("expected a getOrders response ({'orders': [...]}) or an order")


def _headers(account) -> dict:
    return {"Authorization": f"Bearer {(account.credentials or {}).get('access_token', '')}",
            "Content-Type": "application/json", "Accept": "application/json"}


MAX_PAGE = 200  # getOrders limit: 1..200 (default 50)


def _time(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def page(account, since, until, at=None, *, size=None) -> Page:
    """One getOrders answer for lastmodifieddate in [since..until]. eBay may answer
    fewer than `limit`: the next offset is this one plus the orders that arrived
    (not plus the limit asked), asked while eBay gives a `next` or its `total` says
    more remain."""
    at = at or {}
    limit = page_size(at.get("limit", size), MAX_PAGE)
    offset = int(at.get("offset") or 0)
    params = {"filter": f"lastmodifieddate:[{_time(since)}..{_time(until)}]",
              "limit": limit, "offset": offset}
    answer = expect_ok(call("GET", f"{account.base_url}/sell/fulfillment/v1/order",
                            params=params, headers=_headers(account)), "getOrders").json()
    orders = answer.get("orders") or []
    if not isinstance(orders, list):
        raise UnreadablePayload("getOrders orders is not a list")
    total = None if answer.get("total") is None else int(answer["total"])
    reached = offset + len(orders)
    more = bool(orders) and (bool(answer.get("next")) or
                             (total is not None and reached < total))
    return Page(ids=[o.get("orderId") for o in orders], orders=orders,
                next={"offset": reached, "limit": limit} if more else None, total=total)


def fetch(account, since, until):
    return fetch_pages(page, account, since, until)


def push_tracking(account, order, shipments) -> list[dict]:
    items = (order.raw_payload or {}).get("lineItems") or []
    sent = []
    for shipment in shipments:
        body = {"lineItems": [{"lineItemId": i["lineItemId"], "quantity": int(i["quantity"])}
                              for i in items],
                "shippedDate": shipment.ship_date.isoformat() + "T00:00:00.000Z",
                "shippingCarrierCode": shipment.service.carrier.code
                if shipment.service.carrier else "Other",
                "trackingNumber": shipment.tracking_number}
        expect_ok(call("POST", f"{account.base_url}/sell/fulfillment/v1/order/"
                       f"{order.external_id}/shipping_fulfillment", json=body,
                       headers=_headers(account)), "createShippingFulfillment")
        sent.append(body)
    return sent


def push_quantities(account, quantities: dict[str, int]) -> None:
    items = sorted(quantities.items())
    for start in range(0, len(items), 25):  # the call takes at most 25 SKUs
        body = {"requests": [{"sku": sku, "shipToLocationAvailability": {"quantity": units}}
                             for sku, units in items[start:start + 25]]}
        expect_ok(call("POST", f"{account.base_url}/sell/inventory/v1/bulk_update_price_quantity",
                       json=body, headers=_headers(account)), "bulkUpdatePriceQuantity")
