"""Shared pieces of the benchmarks: PostgreSQL databases through psql, percentiles,
a gunicorn server in a subprocess, and a threaded HTTP load client.

Every loop here is bounded twice, by a count and by a deadline, and every
subprocess has a timeout: a benchmark that hangs is worse than one that fails.
All traffic goes to 127.0.0.1.
"""
import contextlib
import http.client
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def psql(sql: str, database: str = "postgres", timeout: float = 60) -> str:
    """Run one SQL statement as user postgres on 127.0.0.1; its output, unaligned."""
    result = subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", database,
         "-v", "ON_ERROR_STOP=1", "-X", "-q", "-At", "-c", sql],
        capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({sql!r}): {result.stderr.strip()}")
    return result.stdout.strip()


def recreate_database(name: str) -> None:
    """DROP and CREATE `name`. WITH (FORCE) ends connections a crashed earlier run
    may have left, which would otherwise make the DROP fail."""
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url() -> str | None:
    """The local Redis as the app would use it (Socket.IO message queue), or None
    when it is down; recorded in params so a figure says which it measured."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
    except OSError:
        pass
    return None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of `values` (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- a real HTTP server --------------------------------------------------------------

GUNICORN_THREADS = 16


def server_params() -> dict:
    return {"server": f"gunicorn gthread, 1 worker x {GUNICORN_THREADS} threads"}


@dataclass
class Served:
    port: int
    master_pid: int

    def worker_rss_mb(self) -> float | None:
        """Resident memory of the gunicorn worker (the master's child), in MB, from
        /proc; None where /proc cannot tell."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # The command may hold spaces: fields after the last ')' are safe.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) != self.master_pid:
                    continue
                for line in (stat.parent / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
            except (OSError, IndexError, ValueError):
                continue
        return None


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict | None = None, ready_path: str = "/",
             ready_headers: dict | None = None, timeout: float = 30):
    """Serve `app_spec` with gunicorn (one gthread worker, as Procfile's web, with
    GUNICORN_THREADS threads) on a free loopback port; yields a Served (port, pid)
    once `ready_path` answers 200, and stops the server on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
           "--threads", str(GUNICORN_THREADS), "--bind", f"127.0.0.1:{port}",
           "--chdir", str(ROOT), "--log-level", "warning", app_spec]
    # An anonymous file: the server's log, read back only to explain a failure.
    with tempfile.TemporaryFile(prefix="haicang-bench-gunicorn-") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn {app_spec} exited: {_tail(log)}")
                if _answers(port, ready_path, ready_headers or {}):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app_spec} not ready in {timeout}s: "
                                       f"{_tail(log)}")
                time.sleep(0.2)
            yield Served(port, proc.pid)
        finally:
            proc.terminate()  # our own child, by its handle: SIGTERM, a graceful stop
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _answers(port: int, path: str, headers: dict) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status == 200
    except OSError:
        return False


def _tail(log, lines: int = 20) -> str:
    log.flush()
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


# -- the load client ------------------------------------------------------------------

@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # exceptions by type
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict:
        """Requests per second (successful ones, over the measured window) and
        p50/p95 latency in milliseconds."""
        p50, p95 = percentile(self.latencies, 50), percentile(self.latencies, 95)
        return {"req_per_s": self.ok / self.elapsed if self.elapsed else None,
                "p50_ms": p50 * 1000 if p50 is not None else None,
                "p95_ms": p95 * 1000 if p95 is not None else None}

    def params(self) -> dict:
        return {"requests": self.ok, "seconds": round(self.elapsed, 2),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "errors": dict(self.errors)}


def http_load(port: int, path: str, *, clients: int, duration: float, max_requests: int,
              headers: dict | None = None) -> LoadResult:
    """GET `path` from `clients` threads, each on its own keep-alive connection, for
    `duration` seconds or `max_requests` requests in all, whichever comes first.

    Only 200 answers count as requests served (a 500 is fast and must not flatter
    the figure); other statuses and exceptions are counted in the result.
    """
    result = LoadResult()
    lock = threading.Lock()
    per_client = max(1, max_requests // clients)
    start_line = threading.Barrier(clients + 1)
    window = {}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies, statuses, errors = [], Counter(), Counter()
        start_line.wait()
        deadline = window["deadline"]
        for _ in range(per_client):
            if time.perf_counter() >= deadline:
                break
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers or {})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                errors[type(error).__name__] += 1
                conn.close()  # reconnects on the next request
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

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    window["deadline"] = time.perf_counter() + duration
    began = time.perf_counter()
    start_line.wait()
    for thread in threads:
        # A request times out after 10 s, so a thread ends by duration + 10 s.
        thread.join(timeout=duration + 15)
    result.elapsed = time.perf_counter() - began
    return result
