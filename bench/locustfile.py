"""The people and the marketplaces of the production load test (bench/load.py), for
locust. Run by bench/load.py as `python -m locust -f bench/locustfile.py --headless
...` in its own process (locust's gevent patches the process it runs in); the
settings come from the environment, written by bench/load.py:

- LOAD_FIXTURES: a JSON file with the bearer tokens (one picker user per picker,
  its warehouse's bin codes; one seller user per seller), the SKU codes, the
  Shopify webhook account and secret, the fake marketplace's URL and a run tag;
- LOAD_RESULTS: where to write what was measured, as JSON, when locust quits;
- LOAD_PICKERS, LOAD_SELLERS, LOAD_FLOOD_PER_S, LOAD_PROBES: how many of each.

Who is played:

- Picker (LOAD_PICKERS): a handheld with its own device id and its own user's
  token. Every 4-12 s it pushes the 1-3 scans it queued since its last push,
  `POST /api/sync/push`, ids 1, 2, 3... without gaps: `receive.scan` of 1-3 units
  of a random SKU into a dock bin (RECV-01/02) of its warehouse, or (40 %, once it
  holds some) `stock.move` of units it received from that dock bin to a random
  storage bin. It only moves what it received itself, so a move never runs short
  whatever the other pickers do. A push that fails is sent again with the same
  ids, as a device does, until it is answered.
- Seller (LOAD_SELLERS): every 3-10 s one page: `GET /api/orders?limit=50`
  (weight 4), `/api/orders/<id>` of an order from its last list (3),
  `/api/stock?limit=50` (2), `/api/tasks?limit=50` (1).
- Flood (4 users, one per platform, LOAD_FLOOD_PER_S orders per second in all):
  each tick asks the fake marketplace for a new order of its platform
  (`POST /_flood/next`); a Shopify order is then also delivered as a signed
  `orders/create` webhook through nginx, as Shopify would. Amazon, eBay and Temu
  orders (and the Shopify ones again) come in through the clock's polls.
- Probe (LOAD_PROBES): `GET /_bare/` once a second, the bare Flask handler behind
  the same nginx, under the same load: the baseline of the latencies.

Every user comes from its own loopback address (127.1.k.1, ...): nginx's ip_hash
hashes the first three octets of an IPv4 address, so users from 127.0.0.1 alone
would all stick to one web process.

Every non-2xx answer and every connection error or timeout is counted, by request
kind, whatever its cause.
"""
import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

from locust import HttpUser, between, constant, constant_throughput, events, task
from locust.clients import LocustHttpAdapter
from urllib3 import PoolManager


def _fixtures() -> dict:
    if not os.environ.get("LOAD_FIXTURES"):
        return {}
    with open(os.environ["LOAD_FIXTURES"], encoding="utf-8") as f:
        return json.load(f)


FX = _fixtures()
PICKERS = int(os.environ.get("LOAD_PICKERS", "0"))
SELLERS = int(os.environ.get("LOAD_SELLERS", "0"))
FLOOD_PER_S = float(os.environ.get("LOAD_FLOOD_PER_S", "0"))
PROBES = int(os.environ.get("LOAD_PROBES", "0"))
TIMEOUT = 30  # seconds; a request slower than this counts as an error
PLATFORMS = ("amazon", "ebay", "shopify", "temu")

# Request kinds: the names results are reported under.
PUSH = "sync_push"
ORDERS = "orders_list"
ORDER = "order_detail"
STOCK = "stock_list"
TASKS = "task_list"
WEBHOOK = "shopify_webhook"
BARE = "bare"
FAKE = "fake_marketplace"  # the load generator's own calls: not Haicang's

# What the run measured, written to LOAD_RESULTS when locust quits.
LATENCIES: dict[str, list[float]] = defaultdict(list)  # ms, 2xx answers only
STATUSES: dict[str, Counter] = defaultdict(Counter)
ERRORS: dict[str, Counter] = defaultdict(Counter)
ACKED: dict[str, int] = {}  # device id -> highest mutation id the server answered
PUSH_RESULTS: Counter = Counter()  # applied / conflict / rejected (and replayed)
FLOOD: Counter = Counter()  # orders the marketplace took, per platform
WEBHOOK_ANSWERS: Counter = Counter()
TIMES: dict[str, float] = {}
_addresses = itertools.count()
_pickers = itertools.count()
_sellers = itertools.count()
_floods = itertools.count()


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None,
            context=None, exception=None, **_kwargs):
    status = getattr(response, "status_code", 0) or 0
    STATUSES[name][str(status)] += 1
    if exception is None and 200 <= status < 300:
        LATENCIES[name].append(response_time)
        return
    kind = str(status) if status else type(getattr(exception, "error", exception)).__name__
    if kind == "CatchResponseError":  # our own failure() on a 2xx that said something wrong
        kind = str(exception)[:80]
    ERRORS[name][kind] += 1


@events.test_start.add_listener
def _started(**_kwargs):
    TIMES["started"] = time.time()


@events.test_stop.add_listener
def _stopped(**_kwargs):
    TIMES["stopped"] = time.time()


@events.quitting.add_listener
def _write(**_kwargs):
    path = os.environ.get("LOAD_RESULTS")
    if not path:
        return
    out = {"latencies_ms": LATENCIES, "statuses": STATUSES, "errors": ERRORS, "acked": ACKED,
           "push_results": PUSH_RESULTS, "flood": FLOOD, "webhook_answers": WEBHOOK_ANSWERS,
           "times": TIMES, "users": {"pickers": PICKERS, "sellers": SELLERS,
                                     "flood_per_s": FLOOD_PER_S, "probes": PROBES}}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _User(HttpUser):
    """A user with a loopback address of its own (for ip_hash) and a bearer token."""
    abstract = True
    token = ""

    def on_start(self):
        k = next(_addresses)
        source = f"127.{1 + k // 250}.{1 + k % 250}.1"
        pool = PoolManager(num_pools=4, maxsize=4, source_address=(source, 0))
        self.client.mount("http://", LocustHttpAdapter(pool_manager=pool))

    def _call(self, method: str, path: str, name: str, **kwargs):
        """One request; a non-2xx answer or an exception is a failure (counted by
        `_record`). Returns the parsed JSON of a 2xx answer, or None."""
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with self.client.request(method, path, name=name, headers=headers, timeout=TIMEOUT,
                                 catch_response=True, **kwargs) as response:
            if not response.status_code:  # no answer: keep the exception itself
                response.failure(response.error or "no answer")
                return None
            if not 200 <= response.status_code < 300:
                response.failure(f"status {response.status_code}")
                return None
            try:
                return response.json()
            except ValueError:
                response.failure("not JSON")
                return None


class Picker(_User):
    fixed_count = PICKERS
    wait_time = between(4, 12)

    def on_start(self):
        super().on_start()
        n = next(_pickers)
        me = FX["pickers"][n % len(FX["pickers"])]
        self.token = me["token"]
        self.receiving, self.storage = me["receiving_bins"], me["storage_bins"]
        self.device = f"{FX['run_tag']}-picker-{n}"[:64]
        self.rng = random.Random(n)
        self.next_id = 1
        self.queued: list[dict] = []  # scanned, not yet answered by the server
        self.holding: Counter = Counter()  # (dock bin, sku) -> units received, not moved

    def _scan(self) -> dict:
        rng = self.rng
        movable = [key for key, units in self.holding.items() if units > 0]
        if movable and rng.random() < 0.4:
            dock, sku = rng.choice(sorted(movable))
            qty = rng.randint(1, self.holding[(dock, sku)])
            self.holding[(dock, sku)] -= qty
            mutation = {"name": "stock.move", "args": {
                "from_bin": dock, "to_bin": rng.choice(self.storage), "sku": sku, "qty": qty}}
        else:
            dock, sku, qty = rng.choice(self.receiving), rng.choice(FX["skus"]), rng.randint(1, 3)
            self.holding[(dock, sku)] += qty
            mutation = {"name": "receive.scan", "args": {
                "bin": dock, "sku": sku, "qty": qty, "reference": "ASN-LOAD"}}
        mutation.update(id=self.next_id, at=_now())
        self.next_id += 1
        return mutation

    @task
    def scan_and_push(self):
        self.queued.extend(self._scan() for _ in range(self.rng.randint(1, 3)))
        answer = self._call("POST", "/api/sync/push", PUSH, json={
            "device_id": self.device, "sent_at": _now(), "mutations": self.queued})
        if answer is None:
            return  # sent again with the next push, same ids
        last = answer.get("last_mutation_id", 0)
        ACKED[self.device] = max(ACKED.get(self.device, 0), last)
        for result in answer.get("results", []):
            PUSH_RESULTS[result.get("status", "?") + (" (replayed)" if result.get("replayed")
                                                      else "")] += 1
        self.queued = [m for m in self.queued if m["id"] > last]


class Seller(_User):
    fixed_count = SELLERS
    wait_time = between(3, 10)

    def on_start(self):
        super().on_start()
        n = next(_sellers)
        self.token = FX["sellers"][n % len(FX["sellers"])]["token"]
        self.order_ids: list[int] = []

    @task(4)
    def orders(self):
        page = self._call("GET", "/api/orders?limit=50", ORDERS)
        if page:
            self.order_ids = [o["id"] for o in page.get("items", [])]

    @task(3)
    def order(self):
        if not self.order_ids:
            return self.orders()
        self._call("GET", f"/api/orders/{random.choice(self.order_ids)}", ORDER)

    @task(2)
    def stock(self):
        self._call("GET", "/api/stock?limit=50", STOCK)

    @task(1)
    def task_list(self):
        self._call("GET", "/api/tasks?limit=50", TASKS)


class Flood(_User):
    """One platform's share of the order flood."""
    fixed_count = len(PLATFORMS) if FLOOD_PER_S > 0 else 0
    wait_time = constant_throughput(FLOOD_PER_S / len(PLATFORMS) if FLOOD_PER_S else 1)

    def on_start(self):
        super().on_start()
        self.platform = PLATFORMS[next(_floods) % len(PLATFORMS)]

    @task
    def new_order(self):
        taken = self._call("POST", f"{FX['fake_url']}/_flood/next", FAKE,
                           json={"platform": self.platform})
        if taken is None:
            return
        FLOOD[self.platform] += 1
        if self.platform == "shopify":
            self._webhook(taken)

    def _webhook(self, taken: dict):
        hook = FX["webhook"]
        body = json.dumps(taken["order"]).encode()
        signature = base64.b64encode(hmac.new(hook["secret"].encode(), body,
                                              hashlib.sha256).digest()).decode()
        answer = self._call("POST", f"/api/channels/shopify/{hook['account_id']}/webhook",
                            WEBHOOK, data=body, headers={
                                "Content-Type": "application/json",
                                "X-Shopify-Hmac-Sha256": signature,
                                "X-Shopify-Topic": "orders/create",
                                "X-Shopify-Webhook-Id": f"{FX['run_tag']}-{taken['n']}"})
        if answer is not None:
            WEBHOOK_ANSWERS[str(answer.get("status"))] += 1


class Probe(_User):
    fixed_count = PROBES
    wait_time = constant(1)

    @task
    def bare(self):
        self._call("GET", "/_bare/", BARE)
