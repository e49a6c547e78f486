"""Baselines: what bounds our figures on this machine, measured in the same run.

- `pgbench_tpcb`: pgbench's tpcb-like TPS on the same PostgreSQL. A tpcb-like
  transaction is five statements and a commit, so it is about the most a
  commit-per-operation path can reach here; stock operations are read against it.
- `bare_flask`: requests/second and p50/p95 latency of a Flask handler that does
  nothing (bench/bare_app.py), served and loaded exactly as the API benchmarks
  are; API reads are read against it.
"""
import re
import subprocess

from .registry import Context, baseline
from .tools import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    drop_database,
    gunicorn,
    http_load,
    recreate_database,
    server_params,
)

PGBENCH_DB = "haicang_bench_pgbench"
PGBENCH_SCALE = 10
PGBENCH_CLIENTS = 8
PGBENCH_JOBS = 2
TPS_RE = re.compile(r"^tps = ([\d.]+) \(without initial connection time\)", re.MULTILINE)
LATENCY_RE = re.compile(r"^latency average = ([\d.]+) ms", re.MULTILINE)


def api_clients(ctx: Context) -> tuple[int, ...]:
    """Concurrent HTTP clients for API figures and their bare Flask baseline. 50 is
    the concurrency TARGETS.md names for API reads; 16 matches the server's threads."""
    return ctx.pick((16, 50), (16,))


def http_seconds(ctx: Context) -> float:
    return ctx.pick(8.0, 3.0)


def http_max_requests(ctx: Context) -> int:
    return ctx.pick(100_000, 20_000)


def bare_flask_name(clients: int, metric: str) -> str:
    """The name a bare Flask baseline value is published under, per concurrency."""
    return f"bare_flask_{clients}c_{metric}"


def _pgbench(args: list[str], timeout: float) -> str:
    result = subprocess.run(
        ["pgbench", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, *args, PGBENCH_DB],
        capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)} failed: {result.stderr.strip()[-2000:]}")
    # pgbench prints its progress on stderr and its report on stdout.
    return result.stdout


@baseline("pgbench_tpcb")
def pgbench_tpcb(ctx: Context) -> None:
    """pgbench tpcb-like TPS: -s 10, 8 clients, 2 threads, in a throwaway database."""
    seconds = ctx.pick(15, 5)
    recreate_database(PGBENCH_DB)
    try:
        ctx.log(f"pgbench -i -s {PGBENCH_SCALE}")
        _pgbench(["-i", "-q", "-s", str(PGBENCH_SCALE)], timeout=180)
        ctx.log(f"pgbench -c {PGBENCH_CLIENTS} -j {PGBENCH_JOBS} -T {seconds}")
        report = _pgbench(["-c", str(PGBENCH_CLIENTS), "-j", str(PGBENCH_JOBS),
                           "-T", str(seconds)], timeout=seconds + 60)
    finally:
        drop_database(PGBENCH_DB)
    tps = TPS_RE.search(report)
    latency = LATENCY_RE.search(report)
    params = {"scale": PGBENCH_SCALE, "clients": PGBENCH_CLIENTS, "jobs": PGBENCH_JOBS,
              "seconds": seconds, "script": "tpcb-like"}
    ctx.figure("tps", float(tps.group(1)) if tps else None, "txn/s", params=params,
               provides="pgbench_tpcb_tps",
               target="reference: about 2,100-2,800 TPS on this machine kind")
    ctx.figure("latency_avg_ms", float(latency.group(1)) if latency else None, "ms",
               params=params, provides="pgbench_tpcb_latency_avg_ms")


@baseline("bare_flask")
def bare_flask(ctx: Context) -> None:
    """A bare Flask handler returning {"ok": true}, served by gunicorn like the app,
    loaded by the same client as the API figures: req/s, p50 and p95 ms."""
    seconds = http_seconds(ctx)
    with gunicorn("bench.bare_app:app") as served:
        http_load(served.port, "/", clients=4, duration=0.5, max_requests=500)  # warm-up
        for clients in api_clients(ctx):
            ctx.log(f"GET / with {clients} clients for {seconds}s")
            result = http_load(served.port, "/", clients=clients, duration=seconds,
                               max_requests=http_max_requests(ctx))
            params = {"clients": clients, **server_params(), **result.params()}
            for metric, value in result.summary().items():
                ctx.figure(metric, value, "req/s" if metric == "req_per_s" else "ms",
                           params=params, provides=bare_flask_name(clients, metric))
