"""List pages at size (issue #10, items 5 and 7), on PostgreSQL.

Every run drops and recreates the database `haicang_bench_lists`, migrates it with
the app's Alembic migrations, seeds the small things through the service functions
(one seller, 3 warehouses, 100 SKUs, a seller, a picker and an admin with a bearer
token each), then the bulk in SQL: 1,000,000 orders (100,000 with --quick) of two
lines each, every line allocated to one warehouse, and 300,000 tasks (30,000). The
newest 20,000 orders carry an allocation reason of about 8 KB, as real allocated
orders do: the list must not pay for what it does not show.

- `api_order_list`: GET /api/orders?limit=50 as the seller.
- `api_order_search`: GET /api/orders?limit=50&q=<a ship-to name held by one order>,
  then q=<an external order id>: the search that must not scan 1M orders.
- `api_task_list`: GET /api/tasks?limit=50 as the picker (floor staff, their
  warehouse's tasks).
- `api_ledger_list`: GET /api/ledger?limit=50 as the seller.

Each is served by gunicorn as Procfile serves the app and read against the bare
Flask handler served the same way in the same run (`bare_flask_<N>c_*`), as
api_stock_list is. Beside those: `statements_per_request` and `cpu_ms_per_request`
of the same request run in-process (a before_cursor_execute listener, and the
process CPU time), so a page that grows a statement or a parse shows at once.
"""
import json
import time

from .baseline import api_clients, bare_flask_name, http_max_requests, http_seconds
from .registry import Context, bench
from .tools import gunicorn, http_load, pg_url, psql, recreate_database, redis_url, server_params

BENCH_DB = "haicang_bench_lists"
HEAVY_ORDERS = 20_000  # the newest orders, with an ~8 KB allocation reason
RARE_NAME = "Zephyrine Quarterfield"
API_TARGET = "TARGETS.md: API reads at 50 concurrent users: p95 <= 50 ms"
FIRST = ["Ann", "Bo", "Carla", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lia",
         "Mo", "Nia", "Oto", "Pia", "Quin", "Rae", "Sol", "Tia"]
LAST = ["Lee", "Kim", "Diaz", "Nguyen", "Smith", "Chen", "Garcia", "Patel", "Brown", "Wong",
        "Lopez", "Khan", "Silva", "Ito", "Moreau", "Novak", "Rossi", "Berg", "Haas", "Ortiz"]

_fixture: dict | None = None


def _sizes(ctx: Context) -> tuple[int, int]:
    return ctx.pick((1_000_000, 300_000), (100_000, 30_000))


def _big_reason() -> str:
    """An allocation reason of about 8 KB: candidates with their costs and transit."""
    candidates = [{"warehouse_id": w, "warehouse_code": f"BW{w}", "cost_cents": 812 + w,
                   "transit_days": 2 + w % 3, "service": "Ground", "carrier": "Demo",
                   "ships_complete": w % 2 == 0, "distance_km": 1234.5 + w,
                   "notes": "candidate considered by distance, cost and transit " * 2}
                  for w in range(40)]
    return json.dumps({"why": "cheapest complete shipment in time", "winner": 1,
                       "candidates": candidates})


def fixture(ctx: Context) -> dict:
    global _fixture
    if _fixture is None:
        orders, tasks = _sizes(ctx)
        ctx.log(f"recreating {BENCH_DB}: {orders:,} orders, {tasks:,} tasks")
        recreate_database(BENCH_DB)
        from .stock import make_app
        app = make_app(pg_url(BENCH_DB), redis_url())
        began = time.monotonic()
        with app.app_context():
            _fixture = {"db_url": pg_url(BENCH_DB), "redis": redis_url(),
                        "orders": orders, "tasks": tasks, **_seed(orders, tasks)}
        psql("VACUUM ANALYZE", BENCH_DB, timeout=900)
        _fixture["seed_seconds"] = round(time.monotonic() - began, 1)
        _fixture["app"] = app
        ctx.log(f"seeded in {_fixture['seed_seconds']}s")
    return _fixture


def _seed(orders: int, tasks: int) -> dict:
    from sqlalchemy import text

    from server.auth.services import create_seller, create_token, create_user
    from server.catalog.services import create_sku
    from server.cli import ensure_schema
    from server.extensions import db
    from server.inventory.services import receive
    from server.inventory.warehouses import create_bins, create_warehouse

    ensure_schema()
    s = db.session
    seller = create_seller(s, name="Bench Seller", code="BENCH")
    warehouses = []
    for w in range(3):
        warehouse = create_warehouse(
            s, code=f"BW{w + 1}", name=f"Bench warehouse {w + 1}", zip="90001",
            latitude=34.0 + w, longitude=-118.0, timezone="America/Los_Angeles")
        bins = create_bins(s, warehouse, [f"A-01-{b + 1:02d}-1" for b in range(10)])
        warehouses.append((warehouse, bins))
    skus = []
    for n in range(100):
        sku = create_sku(s, seller_id=seller.id, code=f"BL-{n:03d}", name=f"Bench SKU {n}")
        skus.append(sku.id)
        for warehouse, bins in warehouses:
            receive(s, sku_id=sku.id, bin_id=bins[n % len(bins)].id, quantity=1000,
                    reason="bench seed", reference="bench-seed")
    users = {
        "seller": create_user(s, email="bl-seller@example.com", password="bench-password",
                              role="seller", seller=seller),
        "picker": create_user(s, email="bl-picker@example.com", password="bench-password",
                              role="picker", warehouses=[warehouses[0][0]]),
        "admin": create_user(s, email="bl-admin@example.com", password="bench-password",
                             role="admin"),
    }
    tokens = {role: create_token(s, user, "bench")[1] for role, user in users.items()}
    s.commit()
    wids = ",".join(str(w.id) for w, _bins in warehouses)
    sku_ids = ",".join(str(i) for i in skus)
    firsts = ",".join(f"'{n}'" for n in FIRST)
    lasts = ",".join(f"'{n}'" for n in LAST)
    small = json.dumps({"why": "only candidate", "winner": 1})
    payload = json.dumps({"id": "x", "line_items": [{"sku": "BL-001", "qty": 1}] * 5,
                          "customer": {"email": "c@example.com", "note": "leave at door"}})
    statements = [
        (f"""INSERT INTO orders (seller_id, channel, account_key, external_id, status,
               placed_at, ship_by, currency, ship_to_name, ship_to_address1,
               ship_to_address2, ship_to_city, ship_to_state, ship_to_zip, ship_to_country,
               ship_to_phone, fulfilled_by_channel, allocation_reason, raw_payload,
               channel_status, created_at, updated_at)
             SELECT :seller, 'shopify', 'bench-shop', 'BO-' || g,
               (ARRAY['allocated','released','picked','packed','shipped','delivered'])[1 + g % 6],
               now() - make_interval(secs => (:n - g) * 30), now() + interval '2 days', 'USD',
               (ARRAY[{firsts}])[1 + g % 20] || ' ' || (ARRAY[{lasts}])[1 + (g / 20) % 20],
               g || ' Main St', '', 'Los Angeles', 'CA', '90001', 'US', '555-0100', false,
               CASE WHEN g > :n - :heavy THEN CAST(:big AS json) ELSE CAST(:small AS json) END,
               CAST(:payload AS json), '', now(), now()
             FROM generate_series(1, :n) AS g""",
         {"seller": seller.id, "n": orders, "heavy": HEAVY_ORDERS, "big": _big_reason(),
          "small": small, "payload": payload}),
        ("UPDATE orders SET ship_to_name = :name WHERE external_id = :ext",
         {"name": RARE_NAME, "ext": f"BO-{orders // 2}"}),
        (f"""INSERT INTO order_lines (order_id, seller_id, sku_id, external_line_id, quantity,
               quantity_cancelled, unit_price_cents, channel_sku, title)
             SELECT o.id, o.seller_id, (ARRAY[{sku_ids}])[1 + (o.id * 7 + k) % 100], 'L' || k,
               1 + k, 0, 1999 + k * 100, '', ''
             FROM orders AS o CROSS JOIN generate_series(0, 1) AS k""", {}),
        (f"""INSERT INTO order_allocations (order_id, order_line_id, seller_id, warehouse_id,
               quantity, quantity_picked, reference, created_at)
             SELECT l.order_id, l.id, l.seller_id, (ARRAY[{wids}])[1 + l.order_id % 3],
               l.quantity, 0, 'bench-alloc-' || l.id, now()
             FROM order_lines AS l""", {}),
        (f"""INSERT INTO tasks (warehouse_id, kind, reason, status, title, data, order_id,
               sku_id, created_at, updated_at)
             SELECT (ARRAY[{wids}])[1 + g % 3],
               CASE WHEN g % 4 = 0 THEN 'pick' ELSE 'exception' END, 'short_pick',
               (ARRAY['open','claimed','done'])[1 + g % 3], 'Short pick ' || g,
               CAST(:data AS json), (SELECT min(id) FROM orders) + g % :n,
               (ARRAY[{sku_ids}])[1 + g % 100], now(), now()
             FROM generate_series(1, :t) AS g""",
         {"n": orders, "t": tasks,
          "data": json.dumps({"expected": 3, "found": 1, "bin": "A-01-01-1"})}),
    ]
    for sql, params in statements:
        s.execute(text(sql), params)
        s.commit()
    db.engine.dispose()
    return {"tokens": tokens, "rare_name": RARE_NAME, "external_id": f"BO-{orders // 3}"}


def _in_process(fx: dict, path: str, headers: dict, repeat: int = 20) -> dict:
    """Statements per request (after a warm-up request) and CPU ms per request, of
    the request run in this process through the app's test client."""
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
    # Each request gets its own app context, as under gunicorn (a context kept open
    # would keep the logged-in user in `g` and hide the token's statement).
    client.get(path, headers=headers)  # warm-up: compiled statements, the token touch
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path, headers=headers)
        counted = len(statements)
        began = time.process_time()
        for _ in range(repeat):
            client.get(path, headers=headers)
        cpu_ms = (time.process_time() - began) / repeat * 1000
    finally:
        event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return {"status": response.status_code, "statements": counted, "cpu_ms": cpu_ms,
            "items": len((response.get_json() or {}).get("items") or [])}


def _api_figures(ctx: Context, fx: dict, path: str, role: str, figure_prefix: str = "") -> None:
    headers = {"Authorization": f"Bearer {fx['tokens'][role]}"}
    common = {"path": path, "role": role, "orders": fx["orders"], "tasks": fx["tasks"]}
    local = _in_process(fx, path, headers)
    ctx.figure(f"{figure_prefix}statements_per_request", local["statements"], "statements",
               target="issue #10: authentication 1 + the page 1",
               params={**common, "status": local["status"], "items": local["items"]})
    ctx.figure(f"{figure_prefix}cpu_ms_per_request", local["cpu_ms"], "ms",
               params={**common, "in_process": "flask test client, 20 requests"})
    seconds = http_seconds(ctx)
    env = {"DATABASE_URL": fx["db_url"], "REDIS_URL": fx["redis"] or ""}
    with gunicorn("server.wsgi:app", env, ready_path=path, ready_headers=headers,
                  timeout=60) as served:
        http_load(served.port, path, clients=4, duration=0.5, max_requests=200,
                  headers=headers)  # warm-up
        for clients in api_clients(ctx):
            ctx.log(f"GET {path} with {clients} clients for {seconds}s")
            result = http_load(served.port, path, clients=clients, duration=seconds,
                               max_requests=http_max_requests(ctx), headers=headers)
            params = {"clients": clients, **common, **server_params(), **result.params()}
            for metric, value in result.summary().items():
                target = API_TARGET if metric == "p95_ms" and clients == 50 else None
                ctx.figure(f"{figure_prefix}{metric}", value,
                           "req/s" if metric == "req_per_s" else "ms",
                           baseline=bare_flask_name(clients, metric), target=target,
                           params=params)


@bench("api_order_list", needs=("bare_flask",))
def api_order_list(ctx: Context) -> None:
    """GET /api/orders?limit=50 as the seller, at 1M orders."""
    fx = fixture(ctx)
    _api_figures(ctx, fx, "/api/orders?limit=50", "seller")


@bench("api_order_search", needs=("bare_flask",))
def api_order_search(ctx: Context) -> None:
    """GET /api/orders?q=: a ship-to name held by one order of 1M (the trigram
    index), then an external order id (exact match), as the seller."""
    fx = fixture(ctx)
    from urllib.parse import quote
    _api_figures(ctx, fx, f"/api/orders?limit=50&q={quote(fx['rare_name'].split()[1])}",
                 "seller", "name_")
    _api_figures(ctx, fx, f"/api/orders?limit=50&q={quote(fx['external_id'])}", "seller",
                 "external_id_")


@bench("api_task_list", needs=("bare_flask",))
def api_task_list(ctx: Context) -> None:
    """GET /api/tasks?limit=50 as the picker, at 300,000 tasks."""
    fx = fixture(ctx)
    _api_figures(ctx, fx, "/api/tasks?limit=50", "picker")


@bench("api_ledger_list", needs=("bare_flask",))
def api_ledger_list(ctx: Context) -> None:
    """GET /api/ledger?limit=50 as the seller."""
    fx = fixture(ctx)
    _api_figures(ctx, fx, "/api/ledger?limit=50", "seller")
