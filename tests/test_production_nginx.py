"""The nginx config that bench/production.py writes for the load test (and for
anyone running the Procfile behind nginx on one machine): `nginx -t` accepts it,
and a private nginx started with it really does what Socket.IO needs of it, in
front of two tiny upstreams that echo the headers they were sent:

- /socket.io/ passes the websocket upgrade (Upgrade, Connection: upgrade) and the
  Host with its port (Socket.IO compares the Origin with it);
- other paths reach the upstream over keep-alive, without `Connection: upgrade`;
- ip_hash: requests from one client address always reach the same upstream, and
  clients from different /24s spread over both.

Needs Debian's nginx (`make nginx`, which `make test` runs first); nothing skips."""
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.production import nginx_binary, nginx_test, write_nginx_config
from bench.tools import free_port


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    name = ""

    def log_message(self, *_args):
        pass

    def do_GET(self):
        body = json.dumps({"upstream": self.name, "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _upstream(name: str) -> ThreadingHTTPServer:
    handler = type(f"Echo{name}", (_Echo,), {"name": name})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def proxy(tmp_path):
    upstreams = [_upstream("a"), _upstream("b")]
    prefix, port = str(tmp_path), free_port()
    conf = write_nginx_config(prefix, port, [u.server_address[1] for u in upstreams])
    checked = nginx_test(prefix, conf)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen([nginx_binary(), "-p", prefix, "-c", conf, "-e",
                             os.path.join(prefix, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                _get(port, "/")
                break
            except OSError:
                assert proc.poll() is None, _read(os.path.join(prefix, "error.log"))
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield port, conf
    finally:
        proc.terminate()  # our own nginx, by its handle
        proc.wait(timeout=10)
        for upstream in upstreams:
            upstream.shutdown()
            upstream.server_close()


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _get(port: int, path: str, headers: dict | None = None, source: str = "127.0.0.1") -> dict:
    """GET through the proxy from `source` (a loopback address of our choosing)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


def test_config_is_accepted_and_sticky(proxy):
    port, conf = proxy
    text = _read(conf)
    assert "ip_hash;" in text and "daemon off;" in text
    # Every path nginx writes is inside its own prefix, never the system's.
    assert "/var/" not in text and "/etc/nginx" not in text
    for n in range(1, 21):
        first = _get(port, "/api/x", source=f"127.{n}.1.1")["upstream"]
        assert {_get(port, "/api/x", source=f"127.{n}.1.1")["upstream"]
                for _ in range(3)} == {first}
    assert {_get(port, "/api/x", source=f"127.{n}.1.1")["upstream"]
            for n in range(1, 21)} == {"a", "b"}


def test_upstream_connections_are_dropped_before_gunicorn_drops_them(tmp_path):
    """gunicorn closes a keep-alive connection idle for 2 s; nginx reusing it at
    that moment gets a reset and answers 502 to a POST, which it may not retry
    elsewhere (14 sync pushes in a 5-minute load run; reproduced with 60 clients
    posting every 2.0 s: 25-106 502s in 40 s, none with this timeout). So nginx
    must let go of an idle upstream connection first."""
    from gunicorn.config import Config
    text = _read(write_nginx_config(str(tmp_path), free_port(), [free_port()], free_port()))
    upstreams = re.findall(r"upstream \w+ \{(.*?)\}", text, re.DOTALL)
    assert len(upstreams) == 2
    for block in upstreams:
        assert "keepalive " in block
        seconds = float(re.search(r"keepalive_timeout (\d+)s;", block).group(1))
        assert seconds < Config().keepalive  # the Procfile keeps gunicorn's default


def test_socketio_gets_the_upgrade_and_the_host_with_its_port(proxy):
    port, _conf = proxy
    seen = _get(port, "/socket.io/?EIO=4&transport=websocket",
                {"Upgrade": "websocket", "Connection": "Upgrade"})
    assert seen["path"].startswith("/socket.io/")
    assert seen["headers"]["upgrade"] == "websocket"
    assert seen["headers"]["connection"].lower() == "upgrade"
    assert seen["headers"]["host"] == f"127.0.0.1:{port}"
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_other_paths_keep_the_upstream_connection_alive(proxy):
    port, _conf = proxy
    seen = _get(port, "/api/orders", {"Upgrade": "websocket", "Connection": "Upgrade"})
    assert "upgrade" not in seen["headers"]
    assert seen["headers"].get("connection", "").lower() != "upgrade"
    assert seen["headers"]["host"] == f"127.0.0.1:{port}"


def test_the_command_prints_the_same_config():
    out = subprocess.run([sys.executable, "-m", "bench.production", "--print-nginx-config",
                          "--web", "2"], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         check=True, env={**os.environ}).stdout
    assert out.count("server 127.0.0.1:") == 3  # two web processes and the bare handler
    assert "proxy_set_header Upgrade $http_upgrade;" in out
