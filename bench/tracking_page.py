"""The public tracking page under load (issue #11, item 3), on PostgreSQL.

Every run drops and recreates `haicang_bench_tracking`, migrates it with the app's
Alembic migrations, seeds one seller, one warehouse, the demo carriers and a few
orders through the real flow (create, allocate, release, pick, pack, ship), then
in SQL 20,000 shipped orders (2,000 with --quick) with one shipment each and a
timeline of four carrier events (their tracking tokens drawn by the database, as
for any INSERT that gives none: migration 0012). `VACUUM ANALYZE` follows.

- `tracking_page`: GET /t/<token>, each request a different order's token (cycled
  through 2,000 of them), from 200 concurrent clients on keep-alive connections,
  served by gunicorn as Procfile serves the app (one gthread worker, 16 threads,
  bench/tools.gunicorn). Beside it, in the same run and the same way, the bare
  Flask handler (bench/bare_app.py) at the same 200 clients: `bare_flask_200c_*`
  is published by this entry (the `bare_flask` baseline measures 16 and 50).
  Figures: `req_per_s`, `p50_ms`, `p95_ms`, read against the bare handler's;
  `statements_per_request` and `cpu_ms_per_request` of the page run in-process
  (the app's test client: statements counted with a before_cursor_execute
  listener; the runner's CPU time over 20 requests).

The 200 clients are threads of this process on the same 2 cores as the server, so
both figures include the client's own cost: read the ratio, not the absolute.
"""
import http.client
import itertools
import threading
import time
from collections import Counter

from .registry import Context, bench
from .tools import LoadResult, gunicorn, pg_url, psql, recreate_database, redis_url, server_params

BENCH_DB = "haicang_bench_tracking"
CLIENTS = 200
TOKENS_USED = 2_000

_fixture: dict | None = None


def _orders(ctx: Context) -> int:
    return ctx.pick(20_000, 2_000)


def fixture(ctx: Context) -> dict:
    global _fixture
    if _fixture is None:
        orders = _orders(ctx)
        ctx.log(f"recreating {BENCH_DB}: {orders:,} shipped orders with timelines")
        recreate_database(BENCH_DB)
        from .stock import make_app
        app = make_app(pg_url(BENCH_DB), redis_url())
        began = time.monotonic()
        with app.app_context():
            seeded = _seed(orders)
        psql("VACUUM ANALYZE", BENCH_DB, timeout=600)
        _fixture = {"db_url": pg_url(BENCH_DB), "redis": redis_url(), "orders": orders,
                    "app": app, "seed_seconds": round(time.monotonic() - began, 1),
                    **seeded}
        ctx.log(f"seeded in {_fixture['seed_seconds']}s")
    return _fixture


def _seed(orders: int) -> dict:
    from sqlalchemy import select, text

    from server.allocation.services import allocate_order
    from server.auth.services import create_seller
    from server.carriers.demo import seed_carriers
    from server.catalog.services import create_sku
    from server.cli import ensure_schema
    from server.extensions import db
    from server.inventory.services import receive
    from server.inventory.warehouses import create_bins, create_warehouse
    from server.orders import fulfilment
    from server.orders.models import Order
    from server.orders.services import create_order

    ensure_schema()
    s = db.session
    seed_carriers(s)
    seller = create_seller(s, name="Tracking Bench Seller", code="TRKB")
    warehouse = create_warehouse(s, code="TB1", name="Tracking bench", state="CA",
                                 zip="91761", latitude=34.06, longitude=-117.65,
                                 timezone="America/Los_Angeles")
    (bin_,) = create_bins(s, warehouse, ["A-01-01-1"])
    sku = create_sku(s, seller_id=seller.id, code="TB-1", name="Bench mug", weight_g=450,
                     length_mm=120, width_mm=100, height_mm=100)
    receive(s, sku_id=sku.id, bin_id=bin_.id, quantity=1000, reason="bench seed",
            reference="bench-seed")
    s.commit()
    # A few through the real flow: their shipment rows are what the SQL copies.
    real = []
    for n in range(5):
        order = create_order(s, seller_id=seller.id, external_id=f"TB-REAL-{n}",
                             channel="shopify", lines=[{"sku_id": sku.id, "quantity": 1,
                                                        "unit_price_cents": 1500}],
                             ship_to={"name": "Bench Customer", "address1": "1 Main St",
                                      "city": "Los Angeles", "state": "CA", "zip": "90001"})
        allocate_order(s, order.id)
        for step in ("released", "picked", "packed", "shipped"):
            fulfilment.STEPS[step](s, order)
            s.commit()
        real.append(order.id)
    template = s.execute(text("SELECT service_id, zone, ship_date FROM shipments "
                              "WHERE order_id = :o"), {"o": real[0]}).one()
    statements = [
        ("""INSERT INTO orders (seller_id, channel, account_key, external_id, status,
               placed_at, currency, ship_to_name, ship_to_address1, ship_to_address2,
               ship_to_city, ship_to_state, ship_to_zip, ship_to_country, ship_to_phone,
               fulfilled_by_channel, channel_status, created_at, updated_at)
             SELECT :seller, 'shopify', 'bench', 'TB-' || g, 'shipped',
               now() - interval '2 days', 'USD', 'Customer ' || g, g || ' Main St', '',
               'Los Angeles', 'CA', '90001', 'US', '555-0100', false, '', now(), now()
             FROM generate_series(1, :n) AS g""", {"seller": seller.id, "n": orders}),
        ("""INSERT INTO shipments (order_id, seller_id, warehouse_id, service_id,
               tracking_number, status, reference, zone, cost_cents, ship_date,
               delivery_date, ship_to, provider, created_at, updated_at)
             SELECT o.id, o.seller_id, :wh, :service, '9400BENCH' || lpad(o.id::text, 12, '0'),
               'out_for_delivery', 'shopify:' || o.external_id, :zone, 812,
               CAST(:ship_date AS date), CAST(:ship_date AS date) + 3,
               CAST(:ship_to AS json), 'easypost', now(), now()
             FROM orders AS o WHERE o.external_id LIKE 'TB-%' AND o.external_id NOT LIKE
               'TB-REAL-%'""",
         {"wh": warehouse.id, "service": template.service_id, "zone": template.zone,
          "ship_date": template.ship_date.isoformat(),
          "ship_to": '{"name": "Customer", "address1": "1 Main St", "city": "Los Angeles",'
                     ' "state": "CA", "zip": "90001", "phone": "555-0100"}'}),
        ("""INSERT INTO shipment_events (shipment_id, seller_id, warehouse_id, status,
               carrier_status, message, location, occurred_at, received_at, source,
               provider_event_id, est_delivery_date)
             SELECT sh.id, sh.seller_id, sh.warehouse_id,
               (ARRAY['labelled','in_transit','in_transit','out_for_delivery'])[k],
               '', (ARRAY['Shipping label created','Departed facility',
                          'Arrived at destination facility','Out for delivery'])[k],
               (ARRAY['Ontario, CA','Ontario, CA','Los Angeles, CA','Los Angeles, CA'])[k],
               now() - make_interval(hours => 40 - k * 9), now(), 'webhook', 'e' || k,
               CASE WHEN k = 4 THEN CAST(:ship_date AS date) + 2 END
             FROM shipments AS sh CROSS JOIN generate_series(1, 4) AS k
             WHERE sh.tracking_number LIKE '9400BENCH%'""",
         {"ship_date": template.ship_date.isoformat()}),
    ]
    for sql, params in statements:
        s.execute(text(sql), params)
        s.commit()
    tokens = s.scalars(select(Order.tracking_token).where(Order.external_id.like("TB-%"))
                       .order_by(Order.id).limit(TOKENS_USED)).all()
    db.engine.dispose()
    return {"tokens": tokens}


def _in_process(fx: dict, paths: list[str], repeat: int = 20) -> dict:
    """Statements of one request (after a warm-up one) and CPU ms per request, run
    in this process through the app's test client."""
    from sqlalchemy import event

    from server.extensions import db
    app = fx["app"]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    client.get(paths[0])  # warm-up: compiled statements, the catalogues
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(paths[1])
        counted = len(statements)
        began = time.process_time()
        for path in itertools.islice(itertools.cycle(paths), repeat):
            client.get(path)
        cpu_ms = (time.process_time() - began) / repeat * 1000
    finally:
        event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return {"status": response.status_code, "statements": counted, "cpu_ms": cpu_ms,
            "bytes": len(response.data)}


def load_paths(port: int, paths: list[str], *, clients: int, duration: float,
               max_requests: int, headers: dict | None = None) -> LoadResult:
    """bench/tools.http_load, each request the next of `paths` (a client starts at
    its own offset): `clients` threads on keep-alive connections for `duration`
    seconds or `max_requests` in all. Only 200s count as served."""
    result = LoadResult()
    lock = threading.Lock()
    per_client = max(1, max_requests // clients)
    start_line = threading.Barrier(clients + 1)
    window = {}

    def client(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies, statuses, errors = [], Counter(), Counter()
        start_line.wait()
        deadline = window["deadline"]
        for n in range(per_client):
            if time.perf_counter() >= deadline:
                break
            path = paths[(offset + n) % len(paths)]
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers or {})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                errors[type(error).__name__] += 1
                conn.close()
                continue
            took = time.perf_counter() - began
            statuses[response.status] += 1
            if response.status == 200:
                latencies.append(took)
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.errors.update(errors)

    step = max(1, len(paths) // clients)
    threads = [threading.Thread(target=client, args=(i * step,), daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    window["deadline"] = time.perf_counter() + duration
    began = time.perf_counter()
    start_line.wait()
    for thread in threads:
        thread.join(timeout=duration + 15)
    result.elapsed = time.perf_counter() - began
    return result


def _figures(ctx: Context, result: LoadResult, params: dict, baseline_of=None,
             provides_prefix: str | None = None) -> None:
    for metric, value in result.summary().items():
        ctx.figure(metric if provides_prefix is None else f"bare_flask_{metric}", value,
                   "req/s" if metric == "req_per_s" else "ms",
                   baseline=baseline_of(metric) if baseline_of else None,
                   target="issue #11: the tracking page under 200 concurrent lookups, "
                          "beside a bare Flask handler" if metric == "p95_ms"
                          and baseline_of else None,
                   params=params,
                   provides=f"{provides_prefix}{metric}" if provides_prefix else None)


@bench("tracking_page")
def tracking_page(ctx: Context) -> None:
    """GET /t/<token> from 200 concurrent clients, beside the bare Flask handler at
    200 clients in the same run; statements and CPU per page."""
    fx = fixture(ctx)
    paths = [f"/t/{token}" for token in fx["tokens"]]
    headers = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    common = {"orders": fx["orders"], "tokens_cycled": len(paths), "clients": CLIENTS,
              "accept_language": headers["Accept-Language"], "seed_seconds":
              fx["seed_seconds"], **server_params()}
    local = _in_process(fx, paths)
    ctx.figure("statements_per_request", local["statements"], "statements",
               target="the order with its shipments 1 + their timeline 1",
               params={**common, "status": local["status"], "bytes": local["bytes"]})
    ctx.figure("cpu_ms_per_request", local["cpu_ms"], "ms",
               params={**common, "in_process": "flask test client, 20 requests"})
    seconds = ctx.pick(10.0, 3.0)
    max_requests = ctx.pick(100_000, 20_000)
    with gunicorn("bench.bare_app:app") as served:
        load_paths(served.port, ["/"], clients=8, duration=0.5, max_requests=400)
        ctx.log(f"bare Flask GET / with {CLIENTS} clients for {seconds}s")
        bare = load_paths(served.port, ["/"], clients=CLIENTS, duration=seconds,
                          max_requests=max_requests)
        _figures(ctx, bare, {**common, "path": "/ (bench/bare_app.py)", **bare.params()},
                 provides_prefix=f"bare_flask_{CLIENTS}c_")
    env = {"DATABASE_URL": fx["db_url"], "REDIS_URL": fx["redis"] or ""}
    with gunicorn("server.wsgi:app", env, ready_path=paths[0], timeout=60) as served:
        load_paths(served.port, paths, clients=8, duration=1.0, max_requests=400,
                   headers=headers)  # warm-up: every thread's connection, the catalogues
        ctx.log(f"GET /t/<token> with {CLIENTS} clients for {seconds}s")
        result = load_paths(served.port, paths, clients=CLIENTS, duration=seconds,
                            max_requests=max_requests, headers=headers)
        params = {**common, "path": "/t/<token>", **result.params(),
                  "worker_rss_mb": served.worker_rss_mb()}
        _figures(ctx, result, params,
                 baseline_of=lambda metric: f"bare_flask_{CLIENTS}c_{metric}")
