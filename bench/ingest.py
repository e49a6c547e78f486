"""Channel ingest figures (issue #3), on PostgreSQL with RQ on Redis: orders
ingested per second through the Shopify webhook and through polling.

Every run drops and recreates the database `haicang_bench_ingest`, migrates it and
seeds it through the service functions: a seller, 3 warehouses (Los Angeles,
Chicago, New York ZIPs) with one bin each, 50 SKUs with 100,000 units in every
warehouse, the demo carriers, and five channel accounts (a Shopify account for the
webhooks; Amazon, eBay, Shopify and Temu accounts pointed at a FakeMarketplace
for polling), each mapping channel SKUs CH-000..CH-049 to the 50 SKUs.

Redis is a private `redis-server` on a free loopback port (bench/realtime.py's
`private_redis`), so no job or event of another process on the shared Redis
reaches this run's worker, and none of ours reaches theirs.

- Webhook path: the app under gunicorn (as `api_stock_list` serves it) and one RQ
  worker (`python -m server.worker`, as Procfile's worker), both with DATABASE_URL
  and REDIS_URL. N signed Shopify `orders/create` webhooks (bodies from
  `fake_marketplace.sample_orders`, HMAC-SHA256 with the account's webhook secret)
  are POSTed from 8 client threads. `accepted_per_s`: 200 "accepted" answers per
  second at the endpoint (store the delivery, queue the job). `orders_per_s`: N /
  the time from the first POST until the orders table holds all N orders (polled
  every 100 ms): parse, dedup, store, allocate, reserve, in the worker, one
  transaction per order. In the full run the same again with the AppWorker logic
  on rq.SimpleWorker (`webhook_orders_per_s_simpleworker`, bench-only): rq.Worker
  forks a work horse per job, and the difference is what that fork costs.
- Polling path: a FakeMarketplace (in the runner, 100 orders a page) loaded with
  N orders per platform; a spawned process with its own app times
  `poll_account` for each account: `orders_per_s` per platform (the platform's
  HTTP calls included: Amazon asks for each order's items separately).

N = 100 webhooks per worker kind (20 with --quick, Procfile worker only) and
200 orders per platform polled (20 with --quick). Rates are read against pgbench tpcb-like TPS of the
same run; TARGETS.md: channel ingest >= 0.5 x pgbench TPS in orders per second.
"""
import base64
import contextlib
import copy
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta

from .realtime import private_redis
from .registry import Context, bench
from .tools import ROOT, _tail, gunicorn, pg_url, psql, recreate_database

INGEST_DB = "haicang_bench_ingest"
SKUS = 50
UNITS = 100_000
CLIENT_THREADS = 8
WAREHOUSES = (("IW1", "90001", 33.97, -118.25, "America/Los_Angeles"),
              ("IW2", "60606", 41.88, -87.64, "America/Chicago"),
              ("IW3", "10118", 40.75, -73.99, "America/New_York"))
PLATFORMS = ("amazon", "ebay", "shopify", "temu")
TARGET = ("TARGETS.md: channel ingest (parse, dedup, store, allocate, reserve) in "
          "batches of 100: >= 0.5 x pgbench TPS, in orders per second")


def _channel_skus() -> list[str]:
    return [f"CH-{n:03d}" for n in range(SKUS)]


def _seed(redis: str | None, base_url: str) -> dict:
    from server import create_app
    recreate_database(INGEST_DB)
    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_url(INGEST_DB), "REDIS_URL": redis,
                      "RQ_INLINE": redis is None})
    with app.app_context():
        from server.auth.services import create_seller
        from server.carriers.demo import seed_carriers
        from server.catalog.services import create_sku
        from server.channels import services as channels
        from server.channels.fake_marketplace import CREDENTIALS
        from server.cli import ensure_schema
        from server.extensions import db
        from server.inventory.services import receive
        from server.inventory.warehouses import create_bins, create_warehouse
        ensure_schema()
        s = db.session
        seller = create_seller(s, name="Ingest Bench Seller", code="INGB")
        seed_carriers(s)
        bins = []
        for code, zip_, lat, lon, tz in WAREHOUSES:
            wh = create_warehouse(s, code=code, name=f"Ingest bench {code}", zip=zip_,
                                  latitude=lat, longitude=lon, timezone=tz)
            bins.extend(create_bins(s, wh, ["A-01-01-1"]))
        skus = []
        for n in range(SKUS):
            sku = create_sku(s, seller_id=seller.id, code=f"ING-{n:03d}", name=f"SKU {n}",
                             price_cents=1999, weight_g=300, length_mm=200, width_mm=150,
                             height_mm=100)
            for bin_ in bins:
                receive(s, sku_id=sku.id, bin_id=bin_.id, quantity=UNITS,
                        reason="bench seed", reference="bench-seed")
            skus.append(sku)
        accounts = {}
        since = datetime.now(UTC) - timedelta(days=1)
        for name, channel, url in [("webhook", "shopify", "")] + [
                (p, p, base_url) for p in PLATFORMS]:
            account = channels.create_account(
                s, seller_id=seller.id, channel=channel,
                account_key=f"bench-{name}.example" if channel != "amazon" else "ATVPBENCH",
                credentials=copy.deepcopy(CREDENTIALS[channel]), base_url=url)
            account.last_updated_after = since
            for code, sku in zip(_channel_skus(), skus, strict=True):
                channels.set_mapping(s, account, code, [(sku.id, 1)])
            accounts[name] = account.id
        s.commit()
        db.session.remove()
        db.engine.dispose()
    return {"app": app, "accounts": accounts}


def _count_orders(where: str = "") -> int:
    return int(psql(f"SELECT count(*) FROM orders {where}", database=INGEST_DB, timeout=30))


@contextlib.contextmanager
def rq_worker(env: dict, simple: bool = False):
    """`python -m server.worker` (Procfile's worker), or the bench's SimpleWorker
    variant, as a subprocess; yields (process, log file)."""
    cmd = [sys.executable, "-c", SIMPLE_WORKER] if simple else [sys.executable, "-m",
                                                                "server.worker"]
    with tempfile.TemporaryFile(prefix="haicang-bench-worker-") as log:
        proc = subprocess.Popen(cmd,
                                env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            time.sleep(0.5)
            if proc.poll() is not None:
                raise RuntimeError(f"rq worker exited: {_tail(log)}")
            yield proc, log
        finally:
            proc.terminate()  # our own child, by its handle: a warm shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _webhook_bodies(n: int, offset: int) -> list[bytes]:
    from server.channels.fake_marketplace import sample_orders
    skus = _channel_skus()
    return [json.dumps(sample_orders(offset + i, skus)["shopify"]).encode()
            for i in range(1, n + 1)]


def _post_webhooks(port: int, account_id: int, bodies: list[bytes], secret: str,
                   offset: int) -> dict:
    """POST every body once from CLIENT_THREADS keep-alive connections."""
    path = f"/api/channels/shopify/{account_id}/webhook"
    statuses, answers, errors = Counter(), Counter(), Counter()
    lock = threading.Lock()
    todo = queue.SimpleQueue()
    for i, body in enumerate(bodies):
        todo.put((i, body))

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine_s, mine_a, mine_e = Counter(), Counter(), Counter()
        while True:
            try:
                i, body = todo.get_nowait()
            except queue.Empty:
                break
            signature = base64.b64encode(hmac.new(secret.encode(), body,
                                                  hashlib.sha256).digest()).decode()
            try:
                conn.request("POST", path, body=body, headers={
                    "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": signature,
                    "X-Shopify-Webhook-Id": f"bench-{offset + i}", "X-Shopify-Topic": "orders/create"})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                mine_e[type(error).__name__] += 1
                conn.close()
                continue
            mine_s[response.status] += 1
            if response.status == 200:
                mine_a[json.loads(data).get("status", "?")] += 1
        conn.close()
        with lock:
            statuses.update(mine_s)
            answers.update(mine_a)
            errors.update(mine_e)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENT_THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return {"seconds": time.perf_counter() - began, "began": began,
            "statuses": {str(k): v for k, v in statuses.items()}, "answers": dict(answers),
            "errors": dict(errors)}


def _poll_worker(db_url: str, redis: str | None, accounts: dict, results) -> None:
    try:
        from server import create_app
        from server.channels.jobs import poll_account
        from server.extensions import db
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis,
                          "RQ_INLINE": redis is None})
        out = {}
        with app.app_context():
            db.session.execute(db.text("SELECT 1"))  # a pooled connection first
            db.session.rollback()
            for platform in PLATFORMS:
                t0 = time.perf_counter()
                summary = poll_account(accounts[platform])
                took = time.perf_counter() - t0
                out[platform] = {"seconds": took, "error": summary.get("error"),
                                 "actions": dict(Counter(o["action"]
                                                         for o in summary["orders"]))}
            db.session.remove()
            db.engine.dispose()
        results.put(out)
    except BaseException:  # noqa: BLE001
        results.put({"failed": traceback.format_exc()})


def _poll(fx: dict, redis: str | None) -> dict:
    mp = multiprocessing.get_context("spawn")
    results = mp.Queue()
    proc = mp.Process(target=_poll_worker, args=(pg_url(INGEST_DB), redis, fx["accounts"],
                                                 results), daemon=True)
    proc.start()
    try:
        out = results.get(timeout=900)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()  # our own child, by its handle
            proc.join(timeout=5)
    if "failed" in out:
        raise RuntimeError(out["failed"])
    return out


@bench("channel_ingest_per_s", needs=("pgbench_tpcb",))
def channel_ingest_per_s(ctx: Context) -> None:
    """Orders ingested per second: signed Shopify webhooks through gunicorn + an RQ
    worker, and poll_account against a FakeMarketplace, per platform."""
    from server.channels.fake_marketplace import FakeMarketplace, sample_orders
    n = ctx.pick(200, 20)  # per platform, polled
    n_hooks = ctx.pick(100, 20)  # webhooks, per worker kind
    fake = FakeMarketplace(page_size=100).start()
    try:
        with private_redis() as redis:
            ctx.log(f"recreating and seeding {INGEST_DB}")
            fx = _seed(redis, fake.url)
            env = {"DATABASE_URL": pg_url(INGEST_DB), "REDIS_URL": redis or "",
                   "RQ_INLINE": "" if redis else "1"}
            common = {"lines_per_order": 1, "skus": SKUS,
                      "warehouses": len(WAREHOUSES),
                      "redis": "private redis-server" if redis else None}

            # -- webhooks ------------------------------------------------------------
            offset = 0
            for simple in ((False, True) if not ctx.quick else (False,)):
                if simple and not redis:
                    break
                _webhooks(ctx, fx, env, redis, n_hooks, offset, simple, common)
                offset += n_hooks

            # -- polling -------------------------------------------------------------
            skus = _channel_skus()
            for i in range(1, n + 1):
                orders = sample_orders(100_000 + i, skus)
                fake.add_amazon(*orders["amazon"])
                fake.add_ebay(orders["ebay"])
                fake.add_shopify(orders["shopify"])
                fake.add_temu(orders["temu"])
            ctx.log(f"polling {n} orders from each of {', '.join(PLATFORMS)}")
            polled = _poll(fx, redis)
            for platform in PLATFORMS:
                r = polled[platform]
                created = r["actions"].get("created", 0)
                ctx.figure(f"poll_{platform}_orders_per_s", created / r["seconds"],
                           "orders/s", baseline="pgbench_tpcb_tps", target=TARGET,
                           params={**common, "orders": n, "path": "poll",
                                   "platform": platform,
                                   "page_size": 100, "seconds": round(r["seconds"], 2),
                                   "actions": r["actions"], "error": r["error"],
                                   "http_calls": len(fake.calls(""))})
            statuses = psql("SELECT string_agg(status || '=' || n, ',') FROM (SELECT status, "
                            "count(*) n FROM orders GROUP BY status ORDER BY status) t",
                            database=INGEST_DB)
            letters = int(psql("SELECT count(*) FROM channel_dead_letters", database=INGEST_DB))
            ctx.log(f"orders by status: {statuses}; dead letters: {letters}")
            _ledger(ctx, fx["app"], {"orders_by_status": statuses, "dead_letters": letters})
    finally:
        fake.stop()


def _ledger(ctx: Context, app, params: dict) -> None:
    from server.extensions import db
    from server.inventory.services import verify_ledger
    with app.app_context():
        problems = verify_ledger(db.session)
        db.session.rollback()
        db.engine.dispose()
    ctx.figure("ledger_mismatches", len(problems), "rows",
               target="0 (invariant 2: every stock row equals the sum of its ledger rows)",
               params=params)


def _webhooks(ctx: Context, fx: dict, env: dict, redis: str | None, n: int, offset: int,
              simple: bool, common: dict) -> None:
    """N signed webhooks through gunicorn, processed by one RQ worker: the Procfile's
    (`python -m server.worker`, which forks a work horse per job) or, with
    `simple`, the same AppWorker logic on rq.SimpleWorker (no fork; bench-only, to
    show what the fork costs)."""
    from server.channels.fake_marketplace import CREDENTIALS
    bodies = _webhook_bodies(n, offset)
    secret = CREDENTIALS["shopify"]["webhook_secret"]
    account = fx["accounts"]["webhook"]
    where = "WHERE channel = 'shopify' AND account_key = 'bench-webhook.example'"
    before = _count_orders(where)
    kind = ("rq.SimpleWorker with AppWorker.perform_job (bench-only, no fork per job)"
            if simple else "python -m server.worker (Procfile; rq.Worker forks per job)")
    with gunicorn("server.wsgi:app", env, ready_path="/api/openapi.json",
                  timeout=60) as served, rq_worker(env, simple) if redis else _null() as worker:
        ctx.log(f"POSTing {n} signed Shopify webhooks from {CLIENT_THREADS} threads; "
                f"worker: {kind}")
        posted = _post_webhooks(served.port, account, bodies, secret, offset)
        deadline = time.perf_counter() + ctx.pick(600, 120)
        done = _count_orders(where) - before
        while done < n and time.perf_counter() < deadline:
            if worker and worker[0].poll() is not None:
                raise RuntimeError(f"rq worker exited: {_tail(worker[1])}")
            time.sleep(0.1)
            done = _count_orders(where) - before
        e2e = time.perf_counter() - posted["began"]
    accepted = posted["answers"].get("accepted", 0)
    params = {**common, "orders": n, "path": "webhook", "client_threads": CLIENT_THREADS,
              "server": "gunicorn gthread, 1 worker x 16 threads",
              "worker": kind if redis else "inline (no Redis)",
              "post_seconds": round(posted["seconds"], 2),
              "statuses": posted["statuses"], "answers": posted["answers"],
              "errors": posted["errors"], "orders_created": done,
              "end_to_end_seconds": round(e2e, 2), "timed_out": done < n}
    suffix = "_simpleworker" if simple else ""
    if not simple:
        ctx.figure("webhook_accepted_per_s", accepted / posted["seconds"], "req/s",
                   baseline="pgbench_tpcb_tps", params=params)
    ctx.figure(f"webhook_orders_per_s{suffix}", done / e2e, "orders/s",
               baseline="pgbench_tpcb_tps", target=TARGET, params=params)


SIMPLE_WORKER = """
import sys
from redis import Redis
from rq import SimpleWorker
from server import create_app
from server.extensions import db

class BenchWorker(SimpleWorker):
    def perform_job(self, job, queue):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()

app = create_app()
worker = BenchWorker([app.config["RQ_QUEUE"]], connection=Redis.from_url(app.config["REDIS_URL"]))
worker.app = app
worker.work(with_scheduler=True)
"""


@contextlib.contextmanager
def _null():
    yield None
