"""Production on one machine: the Procfile's processes as production runs them.

    python -m bench.production [--web 3] [--workers 2] [--port 8080] [--database NAME]

starts, on 127.0.0.1 only:

- a PostgreSQL database of its own (dropped and created again, migrated with
  `flask --app server db upgrade`, seeded with `flask --app server seed-demo`);
- a private `redis-server` on a free port: the RQ queues, the Socket.IO message
  queue and the clock's lock (REDIS_URL), shared by every process below and by no
  other Haicang process on the machine (the shared Redis on 6379 carries other
  people's queues);
- N web processes, each the Procfile's `gunicorn --worker-class gthread --workers 1
  --threads 64 'server.wsgi:app'`, on ports of their own;
- M RQ workers, each the Procfile's `python -m server.worker` (each runs a clock
  thread too; one at a time leads);
- a private nginx (its own config, prefix, pid and logs in a temporary folder,
  `daemon off`, its own port) in front of the web processes with `ip_hash`, because
  Socket.IO's polling transport must reach the process that holds the session, and
  with the websocket upgrade headers on /socket.io/;
- a bare Flask handler (bench/bare_app.py) under the same gunicorn settings, behind
  the same nginx at /_bare/: the do-nothing baseline the load test reads against.

It prints the URL and waits; Ctrl-C (or SIGTERM) stops every process it started,
by its own handle, and removes the temporary folder. bench/load.py
(`production_load`) uses the same `Stack` to run the locust load test.

nginx is Debian's package (`make nginx` installs it; `make bench` and `make test`
do so first). Without it this module raises: it never falls back to something
else, and it never touches the system's nginx service.
"""
import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .tools import ROOT, _answers, free_port, pg_url, recreate_database

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")
GUNICORN_THREADS = 64  # as in the Procfile
# A fixed key for the run, shared by the web processes (sessions signed by one are
# read by the others), instead of each generating its own in instance/.
SECRET_KEY = "bench-production-not-a-secret"


def nginx_binary() -> str:
    """The nginx executable, or a loud error: the load test is about nginx in front
    of the web processes, so a missing nginx must fail, not skip."""
    found = shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if os.path.exists(p)),
                                          None)
    if found is None:
        raise RuntimeError("nginx is not installed: run `make nginx` (apt-get install nginx)")
    return found


def nginx_config(prefix: str, port: int, web_ports: list[int], bare_port: int | None = None,
                 access_log: bool = True) -> str:
    """The private nginx's whole configuration. Everything it writes (pid, logs,
    temporary request bodies) stays under `prefix`; it listens on 127.0.0.1 only."""
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in web_ports)
    bare = ""
    if bare_port is not None:
        bare = f"""
    upstream bare {{
        server 127.0.0.1:{bare_port};
        keepalive 16;
        keepalive_timeout 1s;  # as for the app, below
    }}"""
    bare_location = """
        # The bare Flask baseline, through the same proxy as the app.
        location = /_bare/ {
            proxy_pass http://bare/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }""" if bare_port is not None else ""
    log = (f"access_log {prefix}/access.log upstreams buffer=64k flush=2s;" if access_log
           else "access_log off;")
    return f"""# Written by bench/production.py: a private nginx, never the system's.
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    # Which web process answered, and how: requests per upstream and nginx's own
    # statuses (a 502 or 504 that never reached the app shows only here).
    log_format upstreams '$upstream_addr $status $request_time $request_method $uri $msec';
    {log}
    # The app answers 413 itself above MAX_CONTENT_LENGTH (2 MB); nginx must let
    # such a body through to it rather than answer first with its own 1 MB limit.
    client_max_body_size 4m;
    keepalive_timeout 75s;
    keepalive_requests 100000;

    # Socket.IO: a websocket asks to upgrade; everything else keeps the upstream
    # connection alive (Connection "" is what nginx's upstream keepalive needs).
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    upstream haicang {{
        # Sticky by client address: Socket.IO's long-polling requests and their
        # upgrade must reach the web process that holds the session.
        ip_hash;
{servers}
        keepalive 64;
        # Shorter than gunicorn's keep-alive (2 s, the Procfile keeps the default):
        # otherwise gunicorn may close an idle connection just as nginx sends the
        # next request on it, and nginx answers 502 to a POST it may not retry.
        keepalive_timeout 1s;
    }}
{bare}

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;

        location /socket.io/ {{
            proxy_pass http://haicang;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # The Host as the browser sent it, port included: Socket.IO compares a
            # websocket's Origin with it ($host drops the port: 400, "not an
            # accepted origin").
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # A websocket is quiet between events: no read timeout cuts it (the
            # Socket.IO ping every 25 s keeps it alive anyway).
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
        }}

        location / {{
            proxy_pass http://haicang;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 60s;
        }}{bare_location}
    }}
}}
"""


def write_nginx_config(prefix: str, port: int, web_ports: list[int],
                       bare_port: int | None = None) -> str:
    """Write the config into `prefix` (made readable by nginx's worker user, which
    is not root) and return its path."""
    os.chmod(prefix, 0o755)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w", encoding="utf-8") as out:
        out.write(nginx_config(prefix, port, web_ports, bare_port))
    return path


def nginx_test(prefix: str, conf: str) -> subprocess.CompletedProcess:
    """`nginx -t` on our config: -e keeps even the early error log out of /var/log."""
    return subprocess.run([nginx_binary(), "-t", "-p", prefix, "-c", conf,
                           "-e", os.path.join(prefix, "error.log")],
                          capture_output=True, text=True, timeout=30, check=False)


# -- processes ---------------------------------------------------------------------------

@dataclass
class Proc:
    """A process this module started: its kind (web, worker, nginx, ...), its
    handle, and its log file (read back only to explain a failure)."""
    kind: str
    popen: subprocess.Popen
    log_path: str

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _exceptions(text: str) -> dict[str, int]:
    """The exception each traceback in a log ended with ("KeyError: 'x'"), counted;
    what a log line just before the traceback said goes with it."""
    found: dict[str, int] = {}
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        said = lines[n - 1].strip()[-80:] if n else ""
        for after in lines[n + 1:]:
            if after and not after.startswith((" ", "\t", "Traceback", "During handling",
                                               "The above exception")):
                key = f"{after[:120]} (after: {said})"
                found[key] = found.get(key, 0) + 1
                break
    return found


def _children(pid: int) -> list[int]:
    """The direct children of `pid`, from /proc (the gunicorn worker of a master,
    nginx's worker of its master)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


@dataclass
class Stack:
    """Everything `start()` started, to be stopped by `stop()`."""
    web: int = 3
    workers: int = 2
    port: int = 0  # nginx's; 0 picks a free one
    database: str = "haicang_bench_load"
    env_extra: dict = field(default_factory=dict)
    bare: bool = True
    log: Callable[[str], None] = print
    procs: list[Proc] = field(default_factory=list)
    tmp: str = ""
    redis_url: str = ""
    web_ports: list[int] = field(default_factory=list)
    bare_port: int | None = None
    _redis_cm: object = None
    _redis_pid: int | None = None

    # -- what the processes share ---------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return pg_url(self.database)

    def env(self) -> dict:
        """The environment of every app process: the Procfile's processes read
        their whole configuration from it (server/config.py)."""
        env = {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
               "SECRET_KEY": SECRET_KEY, "RQ_INLINE": "", **self.env_extra}
        # Derived from REDIS_URL and the database by server/config.py; an inherited
        # value would point the processes somewhere else.
        for name in ("SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_CHANNEL", "RQ_QUEUE",
                     "RATELIMIT_STORAGE_URI", "FLASK_APP"):
            env.pop(name, None)
        return env

    def flask(self, *args: str, timeout: float = 300) -> str:
        """`flask --app server ARGS...` with the stack's environment; its output."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "server", *args],
                                cwd=ROOT, env=self.env(), capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({result.returncode}): "
                               f"{result.stderr[-2000:]}")
        return result.stdout

    # -- starting ---------------------------------------------------------------------

    def start(self) -> "Stack":
        nginx = nginx_binary()  # first: fail before anything was started
        self.tmp = tempfile.mkdtemp(prefix="haicang-production-")
        try:
            self._start_redis()
            self.log(f"database {self.database}: recreate, migrate, seed-demo")
            recreate_database(self.database)
            self.flask("db", "upgrade")
            self.flask("seed-demo")
            self.web_ports = [free_port() for _ in range(self.web)]
            for n, port in enumerate(self.web_ports):
                self._spawn(f"web{n}", "web", self._gunicorn_cmd("server.wsgi:app", port))
            if self.bare:
                self.bare_port = free_port()
                # Its own process, outside the app: no database, no extensions.
                self._spawn("bare", "bare", self._gunicorn_cmd("bench.bare_app:app",
                                                               self.bare_port))
            for n in range(self.workers):
                self._spawn(f"worker{n}", "worker", [sys.executable, "-m", "server.worker"])
            self.port = self.port or free_port()
            conf = write_nginx_config(self.tmp, self.port, self.web_ports, self.bare_port)
            checked = nginx_test(self.tmp, conf)
            if checked.returncode != 0:
                raise RuntimeError(f"nginx -t refused {conf}: {checked.stderr}")
            self._spawn("nginx", "nginx", [nginx, "-p", self.tmp, "-c", conf,
                                           "-e", os.path.join(self.tmp, "error.log")])
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_redis(self) -> None:
        from .realtime import private_redis
        self._redis_cm = private_redis()
        url = self._redis_cm.__enter__()
        if url is None:
            raise RuntimeError("redis-server is not installed: the stack needs a Redis")
        self.redis_url = url

    def _gunicorn_cmd(self, app_spec: str, port: int) -> list[str]:
        # The Procfile's web line, bound to loopback (the Procfile binds 0.0.0.0).
        return [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
                "--threads", str(GUNICORN_THREADS), "--bind", f"127.0.0.1:{port}",
                "--log-level", "warning", app_spec]

    def _spawn(self, name: str, kind: str, cmd: list[str]) -> Proc:
        log_path = os.path.join(self.tmp, f"{name}.log")
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        proc = Proc(kind, popen, log_path)
        self.procs.append(proc)
        return proc

    def _wait_ready(self, timeout: float = 90) -> None:
        """Every web process answers directly, then through nginx, and every worker
        is still alive."""
        deadline = time.monotonic() + timeout
        pending = {p: "/api/openapi.json" for p in self.web_ports}
        if self.bare_port:
            pending[self.bare_port] = "/"
        while pending:
            self.check_alive()
            pending = {p: path for p, path in pending.items() if not _answers(p, path, {})}
            if time.monotonic() > deadline:
                raise RuntimeError(f"web processes on {sorted(pending)} not ready in {timeout}s")
            time.sleep(0.2)
        while not _answers(self.port, "/api/openapi.json", {}):
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx on {self.port} not ready: {self.nginx_errors()}")
            time.sleep(0.2)
        self.check_alive()

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.kind} (pid {proc.pid}) exited with "
                                   f"{proc.popen.returncode}:\n{proc.tail()}")

    def nginx_errors(self, limit: int | None = 2000) -> str:
        try:
            text = Path(self.tmp, "error.log").read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:] if limit else text

    # -- what runs --------------------------------------------------------------------

    def log_summary(self) -> dict:
        """What the processes' logs say about trouble: gunicorn workers timed out or
        booted again, tracebacks, and nginx's error log by message (what explains
        a 502 or 504)."""
        marks = ("WORKER TIMEOUT", "Booting worker", "Traceback", "Killed", "ERROR")
        out: dict = {}
        for proc in self.procs:
            try:
                text = Path(proc.log_path).read_text(errors="replace")
            except OSError:
                continue
            found: dict = {m: text.count(m) for m in marks if m in text}
            if "Traceback" in text:
                found["exceptions"] = _exceptions(text)
            if found:
                out[Path(proc.log_path).stem] = found
        errors: dict[str, int] = {}
        for line in self.nginx_errors(limit=None).splitlines():
            # "2026/.. [error] 123#123: *45 upstream prematurely closed ..., client: ..."
            message = re.sub(r"^.*?\*\d+ ", "", line).split(",")[0][:100]
            errors[message] = errors.get(message, 0) + 1
        if errors:
            out["nginx_error_log"] = errors
        return out

    def pids_by_kind(self) -> dict[str, list[int]]:
        """Every process of the stack by kind, the forked children too: a gunicorn
        master's worker is `web` (the master is `web_master`), nginx's workers count
        with its master as `nginx`."""
        kinds: dict[str, list[int]] = {}
        for proc in self.procs:
            if proc.popen.poll() is not None:
                continue
            if proc.kind in ("web", "bare"):
                kinds.setdefault(f"{proc.kind}_master", []).append(proc.pid)
                kinds.setdefault(proc.kind, []).extend(_children(proc.pid))
            elif proc.kind == "nginx":
                kinds.setdefault("nginx", []).extend([proc.pid, *_children(proc.pid)])
            else:
                kinds.setdefault(proc.kind, []).append(proc.pid)
        if self._redis_pid is None:
            self._redis_pid = _private_redis_pid(self.redis_url)
        if self._redis_pid:
            kinds["redis"] = [self._redis_pid]
        return kinds

    # -- stopping ---------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process started here, by its handle: SIGTERM (gunicorn and the
        RQ workers finish what they are doing; nginx's SIGTERM is a fast stop), a
        SIGKILL for anything still there after 20 s; then Redis, then the folder.
        Interrupted meanwhile (a second Ctrl-C), it kills what is left at once
        rather than leave it running."""
        try:
            self._terminate_all(grace=20)
        except BaseException:
            self._terminate_all(grace=0)
            raise
        finally:
            self.procs.clear()
            if self._redis_cm is not None:
                self._redis_cm.__exit__(None, None, None)
                self._redis_cm = self._redis_pid = None
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = ""

    def _terminate_all(self, grace: float) -> None:
        for proc in reversed(self.procs):  # nginx first: no new requests
            if proc.popen.poll() is None:
                proc.popen.terminate() if grace else proc.popen.kill()
        deadline = time.monotonic() + grace
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _private_redis_pid(url: str) -> int | None:
    """The pid of the redis-server listening on the port of `url`, through Redis
    itself (INFO server): private_redis() keeps its handle to itself."""
    if not url:
        return None
    try:
        import redis
        return int(redis.Redis.from_url(url, socket_timeout=2).info("server")["process_id"])
    except Exception:  # noqa: BLE001  memory is then reported without Redis
        return None


def rss_kb(pid: int) -> int | None:
    """Resident memory of `pid` in kB (VmRSS from /proc/<pid>/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time `pid` has used so far, in seconds (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# -- the command ---------------------------------------------------------------------------

_interrupted = []


def _interrupt(_signum, _frame):
    if not _interrupted:
        _interrupted.append(True)
        raise KeyboardInterrupt

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.production",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--web", type=int, default=3, help="web processes (gunicorn)")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    parser.add_argument("--database", default="haicang_bench_load")
    parser.add_argument("--print-nginx-config", action="store_true",
                        help="print the nginx config for these settings and exit")
    args = parser.parse_args(argv)
    if args.print_nginx_config:
        print(nginx_config("/tmp/haicang-production-XXXX", args.port,
                           [8001 + n for n in range(args.web)], 8000))
        return 0
    # Ctrl-C or SIGTERM stops everything, once: the signals that follow (a second
    # Ctrl-C, the SIGINT the whole process group gets) must not cut the stop short.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stack = Stack(web=args.web, workers=args.workers, port=args.port, database=args.database,
                  log=lambda m: print(m, file=sys.stderr, flush=True))
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(stack)
        print(f"Haicang at {stack.url}/ (nginx, ip_hash over {len(stack.web_ports)} web "
              f"processes on {stack.web_ports}; {args.workers} RQ workers; Redis "
              f"{stack.redis_url}; database {stack.database})", flush=True)
        print("Demo log-ins: admin@demo.haicang / harbour-crane-42 (see README). "
              "Ctrl-C stops everything.", flush=True)
        try:
            while True:
                stack.check_alive()
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
