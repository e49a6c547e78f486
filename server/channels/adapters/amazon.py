"""Amazon SP-API Orders v0 (getOrders, getOrderItems) and Listings Items 2021-08-01.

Traps: ItemPrice is the unit price times QuantityOrdered; money amounts are strings;
AFN orders are Amazon's to ship (recorded, never allocated); a Pending order has no
address yet and is not imported until it is Unshipped; NextToken, when present,
replaces every other filter."""
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

STATUSES = {"PendingAvailability": PENDING, "Pending": PENDING, "Unshipped": OPEN,
            "PartiallyShipped": OPEN, "Shipped": SHIPPED, "InvoiceUnconfirmed": SHIPPED,
            "Canceled": CANCELLED, "Unfulfillable": CANCELLED}


def parse(raw: dict) -> NormalisedOrder:
    """`raw` = {"order": an Order of getOrders, "items": the OrderItems of
    getOrderItems}."""
    if not isinstance(raw, dict) or not isinstance(raw.get("order"), dict):
        raise UnreadablePayload("expected {'order': {...}, 'items': [...]}")
    order, items = raw["order"], raw.get("items")
    if not isinstance(items, list):
        raise UnreadablePayload("order items (getOrderItems) are missing")
    order_id = require(order, "AmazonOrderId", "Order")
    status = require(order, "OrderStatus", "Order")
    if status not in STATUSES:
        raise UnreadablePayload(f"Order.OrderStatus {status!r} is not an SP-API status")
    currency = (order.get("OrderTotal") or {}).get("CurrencyCode") or next(
        ((i.get("ItemPrice") or {}).get("CurrencyCode") for i in items
         if i.get("ItemPrice")), None) or "USD"
    lines = []
    for n, item in enumerate(items):
        what = f"OrderItems[{n}]"
        ordered = quantity(item.get("QuantityOrdered", 0), f"{what}.QuantityOrdered")
        if ordered == 0:
            continue  # a cancelled item of a cancelled order carries no units
        price = item.get("ItemPrice") or {}
        total = minor_units(price.get("Amount"), price.get("CurrencyCode") or currency,
                            f"{what}.ItemPrice.Amount")
        lines.append(NormalisedLine(
            external_line_id=str(require(item, "OrderItemId", what)),
            channel_sku=str(require(item, "SellerSKU", what)),
            title=item.get("Title") or "", quantity=ordered, quantity_cancelled=0,
            unit_price_cents=per_unit(total, ordered)))
    address = order.get("ShippingAddress")
    return NormalisedOrder(
        external_id=order_id, status=STATUSES[status], channel_status=status,
        placed_at=parse_time(require(order, "PurchaseDate", "Order"), "PurchaseDate"),
        updated_at=parse_time(require(order, "LastUpdateDate", "Order"), "LastUpdateDate"),
        currency=currency, lines=lines,
        ship_to=ship_to(address.get("Name"), address.get("AddressLine1"),
                        address.get("AddressLine2"), address.get("City"),
                        address.get("StateOrRegion"), address.get("PostalCode"),
                        address.get("CountryCode") or "US", address.get("Phone"),
                        (order.get("BuyerInfo") or {}).get("BuyerEmail"))
        if address else None,
        locale=MARKETPLACE_LANGUAGE.get(str(order.get("MarketplaceId") or ""), ""),
        ship_by=parse_time(order.get("LatestShipDate"), "LatestShipDate"),
        promised_by=parse_time(order.get("LatestDeliveryDate"), "LatestDeliveryDate"),
        fulfilled_by_channel=order.get("FulfillmentChannel") == "AFN", raw=raw)


# The language a marketplace's buyers read (SP-API marketplace ids); unlisted: none said.
MARKETPLACE_LANGUAGE = {"ATVPDKIKX0DER": "en-US", "A2EUQ1WTGCTBG2": "en-CA",
                        "A1AM78C64UM0Y8": "es-MX", "A1RKKUPIHCS9HS": "es-ES",
                        "A1F83G8C2ARO7P": "en-GB"}


def split(document: dict) -> list[dict]:
    """An import file: {"getOrders": <response>, "getOrderItems": {order id: response
    or [responses]}} (or the endpoint paths as keys)."""
    orders_part = document.get("getOrders") or document.get("/orders/v0/orders")
    items_part = document.get("getOrderItems") or document.get(
        "/orders/v0/orders/{orderId}/orderItems") or {}
    if orders_part is None:
        raise UnreadablePayload("the file has no getOrders response")
    pages = orders_part if isinstance(orders_part, list) else [orders_part]
    raws = []
    for page in pages:
        for order in (page.get("payload") or {}).get("Orders", []):
            responses = items_part.get(order.get("AmazonOrderId"))
            responses = responses if isinstance(responses, list) else \
                [responses] if responses else []
            items = [i for r in responses for i in (r.get("payload") or {}).get("OrderItems", [])]
            raws.append({"order": order, "items": items if responses else None})
    return raws


# -- the API -----------------------------------------------------------------------

_tokens: dict[tuple, str] = {}


def _token(account) -> str:
    creds = account.credentials or {}
    if creds.get("access_token"):
        return creds["access_token"]
    key = (account.base_url, creds.get("client_id"), creds.get("refresh_token"))
    if key not in _tokens:
        response = expect_ok(call("POST", f"{account.base_url}/auth/o2/token", data={
            "grant_type": "refresh_token", "refresh_token": creds.get("refresh_token"),
            "client_id": creds.get("client_id"), "client_secret": creds.get("client_secret")}),
            "Login with Amazon")
        _tokens[key] = response.json()["access_token"]
    return _tokens[key]


def _get(account, path: str, params: dict) -> dict:
    response = call("GET", f"{account.base_url}{path}", params=params,
                    headers={"x-amz-access-token": _token(account),
                             "Accept": "application/json"})
    if response.status_code == 403:
        _tokens.clear()
    return expect_ok(response, f"GET {path}").json()


MAX_PAGE = 100  # getOrders MaxResultsPerPage: 1..100 (default 100)


def _items(account, order_id: str) -> list[dict]:
    items, params = [], {}
    while True:
        item_page = _get(account, f"/orders/v0/orders/{order_id}/orderItems",
                         params).get("payload") or {}
        items += item_page.get("OrderItems") or []
        if not item_page.get("NextToken"):
            return items
        params = {"NextToken": item_page["NextToken"]}


def _with_items(account, orders: list[dict]):
    for order in orders:
        yield {"order": order, "items": _items(account, order["AmazonOrderId"])}


def page(account, since, until, at=None, *, size=None) -> Page:
    """One getOrders answer. The first page asks MaxResultsPerPage (Amazon may send
    fewer); the next one is the NextToken Amazon gave, which carries the query (the
    other filters are ignored with it). No total: the last page has no NextToken.
    The orders' items (getOrderItems, paged too) are fetched as they are read."""
    if at and at.get("NextToken"):
        params = {"MarketplaceIds": account.account_key, "NextToken": at["NextToken"]}
    else:
        params = {"MarketplaceIds": account.account_key,
                  "LastUpdatedAfter": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "MaxResultsPerPage": page_size(size, MAX_PAGE)}
    payload = _get(account, "/orders/v0/orders", params).get("payload") or {}
    orders = payload.get("Orders") or []
    if not isinstance(orders, list):
        raise UnreadablePayload("getOrders payload.Orders is not a list")
    token = payload.get("NextToken")
    return Page(ids=[o.get("AmazonOrderId") for o in orders],
                orders=_with_items(account, orders),
                next={"NextToken": token} if token else None, total=None)


def fetch(account, since, until):
    return fetch_pages(page, account, since, until)


def push_tracking(account, order, shipments) -> list[dict]:
    raw_items = (order.raw_payload or {}).get("items") or []
    sent = []
    for n, shipment in enumerate(shipments, start=1):
        body = {"marketplaceId": account.account_key, "packageDetail": {
            "packageReferenceId": str(n), "carrierCode": shipment.service.carrier.code
            if getattr(shipment.service, "carrier", None) else "Other",
            "shippingMethod": shipment.service.name, "trackingNumber": shipment.tracking_number,
            "shipDate": shipment.ship_date.isoformat() + "T00:00:00Z",
            "orderItems": [{"orderItemId": i["OrderItemId"],
                            "quantity": int(i.get("QuantityOrdered", 0))}
                           for i in raw_items if int(i.get("QuantityOrdered", 0))]}}
        response = call("POST", f"{account.base_url}/orders/v0/orders/{order.external_id}"
                        "/shipmentConfirmation", json=body,
                        headers={"x-amz-access-token": _token(account)})
        expect_ok(response, "confirmShipment")
        sent.append(body)
    return sent


def push_quantities(account, quantities: dict[str, int]) -> None:
    seller_id = (account.credentials or {}).get("selling_partner_id", "")
    for sku, units in sorted(quantities.items()):
        body = {"productType": "PRODUCT", "patches": [{
            "op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": units}]}]}
        response = call("PATCH", f"{account.base_url}/listings/2021-08-01/items/"
                        f"{seller_id}/{sku}", params={"marketplaceIds": account.account_key},
                        json=body, headers={"x-amz-access-token": _token(account)})
        expect_ok(response, f"patchListingsItem {sku}")
