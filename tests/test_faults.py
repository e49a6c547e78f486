"""Faults, for real: RQ workers killed with SIGKILL in the middle of a poll and of a
stock push, the clock's worker killed, Redis stopped under a web process that
keeps taking writes. PostgreSQL as in production; a private Redis on its own port
(the shared one is never stopped); workers and the web run as the Procfile runs
them (`python -m server.worker`, gunicorn gthread), in their own processes.

Each test's bound is what the configuration promises: a killed worker's job is
found abandoned within JOB_HEARTBEAT_SECONDS, a killed clock is replaced within
CLOCK_LOCK_SECONDS, a retry waits its policy's first interval (10 s)."""
import copy
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_lib
import requests
from sqlalchemy import func, select

from server.channels.fake_marketplace import FakeMarketplace
from server.extensions import db

from .conftest import make_app, recreate_pg_database
from .channel_helpers import amazon_raws, make_shop

pytestmark = pytest.mark.postgresql
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, seconds: float, every: float = 0.2, explain=None):
    """Poll `predicate` until it is truthy; fail after `seconds`, with what
    `explain()` returns (the processes' logs) when given."""
    deadline = time.time() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            pytest.fail(f"not within {seconds:g} s: {what}{detail}", pytrace=False)
        time.sleep(every)


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test may stop."""

    def __init__(self, tmp_path):
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is required for the fault tests", pytrace=False)
        self.port, self.dir, self.process = free_port(), tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url, socket_connect_timeout=1)
        wait_for("private Redis answers", lambda: _pings(client), 10)
        return self

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis_lib.exceptions.ConnectionError:
        return False


class Stack:
    """The database, the private Redis, and the processes started on them."""

    def __init__(self, tmp_path, **config):
        self.tmp = tmp_path
        self.redis = PrivateRedis(tmp_path).start()
        self.db_url = recreate_pg_database(f"faults_{free_port()}")
        self.env = {**os.environ, "DATABASE_URL": self.db_url, "REDIS_URL": self.redis.url,
                    "RQ_QUEUE": "faults", "SECRET_KEY": "fault-tests",
                    "CLOCK_TICK_SECONDS": "0.3", "CLOCK_LOCK_SECONDS": "3",
                    "JOB_HEARTBEAT_SECONDS": "3", "CHANNEL_PUSH_DEBOUNCE_SECONDS": "1",
                    "CHANNEL_POLL_INTERVAL": "3600", "BACKORDER_SWEEP_SECONDS": "3600",
                    "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in config.items()}}
        # This process only seeds and reads: its own jobs run inline, here.
        self.app = make_app(self.db_url)
        self.processes: list[subprocess.Popen] = []
        self.fake = FakeMarketplace(page_size=2).start()

    def spawn(self, name: str, *argv) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.processes)}.log", "w")
        process = subprocess.Popen(list(argv), cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen:
        return self.spawn("worker", sys.executable, "-m", "server.worker")

    def web(self) -> str:
        port = free_port()
        self.spawn("web", sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
                   "--workers", "1", "--threads", "8", "--bind", f"127.0.0.1:{port}",
                   "server.wsgi:app")
        url = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return requests.get(url + "/login", timeout=2).ok
            except requests.RequestException:
                return False
        wait_for("the web process answers", answers, 60)
        return url

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in self.tmp.glob("*.log"))

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        self.fake.stop()
        self.redis.stop()
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture
def stack(tmp_path):
    built = Stack(tmp_path)
    try:
        yield built
    finally:
        built.close()


def kill9(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _amazon_orders(fake, n: int) -> list[str]:
    mfn = amazon_raws()[0]
    ids = []
    for i in range(n):
        raw = copy.deepcopy(mfn)
        order_id = f"113-{7000000 + i}-0000000"
        raw["order"].update(AmazonOrderId=order_id, LastUpdateDate="2025-03-10T18:50:00Z")
        fake.add_amazon(raw["order"], raw["items"])
        ids.append(order_id)
    return ids


def _seed_shop(stack):
    from datetime import UTC, datetime
    with stack.app.app_context():
        shop = make_shop(db.session, units=50, base_url=stack.fake.url)
        for account in shop.accounts.values():
            account.last_updated_after = datetime(2025, 3, 1, tzinfo=UTC)
            account.active = account.channel == "amazon"
        db.session.commit()
        ids = {c: a.id for c, a in shop.accounts.items()}
        skus = {code: sku.id for code, sku in shop.skus.items()}
        bin_id = shop.bins[0].id
        seller_id = shop.seller.id
        db.session.remove()
    return ids, skus, bin_id, seller_id


def _orders_of(stack, account_id) -> list[str]:
    from server.channels.models import ChannelAccount
    from server.orders.models import Order
    with stack.app.app_context():
        account = db.session.get(ChannelAccount, account_id)
        rows = db.session.scalars(select(Order.external_id).where(
            Order.channel == "amazon", Order.account_key == account.account_key)).all()
        db.session.remove()
        return sorted(rows)


def test_a_worker_killed_in_the_middle_of_a_poll_leaves_no_order_behind(stack):
    """The clock starts the first poll of an Amazon account; the worker running it
    is killed (SIGKILL) while the platform is slow to answer the second page. With
    no person acting, does a new worker find the job abandoned, run it again, and
    bring in every order exactly once?"""
    accounts, *_ = _seed_shop(stack)
    ids = _amazon_orders(stack.fake, 7)  # 4 pages of 2
    stack.fake.inject("/orders/v0/orders", status=200, delay=30, times=1)
    first = stack.worker()
    wait_for("the poll reaches the platform", lambda: stack.fake.calls("/orders/v0/orders"), 60)
    kill9(first)
    stack.worker()
    got = wait_for("every order stored after the worker died",
                   lambda: (o := _orders_of(stack, accounts["amazon"])) == sorted(ids) and o,
                   90, every=1)
    assert got == sorted(ids), stack.logs()
    with stack.app.app_context():
        from server.channels.models import ChannelAccount
        account = db.session.get(ChannelAccount, accounts["amazon"])
        assert account.last_error is None and account.last_updated_after.year >= 2026


def test_a_worker_killed_during_a_stock_push_pushes_once_it_is_back(stack):
    """A receipt makes the Amazon listing's quantity change; the worker pushing it
    is killed (SIGKILL) while Amazon is slow to answer. Is the push made again by
    another worker, with the quantity of now, and the row left clean?"""
    from server.channels.models import ChannelStockPush
    from server.inventory import services as stock
    accounts, skus, bin_id, _seller = _seed_shop(stack)
    with stack.app.app_context():
        # Stock changes committed here queue their push job in this process (inline).
        stock.receive(db.session, sku_id=skus["WIDGET"], bin_id=bin_id, quantity=7)
        db.session.commit()
        from server.jobs import run_deferred
        run_deferred()
        db.session.remove()
    stack.fake.inject("/listings/2021-08-01/items/", status=200, delay=30, times=1)
    first = stack.worker()
    wait_for("the push reaches Amazon", lambda: stack.fake.calls("/listings/2021-08-01/items/"),
             60)
    kill9(first)
    stack.worker()

    def clean():
        with stack.app.app_context():
            rows = db.session.scalars(select(ChannelStockPush).where(
                ChannelStockPush.account_id == accounts["amazon"])).all()
            done = rows and all(not r.dirty and r.last_error is None for r in rows)
            quantities = {r.channel_sku: r.quantity for r in rows}
            db.session.remove()
            return quantities if done else None
    quantities = wait_for("the push completed by another worker", clean, 90, every=1)
    assert quantities["WIDGET-RED"] == 57, stack.logs()
    pushes = stack.fake.calls("/listings/2021-08-01/items/")
    told = [c["body"]["patches"][0]["value"][0]["quantity"]
            for c in pushes if "WIDGET-RED" in c["path"]]
    # Amazon was last told the quantity of now, after the killed worker's try.
    assert told[-1] == 57 and len(pushes) >= 3, pushes


def test_polls_go_on_when_the_clocks_worker_is_killed(stack):
    """Two workers; polls every 2 s. The worker whose clock leads is killed
    (SIGKILL), and later the other one too, a third having started meanwhile. Do
    polls go on each time, within what the configuration promises: the clock's lock
    lapses (3 s), a poll the victim was running is found abandoned (heartbeat 3 s,
    cleanup every 5 s) and tried again after its first retry interval (10 s)?"""
    from rq import Worker
    stack.env["CHANNEL_POLL_INTERVAL"] = "2"
    _seed_shop(stack)
    _amazon_orders(stack.fake, 1)
    connection = redis_lib.Redis.from_url(stack.redis.url)
    workers = [stack.worker(), stack.worker()]
    polls = lambda: len(stack.fake.calls("/orders/v0/orders"))  # noqa: E731
    wait_for("a first poll", lambda: polls() >= 1, 60)
    for _round in range(2):
        alive = {w.pid for w in workers}

        def registered():
            dead = [w.pid for w in workers if w.poll() is not None]
            assert not dead, f"worker {dead} exited on its own:\n{stack.logs()}"
            return alive <= {w.pid for w in Worker.all(connection=connection)}
        # A loaded machine may take a while to start a Python process: generous.
        wait_for("both live workers registered with RQ", registered, 120,
                 explain=lambda: f"alive {sorted(alive)}, registered "
                 f"{sorted(w.pid for w in Worker.all(connection=connection))}\n"
                 f"{stack.logs()}")
        victim = workers.pop(0)
        before = polls()
        kill9(victim)
        wait_for("polls again after the clock's worker died", lambda: polls() >= before + 2, 45)
        workers.append(stack.worker())


def test_with_redis_down_writes_are_answered_and_their_jobs_run_after(stack):
    """Redis is stopped under a running web process and worker. Is every receipt
    answered 2xx with its stock committed, log-in still 200, and, once Redis is
    back, the backorder that the receipts queued allocated with no person acting?"""
    from server.allocation.services import allocate_order
    from server.auth.services import create_token
    from server.orders import services as orders

    from .helpers import PASSWORD, make_sku, make_user, make_warehouse
    with stack.app.app_context():
        s = db.session
        from .helpers import make_seller
        seller = make_seller(s)
        _wh, (bin_,) = make_warehouse(s, bins=("A-01-1",))
        sku = make_sku(s, seller)
        admin = make_user(s, "admin")
        _row, token = create_token(s, admin, "faults")
        order = orders.create_order(s, seller_id=seller.id, external_id="redis-down-1",
                                    ship_to={"zip": "90001"},
                                    lines=[{"sku_id": sku.id, "quantity": 3,
                                            "unit_price_cents": 100}])
        allocate_order(s, order.id)
        s.commit()
        assert order.status == "backordered"
        ids = {"sku": sku.id, "bin": bin_.id, "order": order.id, "email": admin.email}
        s.remove()
    url = stack.web()
    stack.worker()
    headers = {"Authorization": f"Bearer {token}"}
    stack.redis.stop()
    answers = [requests.post(f"{url}/api/stock/receive", headers=headers, timeout=30,
                             json={"sku_id": ids["sku"], "bin_id": ids["bin"], "quantity": 1})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    session = requests.Session()
    csrf = session.get(f"{url}/api/auth/csrf", timeout=30).json()["csrf_token"]
    login = session.post(f"{url}/api/auth/login", timeout=30, headers={"X-CSRFToken": csrf},
                         json={"email": ids["email"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    from server.inventory.models import Stock
    from server.jobs.outbox import pending
    from server.orders.models import Order
    with stack.app.app_context():
        on_hand = db.session.scalar(select(func.sum(Stock.on_hand)).where(
            Stock.sku_id == ids["sku"]))
        assert on_hand == 3
        assert db.session.get(Order, ids["order"]).status == "backordered"
        assert pending() >= 1  # kept for when Redis is back
        db.session.remove()
    stack.redis.start()  # empty: whatever RQ held before is gone, the outbox is not

    def allocated():
        with stack.app.app_context():
            status = db.session.get(Order, ids["order"]).status
            db.session.remove()
            return status == "allocated"
    wait_for("the backorder allocated after Redis returned", allocated, 60, every=0.5)
    with stack.app.app_context():
        wait_for("the outbox drained", lambda: pending() == 0 or db.session.rollback(), 30)
