"""A fake marketplace: a real HTTP server that speaks the four platforms' order,
fulfilment and stock endpoints, their pagination, auth and signatures, as their
public specifications describe them; that can answer 429 (with Retry-After), 5xx
or slowly on demand; and that records every request it was sent.

Paging is each platform's own: Amazon `MaxResultsPerPage` + `NextToken`, eBay
`limit`/`offset` with `total` and a `next` href, Shopify `limit` + a Link header
`page_info` cursor, Temu `pageNumber`/`pageSize` with `totalItemNum`. Each platform
caps the page (its documented maximum, and `page_size` or `configure(max_page=)`):
it answers at most that many whatever was asked. `configure()` can also make a
platform lie about its total (`extra_total`) or stop moving its next page after
`loop_after` pages (the same token again; eBay and Temu serve the same page again).

Tests start it on a free port (`FakeMarketplace().start()`); the demo runs it as
`python -m server.channels.fake_marketplace --port 8765 --stream-every 20`, which
keeps adding new orders so a new user sees them arriving.
"""
import argparse
import base64
import hashlib
import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .adapters.temu import sign as temu_sign

CREDENTIALS = {
    "amazon": {"client_id": "amzn1.application-oa2-client.fake", "client_secret": "fake-secret",
               "refresh_token": "Atzr|fake-refresh", "selling_partner_id": "A2FAKESELLER"},
    "ebay": {"access_token": "v^1.1#fake-ebay-user-token"},
    "shopify": {"access_token": "shpat_fake", "webhook_secret": "fake-webhook-secret",
                "location_id": "gid://shopify/Location/1"},
    "temu": {"app_key": "fake-app-key", "app_secret": "fake-app-secret",
             "access_token": "fake-temu-token"},
}
AMAZON_ACCESS_TOKEN = "Atza|fake-access"
# The largest page each platform documents (Temu: pageSize default 10, max 100).
PLATFORM_MAX_PAGE = {"amazon": 100, "ebay": 200, "shopify": 250, "temu": 100}


def _token(offset: int, **extra) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, **extra}).encode()).decode()


def _untoken(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.encode()))


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


class FakeMarketplace:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, page_size: int = 2):
        self.host, self.port, self.page_size = host, port, page_size
        self.amazon: dict[str, dict] = {}    # AmazonOrderId -> {"order", "items"}
        self.ebay: dict[str, dict] = {}      # orderId -> order
        self.shopify: dict[str, dict] = {}   # id -> order
        self.temu: dict[str, dict] = {}      # parentOrderSn -> {"order", "shipping", "amount"}
        self.requests: list[dict] = []
        self.faults: list[dict] = []
        self.paging = {c: {"max_page": None, "extra_total": 0, "loop_after": None}
                       for c in PLATFORM_MAX_PAGE}
        self.lock = threading.Lock()
        self.server = None

    # -- control ------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def start(self) -> "FakeMarketplace":
        fake = self

        class Handler(_Handler):
            marketplace = fake
        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def configure(self, channel: str, *, max_page: int | None = None, extra_total: int = 0,
                  loop_after: int | None = None) -> None:
        """How `channel` pages its order list: at most `max_page` orders a page
        (instead of `page_size`; never more than the platform's documented maximum);
        a total that claims `extra_total` more orders than there are (eBay `total`,
        Temu `totalItemNum`; Amazon and Shopify send no total); after `loop_after`
        pages the next page stops moving (Amazon and Shopify hand back the same
        token forever, eBay and Temu answer the same page for every later one)."""
        with self.lock:
            self.paging[channel] = {"max_page": max_page, "extra_total": extra_total,
                                    "loop_after": loop_after}

    def reset(self) -> None:
        """Forget every order, request, fault and paging setting."""
        with self.lock:
            for store in (self.amazon, self.ebay, self.shopify, self.temu):
                store.clear()
            self.requests.clear()
            self.faults.clear()
            for channel in self.paging:
                self.paging[channel] = {"max_page": None, "extra_total": 0,
                                        "loop_after": None}

    def page_cap(self, channel: str, asked: int) -> int:
        """How many orders `channel` answers when asked for `asked`."""
        cap = self.paging[channel]["max_page"] or self.page_size
        return max(1, min(int(asked), cap, PLATFORM_MAX_PAGE[channel]))

    def inject(self, match: str, *, status: int = 429, retry_after: str | None = None,
               delay: float = 0.0, times: int = 1, after: int = 0,
               exact: bool = False) -> None:
        """The next `times` requests whose path (or Temu API name) contains `match`
        (is `match`, with `exact`) answer `status` (after `delay` seconds), once
        `after` such requests were answered normally; status 200 with a delay is a
        slow answer."""
        with self.lock:
            self.faults.append({"match": match, "status": status, "retry_after": retry_after,
                                "delay": delay, "times": times, "after": after,
                                "exact": exact})

    def calls(self, match: str = "") -> list[dict]:
        with self.lock:
            return [r for r in self.requests if match in r["path"] or match == r.get("api")]

    def add_amazon(self, order: dict, items: list[dict]) -> None:
        self.amazon[order["AmazonOrderId"]] = {"order": order, "items": items}

    def add_ebay(self, order: dict) -> None:
        self.ebay[order["orderId"]] = order

    def add_shopify(self, order: dict) -> None:
        self.shopify[str(order["id"])] = order

    def add_temu(self, raw: dict) -> None:
        self.temu[raw["order"]["parentOrderMap"]["parentOrderSn"]] = raw

    def _fault(self, path: str, api: str | None) -> dict | None:
        with self.lock:
            for fault in self.faults:
                matches = fault["match"] == path if fault.get("exact") else \
                    fault["match"] in path
                if fault["times"] > 0 and (matches or fault["match"] == api):
                    if fault.get("after", 0) > 0:
                        fault["after"] -= 1
                        continue
                    fault["times"] -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    marketplace: FakeMarketplace
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    # -- plumbing -----------------------------------------------------------------
    def _answer(self, status: int, body=None, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        fake = self.marketplace
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw) if raw and "json" in (self.headers.get("Content-Type") or
                                                         "json") else None
        except ValueError:
            body = None
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()} if raw and body is None \
            else {}
        api = body.get("type") if isinstance(body, dict) else None
        with fake.lock:
            fake.requests.append({"method": method, "path": parts.path, "query": query,
                                  "headers": dict(self.headers), "body": body, "form": form,
                                  "api": api, "at": time.time()})
        fault = fake._fault(parts.path, api)
        if fault:
            time.sleep(fault["delay"])
            if fault["status"] != 200:
                headers = {"Retry-After": fault["retry_after"]} if fault["retry_after"] else {}
                return self._answer(fault["status"], {"errors": [{
                    "code": "QuotaExceeded" if fault["status"] == 429 else "InternalFailure",
                    "message": "injected"}]}, headers)
        path = parts.path
        try:
            if path == "/auth/o2/token":
                return self._lwa(form)
            if path.startswith(("/orders/v0/", "/listings/")):
                return self._amazon(method, path, query, body)
            if path.startswith("/sell/"):
                return self._ebay(method, path, query, body)
            if path.startswith("/admin/api/"):
                return self._shopify(method, path, query, body)
            if path == "/openapi/router":
                return self._temu(body)
        except Exception as error:  # noqa: BLE001 - a fake answers, it never dies
            return self._answer(500, {"error": repr(error)})
        return self._answer(404, {"errors": [{"message": f"no route {path}"}]})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    # -- Amazon -------------------------------------------------------------------
    def _lwa(self, form):
        creds = CREDENTIALS["amazon"]
        if form.get("refresh_token") != creds["refresh_token"] or \
                form.get("client_secret") != creds["client_secret"]:
            return self._answer(401, {"error": "invalid_grant"})
        return self._answer(200, {"access_token": AMAZON_ACCESS_TOKEN, "token_type": "bearer",
                                  "expires_in": 3600})

    def _amazon(self, method, path, query, body):
        fake = self.marketplace
        if self.headers.get("x-amz-access-token") != AMAZON_ACCESS_TOKEN:
            return self._answer(403, {"errors": [{"code": "Unauthorized",
                                                  "message": "Access to requested resource "
                                                  "is denied."}]})
        if path == "/orders/v0/orders" and method == "GET":
            # NextToken carries the query (the other filters are then ignored).
            if "NextToken" in query:
                try:
                    state = _untoken(query["NextToken"])
                    after, offset, asked, number = (state["after"], state["o"], state["n"],
                                                    state["p"])
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"errors": [{"code": "InvalidInput",
                                                          "message": "bad NextToken"}]})
            else:
                if "MarketplaceIds" not in query or "LastUpdatedAfter" not in query:
                    return self._answer(400, {"errors": [{"code": "InvalidInput",
                                                          "message": "missing filter"}]})
                after, offset, number = query["LastUpdatedAfter"], 0, 1
                asked = int(query.get("MaxResultsPerPage", 100))
            size = fake.page_cap("amazon", asked)
            found = sorted((o["order"] for o in fake.amazon.values()
                            if _iso(o["order"]["LastUpdateDate"]) >= _iso(after)),
                           key=lambda o: (o["LastUpdateDate"], o["AmazonOrderId"]))
            page = {"Orders": found[offset:offset + size]}
            loop = fake.paging["amazon"]["loop_after"]
            if loop is not None and "NextToken" in query and number > loop:
                page["NextToken"] = query["NextToken"]  # a platform that loops
            elif offset + size < len(found):
                page["NextToken"] = _token(offset + size, after=after, n=asked, p=number + 1)
            return self._answer(200, {"payload": page})
        parts = path.split("/")
        if len(parts) == 6 and parts[5] == "orderItems":
            entry = fake.amazon.get(parts[4])
            if entry is None:
                return self._answer(404, {"errors": [{"code": "NotFound"}]})
            offset = _untoken(query["NextToken"])["o"] if "NextToken" in query else 0
            items = entry["items"][offset:offset + fake.page_size]
            page = {"AmazonOrderId": parts[4], "OrderItems": items}
            if offset + fake.page_size < len(entry["items"]):
                page["NextToken"] = _token(offset + fake.page_size)
            return self._answer(200, {"payload": page})
        if len(parts) == 6 and parts[5] == "shipmentConfirmation" and method == "POST":
            if parts[4] not in fake.amazon:
                return self._answer(404, {"errors": [{"code": "NotFound"}]})
            return self._answer(204)
        if path.startswith("/listings/2021-08-01/items/") and method == "PATCH":
            sku = path.rsplit("/", 1)[1]
            return self._answer(200, {"sku": sku, "status": "ACCEPTED",
                                      "submissionId": hashlib.md5(sku.encode()).hexdigest(),
                                      "issues": []})
        return self._answer(404, {"errors": [{"code": "NotFound"}]})

    # -- eBay ---------------------------------------------------------------------
    def _ebay(self, method, path, query, body):
        fake = self.marketplace
        if self.headers.get("Authorization") != f"Bearer {CREDENTIALS['ebay']['access_token']}":
            return self._answer(401, {"errors": [{"errorId": 1001,
                                                  "message": "Invalid access token"}]})
        if path == "/sell/fulfillment/v1/order" and method == "GET":
            since = until = None
            flt = query.get("filter", "")
            if flt.startswith("lastmodifieddate:["):
                start, _, end = flt[len("lastmodifieddate:["):].rstrip("]").partition("..")
                since = _iso(start) if start else None
                until = _iso(end) if end else None
            limit = fake.page_cap("ebay", int(query.get("limit", 50)))  # default 50
            offset = int(query.get("offset", 0))
            found = sorted((o for o in fake.ebay.values()
                            if (since is None or _iso(o["lastModifiedDate"]) >= since)
                            and (until is None or _iso(o["lastModifiedDate"]) <= until)),
                           key=lambda o: (o["lastModifiedDate"], o["orderId"]))
            loop = fake.paging["ebay"]["loop_after"]
            if loop is not None and offset > loop * limit:
                offset = loop * limit  # a platform that answers the same page again
            answer = {"href": self.path, "limit": limit, "offset": offset,
                      "total": len(found) + fake.paging["ebay"]["extra_total"],
                      "orders": found[offset:offset + limit], "warnings": []}
            if offset + limit < len(found):
                answer["next"] = (f"/sell/fulfillment/v1/order?filter={flt}&limit={limit}"
                                  f"&offset={offset + limit}")
            return self._answer(200, answer)
        if path.endswith("/shipping_fulfillment") and method == "POST":
            order_id = path.split("/")[5]
            if order_id not in fake.ebay:
                return self._answer(404, {"errors": [{"errorId": 32100}]})
            fid = hashlib.md5(json.dumps(body).encode()).hexdigest()[:12]
            return self._answer(201, None, {"Location": f"{path}/{fid}"})
        if path == "/sell/inventory/v1/bulk_update_price_quantity" and method == "POST":
            return self._answer(200, {"responses": [{"sku": r["sku"], "statusCode": 200,
                                                     "errors": [], "warnings": []}
                                                    for r in body.get("requests", [])]})
        return self._answer(404, {"errors": [{"errorId": 404}]})

    # -- Shopify ------------------------------------------------------------------
    def _shopify(self, method, path, query, body):
        fake = self.marketplace
        if self.headers.get("X-Shopify-Access-Token") != CREDENTIALS["shopify"]["access_token"]:
            return self._answer(401, {"errors": "[API] Invalid API key or access token"})
        tail = path.split("/", 4)[4]  # after /admin/api/<version>/
        if tail == "orders.json" and method == "GET":
            # page_info carries the query; only `limit` may go with it.
            if "page_info" in query:
                try:
                    state = _untoken(query["page_info"])
                    since, until, offset, number = (state["since"], state.get("until"),
                                                    state["o"], state["p"])
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"errors": {"page_info": ["is invalid"]}})
            else:
                since, until, offset, number = (query.get("updated_at_min"),
                                                query.get("updated_at_max"), 0, 1)
            asked = int(query.get("limit", 50))  # default 50, max 250
            limit = fake.page_cap("shopify", asked)
            found = sorted((o for o in fake.shopify.values()
                            if (not since or _iso(o["updated_at"]) >= _iso(since))
                            and (not until or _iso(o["updated_at"]) <= _iso(until))),
                           key=lambda o: (_iso(o["updated_at"]), o["id"]))
            headers = {}
            loop = fake.paging["shopify"]["loop_after"]
            token = None
            if loop is not None and "page_info" in query and number > loop:
                token = query["page_info"]  # a platform that loops
            elif offset + limit < len(found):
                token = _token(offset + limit, since=since, until=until, p=number + 1)
            if token:
                headers["Link"] = (f'<http://{self.headers["Host"]}{path}?limit={asked}'
                                   f'&page_info={token}>; rel="next"')
            return self._answer(200, {"orders": found[offset:offset + limit]}, headers)
        if tail.startswith("orders/") and tail.endswith("/fulfillment_orders.json"):
            order_id = tail.split("/")[1]
            if order_id not in fake.shopify:
                return self._answer(404, {"errors": "Not Found"})
            return self._answer(200, {"fulfillment_orders": [{
                "id": int(order_id) * 10 + 1, "order_id": int(order_id), "status": "open",
                "line_items": [{"id": li["id"] * 10, "line_item_id": li["id"],
                                "quantity": li.get("current_quantity", li["quantity"])}
                               for li in fake.shopify[order_id]["line_items"]]}]})
        if tail == "fulfillments.json" and method == "POST":
            fulfillment = (body or {}).get("fulfillment") or {}
            if not fulfillment.get("line_items_by_fulfillment_order"):
                return self._answer(422, {"errors": {"line_items_by_fulfillment_order":
                                                     ["can't be blank"]}})
            return self._answer(201, {"fulfillment": {"id": random.randint(1, 10**9),
                                                      "status": "success",
                                                      "tracking_number":
                                                      fulfillment["tracking_info"]["number"]}})
        if tail == "graphql.json" and method == "POST":
            query_text = (body or {}).get("query", "")
            if "inventorySetQuantities" not in query_text:
                return self._answer(200, {"errors": [{"message": "unsupported by the fake"}]})
            quantities = body["variables"]["input"]["quantities"]
            return self._answer(200, {"data": {"inventorySetQuantities": {
                "inventoryAdjustmentGroup": {"reason": "correction", "changes": [
                    {"name": "available", "delta": q["quantity"]} for q in quantities]},
                "userErrors": []}}})
        return self._answer(404, {"errors": "Not Found"})

    # -- Temu ---------------------------------------------------------------------
    def _temu(self, body):
        fake = self.marketplace
        creds = CREDENTIALS["temu"]
        if not isinstance(body, dict):
            return self._answer(200, {"success": False, "errorCode": 2000000,
                                      "errorMsg": "invalid request"})
        if body.get("app_key") != creds["app_key"] or \
                body.get("access_token") != creds["access_token"]:
            return self._answer(200, {"success": False, "errorCode": 7000002,
                                      "errorMsg": "access_token invalid"})
        if body.get("sign") != temu_sign(body, creds["app_secret"]):
            return self._answer(200, {"success": False, "errorCode": 7000015,
                                      "errorMsg": "sign invalid"})
        if abs(int(body.get("timestamp", 0)) - time.time()) > 300:
            return self._answer(200, {"success": False, "errorCode": 7000016,
                                      "errorMsg": "timestamp expired"})
        api = body["type"]

        def ok(result, twice=False):
            if twice:
                result = {"result": result, "success": True, "errorCode": 0, "errorMsg": "SUC"}
            return self._answer(200, {"success": True, "errorCode": 1000000, "errorMsg": "",
                                      "requestId": f"fake-{random.randint(1, 10**9)}",
                                      "result": result})
        if api == "bg.order.list.v2.get":
            start, end = body.get("updateAtStart"), body.get("updateAtEnd")
            found = sorted((r["order"] for r in fake.temu.values()
                            if (start is None or r["order"]["parentOrderMap"]["updateTime"] >= start)
                            and (end is None or r["order"]["parentOrderMap"]["updateTime"] <= end)),
                           key=lambda o: (o["parentOrderMap"]["updateTime"],
                                          o["parentOrderMap"]["parentOrderSn"]))
            size = fake.page_cap("temu", int(body.get("pageSize", 10)))  # default 10
            number = max(1, int(body.get("pageNumber", 1)))
            loop = fake.paging["temu"]["loop_after"]
            if loop is not None and number > loop + 1:
                number = loop + 1  # a platform that answers the same page again
            return ok({"totalItemNum": len(found) + fake.paging["temu"]["extra_total"],
                       "pageItems": found[(number - 1) * size:number * size]}, twice=True)
        if api in ("bg.order.shippinginfo.v2.get", "bg.order.amount.query"):
            entry = fake.temu.get(body.get("parentOrderSn"))
            if entry is None:
                return self._answer(200, {"success": False, "errorCode": 2000001,
                                          "errorMsg": "order not found"})
            return ok(entry["shipping"] if api == "bg.order.shippinginfo.v2.get"
                      else entry["amount"])
        if api == "bg.logistics.shipment.v2.confirm":
            return ok({"warningMessage": []})
        if api == "bg.local.goods.stock.edit":
            targets = body.get("skuStockTargetList")
            diffs = body.get("skuStockChangeList")
            if targets and diffs:
                return self._answer(200, {"success": False, "errorCode": 2000002,
                                          "errorMsg": "targets or changes, not both"})
            return ok({"isSuccess": True})
        return self._answer(200, {"success": False, "errorCode": 3000000,
                                  "errorMsg": f"unknown type {api}"})


# -- a demo stream ----------------------------------------------------------------------

def _now_iso(offset_hours: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(hours=offset_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_orders(n: int, skus: list[str]) -> dict:
    """One new order per platform, numbered `n`, selling some of `skus`."""
    sku = skus[n % len(skus)]
    now, unix = _now_iso(), int(time.time())
    amazon_id = f"113-{n:07d}-{random.randint(1000000, 9999999)}"
    return {
        "amazon": ({"AmazonOrderId": amazon_id, "PurchaseDate": now, "LastUpdateDate": now,
                    "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN",
                    "OrderTotal": {"CurrencyCode": "USD", "Amount": "39.98"},
                    "MarketplaceId": "ATVPDKIKX0DER", "LatestShipDate": _now_iso(48),
                    "LatestDeliveryDate": _now_iso(120),
                    "ShippingAddress": {"Name": "Demo Buyer", "AddressLine1": "350 5th Ave",
                                        "City": "New York", "StateOrRegion": "NY",
                                        "PostalCode": "10118", "CountryCode": "US"}},
                   [{"OrderItemId": f"{n:014d}", "SellerSKU": sku, "Title": sku,
                     "QuantityOrdered": 2, "QuantityShipped": 0,
                     "ItemPrice": {"CurrencyCode": "USD", "Amount": "39.98"}}]),
        "shopify": {"id": 5000000000 + n, "name": f"#{1000 + n}", "created_at": now,
                    "updated_at": now, "currency": "USD", "financial_status": "paid",
                    "fulfillment_status": None, "cancelled_at": None, "test": False,
                    "line_items": [{"id": 13000000000 + n, "sku": sku, "title": sku,
                                    "quantity": 1, "current_quantity": 1, "price": "24.99",
                                    "variant_id": 44000000000 + n, "requires_shipping": True}],
                    "shipping_address": {"name": "Demo Buyer", "address1": "1 Market St",
                                         "city": "San Francisco", "province_code": "CA",
                                         "zip": "94105", "country_code": "US"}},
        "ebay": {"orderId": f"12-{n:05d}-{random.randint(10000, 99999)}",
                 "creationDate": now.replace("Z", ".000Z"),
                 "lastModifiedDate": now.replace("Z", ".000Z"),
                 "orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "PAID",
                 "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
                 "pricingSummary": {"total": {"value": "19.9", "currency": "USD"}},
                 "lineItems": [{"lineItemId": f"{n:011d}", "sku": sku, "title": sku,
                                "quantity": 1,
                                "lineItemCost": {"value": "19.9", "currency": "USD"}}],
                 "fulfillmentStartInstructions": [{"shippingStep": {"shipTo": {
                     "fullName": "Demo Buyer", "contactAddress": {
                         "addressLine1": "600 Congress Ave", "city": "Austin",
                         "stateOrProvince": "TX", "postalCode": "78701",
                         "countryCode": "US"}}}}]},
        "temu": {"order": {"parentOrderMap": {
            "parentOrderSn": f"PO-211-{n:017d}", "parentOrderStatus": 2,
            "parentOrderTime": unix, "updateTime": unix, "expectShipLatestTime": unix + 172800,
            "latestDeliveryTime": unix + 604800, "parentOrderLabel": [], "regionId": 211},
            "orderList": [{"orderSn": f"211-{n:017d}", "quantity": 1,
                           "originalOrderQuantity": 1, "canceledQuantityBeforeShipment": 0,
                           "orderStatus": 2, "goodsName": sku, "fulfillmentType":
                           "fulfillBySeller", "productList": [{"productSkuId": n,
                                                               "soldFactor": 1,
                                                               "extCode": sku}]}]},
                 "shipping": {"receiptName": "Demo Buyer", "addressLine1": "233 S Wacker Dr",
                              "regionName1": "United States", "regionName2": "Illinois",
                              "regionName3": "Chicago", "postCode": "60606"},
                 "amount": {"orderList": [{"orderSn": f"211-{n:017d}", "unitRetailPrice":
                                           {"amount": 1599, "currency": "USD"},
                                           "unitBasePrice": {"amount": 1100,
                                                             "currency": "USD"}}]}},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--stream-every", type=float, default=0,
                        help="add one new order per platform every N seconds")
    parser.add_argument("--skus", default="DEMO-SKU-1,DEMO-SKU-2",
                        help="channel SKUs the streamed orders sell")
    args = parser.parse_args(argv)
    fake = FakeMarketplace(args.host, args.port, page_size=50).start()
    print(f"Fake marketplace at {fake.url}")
    for channel, creds in CREDENTIALS.items():
        print(f"  {channel:<8} base_url={fake.url} credentials={json.dumps(creds)}")
    n = 0
    try:
        while True:
            if args.stream_every:
                n += 1
                orders = sample_orders(n, args.skus.split(","))
                fake.add_amazon(*orders["amazon"])
                fake.add_shopify(orders["shopify"])
                fake.add_ebay(orders["ebay"])
                fake.add_temu(orders["temu"])
                print(f"new orders #{n}", flush=True)
                time.sleep(args.stream_every)
            else:
                time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
