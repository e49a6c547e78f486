"""The whole under load, as it runs in production (issue #10, item 6):
`production_load`.

bench/production.py starts the Procfile's processes behind a private nginx
(3 gunicorn web processes with ip_hash, 2 RQ workers with their clocks, a private
Redis, the database `haicang_bench_load` migrated and seeded with `seed-demo`).
Then this module adds the load's people through the service functions (one picker
user and token per picker, spread over the three demo warehouses; one seller user
and token per seller, half for each demo seller; a cheap argon2 cost for their
passwords, which nobody types), four channel accounts of the first demo seller
pointed at a fake marketplace (bench/marketplace.py) in this process, and runs
bench/locustfile.py headless in a process of its own for 5 minutes (40 s with
--quick): 200 pickers pushing scans, 50 sellers browsing, and a channel order flood
at ten times normal, plus 2 probes of the bare Flask handler behind the same nginx.
While it runs, Socket.IO clients (seller tokens, through nginx, polling then the
websocket upgrade) count the events they hear, and resident memory is sampled.

"Normal" is 20 orders a minute (1,200 an hour, about 12,000 in a 10-hour day:
roughly what 200 pickers ship), across the four platforms; the flood is ten times
that, 200 a minute (3.33 orders/s), in --quick too. Shopify orders come as signed
webhooks and again through polls; Amazon, eBay and Temu orders through the clock's
polls, every CHANNEL_POLL_INTERVAL = 10 s in this run (300 s by default: the
flood must come in within the run).

After locust stops: how long until the RQ queue is empty, no job is running and the
outbox has nothing due (drained), and until every order the marketplace holds is
in the orders table; then the checks: orders lost or duplicated (by external id),
scans acknowledged but not stored (sync_mutations), failed jobs, and
`flask --app server inventory verify`.

--quick divides the pickers and sellers by QUICK_SCALE (5: 40 pickers, 10
sellers); the flood keeps its rate. Figures are printed, never asserted.
"""
import json
import multiprocessing
import os
import queue
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec

from .production import Stack, cpu_seconds, rss_kb
from .registry import Context, bench
from .tools import ROOT, percentile, psql

LOAD_DB = "haicang_bench_load"
PICKERS, SELLERS = 200, 50  # the numbers
QUICK_SCALE = 5  # --quick: pickers and sellers divided by this
NORMAL_ORDERS_PER_MIN = 20
FLOOD_PER_S = 10 * NORMAL_ORDERS_PER_MIN / 60
PROBES = 2
SOCKETS = 10  # Socket.IO clients (2 with --quick): each holds a web thread
WEB, WORKERS = 3, 2
POLL_INTERVAL = 10
CHANNEL_SKUS = 10  # the first demo seller's first SKU codes sell on the channels
KINDS = ("sync_push", "orders_list", "order_detail", "stock_list", "task_list",
         "shopify_webhook")
TARGET = ("TARGETS.md: whole-system load (200 pickers, 50 sellers, a 10x order flood "
          "for 5 minutes): 0 errors, 0 orders lost, queues drained within 1 minute")
MEMORY_TARGET = "TARGETS.md: web and worker processes <= 200 MB resident under the load test"


# -- the people ---------------------------------------------------------------------------

def _seed_people(stack: Stack, fake_url: str, pickers: int, sellers: int, tag: str) -> dict:
    """Users, tokens and channel accounts for the load, through the service
    functions (the CLI would start a process per user and token: minutes)."""
    from argon2 import PasswordHasher

    from server import create_app
    from server.auth import services as auth
    app = create_app({"SQLALCHEMY_DATABASE_URI": stack.database_url,
                      "REDIS_URL": stack.redis_url, "RQ_INLINE": False})
    saved = auth._hasher
    auth.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    try:
        with app.app_context():
            fx = _seed_in_app(fake_url, pickers, sellers, tag)
            from server.extensions import db
            db.session.remove()
            db.engine.dispose()
    finally:
        auth.use_password_hasher(saved)
    return fx


def _seed_in_app(fake_url: str, pickers: int, sellers: int, tag: str) -> dict:
    from sqlalchemy import select

    from server import demo
    from server.auth.models import Seller
    from server.auth.services import create_token, create_user
    from server.catalog.models import Sku
    from server.channels import services as channels
    from server.channels.fake_marketplace import CREDENTIALS
    from server.extensions import db
    from server.inventory.models import Bin, Warehouse
    s = db.session
    warehouses = s.scalars(select(Warehouse).order_by(Warehouse.id)).all()
    demo_sellers = s.scalars(select(Seller).order_by(Seller.id)).all()
    bins = {w.id: {"receiving_bins": [], "storage_bins": []} for w in warehouses}
    for b in s.scalars(select(Bin).order_by(Bin.id)):
        if b.kind in ("receiving", "storage"):
            bins[b.warehouse_id][f"{b.kind}_bins"].append(b.code)
    fx = {"run_tag": tag, "fake_url": fake_url, "pickers": [], "sellers": []}
    for n in range(pickers):
        wh = warehouses[n % len(warehouses)]
        user = create_user(s, email=f"picker{n:03d}@load.haicang", password=demo.DEMO_PASSWORD,
                           role="picker", warehouses=[wh])
        fx["pickers"].append({"token": create_token(s, user, "load")[1], "warehouse": wh.code,
                              **bins[wh.id]})
    for n in range(sellers):
        seller = demo_sellers[n % len(demo_sellers)]
        user = create_user(s, email=f"seller{n:03d}@load.haicang", password=demo.DEMO_PASSWORD,
                           role="seller", seller=seller)
        fx["sellers"].append({"token": create_token(s, user, "load")[1], "seller": seller.code})
    fx["skus"] = s.scalars(select(Sku.code).order_by(Sku.id)).all()
    first = demo_sellers[0]
    fx["channel_skus"] = s.scalars(select(Sku.code).where(Sku.seller_id == first.id)
                                   .order_by(Sku.id).limit(CHANNEL_SKUS)).all()
    keys = {"amazon": "ATVPDKIKX0DER", "ebay": "load-ebay", "shopify": "load-shop.myshopify.com",
            "temu": "load-temu"}
    fx["accounts"] = {}
    since = datetime.now(UTC) - timedelta(days=1)
    for channel, key in keys.items():
        account = channels.create_account(s, seller_id=first.id, channel=channel,
                                          account_key=key, credentials=dict(CREDENTIALS[channel]),
                                          base_url=fake_url)
        account.last_updated_after = since
        fx["accounts"][channel] = {"id": account.id, "key": key}
    fx["webhook"] = {"account_id": fx["accounts"]["shopify"]["id"],
                     "secret": CREDENTIALS["shopify"]["webhook_secret"]}
    s.commit()
    return fx


# -- Socket.IO clients ----------------------------------------------------------------------

def _socket_clients(url: str, tokens: list[str], ready, stop, results) -> None:
    """In a spawned process: one socketio.Client per token through nginx (polling,
    then the websocket upgrade), counting the events each hears until `stop`."""
    try:
        import socketio
        heard, errors, clients = Counter(), Counter(), []
        for token in tokens:
            client = socketio.Client(reconnection=False)
            client.on("*", lambda event, *_a: heard.update([event]))
            try:
                client.connect(url, auth={"token": token}, wait_timeout=20)
                clients.append(client)
            except Exception as error:  # noqa: BLE001  counted
                errors[type(error).__name__] += 1
        time.sleep(2)  # long enough for the upgrade to the websocket
        transports = Counter(c.transport() for c in clients)
        ready.put(len(clients))
        stop.wait(timeout=900)
        dropped = sum(1 for c in clients if not c.connected)
        results.put({"connected": len(clients), "errors": dict(errors), "heard": dict(heard),
                     "transports": dict(transports), "dropped": dropped})
    except BaseException:  # noqa: BLE001
        ready.put(0)
        results.put({"failed": traceback.format_exc()})
    # As in bench/realtime.py: leave at once rather than close each client in turn.
    results.close()
    results.join_thread()
    os._exit(0)


class Sockets:
    def __init__(self, url: str, tokens: list[str]):
        mp = multiprocessing.get_context("spawn")
        self.ready, self.results, self.stop_event = mp.Queue(), mp.Queue(), mp.Event()
        self.proc = mp.Process(target=_socket_clients, args=(url, tokens, self.ready,
                                                             self.stop_event, self.results),
                               daemon=True)
        self.proc.start()
        try:
            self.connected = self.ready.get(timeout=120)
        except queue.Empty:
            self.proc.terminate()  # our own child, by its handle
            self.proc.join(timeout=5)
            raise RuntimeError("the Socket.IO clients did not connect in 120 s") from None

    def stop(self) -> dict:
        self.stop_event.set()
        try:
            out = self.results.get(timeout=60)
        except queue.Empty:
            out = {"failed": "the Socket.IO client process did not report"}
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.terminate()  # our own child, by its handle
            self.proc.join(timeout=5)
        return out


# -- memory and CPU ---------------------------------------------------------------------

class Sampler:
    """Resident memory of every process of the stack (and of the load generator),
    every 2 s: the peak per process, and the peak sum per kind."""

    def __init__(self, stack: Stack, extra: dict[str, list[int]]):
        self.stack, self.extra = stack, extra
        self.peak_kb: dict[tuple[str, int], int] = {}
        self.peak_sum_kb: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def kinds(self) -> dict[str, list[int]]:
        return {**self.stack.pids_by_kind(), **self.extra}

    def sample(self) -> None:
        for kind, pids in self.kinds().items():
            total = 0
            for pid in pids:
                kb = rss_kb(pid)
                if kb is None:
                    continue
                total += kb
                self.peak_kb[(kind, pid)] = max(self.peak_kb.get((kind, pid), 0), kb)
            self.peak_sum_kb[kind] = max(self.peak_sum_kb[kind], total)

    def _run(self) -> None:
        while not self._stop.wait(2):
            self.sample()

    def start(self) -> "Sampler":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()

    def by_kind(self) -> dict[str, dict]:
        out = {}
        for kind in sorted({k for k, _ in self.peak_kb}):
            peaks = [kb for (k, _pid), kb in self.peak_kb.items() if k == kind]
            out[kind] = {"processes": len(peaks), "max_mb": round(max(peaks) / 1024, 1),
                         "sum_mb": round(self.peak_sum_kb[kind] / 1024, 1)}
        return out


def _cpu_by_kind(kinds: dict[str, list[int]]) -> dict[str, float]:
    return {kind: sum(cpu_seconds(p) or 0.0 for p in pids) for kind, pids in kinds.items()}


def _pg_backends() -> list[int]:
    """The PostgreSQL backends serving the load's database (their CPU is the
    database's share of the run; a backend that ended meanwhile is not counted)."""
    rows = psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{LOAD_DB}'")
    return [int(p) for p in rows.split()]


def _machine_cpu_busy() -> float:
    """CPU seconds the whole machine spent busy so far (/proc/stat, all cores)."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- the load generator --------------------------------------------------------------------

def _run_locust(stack: Stack, fx_path: str, results_path: str, pickers: int, sellers: int,
                duration: int, log_path: str, on_start) -> subprocess.CompletedProcess:
    users = pickers + sellers + 4 + PROBES
    env = {**os.environ, "LOAD_FIXTURES": fx_path, "LOAD_RESULTS": results_path,
           "LOAD_PICKERS": str(pickers), "LOAD_SELLERS": str(sellers),
           "LOAD_FLOOD_PER_S": str(FLOOD_PER_S), "LOAD_PROBES": str(PROBES)}
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
           "--headless", "--users", str(users), "--spawn-rate", str(max(20, users // 5)),
           "--run-time", f"{duration}s", "--host", stack.url, "--stop-timeout", "35",
           "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    # The generator's CPU time, read when it has been waited for: the only child
    # reaped meanwhile (the stack's processes are reaped at its stop).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            on_start(proc.pid)
            returncode = proc.wait(timeout=duration + 120)
        except BaseException:
            proc.terminate()  # our own child, by its handle
            proc.wait(timeout=30)
            raise
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.CompletedProcess(cmd, returncode)
    run.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run


# -- after the load -----------------------------------------------------------------------

def _held_vs_stored(fx: dict, held: dict[str, list[str]]) -> dict:
    """Orders the marketplace holds against the orders table, by external id."""
    keys = ",".join(f"'{a['key']}'" for a in fx["accounts"].values())
    rows = psql(f"SELECT channel, external_id, count(*) FROM orders WHERE account_key IN "
                f"({keys}) GROUP BY 1, 2", database=LOAD_DB)
    stored: dict[tuple[str, str], int] = {}
    for line in filter(None, rows.splitlines()):
        channel, external_id, n = line.split("|")
        stored[(channel, external_id)] = int(n)
    wanted = {(p, i) for p, ids in held.items() for i in ids}
    return {"held": len(wanted), "missing": sorted(f"{p}:{i}" for p, i in wanted - stored.keys()),
            "duplicated": sorted(f"{p}:{i}" for (p, i), n in stored.items() if n > 1),
            "unexpected": len(stored.keys() - wanted),
            "held_by_platform": {p: len(ids) for p, ids in held.items()}}


def _queues(stack: Stack) -> dict:
    """What is still to do: RQ's queue, running, scheduled and failed jobs, and the
    outbox's rows that are due and not handed over."""
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
    with Redis.from_url(stack.redis_url) as conn:
        q = Queue("haicang", connection=conn)
        state = {"queued": q.count, "started": StartedJobRegistry(queue=q).count,
                 "scheduled": ScheduledJobRegistry(queue=q).count,
                 "failed": FailedJobRegistry(queue=q).count}
    pending = psql("SELECT count(*) FILTER (WHERE available_at <= now()), count(*) FROM outbox "
                   "WHERE sent_at IS NULL AND failed_at IS NULL", database=LOAD_DB).split("|")
    state.update(outbox_due=int(pending[0]), outbox_later=int(pending[1]) - int(pending[0]),
                 outbox_failed=int(psql("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL",
                                        database=LOAD_DB)))
    return state


def _drain(stack: Stack, fake, fx: dict, timeout: float) -> dict:
    """Seconds from the end of the load until the queues are drained, and until
    every held order is stored; polled every 0.5 s, at most `timeout` s."""
    began = time.monotonic()
    at_stop = _queues(stack)
    at_stop["orders_missing"] = len(_held_vs_stored(fx, fake.held())["missing"])
    drained = ingested = None
    last = at_stop
    while time.monotonic() - began < timeout and (drained is None or ingested is None):
        state = _queues(stack)
        last = state
        if drained is None and state["queued"] == 0 and state["started"] == 0 \
                and state["outbox_due"] == 0:
            drained = time.monotonic() - began
        if ingested is None and not _held_vs_stored(fx, fake.held())["missing"]:
            ingested = time.monotonic() - began
        if drained is None or ingested is None:
            time.sleep(0.5)
    return {"drained_seconds": drained, "orders_in_seconds": ingested, "at_stop": at_stop,
            "last": last, "timeout": timeout}


def _scans_lost(acked: dict[str, int]) -> dict:
    """Mutations the server answered (ids 1..acked per device) that sync_mutations
    does not hold."""
    if not acked:
        return {"acknowledged": 0, "lost": 0, "devices": 0}
    values = ",".join(f"('{d}', {n})" for d, n in acked.items())
    stored = int(psql(f"SELECT count(*) FROM sync_mutations m JOIN (VALUES {values}) a(d, n) "
                      f"ON m.device_id = a.d AND m.mutation_id <= a.n", database=LOAD_DB))
    acknowledged = sum(acked.values())
    return {"acknowledged": acknowledged, "stored": stored, "lost": acknowledged - stored,
            "devices": len(acked)}


def _deadlocks() -> int:
    """Deadlocks PostgreSQL broke in the load's database (created for this run,
    so its counter started at 0): each one failed a transaction somebody retried."""
    return int(psql(f"SELECT deadlocks FROM pg_stat_database WHERE datname = '{LOAD_DB}'"))


def _ledger(stack: Stack) -> dict:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "server", "inventory",
                             "verify"], cwd=ROOT, env=stack.env(), capture_output=True,
                            text=True, timeout=300, check=False)
    last = (result.stdout.strip().splitlines() or ["?"])[-1]
    count = int(last.split()[0]) if last.split()[0].isdigit() else None
    return {"mismatches": count, "exit": result.returncode, "said": last}


def _nginx_log(stack: Stack, stopped_at: float | None = None) -> dict:
    """Requests per upstream and nginx's statuses, from the access log; the answers
    other than 200 and 101 (websocket) by path, ids as <n>. A 499 is a client that
    hung up before the answer: the load generator counts its own side of it."""
    per_upstream, statuses, other, late = Counter(), Counter(), Counter(), []
    names = {f"127.0.0.1:{p}": f"web{n}" for n, p in enumerate(stack.web_ports)}
    names[f"127.0.0.1:{stack.bare_port}"] = "bare"
    try:
        with open(os.path.join(stack.tmp, "access.log"), encoding="utf-8") as log:
            for line in log:
                parts = line.split()
                if len(parts) < 2:
                    continue
                per_upstream[names.get(parts[0], parts[0])] += 1
                statuses[parts[1]] += 1
                if parts[1] not in ("200", "101") and len(parts) >= 6:
                    other[f"{parts[1]} {parts[3]} {re.sub(r'/[0-9]+', '/<n>', parts[4])}"] += 1
                    if stopped_at:  # when, against the end of the load
                        late.append(round(float(parts[5]) - stopped_at, 1))
    except (OSError, ValueError):
        pass
    return {"requests_per_upstream": dict(per_upstream), "statuses": dict(statuses),
            "not_200": dict(other), "not_200_seconds_after_load_end": late[:20]}


# -- figures ------------------------------------------------------------------------------

def _latency_figures(ctx: Context, results: dict, seconds: float, common: dict) -> None:
    lat = results["latencies_ms"]
    bare = lat.get("bare", [])
    for p in (50, 95, 99):
        ctx.figure(f"bare_p{p}_ms", percentile(bare, p), "ms",
                   provides=f"production_bare_p{p}_ms",
                   params={**common, "requests": len(bare), "path": "GET /_bare/ via nginx",
                           "errors": results["errors"].get("bare", {})})
    for kind in KINDS:
        values = lat.get(kind, [])
        params = {**common, "requests": len(values),
                  "req_per_s": round(len(values) / seconds, 2) if seconds else None,
                  "statuses": results["statuses"].get(kind, {}),
                  "errors": results["errors"].get(kind, {})}
        for p in (50, 95, 99):
            ctx.figure(f"{kind}_p{p}_ms", percentile(values, p), "ms",
                       baseline=f"production_bare_p{p}_ms",
                       target="TARGETS.md: API reads at 50 concurrent users: p95 <= 50 ms "
                              "(or <= 2 x a bare Flask handler)" if kind in (
                                  "orders_list", "task_list") and p == 95 else None,
                       params=params)


def _memory_figures(ctx: Context, memory: dict, cpu: dict, common: dict) -> None:
    bare = memory.get("bare", {}).get("max_mb")
    ctx.figure("rss_bare_mb", bare, "MB", provides="production_bare_rss_mb",
               params={**common, "what": "the bare Flask gunicorn worker"})
    for kind in ("web", "worker"):
        m = memory.get(kind, {})
        ctx.figure(f"rss_{kind}_max_mb", m.get("max_mb"), "MB",
                   baseline="production_bare_rss_mb", target=MEMORY_TARGET,
                   params={**common, **m, "peak_sum_mb": m.get("sum_mb")})
    ctx.figure("rss_all_sum_mb", sum(m["sum_mb"] for k, m in memory.items()
                                     if k != "load_generator"), "MB",
               params={**common, "by_kind": memory, "cpu_seconds_by_kind": cpu})


@dataclass
class Plan:
    """How many of each, for this run (--quick scales the people down)."""
    pickers: int
    sellers: int
    sockets: int
    seconds: int
    drain_timeout: int
    scale: int

    @classmethod
    def for_(cls, ctx: Context) -> "Plan":
        scale = QUICK_SCALE if ctx.quick else 1
        return cls(pickers=PICKERS // scale, sellers=SELLERS // scale,
                   sockets=ctx.pick(SOCKETS, 2), seconds=ctx.pick(300, 40),
                   drain_timeout=ctx.pick(180, 60), scale=scale)


@bench("production_load")
def production_load(ctx: Context) -> None:
    """The Procfile's processes behind nginx under 200 pickers, 50 sellers and a
    10x channel order flood (locust): latencies, errors, orders and scans lost,
    queue drain time, resident memory."""
    if find_spec("locust") is None:
        raise RuntimeError("locust is not installed: pip install -e '.[dev]' (make setup)")
    from .marketplace import FloodMarketplace
    plan = Plan.for_(ctx)
    work = tempfile.mkdtemp(prefix="haicang-load-")
    fake = FloodMarketplace(skus=[], page_size=100).start()
    stack = Stack(web=WEB, workers=WORKERS, database=LOAD_DB, log=ctx.log,
                  env_extra={"CHANNEL_POLL_INTERVAL": str(POLL_INTERVAL)})
    try:
        began = time.monotonic()
        stack.start()
        fx = _seed_people(stack, fake.url, plan.pickers, plan.sellers,
                          f"load{int(time.time())}")
        fake.skus = fx["channel_skus"]
        ctx.log(f"stack up and seeded in {time.monotonic() - began:.1f}s: nginx {stack.url}, "
                f"web {stack.web_ports}, {WORKERS} workers, {plan.pickers} pickers, "
                f"{plan.sellers} sellers, flood {FLOOD_PER_S:.2f} orders/s, {plan.seconds}s")
        measured = _measure(ctx, stack, fake, fx, plan, work)
    finally:
        fake.stop()
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    _report(ctx, plan, measured)


def _measure(ctx: Context, stack: Stack, fake, fx: dict, plan: Plan, work: str) -> dict:
    """The load, then the drain and the checks, while the stack still runs."""
    fx_path = os.path.join(work, "fixtures.json")
    results_path = os.path.join(work, "results.json")
    with open(fx_path, "w", encoding="utf-8") as f:
        json.dump(fx, f)
    sockets = Sockets(stack.url, [s["token"] for s in fx["sellers"][:plan.sockets]])
    heard = None
    try:
        extra: dict[str, list[int]] = {}
        sampler = Sampler(stack, extra)
        cpu0: dict = {}

        def on_start(pid: int) -> None:
            extra["load_generator"] = [pid]
            cpu0.update(_cpu_now(sampler))
            sampler.start()

        ctx.log(f"locust: {plan.seconds}s")
        try:
            run = _run_locust(stack, fx_path, results_path, plan.pickers, plan.sellers,
                              plan.seconds, os.path.join(work, "locust.log"), on_start)
        finally:
            cpu1 = _cpu_now(sampler)
            sampler.stop()
        ctx.log(f"locust exited {run.returncode}; draining")
        drain = _drain(stack, fake, fx, timeout=plan.drain_timeout)
        heard = sockets.stop()
    finally:
        if heard is None:
            sockets.stop()
    stack.check_alive()
    results = _locust_results(results_path, os.path.join(work, "locust.log"))
    time.sleep(2.5)  # nginx flushes its access log every 2 s
    return {"results": results, "locust_exit": run.returncode, "drain": drain,
            "socketio": heard, "orders": _held_vs_stored(fx, fake.held()),
            "scans": _scans_lost(results["acked"]), "ledger": _ledger(stack),
            "queues": _queues(stack),
            "nginx": _nginx_log(stack, results["times"].get("stopped")),
            "process_logs": stack.log_summary(), "deadlocks": _deadlocks(),
            "cpu": _cpu_spent(cpu0, cpu1, run.cpu_seconds), "memory": sampler.by_kind()}


def _cpu_now(sampler: Sampler) -> dict:
    return {**_cpu_by_kind({**sampler.kinds(), "postgresql": _pg_backends()}),
            "machine": _machine_cpu_busy()}


def _cpu_spent(cpu0: dict, cpu1: dict, load_generator: float) -> dict:
    cpu = {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 1) for k in cpu1}
    cpu["load_generator"] = round(load_generator, 1)
    # The rest of the machine's busy time: other processes (other people's test
    # suites too), and PostgreSQL backends that ended during the run.
    cpu["not_ours"] = round(cpu["machine"] - sum(v for k, v in cpu.items()
                                                 if k != "machine"), 1)
    return cpu


def _locust_results(path: str, log_path: str) -> dict:
    if not os.path.exists(path):
        with open(log_path, encoding="utf-8", errors="replace") as f:
            raise RuntimeError(f"locust wrote no results:\n{f.read()[-3000:]}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _report(ctx: Context, plan: Plan, m: dict) -> None:
    results, orders, scans, queues = m["results"], m["orders"], m["scans"], m["queues"]
    seconds = results["times"].get("stopped", 0) - results["times"].get("started", 0)
    common = {"pickers": plan.pickers, "sellers": plan.sellers,
              "flood_orders_per_s": round(FLOOD_PER_S, 2),
              "normal_orders_per_min": NORMAL_ORDERS_PER_MIN, "seconds": round(seconds, 1),
              "web_processes": WEB, "rq_workers": WORKERS, "scale": plan.scale,
              "server": "nginx ip_hash -> gunicorn gthread 1 worker x 64 threads"}
    _latency_figures(ctx, results, seconds, common)
    errors = {k: v for k, v in results["errors"].items() if v}
    ctx.figure("errors", sum(sum(v.values()) for k, v in errors.items() if k != "fake_marketplace"),
               "requests", target=TARGET,
               params={**common, "by_kind": errors, "socketio": m["socketio"],
                       "nginx": m["nginx"], "process_logs": m["process_logs"],
                       "locust_exit": m["locust_exit"],
                       "requests": {k: sum(v.values()) for k, v in results["statuses"].items()}})
    ctx.figure("orders_lost", len(orders["missing"]), "orders", target=TARGET,
               params={**common, **{k: v for k, v in orders.items()
                                    if k not in ("missing", "duplicated")},
                       "missing_first": orders["missing"][:10],
                       "flood_taken": results["flood"],
                       "webhook_answers": results["webhook_answers"]})
    ctx.figure("orders_duplicated", len(orders["duplicated"]), "orders",
               target="0 (invariant 3: an external order exists once)",
               params={**common, "duplicated_first": orders["duplicated"][:10]})
    ctx.figure("scans_lost", scans["lost"], "mutations",
               target="0 (invariant 4: nothing a device sends is lost)",
               params={**common, **scans, "results": results["push_results"]})
    ctx.figure("queue_drain_seconds", m["drain"]["drained_seconds"], "s", target=TARGET,
               params={**common, **m["drain"], "after": queues})
    ctx.figure("failed_jobs", queues["failed"] + queues["outbox_failed"], "jobs",
               params={**common, **queues})
    ctx.figure("deadlocks", m["deadlocks"], "transactions",
               params={**common, "source": "pg_stat_database.deadlocks",
                       "worker_exceptions": {k: v.get("exceptions", {})
                                             for k, v in m["process_logs"].items()
                                             if isinstance(v, dict) and "exceptions" in v}})
    ctx.figure("ledger_mismatches", m["ledger"]["mismatches"], "rows",
               target="0 (invariant 2: every stock row equals the sum of its ledger rows)",
               params={**common, **m["ledger"]})
    _memory_figures(ctx, m["memory"], m["cpu"], common)
