"""Browser end-to-end fixtures: a real Haicang server in a subprocess, and Debian's
chromium driven by Playwright.

- The PWA is built first (`node build.mjs`, a second or so) when node_modules is
  there, so the tests always drive the current source; without node_modules a
  previous build must exist.
- `live_server` is one server per test module (`flask seed-demo`, then
  `flask serve`), on a free port, with the demo data in a SQLite file of its own; `start_server` starts a private one that a test
  may stop (the offline test does).
- Chromium is /usr/bin/chromium (HAICANG_CHROMIUM to change). Playwright never
  downloads a browser here. A missing chromium FAILS the tests, with how to fix it.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("HAICANG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = {"width": 360, "height": 740}
# Lets context.route() see the service worker's own fetches too, so a test can cut
# the server off for the worker as well as for the page (SYNC.md, browser notes).
# Read by Playwright's driver when it starts: set before the first browser launch.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")
DEMO_PASSWORD = "harbour-crane-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`flask --app server serve --demo` on a free port, with its own database."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.process = None

    def start(self, timeout: float = 60.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "FLASK_APP", "FLASK_RUN_FROM_CLI")}
        env.update({
            "DATABASE_URL": f"sqlite:///{self.workdir / 't.db'}",
            "AUTO_MIGRATE": "1",
            "SECRET_KEY": "browser-tests",
            "RATELIMIT_STORAGE_URI": "memory://",
            # Each test logs in afresh from the same address; the real limit would
            # trip over a whole module's log-ins, which is not what these test.
            "LOGIN_RATE_LIMIT": "100 per minute",
            "PYTHONUNBUFFERED": "1",
        })
        flask = [sys.executable, "-m", "flask", "--app", "server"]
        # The demo data is seeded by its own command first, then the server starts
        # without --demo: `serve --demo` lists the demo log-ins after seeding in the
        # CLI's app context, which stays open while serving, so on SQLite (every
        # transaction BEGIN IMMEDIATE) that read keeps the write lock and every
        # log-in waits 30 s for "database is locked". Same data, same server.
        with open(self.log_path, "w") as log:  # the child keeps its own handle
            seeded = subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, timeout=120, check=False)
            if seeded.returncode != 0:
                pytest.fail("`flask seed-demo` failed:\n" + self.log_tail(), pytrace=False)
            # A session of its own, so stop() can end the server and nothing else.
            self.process = subprocess.Popen(
                [*flask, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n"
                            + self.log_tail(), pytrace=False)
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the server did not answer /login within {timeout:.0f} s:\n"
                    + self.log_tail(), pytrace=False)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="session")
def built_pwa():
    """static/dist/ from the current source: rebuilt when the npm packages are
    installed, else a previous build is required."""
    if (ROOT / "node_modules" / "esbuild").exists() and shutil.which("node"):
        result = subprocess.run(["node", "build.mjs"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120, check=False)
        if result.returncode != 0:
            pytest.fail("`node build.mjs` failed:\n" + result.stdout + result.stderr,
                        pytrace=False)
    if not (ROOT / "static" / "dist" / "assets.json").exists():
        pytest.fail("static/dist/ is not built: run `npm ci && npm run build` "
                    "(or `make setup`)", pytrace=False)
    return ROOT / "static" / "dist"


@pytest.fixture(scope="module")
def live_server(built_pwa, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("server")).start()
    yield server
    server.stop()


@pytest.fixture
def start_server(built_pwa, tmp_path):
    """Start a private server (the test may stop it); stopped at the end regardless."""
    servers = []

    def start():
        server = LiveServer(tmp_path / f"server{len(servers)}").start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"No chromium at {CHROMIUM}. The browser tests use Debian's: "
                    "`apt-get update && apt-get install -y chromium` (or `make browser`). "
                    "Never `playwright install`.", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium):
    """A fresh browser context the size of a 360 x 740 phone, in English."""
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="en-US")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def wait_until(page, expression: str, timeout: int = 10_000):
    """Wait until a JavaScript expression is truthy in the page.

    Playwright's `wait_for_function` evaluates a string predicate with `eval` inside
    the page when the first check fails, and the PWA's Content-Security-Policy (no
    'unsafe-eval') refuses that: the test then fails or passes by timing. This polls
    with `page.evaluate`, which runs over CDP and is not bound by the page's CSP.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        if page.evaluate(f"!!({expression})"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} ms: {expression}")
        page.wait_for_timeout(100)
