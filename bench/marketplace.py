"""The fake marketplace of the load test: server/channels/fake_marketplace.py as it is
(a real HTTP server playing Amazon, eBay, Shopify and Temu), plus two control
endpoints under /_flood/ for the load generator, which runs in another process.

- `POST /_flood/next` with `{"platform": "amazon"|"ebay"|"shopify"|"temu"}`: the
  marketplace takes one new order (`sample_orders(n, skus)`, n counting up), holds
  it where the platform's poll finds it, and answers `{"n", "external_id", "order"}`;
  for Shopify, `order` is the payload the load generator then delivers as a signed
  webhook, so a Shopify order arrives twice (webhook, then poll) and must be
  stored once.
- `GET /_flood/held`: the external ids it holds, per platform: what must be in
  the orders table, exactly once, when the run ends.

The control calls never touch the recorded requests or the injected faults of the
platforms' own endpoints.
"""
import itertools
import json
import threading
from http.server import ThreadingHTTPServer

from server.channels.fake_marketplace import FakeMarketplace, _Handler, sample_orders

PLATFORMS = ("amazon", "ebay", "shopify", "temu")


def external_id(platform: str, orders: dict) -> str:
    """The id Haicang stores as orders.external_id for this platform's order (what
    each adapter in server/channels/adapters/ reads)."""
    if platform == "amazon":
        return orders["amazon"][0]["AmazonOrderId"]
    if platform == "ebay":
        return orders["ebay"]["orderId"]
    if platform == "shopify":
        return str(orders["shopify"]["id"])
    return orders["temu"]["order"]["parentOrderMap"]["parentOrderSn"]


class FloodMarketplace(FakeMarketplace):
    def __init__(self, skus: list[str], first: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.skus = list(skus)
        self._numbers = itertools.count(first)
        self._count_lock = threading.Lock()

    def next_order(self, platform: str) -> dict:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        with self._count_lock:
            n = next(self._numbers)
        orders = sample_orders(n, self.skus)
        if platform == "amazon":
            self.add_amazon(*orders["amazon"])
        else:
            getattr(self, f"add_{platform}")(orders[platform])
        return {"n": n, "external_id": external_id(platform, orders),
                "order": orders[platform] if platform == "shopify" else None}

    def held(self) -> dict[str, list[str]]:
        with self.lock:
            return {"amazon": list(self.amazon), "ebay": list(self.ebay),
                    "shopify": list(self.shopify), "temu": list(self.temu)}

    def start(self) -> "FloodMarketplace":
        fake = self

        class Handler(_FloodHandler):
            marketplace = fake
        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self


class _FloodHandler(_Handler):
    marketplace: FloodMarketplace

    def do_GET(self):
        if self.path == "/_flood/held":
            return self._answer(200, self.marketplace.held())
        return super().do_GET()

    def do_POST(self):
        if self.path != "/_flood/next":
            return super().do_POST()
        length = int(self.headers.get("Content-Length") or 0)
        try:
            platform = json.loads(self.rfile.read(length) or b"{}").get("platform")
            return self._answer(200, self.marketplace.next_order(platform))
        except (ValueError, AttributeError) as error:
            return self._answer(400, {"error": str(error)})
