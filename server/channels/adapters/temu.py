"""Temu partner platform (semi-managed / local sellers): every call is a signed POST
to one router. Orders: bg.order.list.v2.get (parent orders with child orders),
bg.order.shippinginfo.v2.get (the address), bg.order.amount.query (the money);
tracking: bg.logistics.shipment.v2.confirm; stock: bg.local.goods.stock.edit.

Traps: money is already integer cents ({"amount": 1599, "currency": "USD"}); times
are Unix seconds; statuses are integers; the seller's SKU is productList[].extCode
with soldFactor units per sold item; some answers are wrapped twice
(result.result); the label pending_buyer_cancellation pauses fulfilment."""
import hashlib
import json
import math
import time

from ...i18n import message
from ..http import ChannelHTTPError, call
from ..normalise import (
    CANCELLED,
    DELIVERED,
    OPEN,
    PENDING,
    SHIPPED,
    NormalisedLine,
    NormalisedOrder,
    UnreadablePayload,
    from_unix,
    quantity,
    require,
    ship_to,
)
from ..paging import Page, fetch_pages, page_size

STATUSES = {1: PENDING, 2: OPEN, 3: CANCELLED, 4: SHIPPED, 5: DELIVERED, 41: OPEN,
            51: SHIPPED}
ORDER_LIST, SHIPPING_INFO, AMOUNT = ("bg.order.list.v2.get", "bg.order.shippinginfo.v2.get",
                                     "bg.order.amount.query")


def _value(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sign(params: dict, secret: str) -> str:
    """Uppercase hex MD5 of secret + every key and value, keys sorted, + secret."""
    text = "".join(f"{k}{_value(v)}" for k, v in sorted(params.items())
                   if k != "sign" and v is not None)
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()


def unwrap(response: dict):
    """The business result of a router answer, unwrapped once or twice."""
    if not isinstance(response, dict):
        raise UnreadablePayload("a Temu answer must be an object")
    if response.get("success") is False:
        raise UnreadablePayload(f"Temu error {response.get('errorCode')}: "
                                f"{response.get('errorMsg')}")
    result = response.get("result", response)
    if isinstance(result, dict) and isinstance(result.get("result"), dict) and \
            "success" in result:
        result = result["result"]
    return result


def _labels(labels) -> set[str]:
    return {label.get("name") for label in labels or [] if label.get("value")}


def parse(raw: dict) -> NormalisedOrder:
    """`raw` = {"order": a pageItems entry of bg.order.list.v2.get ({parentOrderMap,
    orderList}), "shipping": the bg.order.shippinginfo.v2.get result, "amount": the
    bg.order.amount.query result}."""
    if not isinstance(raw, dict) or not isinstance(raw.get("order"), dict):
        raise UnreadablePayload("expected {'order': {...}, 'shipping': {...}, 'amount': {...}}")
    parent = raw["order"].get("parentOrderMap") or {}
    sn = require(parent, "parentOrderSn", "parentOrderMap")
    code = parent.get("parentOrderStatus")
    if code not in STATUSES:
        raise UnreadablePayload(f"parentOrderMap.parentOrderStatus {code!r} is not a Temu "
                                "status")
    amounts = raw.get("amount") or {}
    prices = {str(o.get("orderSn")): o for o in amounts.get("orderList") or []}
    currency = "USD"
    lines = []
    for n, child in enumerate(raw["order"].get("orderList") or []):
        what = f"orderList[{n}]"
        child_sn = str(require(child, "orderSn", what))
        ordered = quantity(child.get("originalOrderQuantity") or require(child, "quantity",
                                                                          what), what)
        cancelled = min(ordered, quantity(child.get("canceledQuantityBeforeShipment") or 0,
                                          f"{what}.canceledQuantityBeforeShipment"))
        if child.get("orderStatus") == 3:
            cancelled = ordered
        products = child.get("productList") or [{}]
        product = products[0]
        factor = quantity(product.get("soldFactor") or 1, f"{what}.soldFactor") or 1
        sku = (product.get("extCode") or "").strip() or f"temu-sku:{child.get('skuId', '')}"
        price = prices.get(child_sn) or {}
        money = price.get("unitRetailPrice") or price.get("unitBasePrice")
        if not isinstance(money, dict) or not isinstance(money.get("amount"), int):
            raise UnreadablePayload(f"no amount for child order {child_sn} "
                                    "(bg.order.amount.query)")
        currency = money.get("currency") or currency
        lines.append(NormalisedLine(
            external_line_id=child_sn, channel_sku=sku,
            title=" - ".join(x for x in (child.get("goodsName"), child.get("spec")) if x),
            quantity=ordered * factor, quantity_cancelled=cancelled * factor,
            unit_price_cents=round(money["amount"] / factor)))
    if not lines:
        raise UnreadablePayload("orderList is missing or empty")
    shipping = raw.get("shipping")
    ship = None
    if isinstance(shipping, dict) and shipping.get("postCode"):
        ship = ship_to(shipping.get("receiptName"), shipping.get("addressLine1"),
                       shipping.get("addressLine2"), shipping.get("regionName3"),
                       shipping.get("regionName2"), shipping.get("postCode"), "US",
                       shipping.get("mobile"))
    labels = _labels(parent.get("parentOrderLabel"))
    fbc = any(c.get("fulfillmentType") not in (None, "", "fulfillBySeller")
              for c in raw["order"].get("orderList") or [])
    return NormalisedOrder(
        external_id=str(sn), status=STATUSES[code], channel_status=str(code),
        placed_at=from_unix(require(parent, "parentOrderTime", "parentOrderMap")),
        updated_at=from_unix(parent.get("updateTime") or parent["parentOrderTime"]),
        currency=currency, lines=lines, ship_to=ship,
        ship_by=from_unix(parent.get("expectShipLatestTime")),
        promised_by=from_unix(parent.get("latestDeliveryTime")), fulfilled_by_channel=fbc,
        hold=message("Temu: pending buyer cancellation")
        if "pending_buyer_cancellation" in labels else None, raw=raw)


def split(document: dict) -> list[dict]:
    """An import file: {"bg.order.list.v2.get": <answer or [answers]>,
    "bg.order.shippinginfo.v2.get": {parentOrderSn: answer},
    "bg.order.amount.query": {parentOrderSn: answer}}."""
    if not isinstance(document, dict) or ORDER_LIST not in document:
        raise UnreadablePayload(f"the file has no {ORDER_LIST} answer")
    pages = document[ORDER_LIST]
    pages = pages if isinstance(pages, list) else [pages]
    shipping = document.get(SHIPPING_INFO) or {}
    amounts = document.get(AMOUNT) or {}
    raws = []
    for page in pages:
        for item in unwrap(page).get("pageItems") or []:
            sn = (item.get("parentOrderMap") or {}).get("parentOrderSn")
            raws.append({"order": item,
                         "shipping": unwrap(shipping[sn]) if sn in shipping else None,
                         "amount": unwrap(amounts[sn]) if sn in amounts else None})
    return raws


# -- the router ---------------------------------------------------------------------

def router(account, api: str, **params) -> dict:
    creds = account.credentials or {}
    body = {"type": api, "app_key": creds.get("app_key", ""),
            "access_token": creds.get("access_token", ""), "timestamp": int(time.time()),
            "data_type": "JSON", **params}
    body["sign"] = sign(body, creds.get("app_secret", ""))
    response = call("POST", f"{account.base_url}/openapi/router", json=body,
                    headers={"Content-Type": "application/json"})
    if response.status_code >= 400:
        raise ChannelHTTPError(f"{api}: {response.status_code} {response.text[:300]}",
                               status=response.status_code)
    answer = response.json()
    if answer.get("success") is False:
        raise ChannelHTTPError(f"{api}: Temu error {answer.get('errorCode')}: "
                               f"{answer.get('errorMsg')}")
    return answer


MAX_PAGE = 100  # bg.order.list.v2.get pageSize: default 10, max 100


def _with_details(account, items: list[dict]):
    for item in items:
        sn = item["parentOrderMap"]["parentOrderSn"]
        yield {"order": item,
               "shipping": unwrap(router(account, SHIPPING_INFO, parentOrderSn=sn)),
               "amount": unwrap(router(account, AMOUNT, parentOrderSn=sn))}


def page(account, since, until, at=None, *, size=None) -> Page:
    """One bg.order.list.v2.get answer (updateAtStart..updateAtEnd). Temu caps
    pageSize and says so only by answering fewer: page N of size S holds the orders
    from (N-1)*S, so the next page is worked out from where the orders that arrived
    end. When fewer came than asked and totalItemNum says more remain, the next
    pages ask for the size Temu really served (a divisor of where we are, so page
    numbers still line up). Each order's address and money are fetched as it is
    read."""
    at = at or {}
    number = max(1, int(at.get("pageNumber") or 1))
    asked = page_size(at.get("pageSize", size), MAX_PAGE)
    result = unwrap(router(account, ORDER_LIST, pageNumber=number, pageSize=asked,
                           updateAtStart=int(since.timestamp()),
                           updateAtEnd=int(until.timestamp())))
    if not isinstance(result, dict):
        raise UnreadablePayload(f"{ORDER_LIST}: the result is not an object")
    items = result.get("pageItems") or []
    if not isinstance(items, list):
        raise UnreadablePayload(f"{ORDER_LIST}: pageItems is not a list")
    total = None if result.get("totalItemNum") is None else int(result["totalItemNum"])
    reached = (number - 1) * asked + len(items)
    if not items:
        more = False
    elif total is not None:
        more = reached < total
    else:
        more = len(items) >= asked  # no total: a short page is the last
    following = None
    if more:
        served = asked if len(items) >= asked else math.gcd(reached, len(items))
        following = {"pageNumber": reached // served + 1, "pageSize": served}
    return Page(ids=[(i.get("parentOrderMap") or {}).get("parentOrderSn") for i in items],
                orders=_with_details(account, items), next=following, total=total)


def fetch(account, since, until):
    return fetch_pages(page, account, since, until)


def push_tracking(account, order, shipments) -> list[dict]:
    children = [c["orderSn"] for c in ((order.raw_payload or {}).get("order") or {})
                .get("orderList", [])]
    companies = (account.credentials or {}).get("ship_company_ids", {})
    sent = []
    for shipment in shipments:
        carrier = shipment.service.carrier.code if shipment.service.carrier else ""
        request = {"sendType": 0, "shipLater": False, "sendRequestList": [{
            "parentOrderSn": order.external_id, "orderSnList": children,
            "shipCompanyId": companies.get(carrier, 0), "carrierName": carrier,
            "trackingNumber": shipment.tracking_number}]}
        router(account, "bg.logistics.shipment.v2.confirm", **request)
        sent.append(request)
    return sent


def push_quantities(account, quantities: dict[str, int]) -> None:
    """Absolute targets (never diffs in the same call)."""
    router(account, "bg.local.goods.stock.edit", skuStockTargetList=[
        {"outSkuSn": sku, "stockTarget": units} for sku, units in sorted(quantities.items())])
