"""Socket.IO across processes through Redis: two web processes and a worker-like
emitter reach the same clients, as ARCHITECTURE.md's scale-out promises."""
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis as redis_lib
import requests
import socketio

from .conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env, *args, **kw):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "server", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, **kw)


@pytest.fixture
def two_web_processes(tmp_path):
    try:
        redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis_lib.exceptions.ConnectionError as error:
        pytest.fail(f"Redis is required at {REDIS_URL}: {error}", pytrace=False)
    os.environ["HAICANG_SCALE_DB"] = f"sqlite:///{tmp_path / 'scale.db'}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'scale.db'}",
           "REDIS_URL": REDIS_URL, "RQ_QUEUE": f"scaleout-{os.getpid()}",
           "SECRET_KEY": "scale-out-test"}
    seeded = flask(env, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    tokens = {who: flask(env, "tokens", "create", f"{who}@demo.haicang").stdout.strip()
              for who in ("seller", "admin")}
    ports, processes = [free_port(), free_port()], []
    for port in ports:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "server", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for port in ports:
            deadline = time.time() + 60
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert time.time() < deadline, f"server on {port} did not start"
                time.sleep(0.3)
        yield ports, tokens
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


def listen(port, token, events):
    client = socketio.Client(reconnection=False)
    got = {name: threading.Event() for name in events}
    received = {name: [] for name in events}
    for name in events:
        def handler(data, name=name):
            received[name].append(data)
            got[name].set()
        client.on(name, handler)
    client.connect(f"http://127.0.0.1:{port}", auth={"token": token},
                   transports=["websocket"], wait_timeout=10)
    return client, got, received


def test_an_event_from_one_web_process_reaches_a_client_of_another(two_web_processes):
    """A seller connected to web process 1; an admin receives stock through web
    process 2. Does the seller hear stock.changed, through Redis?"""
    (first, second), tokens = two_web_processes
    client, got, received = listen(first, tokens["seller"], ["session.ready",
                                                            "stock.changed"])
    try:
        assert got["session.ready"].wait(10)
        seller_room = [r for r in received["session.ready"][0]["rooms"]
                       if r.startswith("seller:")]
        assert seller_room
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        me = requests.get(f"http://127.0.0.1:{second}/api/auth/me",
                          headers={"Authorization": f"Bearer {tokens['seller']}"}).json()
        row = requests.get(f"http://127.0.0.1:{second}/api/stock?limit=1&seller_id="
                           f"{me['seller_id']}", headers=admin).json()["items"][0]
        answer = requests.post(f"http://127.0.0.1:{second}/api/stock/receive", headers=admin,
                               json={"sku_id": row["sku_id"], "bin_id": row["bin_id"],
                                     "quantity": 3})
        assert answer.status_code == 200, answer.text
        assert got["stock.changed"].wait(10), "the event never crossed processes"
        event = received["stock.changed"][-1]
        assert (event["sku_id"], event["bin_id"]) == (row["sku_id"], row["bin_id"])
        assert event["on_hand"] == row["on_hand"] + 3
    finally:
        client.disconnect()


def test_a_worker_emits_to_clients_through_redis(two_web_processes):
    """Does a write-only emitter (what an RQ worker uses) reach a connected client's
    room, and only that room?"""
    from flask_socketio import SocketIO
    (first, second), tokens = two_web_processes
    seller, seller_got, seller_received = listen(first, tokens["seller"],
                                                 ["session.ready", "task.assigned"])
    admin, admin_got, _ = listen(second, tokens["admin"], ["session.ready", "task.assigned"])
    try:
        assert seller_got["session.ready"].wait(10) and admin_got["session.ready"].wait(10)
        room = next(r for r in seller_received["session.ready"][0]["rooms"]
                    if r.startswith("seller:"))
        # What a worker does: the same configuration as the web processes, write-only.
        from server.config import load
        channel = load(str(ROOT / "instance"), {"SQLALCHEMY_DATABASE_URI": os.environ[
            "HAICANG_SCALE_DB"]})["SOCKETIO_CHANNEL"]
        emitter = SocketIO(message_queue=REDIS_URL, channel=channel)
        emitter.emit("task.assigned", {"task_id": 42}, to=room)
        assert seller_got["task.assigned"].wait(10)
        assert seller_received["task.assigned"][0] == {"task_id": 42}
        assert not admin_got["task.assigned"].wait(1)  # not in that room
    finally:
        seller.disconnect()
        admin.disconnect()
