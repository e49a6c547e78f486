"""A local server that speaks the part of Twilio's REST API Haicang uses: create a
Message (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To,
From, Body, HTTP Basic auth with the account SID and auth token). Tests and the
demo point the official client at it (TWILIO_API_BASE); it keeps what it was sent
and can be told to fail.

    python -m server.notifications.fake_twilio --port 8098
"""
from __future__ import annotations

import argparse
import base64
import json
import secrets
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "fake-token",
                 host: str = "127.0.0.1", port: int = 0):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []
        self.failures: list[tuple[int, int | None]] = []  # (HTTP status, Twilio code)
        self.stopped: set[str] = set()  # numbers whose owner replied STOP
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.handle(self, form)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, times: int = 1, status: int = 503, code: int | None = None) -> None:
        with self._lock:
            self.failures.extend([(status, code)] * times)

    def _error(self, handler, status: int, code: int | None, message: str):
        handler._answer(status, {"code": code, "message": message, "status": status,
                                 "more_info": f"https://www.twilio.com/docs/errors/{code}"})

    def handle(self, handler, form: dict) -> None:
        path = handler.path.split("?")[0]
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = handler.headers.get("Authorization") or ""
        good = "Basic " + base64.b64encode(
            f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if not secrets.compare_digest(auth, good):
            return self._error(handler, 401, 20003, "Authenticate")
        if path != expected:
            return self._error(handler, 404, 20404, "The requested resource was not found")
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return self._error(handler, failure[0], failure[1], "injected failure")
        to, body = form.get("To") or "", form.get("Body") or ""
        if not to.startswith("+") or not to[1:].isdigit():
            return self._error(handler, 400, 21211, f"The 'To' number {to} is not valid.")
        if to in self.stopped:
            return self._error(handler, 400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message = {"sid": sid, "account_sid": self.account_sid, "to": to,
                   "from": form.get("From"), "body": body, "status": "queued",
                   "num_segments": "1", "direction": "outbound-api", "api_version":
                   "2010-04-01", "date_created": now, "date_updated": now, "date_sent": None,
                   "error_code": None, "error_message": None, "price": None,
                   "uri": f"{expected[:-5]}/{sid}.json"}
        with self._lock:
            self.messages.append(message)
        handler._answer(201, message)

    def start(self) -> FakeTwilio:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="fake-twilio")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8098)
    args = parser.parse_args()
    fake = FakeTwilio(host=args.host, port=args.port)
    print(f"fake Twilio at {fake.base_url} (account {fake.account_sid}, token "
          f"{fake.auth_token})", flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
