"""Shopify: orders/create, orders/updated, orders/cancelled webhooks (the REST order
JSON, verified by X-Shopify-Hmac-Sha256), the REST orders endpoint with updated_at_min
and Link-header cursor pagination as the catch-up poll (it returns the same order
JSON as the webhooks), fulfilment orders + fulfillments for tracking, and GraphQL
inventorySetQuantities for stock.

Traps: prices are strings, `price` is the unit price; times carry the shop's offset;
`current_quantity` is what is left after edits and removals; `sku` may be empty
(the variant id stands in); `test: true` orders are not real."""
import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qs, urlsplit

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
    quantity,
    require,
    ship_to,
)
from ..paging import Page, fetch_pages, page_size

API_VERSION = "2024-10"


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """X-Shopify-Hmac-Sha256 over the raw body, compared in constant time."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def channel_sku(item: dict) -> str:
    return (item.get("sku") or "").strip() or (
        f"variant:{item['variant_id']}" if item.get("variant_id") else
        f"product:{item.get('product_id') or item.get('id')}")


def parse(raw: dict) -> NormalisedOrder:
    if not isinstance(raw, dict):
        raise UnreadablePayload("expected an order object")
    order_id = str(require(raw, "id", "order"))
    currency = raw.get("currency") or "USD"
    if raw.get("cancelled_at"):
        status = CANCELLED
    elif raw.get("fulfillment_status") == "fulfilled":
        status = SHIPPED
    elif raw.get("financial_status") in ("pending", "voided", "expired"):
        status = CANCELLED if raw.get("financial_status") == "voided" else PENDING
    else:
        status = OPEN
    lines = []
    for n, item in enumerate(raw.get("line_items") or []):
        what = f"line_items[{n}]"
        if item.get("requires_shipping") is False:
            continue  # gift cards, services: nothing to ship
        ordered = quantity(require(item, "quantity", what), f"{what}.quantity")
        current = item.get("current_quantity")
        left = ordered if current is None else min(ordered, quantity(current,
                                                                     f"{what}.current_quantity"))
        lines.append(NormalisedLine(
            external_line_id=str(require(item, "id", what)), channel_sku=channel_sku(item),
            title=" - ".join(x for x in (item.get("title"), item.get("variant_title")) if x),
            quantity=ordered, quantity_cancelled=ordered - left,
            unit_price_cents=minor_units(item.get("price"), currency, f"{what}.price")))
    if not lines and not raw.get("line_items"):
        raise UnreadablePayload("order.line_items is missing or empty")
    address = raw.get("shipping_address")
    ship = None
    if address:
        name = address.get("name") or " ".join(x for x in (address.get("first_name"),
                                                           address.get("last_name")) if x)
        ship = ship_to(name, address.get("address1"), address.get("address2"),
                       address.get("city"), address.get("province_code") or
                       address.get("province"), address.get("zip"),
                       address.get("country_code") or "US", address.get("phone"),
                       raw.get("email") or raw.get("contact_email") or
                       (raw.get("customer") or {}).get("email"))
    return NormalisedOrder(
        external_id=order_id,
        status=status,
        channel_status=(("cancelled" if raw.get("cancelled_at") else
                         raw.get("fulfillment_status") or "unfulfilled") + "/"
                        + (raw.get("financial_status") or ""))[:32],
        placed_at=parse_time(require(raw, "created_at", "order"), "created_at"),
        updated_at=parse_time(raw.get("updated_at") or raw["created_at"], "updated_at"),
        currency=currency, lines=lines, ship_to=ship,
        skip="a Shopify test order" if raw.get("test") else None,
        locale=str(raw.get("customer_locale") or "")[:16], raw=raw)


def split(document) -> list[dict]:
    """A webhook body (one order), an orders.json response ({"orders": [...]}), or a
    list of either."""
    if isinstance(document, list):
        return [o for d in document for o in split(d)]
    if isinstance(document, dict) and isinstance(document.get("orders"), list):
        return document["orders"]
    if isinstance(document, dict) and isinstance(document.get("order"), dict):
        return [document["order"]]
    if isinstance(document, dict):
        return [document]
    raise UnreadablePayload("expected an order, {'orders': [...]} or a list")


def _headers(account) -> dict:
    return {"X-Shopify-Access-Token": (account.credentials or {}).get("access_token", ""),
            "Content-Type": "application/json"}


_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


MAX_PAGE = 250  # orders.json limit: 1..250 (default 50)


def page(account, since, until, at=None, *, size=None) -> Page:
    """One orders.json answer (updated_at_min..updated_at_max, any status). The next
    page is the Link header's rel="next" page_info cursor, which carries the query
    (only `limit` goes with it); no total, the last page has no next link."""
    url = f"{account.base_url}/admin/api/{API_VERSION}/orders.json"
    if at and at.get("page_info"):
        limit = page_size(at.get("limit", size), MAX_PAGE)
        params = {"limit": limit, "page_info": at["page_info"]}
    else:
        limit = page_size(size, MAX_PAGE)
        params = {"status": "any", "limit": limit,
                  "updated_at_min": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "updated_at_max": until.strftime("%Y-%m-%dT%H:%M:%SZ")}
    response = expect_ok(call("GET", url, params=params, headers=_headers(account)),
                         "GET orders.json")
    orders = response.json().get("orders") or []
    if not isinstance(orders, list):
        raise UnreadablePayload("orders.json orders is not a list")
    following = None
    match = _NEXT.search(response.headers.get("Link", ""))
    if match:
        query = parse_qs(urlsplit(match.group(1)).query)
        if not query.get("page_info"):
            raise UnreadablePayload(f"a next link without page_info: {match.group(1)[:200]}")
        following = {"page_info": query["page_info"][0], "limit": limit}
    return Page(ids=[None if o.get("id") is None else str(o["id"]) for o in orders],
                orders=orders, next=following, total=None)


def fetch(account, since, until):
    return fetch_pages(page, account, since, until)


def push_tracking(account, order, shipments) -> list[dict]:
    base = f"{account.base_url}/admin/api/{API_VERSION}"
    response = expect_ok(call("GET", f"{base}/orders/{order.external_id}/fulfillment_orders.json",
                              headers=_headers(account)), "GET fulfillment_orders")
    open_orders = [fo for fo in response.json().get("fulfillment_orders", [])
                   if fo.get("status") in ("open", "in_progress", "scheduled")]
    sent = []
    for shipment in shipments:
        carrier = shipment.service.carrier.name if shipment.service.carrier else ""
        body = {"fulfillment": {
            "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}
                                                for fo in open_orders],
            "tracking_info": {"number": shipment.tracking_number, "company": carrier},
            "notify_customer": True}}
        expect_ok(call("POST", f"{base}/fulfillments.json", json=body,
                       headers=_headers(account)), "POST fulfillments")
        sent.append(body)
    return sent


SET_QUANTITIES = """mutation inventorySet($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { field message code }
  }
}"""


def push_quantities(account, quantities: dict[str, int]) -> None:
    """`channel_sku` for Shopify push is the inventory item gid (or SKU when the shop
    maps it); the location comes from the account's credentials."""
    location = (account.credentials or {}).get("location_id", "")
    body = {"query": SET_QUANTITIES, "variables": {"input": {
        "name": "available", "reason": "correction", "ignoreCompareQuantity": True,
        "quantities": [{"inventoryItemId": sku, "locationId": location, "quantity": units}
                       for sku, units in sorted(quantities.items())]}}}
    response = expect_ok(call("POST", f"{account.base_url}/admin/api/{API_VERSION}/graphql.json",
                              json=body, headers=_headers(account)), "inventorySetQuantities")
    errors = ((response.json().get("data") or {}).get("inventorySetQuantities") or {}).get(
        "userErrors")
    if errors:
        from ..http import ChannelHTTPError
        raise ChannelHTTPError(f"inventorySetQuantities: {errors}")
