"""Socket.IO figures (issue #5): the time from a stock change to its `stock.changed`
event in 200 connected clients.

Every run drops and recreates the database `haicang_bench_realtime`, migrates it
and seeds it through the service functions: a seller, a warehouse with one bin,
one SKU, a seller user and an admin, a bearer token for each.

The real server runs as a subprocess, `flask --app server serve` (Flask-SocketIO's
threading mode on Werkzeug, one thread per connection: gunicorn's gthread worker
would need a thread per websocket too, and Procfile gives it 64). 200
`socketio.Client`s (websocket transport, `auth={"token": ...}` with the seller's
token, so each joins `seller:<id>` on connect) are spread over 4 spawned processes.
Then the runner POSTs /api/stock/receive (1 unit, as the admin) N times, 200 ms
apart, noting `time.time()` just before each POST; each client notes `time.time()`
when its `stock.changed` arrives, and the event is matched to its POST by
`on_hand` (each receive adds one unit, so on_hand numbers the POSTs). Same
machine, same clock.

Modes (full run; --quick runs only the second, with 10 POSTs):
- `inprocess`: one server without REDIS_URL: events stay in the process.
- `redis`: one server with REDIS_URL, as in production: the emit goes through the
  Redis message queue and back into the same process.
- `redis_2proc`: two servers with REDIS_URL, clients split across them; the POSTs
  go to the first, so half the clients hear of it through Redis from the other.
Jobs the receives queue go to an RQ queue of their own, emptied afterwards.
"""
import contextlib
import http.client
import json
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import time
import traceback

from .registry import Context, bench
from .tools import (
    ROOT,
    _answers,
    _tail,
    free_port,
    percentile,
    pg_url,
    recreate_database,
)

RT_DB = "haicang_bench_realtime"
RQ_QUEUE = "haicang_bench_realtime"
CLIENTS = 200
CLIENT_PROCESSES = 4
SPACING = 0.2  # seconds between POSTs
TARGET = "TARGETS.md: stock change -> Socket.IO event in 200 connected clients: p95 <= 100 ms"


def _seed() -> dict:
    from server import create_app
    recreate_database(RT_DB)
    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_url(RT_DB), "REDIS_URL": None,
                      "RQ_INLINE": True})
    with app.app_context():
        from server.auth.services import create_seller, create_token, create_user
        from server.catalog.services import create_sku
        from server.cli import ensure_schema
        from server.extensions import db
        from server.inventory.warehouses import create_bins, create_warehouse
        ensure_schema()
        s = db.session
        seller = create_seller(s, name="Realtime Bench Seller", code="RTB")
        wh = create_warehouse(s, code="RW1", name="Realtime bench warehouse", zip="90001",
                              latitude=34.0, longitude=-118.0,
                              timezone="America/Los_Angeles")
        (bin_,) = create_bins(s, wh, ["A-01-01-1"])
        sku = create_sku(s, seller_id=seller.id, code="RT-001", name="Realtime SKU")
        seller_user = create_user(s, email="rt-seller@example.com", password="bench-password",
                                  role="seller", seller=seller)
        admin = create_user(s, email="rt-admin@example.com", password="bench-password",
                            role="admin")
        _r, seller_token = create_token(s, seller_user, "bench")
        _r, admin_token = create_token(s, admin, "bench")
        s.commit()
        fx = {"sku_id": sku.id, "bin_id": bin_.id, "seller_token": seller_token,
              "admin_token": admin_token}
        db.session.remove()
        db.engine.dispose()
    return fx


@contextlib.contextmanager
def private_redis(timeout: float = 10):
    """A redis-server of our own on a free loopback port, without persistence;
    yields its URL, or None when there is no redis-server binary.

    Why not the shared one on 6379: Flask-SocketIO's Redis channel is one name
    (`haicang-socketio`) and Redis pub/sub ignores the database number, so every
    Haicang process on that Redis (other benchmarks, test suites) delivers its
    events to our clients' rooms: `seller:1` is seller 1 of every database."""
    import shutil
    import socket
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()  # our own child, by its handle
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def serve(redis: str | None, timeout: float = 60):
    """`flask --app server serve` on a free loopback port; yields the port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_url(RT_DB), "REDIS_URL": redis or "",
           "RQ_QUEUE": RQ_QUEUE, "RQ_INLINE": "" if redis else "1"}
    env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    cmd = [sys.executable, "-m", "flask", "--app", "server", "serve", "--port", str(port)]
    with tempfile.TemporaryFile(prefix="haicang-bench-serve-") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + timeout
            while not _answers(port, "/api/openapi.json", {}):
                if proc.poll() is not None:
                    raise RuntimeError(f"flask serve exited: {_tail(log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"flask serve not ready in {timeout}s: {_tail(log)}")
                time.sleep(0.2)
            yield port
        finally:
            proc.terminate()  # our own child, by its handle
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _clients(ports: list[int], count: int, token: str, ready, stop, results) -> None:
    """`count` Socket.IO clients in this process, connected round-robin to `ports`;
    each records (time.time(), on_hand) per stock.changed until `stop` is set."""
    clients = []
    try:
        import socketio
        received: list[list] = []
        errors = {}
        for i in range(count):
            got: list = []
            received.append(got)
            client = socketio.Client(reconnection=False)

            def on_change(data, got=got):
                got.append((time.time(), data.get("on_hand"), data.get("sku_id"),
                            data.get("bin_id")))
            client.on("stock.changed", on_change)
            try:
                client.connect(f"http://127.0.0.1:{ports[i % len(ports)]}",
                               auth={"token": token}, transports=["websocket"],
                               wait_timeout=20)
                clients.append(client)
            except Exception as error:  # noqa: BLE001  counted
                key = type(error).__name__
                errors[key] = errors.get(key, 0) + 1
        ready.put(len(clients))
        stop.wait(timeout=300)
        results.put({"received": received, "connected": len(clients), "errors": errors})
    except BaseException:  # noqa: BLE001
        ready.put(0)
        results.put({"failed": traceback.format_exc()})
    # No graceful disconnect: closing 50 clients one by one takes tens of seconds
    # (each waits for its engine.io threads). Flush the queue, then leave at once;
    # the server sees the sockets close.
    results.close()
    results.join_thread()
    os._exit(0)


def _post(port: int, fx: dict) -> tuple[int, dict | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/api/stock/receive", body=json.dumps(
            {"sku_id": fx["sku_id"], "bin_id": fx["bin_id"], "quantity": 1,
             "reason": "bench", "reference": "bench-realtime"}),
            headers={"Authorization": f"Bearer {fx['admin_token']}",
                     "Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        return response.status, (json.loads(body) if response.status == 200 else None)
    finally:
        conn.close()


def measure(fx: dict, ports: list[int], posts: int) -> dict:
    mp = multiprocessing.get_context("spawn")
    ready, results, stop = mp.Queue(), mp.Queue(), mp.Event()
    per = CLIENTS // CLIENT_PROCESSES
    procs = [mp.Process(target=_clients, args=(ports, per, fx["seller_token"], ready, stop,
                                               results), daemon=True)
             for _ in range(CLIENT_PROCESSES)]
    began = time.monotonic()
    for proc in procs:
        proc.start()
    connected = 0
    try:
        for _ in procs:
            connected += ready.get(timeout=180)
        connect_s = time.monotonic() - began
        time.sleep(0.5)  # the last joins settle
        sends, statuses, post_latencies = {}, {}, []
        for _ in range(posts):
            t0 = time.time()
            status, body = _post(ports[0], fx)
            post_latencies.append(time.time() - t0)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if body is not None:
                sends[body["on_hand"]] = t0
            time.sleep(SPACING)
        time.sleep(2.0)  # stragglers
    finally:
        stop.set()
    collected = []
    for _ in procs:
        try:
            collected.append(results.get(timeout=60))
        except queue.Empty:
            break
    for proc in procs:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()  # our own child, by its handle
            proc.join(timeout=5)
    failed = [r["failed"] for r in collected if "failed" in r]
    if failed or len(collected) < len(procs):
        raise RuntimeError(f"{len(collected)}/{len(procs)} client processes reported; "
                           + ("\n".join(failed) or "timed out"))
    latencies, unmatched, errors = [], 0, {}
    for r in collected:
        for key, n in r["errors"].items():
            errors[key] = errors.get(key, 0) + n
        for got in r["received"]:
            for at, on_hand, sku_id, bin_id in got:
                if on_hand in sends and (sku_id, bin_id) == (fx["sku_id"], fx["bin_id"]):
                    latencies.append(at - sends[on_hand])
                else:
                    unmatched += 1
    expected = connected * len(sends)
    return {"latencies": latencies, "connected": connected, "expected": expected,
            "delivered": len(latencies), "unmatched": unmatched, "statuses": statuses,
            "connect_errors": errors, "connect_seconds": round(connect_s, 2),
            "post_p50_ms": (percentile(post_latencies, 50) or 0) * 1000}


@bench("socketio_event_latency")
def socketio_event_latency(ctx: Context) -> None:
    """Stock change (POST /api/stock/receive) -> `stock.changed` in 200 connected
    Socket.IO clients over 4 processes: p50/p95 ms, per message-queue mode."""
    ctx.log(f"recreating and seeding {RT_DB}")
    fx = _seed()
    posts = ctx.pick(20, 10)
    outer = contextlib.ExitStack()
    redis = outer.enter_context(private_redis())
    modes = [("inprocess", None, 1), ("redis", redis, 1), ("redis_2proc", redis, 2)]
    if ctx.quick:
        modes = [("redis", redis, 1)] if redis else [("inprocess", None, 1)]
    if not redis:
        modes = [m for m in modes if m[1] is None]
    with outer:
        for mode, mq, servers in modes:
            with contextlib.ExitStack() as stack:
                ports = [stack.enter_context(serve(mq)) for _ in range(servers)]
                ctx.log(f"{mode}: {CLIENTS} clients on {servers} server(s), {posts} POSTs")
                r = measure(fx, ports, posts)
            params = {"mode": mode, "servers": servers, "server": "flask serve (threading)",
                      "clients": CLIENTS, "client_processes": CLIENT_PROCESSES,
                      "connected": r["connected"], "posts": posts,
                      "spacing_ms": int(SPACING * 1000), "events_expected": r["expected"],
                      "events_delivered": r["delivered"], "unmatched": r["unmatched"],
                      "post_statuses": r["statuses"], "connect_errors": r["connect_errors"],
                      "connect_seconds": r["connect_seconds"],
                      "post_p50_ms": round(r["post_p50_ms"], 2),
                      "message_queue": "private redis-server" if mq else "in-process"}
            for p in (50, 95):
                value = percentile(r["latencies"], p)
                ctx.figure(f"p{p}_ms", value * 1000 if value is not None else None, "ms",
                           target=TARGET if p == 95 else None, params=params)
