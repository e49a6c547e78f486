"""The foundation's stock figures, on PostgreSQL.

Every run drops and recreates the database `haicang_bench`, migrates it with the
app's own Alembic migrations and seeds it through the service functions (100 SKUs
x 3 warehouses, one bin each, 100,000 units), once for all the benchmarks here.

- `stock_reserve_release_per_s`: reserve one unit, commit; release it, commit.
  With 1 and with 2 processes, read against pgbench TPS.
- `stock_receive_per_s`: receive one unit, commit; 2 processes.
- `api_stock_list`: GET /api/stock?limit=50 with a bearer token through gunicorn,
  read against the bare Flask handler served the same way.

Worker processes are spawned, not forked: each builds its own app and engine, as a
web or worker process would, and none inherits a connection from the parent.
"""
import multiprocessing
import os
import queue
import random
import time
import traceback
from collections import Counter

from .baseline import api_clients, bare_flask_name, http_max_requests, http_seconds
from .registry import Context, bench
from .tools import (
    gunicorn,
    http_load,
    percentile,
    pg_url,
    recreate_database,
    redis_url,
    server_params,
)

BENCH_DB = "haicang_bench"
SKUS = 100
WAREHOUSES = 3
BINS_PER_WAREHOUSE = 10
START_UNITS = 100_000  # per stock row: receive adds, reserve/release nets to zero
WARMUP_OPS = 30  # per worker, before the start line: compiled queries, a pooled connection
MAX_OPS = 200_000  # per worker: the count bound beside the time bound
RESERVE_TARGET = ("TARGETS.md: allocate + reserve one order, its own transaction, "
                  "PostgreSQL, 2 processes: >= 0.25 x pgbench tpcb-like TPS")
LEDGER_TARGET = "0 (invariant 2: every stock row equals the sum of its ledger rows)"
API_TARGET = "TARGETS.md: API reads at 50 concurrent users: p95 <= 50 ms"
RSS_TARGET = "TARGETS.md: web and worker processes <= 200 MB resident under load"

_fixture: dict | None = None  # the seeded database, shared by this module's benchmarks
_parent_app = None  # the runner's own app on haicang_bench, for seeding and checks


def make_app(database_url: str, redis: str | None):
    """The real app on `database_url`. With Redis up, Socket.IO events go through it
    as in production (each stock change publishes to two rooms after commit)."""
    from server import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis,
                       "RQ_INLINE": redis is None})


def fixture(ctx: Context) -> dict:
    """The seeded database, prepared on first use in this run. Only plain data in
    here: it is pickled to the worker processes."""
    global _fixture, _parent_app
    if _fixture is None:
        ctx.log(f"recreating and seeding {BENCH_DB}")
        recreate_database(BENCH_DB)
        redis = redis_url()
        _parent_app = make_app(pg_url(BENCH_DB), redis)
        with _parent_app.app_context():
            _fixture = {"db_url": pg_url(BENCH_DB), "redis": redis, **_seed()}
    return _fixture


def _seed() -> dict:
    from server.auth.services import create_seller, create_token, create_user
    from server.catalog.services import create_sku
    from server.cli import ensure_schema
    from server.extensions import db
    from server.inventory.services import receive
    from server.inventory.warehouses import create_bins, create_warehouse

    ensure_schema()
    session = db.session
    seller = create_seller(session, name="Bench Seller", code="BENCH")
    user = create_user(session, email="bench-seller@example.com",
                       password="bench-password", role="seller", seller=seller)
    _row, token = create_token(session, user, "bench")
    warehouses = []
    for w in range(WAREHOUSES):
        warehouse = create_warehouse(
            session, code=f"BW{w + 1}", name=f"Bench warehouse {w + 1}", zip="90001",
            latitude=34.0 + w, longitude=-118.0, timezone="America/Los_Angeles")
        bins = create_bins(session, warehouse,
                           [f"A-01-{b + 1:02d}-1" for b in range(BINS_PER_WAREHOUSE)])
        warehouses.append((warehouse, bins))
    pairs, slots = [], []
    for s in range(SKUS):
        sku = create_sku(session, seller_id=seller.id, code=f"BENCH-{s:03d}",
                         name=f"Bench SKU {s}")
        for warehouse, bins in warehouses:
            bin_ = bins[s % len(bins)]
            receive(session, sku_id=sku.id, bin_id=bin_.id, quantity=START_UNITS,
                    reason="bench seed", reference="bench-seed")
            pairs.append((sku.id, warehouse.id))
            slots.append((sku.id, bin_.id))
    session.commit()
    db.engine.dispose()  # the parent holds no idle connection while workers run
    return {"pairs": pairs, "slots": slots, "token": token}


def _ledger_figures(ctx: Context, params: dict) -> None:
    """Stock rows that differ from their ledger, and units still reserved, after a
    concurrent run: figures, so a misbehaving service shows up as a non-zero."""
    from sqlalchemy import func, select

    from server.extensions import db
    from server.inventory.models import Stock
    from server.inventory.services import verify_ledger
    with _parent_app.app_context():
        problems = verify_ledger(db.session)
        reserved = db.session.scalar(select(func.coalesce(func.sum(Stock.reserved), 0)))
        db.session.rollback()
        db.engine.dispose()
    if problems:
        ctx.log(f"ledger mismatches, first ones: {problems[:3]}")
    ctx.figure("ledger_mismatches", len(problems), "rows", target=LEDGER_TARGET,
               params=params)
    ctx.figure("reserved_left", reserved, "units", params=params,
               target="0 when every reserve was released")


# -- the worker processes ---------------------------------------------------------------

def _timed(latencies: dict, errors: Counter, samples: dict, kind: str, call) -> bool:
    """Run one service call and commit it, as its own transaction; record the time of
    call + commit (the commit sends the Socket.IO events too). False if it failed."""
    from server.extensions import db
    began = time.perf_counter()
    try:
        call()
        db.session.commit()
    except Exception as error:  # noqa: BLE001  counted and reported, never hidden
        db.session.rollback()
        key = f"{kind}: {type(error).__name__}"
        errors[key] += 1
        samples.setdefault(key, str(error)[:300])
        return False
    latencies.setdefault(kind, []).append(time.perf_counter() - began)
    return True


def _reserve_release_op(fx: dict, rng: random.Random, reference: str, *record) -> int:
    from server.extensions import db
    from server.inventory.services import ReserveLine, release, reserve
    sku_id, warehouse_id = rng.choice(fx["pairs"])
    if not _timed(*record, "reserve", lambda: reserve(
            db.session, [ReserveLine(sku_id, warehouse_id, 1)], reference=reference)):
        return 1
    _timed(*record, "release", lambda: release(db.session, reference=reference))
    return 2


def _receive_op(fx: dict, rng: random.Random, reference: str, *record) -> int:
    from server.extensions import db
    from server.inventory.services import receive
    sku_id, bin_id = rng.choice(fx["slots"])
    _timed(*record, "receive", lambda: receive(
        db.session, sku_id=sku_id, bin_id=bin_id, quantity=1, reason="bench",
        reference=reference))
    return 1


OPS = {"reserve_release": _reserve_release_op, "receive": _receive_op}


def _worker(task: str, index: int, fx: dict, seconds: float, barrier, results) -> None:
    """One process: its own app and engine, a warm-up, the shared start line, then
    operations until `seconds` pass or MAX_OPS are done."""
    try:
        from server.extensions import db
        op = OPS[task]
        app = make_app(fx["db_url"], fx["redis"])
        rng = random.Random(f"{task}-{index}")  # reproducible choice of rows
        tag = f"{os.getpid()}-{time.time_ns()}"  # references never repeat across runs
        with app.app_context():
            scratch = ({}, Counter(), {})
            for n in range(WARMUP_OPS):
                op(fx, rng, f"warm-{task}-{tag}-{n}", *scratch)
            barrier.wait(timeout=120)
            latencies, errors, samples = {}, Counter(), {}
            began = time.perf_counter()
            deadline = began + seconds
            attempts = 0
            while attempts < MAX_OPS and time.perf_counter() < deadline:
                op(fx, rng, f"bench-{task}-{tag}-{attempts}", latencies, errors, samples)
                attempts += 1
            elapsed = time.perf_counter() - began
            db.session.remove()
            db.engine.dispose()
        results.put({"index": index, "latencies": latencies, "errors": dict(errors),
                     "samples": samples, "elapsed": elapsed,
                     "warmup_errors": dict(scratch[1])})
    except BaseException:  # noqa: BLE001  the parent reports it; a silent worker
        # would only look slow
        barrier.abort()
        results.put({"index": index, "failed": traceback.format_exc()})


def run_workers(ctx: Context, task: str, processes: int, seconds: float) -> dict:
    """Run `task` in `processes` spawned processes at once; their merged results:
    transactions per second (the sum of each process's rate over its own window),
    latencies per kind, errors."""
    fx = fixture(ctx)
    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(processes)
    results = mp.Queue()
    procs = [mp.Process(target=_worker, args=(task, i, fx, seconds, barrier, results),
                        daemon=True) for i in range(processes)]
    for proc in procs:
        proc.start()
    collected = []
    deadline = time.monotonic() + seconds + 180  # start-up, warm-up and the run itself
    while len(collected) < processes:
        try:
            # Read before join: a child blocks on exit until its queued result is read.
            collected.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            break
    for proc in procs:
        proc.join(timeout=15)
        if proc.is_alive():
            proc.terminate()  # our own child, by its handle
            proc.join(timeout=5)
    failed = [r["failed"] for r in collected if "failed" in r]
    if failed or len(collected) < processes:
        raise RuntimeError(f"{task}: {len(collected)}/{processes} workers reported; "
                           + ("\n".join(failed) or "timed out"))
    latencies: dict[str, list[float]] = {}
    errors, samples, warmup_errors = Counter(), {}, Counter()
    rate = 0.0
    transactions = 0
    for r in collected:
        done = sum(len(v) for v in r["latencies"].values())
        transactions += done
        rate += done / r["elapsed"]
        for kind, values in r["latencies"].items():
            latencies.setdefault(kind, []).extend(values)
        errors.update(r["errors"])
        warmup_errors.update(r["warmup_errors"])
        for key, text in r["samples"].items():
            samples.setdefault(key, text)
    if errors or warmup_errors:
        ctx.log(f"{task} x{processes}: errors {dict(errors)} warm-up {dict(warmup_errors)} "
                f"samples {samples}")
    return {"rate": rate, "latencies": latencies, "transactions": transactions,
            "errors": dict(errors), "error_samples": samples,
            "seconds": round(max(r["elapsed"] for r in collected), 2)}


def _common_params(fx: dict) -> dict:
    return {"skus": SKUS, "warehouses": WAREHOUSES, "stock_rows": len(fx["slots"]),
            "events": "socket.io via redis" if fx["redis"] else "socket.io in-process"}


def _latency_figures(ctx: Context, result: dict, kind: str, params: dict) -> None:
    values = result["latencies"].get(kind, [])
    for p in (50, 95):
        value = percentile(values, p)
        ctx.figure(f"{kind}_p{p}_ms", value * 1000 if value is not None else None, "ms",
                   params=params)


# -- the benchmarks ----------------------------------------------------------------------

@bench("stock_reserve_release_per_s", needs=("pgbench_tpcb",))
def stock_reserve_release_per_s(ctx: Context) -> None:
    """Reserve one unit of a random SKU x warehouse, commit; release it, commit.
    Each is its own transaction; the rate counts both. 1 and 2 processes."""
    fx = fixture(ctx)
    seconds = ctx.pick(10.0, 3.0)
    for processes in (1, 2):
        ctx.log(f"{processes} process(es) for {seconds}s")
        result = run_workers(ctx, "reserve_release", processes, seconds)
        params = {"processes": processes, "seconds": result["seconds"],
                  "op": "reserve(1 unit) + commit, or release(reference) + commit",
                  "transactions": result["transactions"], "errors": result["errors"],
                  **_common_params(fx)}
        ctx.figure("ops_per_s", result["rate"], "txn/s", baseline="pgbench_tpcb_tps",
                   target=RESERVE_TARGET if processes == 2 else None, params=params)
        for kind in ("reserve", "release"):
            _latency_figures(ctx, result, kind, params)
    _ledger_figures(ctx, {"after": "stock_reserve_release_per_s"})


@bench("stock_receive_per_s", needs=("pgbench_tpcb",))
def stock_receive_per_s(ctx: Context) -> None:
    """Receive one unit into a random seeded SKU x bin, commit; 2 processes."""
    fx = fixture(ctx)
    seconds = ctx.pick(10.0, 3.0)
    processes = 2
    ctx.log(f"{processes} processes for {seconds}s")
    result = run_workers(ctx, "receive", processes, seconds)
    params = {"processes": processes, "seconds": result["seconds"],
              "op": "receive(1 unit) + commit", "transactions": result["transactions"],
              "errors": result["errors"], **_common_params(fx)}
    ctx.figure("ops_per_s", result["rate"], "txn/s", baseline="pgbench_tpcb_tps",
               params=params)
    _latency_figures(ctx, result, "receive", params)
    _ledger_figures(ctx, {"after": "stock_receive_per_s"})


@bench("api_stock_list", needs=("bare_flask",))
def api_stock_list(ctx: Context) -> None:
    """GET /api/stock?limit=50 with a seller's bearer token, through gunicorn as
    Procfile serves the app, beside the bare Flask handler served the same way."""
    fx = fixture(ctx)
    seconds = http_seconds(ctx)
    path = "/api/stock?limit=50"
    headers = {"Authorization": f"Bearer {fx['token']}"}
    # An empty REDIS_URL reads as unset in server/config.py.
    env = {"DATABASE_URL": fx["db_url"], "REDIS_URL": fx["redis"] or ""}
    with gunicorn("server.wsgi:app", env, ready_path=path, ready_headers=headers,
                  timeout=60) as served:
        http_load(served.port, path, clients=4, duration=0.5, max_requests=200,
                  headers=headers)  # warm-up
        for clients in api_clients(ctx):
            ctx.log(f"GET {path} with {clients} clients for {seconds}s")
            result = http_load(served.port, path, clients=clients, duration=seconds,
                               max_requests=http_max_requests(ctx), headers=headers)
            params = {"clients": clients, "path": path, "role": "seller", **server_params(),
                      **result.params()}
            for metric, value in result.summary().items():
                target = API_TARGET if metric == "p95_ms" and clients == 50 else None
                ctx.figure(metric, value, "req/s" if metric == "req_per_s" else "ms",
                           baseline=bare_flask_name(clients, metric), target=target,
                           params=params)
        rss = served.worker_rss_mb()
        ctx.figure("worker_rss_mb", rss, "MB", target=RSS_TARGET,
                   params={"after": "the load above", **server_params()})
