"""Sync push figures (issue #5), on PostgreSQL: queued floor scans pushed through
`sync.engine.push_and_commit` in batches of 500, as a device's outbox would send
them after a shift offline.

Every run drops and recreates the database `haicang_bench_sync`, migrates it with
the app's own Alembic migrations and seeds it through the service functions: one
seller with 100 SKUs, one warehouse with 4 aisles x 20 bins, 4 picker users (one
per device, `warehouses=[wh]`), and 1,000,000 units of every SKU in the first bin
of every aisle (400 `receive()` calls), so moves out of it never run short.

Each device works its own aisle (as pickers do): 80 % `receive.scan` of 1 unit of
a random SKU into a random bin of the aisle, 20 % `stock.move` of 1 unit from the
aisle's first bin to another bin of it, all by SKU code and bin code, ids 1..N
without gaps (the engine applies them set-based: sync/engine.py, FloorBatch in
server/warehouse/mutations.py). Devices of different aisles touch different stock rows, so their
batches never wait on each other's row locks; what is measured is the engine.

- 1 device (one process): 10,000 mutations (500 with --quick), 20 batches.
- 4 devices (2 spawned processes x 2 devices, the batches of a process's devices
  alternating): 10,000 mutations in all, 2,500 per device.

Each process builds its own app and engine, pushes a warm-up batch of 20 per
device before the shared start line, then pushes its batches, each timed from the
call to push_and_commit to its return (the commit included). With Redis up, the
jobs the commits queue (`allocate_backorders`, `stock_changed`) go to an RQ queue
of their own, `haicang_bench_sync`, emptied afterwards; Socket.IO events go
through Redis as in production.

Before the runs, one spawned process pushes one batch of 500 (a fresh device,
after its warm-up) counting the SQL statements it sends and its CPU time:
`statements_per_mutation` and `cpu_ms_per_mutation`, printed as figures and in
the params of every `mutations_per_s` line, so a regression shows beside the rate.

After the run: `verify_ledger` and the number of stored results (sync_mutations
rows) against the mutations sent, as figures. Last, one process pushes one more
batch of 500 under cProfile, counting the SQL statements it sends; the listing
goes to stderr only.
"""
import cProfile
import io
import multiprocessing
import os
import pstats
import queue
import random
import re
import time
import traceback
from collections import Counter

from .registry import Context, bench
from .tools import percentile, pg_url, recreate_database, redis_url

SYNC_DB = "haicang_bench_sync"
RQ_QUEUE = "haicang_bench_sync"
BATCH = 500
SKUS = 100
AISLES = 4  # one per device
BINS_PER_AISLE = 20
SOURCE_UNITS = 1_000_000
WARMUP = 20  # mutations per device before the start line
MOVE_SHARE = 0.2
TARGET = ("TARGETS.md: sync push, 10,000 queued scans in batches of 500: >= 5,000 "
          "mutations per second (one savepoint per mutation, one commit per batch)")
LEDGER_TARGET = "0 (invariant 2: every stock row equals the sum of its ledger rows)"


def make_app(database_url: str, redis: str | None, rq_queue: str):
    from server import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis,
                       "RQ_INLINE": redis is None, "RQ_QUEUE": rq_queue})


def _bin_code(aisle: int, b: int) -> str:
    return f"A-{aisle + 1:02d}-{b + 1:02d}-1"


def _seed(ctx: Context) -> dict:
    recreate_database(SYNC_DB)
    redis = redis_url()
    app = make_app(pg_url(SYNC_DB), redis, RQ_QUEUE)
    with app.app_context():
        from server.auth.services import create_seller, create_user
        from server.catalog.services import create_sku
        from server.cli import ensure_schema
        from server.extensions import db
        from server.inventory.services import receive
        from server.inventory.warehouses import create_bins, create_warehouse
        ensure_schema()
        s = db.session
        seller = create_seller(s, name="Sync Bench Seller", code="SYNCB")
        wh = create_warehouse(s, code="SW1", name="Sync bench warehouse", zip="90001",
                              latitude=34.0, longitude=-118.0,
                              timezone="America/Los_Angeles")
        bins = create_bins(s, wh, [_bin_code(a, b) for a in range(AISLES)
                                   for b in range(BINS_PER_AISLE)])
        by_code = {b.code: b for b in bins}
        skus = [create_sku(s, seller_id=seller.id, code=f"SYNC-{n:03d}",
                           name=f"Sync SKU {n}") for n in range(SKUS)]
        for a in range(AISLES):
            source = by_code[_bin_code(a, 0)]
            for sku in skus:
                receive(s, sku_id=sku.id, bin_id=source.id, quantity=SOURCE_UNITS,
                        reason="bench seed", reference="bench-seed")
        users = [create_user(s, email=f"sync-picker-{d}@example.com",
                             password="bench-password", role="picker", warehouses=[wh]).id
                 for d in range(AISLES)]
        s.commit()
        fx = {"db_url": pg_url(SYNC_DB), "redis": redis, "users": users,
              "skus": [sku.code for sku in skus], "tag": f"{os.getpid()}{time.time_ns()}"}
        db.session.remove()
        db.engine.dispose()
    return {"app": app, **fx}


def mutations_for(fx: dict, device: int, first: int, count: int) -> list[dict]:
    """Mutations first..first+count-1 of `device` (reproducible per id)."""
    out = []
    for n in range(first, first + count):
        rng = random.Random(f"{device}-{n}")
        sku = rng.choice(fx["skus"])
        if rng.random() < MOVE_SHARE:
            out.append({"id": n, "name": "stock.move", "args": {
                "from_bin": _bin_code(device, 0),
                "to_bin": _bin_code(device, rng.randrange(1, BINS_PER_AISLE)),
                "sku": sku, "qty": 1}})
        else:
            out.append({"id": n, "name": "receive.scan", "args": {
                "bin": _bin_code(device, rng.randrange(BINS_PER_AISLE)), "sku": sku,
                "qty": 1}})
    return out


def device_id(fx: dict, device: int, phase: str) -> str:
    return f"bench-{phase}-{device}-{fx['tag']}"[:64]


# -- the worker processes ---------------------------------------------------------------

def _push(fx, session, user, dev_id, batch, statuses) -> None:
    from sync.engine import push_and_commit
    result = push_and_commit(session, user, dev_id, batch)
    if result["last_mutation_id"] != batch[-1]["id"]:
        raise RuntimeError(f"device {dev_id} stopped at {result['last_mutation_id']}, "
                           f"sent up to {batch[-1]['id']}")
    for r in result["results"]:
        statuses[r["status"]] += 1


def _worker(fx: dict, devices: list[int], per_device: int, barrier, results) -> None:
    try:
        from server.auth.models import User
        from server.extensions import db
        app = make_app(fx["db_url"], fx["redis"], RQ_QUEUE)
        with app.app_context():
            s = db.session
            warm = Counter()
            for d in devices:
                _push(fx, s, s.get(User, fx["users"][d]), device_id(fx, d, "run"),
                      mutations_for(fx, d, 1, WARMUP), warm)
            barrier.wait(timeout=120)
            latencies, statuses = [], Counter()
            began = time.perf_counter()
            for start in range(WARMUP + 1, WARMUP + 1 + per_device, BATCH):
                size = min(BATCH, WARMUP + 1 + per_device - start)
                for d in devices:
                    batch = mutations_for(fx, d, start, size)  # built before the clock
                    user = s.get(User, fx["users"][d])
                    t0 = time.perf_counter()
                    _push(fx, s, user, device_id(fx, d, "run"), batch, statuses)
                    latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - began
            db.session.remove()
            db.engine.dispose()
        results.put({"latencies": latencies, "statuses": dict(statuses),
                     "elapsed": elapsed, "sent": per_device * len(devices),
                     "warm_sent": WARMUP * len(devices), "warm_statuses": dict(warm)})
    except BaseException:  # noqa: BLE001  reported by the parent
        barrier.abort()
        results.put({"failed": traceback.format_exc()})


def _profile_worker(fx: dict, results) -> None:
    """One batch of 500 on a fresh device, under cProfile, counting statements."""
    try:
        from sqlalchemy import event

        from server.auth.models import User
        from server.extensions import db
        app = make_app(fx["db_url"], fx["redis"], RQ_QUEUE)
        with app.app_context():
            s = db.session
            dev = device_id(fx, 0, "profile")
            user = s.get(User, fx["users"][0])
            _push(fx, s, user, dev, mutations_for(fx, 0, 1, WARMUP), Counter())
            kinds = Counter()

            def count(_conn, _cursor, statement, _params, _context, _many):
                words = statement.split()
                head = words[0].upper() if words else "?"
                table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement, re.IGNORECASE)
                kinds[f"{head} {table.group(1) if table else ''}".strip()] += 1

            batch = mutations_for(fx, 0, WARMUP + 1, BATCH)
            user = s.get(User, fx["users"][0])
            event.listen(db.engine, "before_cursor_execute", count)
            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.enable()
            _push(fx, s, user, dev, batch, Counter())
            profiler.disable()
            wall = time.perf_counter() - t0
            event.remove(db.engine, "before_cursor_execute", count)
            listing = {}
            for key, restrict in (("cumulative", (r"/(server|sync)/", 40)),
                                  ("cumulative", (40,)), ("tottime", (30,))):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(*restrict)
                listing[f"{key} {restrict}"] = out.getvalue()
            db.engine.dispose()
        results.put({"kinds": dict(kinds), "wall": wall, "listing": listing,
                     "sent": WARMUP + BATCH})
    except BaseException:  # noqa: BLE001
        results.put({"failed": traceback.format_exc()})


def _count_worker(fx: dict, results) -> None:
    """One batch of 500 on a fresh device, no profiler: the SQL statements it sends
    (an executemany counts once; BEGIN/COMMIT are not statements to SQLAlchemy) by
    kind, and the process's CPU time, per mutation."""
    try:
        from sqlalchemy import event

        from server.auth.models import User
        from server.extensions import db
        app = make_app(fx["db_url"], fx["redis"], RQ_QUEUE)
        with app.app_context():
            s = db.session
            dev = device_id(fx, 1, "count")
            user = s.get(User, fx["users"][1])
            _push(fx, s, user, dev, mutations_for(fx, 1, 1, WARMUP), Counter())
            kinds = Counter()

            def count(_conn, _cursor, statement, _params, _context, _many):
                words = statement.split()
                head = words[0].upper() if words else "?"
                table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement, re.IGNORECASE)
                kinds[f"{head} {table.group(1) if table else ''}".strip()] += 1

            batch = mutations_for(fx, 1, WARMUP + 1, BATCH)
            user = s.get(User, fx["users"][1])
            event.listen(db.engine, "before_cursor_execute", count)
            cpu0, t0 = time.process_time(), time.perf_counter()
            _push(fx, s, user, dev, batch, Counter())
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.remove()
            db.engine.dispose()
        results.put({"kinds": dict(kinds), "cpu": cpu, "wall": wall,
                     "sent": WARMUP + BATCH})
    except BaseException:  # noqa: BLE001
        results.put({"failed": traceback.format_exc()})


def _spawn(target, arg_sets: list[tuple], timeout: float) -> list[dict]:
    mp = multiprocessing.get_context("spawn")
    results = mp.Queue()
    procs = [mp.Process(target=target, args=(*args, results), daemon=True)
             for args in arg_sets]
    for proc in procs:
        proc.start()
    collected = []
    deadline = time.monotonic() + timeout
    while len(collected) < len(procs):
        try:
            collected.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            break
    for proc in procs:
        proc.join(timeout=15)
        if proc.is_alive():
            proc.terminate()  # our own child, by its handle
            proc.join(timeout=5)
    failed = [r["failed"] for r in collected if "failed" in r]
    if failed or len(collected) < len(procs):
        raise RuntimeError(f"{len(collected)}/{len(procs)} workers reported; "
                           + ("\n".join(failed) or "timed out"))
    return collected


def _run(fx, groups: list[list[int]], per_device: int) -> dict:
    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(len(groups))
    collected = _spawn(_worker, [(fx, g, per_device, barrier) for g in groups], timeout=600)
    latencies, statuses, warm = [], Counter(), Counter()
    for r in collected:
        latencies.extend(r["latencies"])
        statuses.update(r["statuses"])
        warm.update(r["warm_statuses"])
    sent = sum(r["sent"] for r in collected)
    elapsed = max(r["elapsed"] for r in collected)
    return {"rate": sent / elapsed, "latencies": latencies, "statuses": dict(statuses),
            "sent": sent, "sent_total": sent + sum(r["warm_sent"] for r in collected),
            "seconds": round(elapsed, 2), "batches": len(latencies)}


def _drop_queue(redis: str | None) -> int:
    if not redis:
        return 0
    from redis import Redis
    from rq import Queue
    q = Queue(RQ_QUEUE, connection=Redis.from_url(redis))
    left = q.count
    q.empty()
    return left


@bench("sync_push_per_s", needs=("pgbench_tpcb",))
def sync_push_per_s(ctx: Context) -> None:
    """Queued scans pushed through sync.engine.push_and_commit in batches of 500, by
    1 device and by 4 devices (2 processes x 2), PostgreSQL."""
    ctx.log(f"recreating and seeding {SYNC_DB}")
    fx = _seed(ctx)
    app = fx.pop("app")
    total = ctx.pick(10_000, 500)
    sent_total = 0
    common = {"batch": BATCH, "mix": f"{int((1 - MOVE_SHARE) * 100)} % receive.scan, "
                                     f"{int(MOVE_SHARE * 100)} % stock.move, 1 unit",
              "events": "socket.io via redis" if fx["redis"] else "socket.io in-process",
              "jobs": f"rq queue {RQ_QUEUE}" if fx["redis"] else "inline"}
    ctx.log("counting statements and CPU of one batch of 500")
    counted = _spawn(_count_worker, [(fx,)], timeout=300)[0]
    sent_total += counted["sent"]
    kinds = dict(sorted(counted["kinds"].items(), key=lambda kv: -kv[1]))
    per_mutation = sum(kinds.values()) / BATCH
    cpu_ms = counted["cpu"] * 1000 / BATCH
    common["statements_per_mutation"] = round(per_mutation, 3)
    common["cpu_ms_per_mutation"] = round(cpu_ms, 3)
    count_params = {"batch": BATCH, "mix": common["mix"], "statements_by_kind": kinds,
                    "batch_wall_ms": round(counted["wall"] * 1000, 1)}
    ctx.figure("statements_per_mutation", per_mutation, "statements", params=count_params,
               target="fewer is better: what must stay per mutation is at most a "
                      "savepoint, UPDATE stock and INSERT movement (TARGETS.md)")
    ctx.figure("cpu_ms_per_mutation", cpu_ms, "ms", params=count_params,
               target="~0.2 ms for 5,000 mutations/s on 2 cores (bench/README.md)")
    for devices, groups in ((1, [[0]]), (4, [[0, 1], [2, 3]])):
        per_device = total // devices
        ctx.log(f"{devices} device(s) in {len(groups)} process(es): {total} mutations")
        r = _run(fx if devices == 1 else {**fx, "tag": fx["tag"] + "m"}, groups, per_device)
        sent_total += r["sent_total"]
        params = {"devices": devices, "processes": len(groups), "mutations": r["sent"],
                  "batches": r["batches"], "seconds": r["seconds"],
                  "statuses": r["statuses"], **common}
        ctx.figure("mutations_per_s", r["rate"], "mutations/s", baseline="pgbench_tpcb_tps",
                   target=TARGET, params=params)
        for p in (50, 95):
            value = percentile(r["latencies"], p)
            ctx.figure(f"batch_p{p}_ms", value * 1000 if value is not None else None, "ms",
                       params=params)
    if not ctx.quick:
        sent_total += _profile(ctx, fx)

    from sqlalchemy import func, select

    from server.extensions import db
    from server.inventory.services import verify_ledger
    from sync.models import SyncMutation
    with app.app_context():
        problems = verify_ledger(db.session)
        stored = db.session.scalar(select(func.count()).select_from(SyncMutation))
        db.session.rollback()
        db.engine.dispose()
    if problems:
        ctx.log(f"ledger mismatches, first ones: {problems[:3]}")
    left = _drop_queue(fx["redis"])
    ctx.figure("ledger_mismatches", len(problems), "rows", target=LEDGER_TARGET,
               params={"after": "sync_push_per_s"})
    ctx.figure("stored_results", stored, "rows",
               target="= mutations sent (every mutation's result is stored once)",
               params={"sent": sent_total, "missing": sent_total - stored,
                       "rq_jobs_dropped": left})


def _profile(ctx: Context, fx: dict) -> int:
    """One batch of 500 under cProfile in its own process; the listing goes to
    stderr. Returns the mutations it sent."""
    ctx.log("profiling one batch of 500")
    prof = _spawn(_profile_worker, [(fx,)], timeout=300)[0]
    kinds = dict(sorted(prof["kinds"].items(), key=lambda kv: -kv[1]))
    n_statements = sum(kinds.values())
    ctx.log(f"profile: one batch of {BATCH} in {prof['wall'] * 1000:.0f} ms under cProfile; "
            f"{n_statements} statements = {n_statements / BATCH:.2f} per mutation; "
            f"by kind: {kinds}")
    for key, text in prof["listing"].items():
        ctx.log(f"profile sorted by {key}:\n{text}")
    return prof["sent"]
