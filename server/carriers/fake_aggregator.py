"""A fake label aggregator: a real local HTTP server that speaks the EasyPost v2
endpoints Haicang's EasyPostProvider uses, for tests and the demo (like
server/channels/fake_marketplace.py for the marketplaces).

    fake = FakeAggregator(api_key="EZTK_fake").start()
    fake.url          # -> "http://127.0.0.1:PORT/v2", the client's api_base
    ...
    fake.stop()

Endpoints (JSON bodies as the official `easypost` client v10 sends them):

- POST /v2/shipments {"shipment": {from_address, to_address, parcel (inches,
  ounces), options, reference}} -> a Shipment with `rates` (one per entry of
  `fake.rate_specs`: carrier, service, rate as a decimal string, delivery_days,
  delivery_date when the spec gives one).
- POST /v2/shipments/{id}/buy {"rate": {"id": ...}} -> the Shipment with
  `tracking_code`, `selected_rate` and `postage_label` (label_url and label_pdf_url,
  both GET /labels/{id}.pdf on this server: a real 4x6 PDF).
- POST /v2/shipments/{id}/refund -> the Shipment with refund_status "submitted".
- POST /v2/scan_forms {"scan_form": {"shipments": [{"id": ...}]}} -> a ScanForm
  with tracking_codes and form_url (GET /forms/{id}.pdf).

Authentication: the client sends `Authorization: Bearer <api key>`; Basic with the
key as the user name (EasyPost's other accepted form) is accepted too. A wrong key
gets 401 in EasyPost's error shape {"error": {"code", "message", "errors"}}.

Failure injection: `fake.fail(status=500, times=1, match="/buy")` makes the next
`times` requests whose path contains `match` answer `status` (500, 422, ...), or,
with status="timeout", sleep `delay` seconds first (longer than the client waits).

Webhooks: `fake.sign(body)` is the `X-Hmac-Signature` header value EasyPost sends,
"hmac-sha256-hex=" + HMAC-SHA256(body, NFKD-normalised secret) in hex (what
easypost.util.validate_webhook checks); `fake.webhook(event)` returns (body,
headers). Delivering them is item 2 (tracking), not here.

Trackers: POST /v2/trackers {"tracker": {tracking_code, carrier}} answers the
tracker of that number (made on first ask, as EasyPost does), GET
/v2/trackers/{id} reads it. `fake.script_tracker(code, details, ...)` sets what it
says (tracking_details as EasyPost sends them; `detail(...)` builds one);
`fake.tracker_event(tracker)` wraps it in a tracker.updated Event, and
`fake.post_webhook(url, event)` POSTs it, signed, to a URL.

`fake.next_tracking_codes` hands out these numbers first (a carrier recycling one).

Everything it did is kept: `fake.requests` (method, path, body), `fake.shipments`
(by id, with "status": created / purchased, "refund_status"), `fake.scan_forms`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import unicodedata
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

DEFAULT_RATES = [
    {"carrier": "USPS", "service": "GroundAdvantage", "rate": "6.10", "delivery_days": 5},
    {"carrier": "UPS", "service": "Ground", "rate": "8.40", "delivery_days": 3},
    {"carrier": "UPS", "service": "NextDayAir", "rate": "31.90", "delivery_days": 1},
]
TRACKING_PREFIX = {"USPS": "9400100000000", "UPS": "1ZFAKE", "FEDEX": "7700"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class FakeAggregator:
    def __init__(self, api_key: str = "EZTK_fake_key", webhook_secret: str = "whsec_fake",
                 host: str = "127.0.0.1", port: int = 0):
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.host, self.port = host, port
        self.server: ThreadingHTTPServer | None = None
        self.rate_specs = [dict(r) for r in DEFAULT_RATES]
        self.lock = threading.Lock()
        self.reset()

    # -- life ---------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The api_base to give the client."""
        return f"{self.base}/v2"

    def start(self) -> FakeAggregator:
        fake = self

        class Handler(_Handler):
            aggregator = fake
        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def reset(self) -> None:
        with self.lock:
            self.requests: list[dict] = []
            self.shipments: dict[str, dict] = {}
            self.scan_forms: dict[str, dict] = {}
            self.faults: list[dict] = []
            self.next_tracking_codes: list[str] = []
            self.trackers: dict[str, dict] = {}  # by tracking code
            self._serial = 0

    # -- test controls ------------------------------------------------------------------

    def fail(self, status=500, *, times: int = 1, match: str = "", delay: float = 5.0,
             message: str = "Injected failure") -> None:
        with self.lock:
            self.faults.append({"status": status, "times": times, "match": match,
                                "delay": delay, "message": message})

    def calls(self, match: str = "") -> list[dict]:
        with self.lock:
            return [r for r in self.requests if match in r["path"]]

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = unicodedata.normalize("NFKD", secret or self.webhook_secret).encode()
        return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    def webhook(self, event: dict, secret: str | None = None) -> tuple[bytes, dict]:
        body = json.dumps(event).encode()
        return body, {"Content-Type": "application/json",
                      "X-Hmac-Signature": self.sign(body, secret)}

    def script_tracker(self, tracking_code: str, details: list[dict], *,
                       carrier: str = "UPS", status: str | None = None,
                       est_delivery_date: str | None = None) -> dict:
        """Make (or replace the details of) the tracker of `tracking_code`."""
        with self.lock:
            tracker = self.trackers.get(tracking_code) or {
                "id": _id("trk"), "object": "Tracker", "mode": "test",
                "tracking_code": tracking_code, "carrier": carrier,
                "created_at": _now()}
            tracker.update(tracking_details=[dict(d) for d in details],
                           status=status or (details[-1]["status"] if details else "unknown"),
                           est_delivery_date=est_delivery_date, updated_at=_now())
            self.trackers[tracking_code] = tracker
            return dict(tracker)

    @staticmethod
    def detail(status: str, at: str, message: str = "", city: str = "", state: str = "",
               status_detail: str | None = None) -> dict:
        """One tracking_details entry, as EasyPost sends it."""
        return {"object": "TrackingDetail", "status": status, "datetime": at,
                "message": message, "status_detail": status_detail or status,
                "source": "UPS", "tracking_location": {
                    "object": "TrackingLocation", "city": city or None,
                    "state": state or None, "country": "US" if city else None,
                    "zip": None}}

    @staticmethod
    def tracker_event(tracker: dict, description: str = "tracker.updated") -> dict:
        return {"object": "Event", "id": _id("evt"), "mode": "test",
                "description": description, "result": tracker, "created_at": _now(),
                "status": "pending", "previous_attributes": {}}

    def post_webhook(self, url: str, event: dict, secret: str | None = None,
                     timeout: float = 5.0) -> tuple[int, bytes]:
        """POST `event` signed (as EasyPost does) to `url`: (status, body)."""
        import urllib.error
        import urllib.request
        body, headers = self.webhook(event, secret)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    # -- internals ----------------------------------------------------------------------

    def _fault(self, path: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["times"] > 0 and fault["match"] in path:
                    fault["times"] -= 1
                    return dict(fault)
        return None

    def _tracking(self, carrier: str) -> str:
        with self.lock:
            if self.next_tracking_codes:  # a test's recycled number
                return self.next_tracking_codes.pop(0)
            self._serial += 1
            serial = self._serial
        prefix = TRACKING_PREFIX.get(carrier.upper(), "EZ")
        return f"{prefix}{int(time.time()) % 100000:05d}{serial:06d}"

    def _rates(self, shipment_id: str) -> list[dict]:
        out = []
        for spec in self.rate_specs:
            out.append({"id": _id("rate"), "object": "Rate", "mode": "test",
                        "shipment_id": shipment_id, "carrier": spec["carrier"],
                        "service": spec["service"], "rate": spec["rate"],
                        "currency": "USD", "retail_rate": spec["rate"],
                        "delivery_days": spec.get("delivery_days"),
                        "delivery_date": spec.get("delivery_date"),
                        "delivery_date_guaranteed": False,
                        "carrier_account_id": f"ca_{spec['carrier'].lower()}",
                        "created_at": _now(), "updated_at": _now()})
        return out


def label_pdf(tracking: str, service: str, ship_from: dict, ship_to: dict,
              weight_oz: float) -> bytes:
    """A real 4x6 PDF label, drawn by Haicang's own label renderer."""
    from .labels import render_label

    def address(a):
        return {"name": a.get("name", ""), "company": a.get("company", ""),
                "address1": a.get("street1", ""), "address2": a.get("street2", ""),
                "city": a.get("city", ""), "state": a.get("state", ""),
                "zip": a.get("zip", "")}
    parcel = SimpleNamespace(tracking_number=tracking, number=1,
                             weight_g=max(int(weight_oz * 28.35), 1))
    shipment = SimpleNamespace(id=0, reference="AGGREGATOR", order_id=None,
                               service=SimpleNamespace(name=service), ship_date=None,
                               zone=None, tracking_number=tracking, parcels=[parcel])
    return render_label(shipment, parcel, address(ship_from), address(ship_to))


class _Handler(BaseHTTPRequestHandler):
    aggregator: FakeAggregator
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def _answer(self, status: int, body=None, content_type="application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (an injected timeout)

    def _error(self, status: int, code: str, message: str) -> None:
        self._answer(status, {"error": {"code": code, "message": message, "errors": []}})

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        key = None
        if header.startswith("Bearer "):
            key = header[7:]
        elif header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                key = None
        return key == self.aggregator.api_key

    def _handle(self, method: str) -> None:
        fake = self.aggregator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        path = self.path.split("?", 1)[0]
        with fake.lock:
            fake.requests.append({"method": method, "path": path, "body": body,
                                  "authorization": self.headers.get("Authorization")})
        if method == "GET" and path.startswith(("/labels/", "/forms/")):
            return self._document(path)
        fault = fake._fault(path)
        if fault:
            if fault["status"] == "timeout":
                time.sleep(fault["delay"])
                return self._error(504, "TIMEOUT", fault["message"])
            return self._error(int(fault["status"]), "INJECTED", fault["message"])
        if not self._authorized():
            return self._error(401, "APIKEY.INACTIVE", "Invalid API key")
        if method == "POST" and path == "/v2/shipments":
            return self._create(body.get("shipment") or {})
        match = re.fullmatch(r"/v2/shipments/([^/]+)/(buy|refund)", path)
        if method == "POST" and match:
            shipment = fake.shipments.get(match.group(1))
            if shipment is None:
                return self._error(404, "NOT_FOUND", "The requested resource could not "
                                   "be found.")
            return self._buy(shipment, body) if match.group(2) == "buy" \
                else self._refund(shipment)
        if method == "POST" and path == "/v2/trackers":
            return self._tracker(body.get("tracker") or {})
        match = re.fullmatch(r"/v2/trackers/([^/]+)", path)
        if method == "GET" and match:
            tracker = next((t for t in list(fake.trackers.values())
                            if t["id"] == match.group(1)), None)
            if tracker is None:
                return self._error(404, "NOT_FOUND", "The requested resource could not "
                                   "be found.")
            return self._answer(200, tracker)
        if method == "POST" and path == "/v2/scan_forms":
            return self._scan_form(body.get("scan_form") or {})
        return self._error(404, "NOT_FOUND", f"No route {method} {path}")

    def _create(self, params: dict) -> None:
        fake = self.aggregator
        for part in ("from_address", "to_address", "parcel"):
            if not params.get(part):
                return self._error(422, "SHIPMENT.INVALID_PARAMS", f"{part} is required")
        if not params["parcel"].get("weight"):
            return self._error(422, "PARCEL.WEIGHT.MISSING", "parcel.weight is required")
        ident = _id("shp")
        shipment = {"id": ident, "object": "Shipment", "mode": "test", "status": "unknown",
                    "reference": params.get("reference"), "created_at": _now(),
                    "updated_at": _now(), "from_address": params["from_address"],
                    "to_address": params["to_address"], "parcel": params["parcel"],
                    "options": params.get("options") or {}, "rates": fake._rates(ident),
                    "tracking_code": None, "postage_label": None, "selected_rate": None,
                    "refund_status": None, "messages": []}
        with fake.lock:
            fake.shipments[ident] = shipment
        self._answer(201, shipment)

    def _buy(self, shipment: dict, body: dict) -> None:
        fake = self.aggregator
        rate_id = (body.get("rate") or {}).get("id")
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if rate is None:
            return self._error(422, "SHIPMENT.RATE.INVALID", "Rate not found for shipment")
        if shipment["postage_label"]:
            return self._error(422, "SHIPMENT.POSTAGE.EXISTS", "Postage already exists")
        tracking = fake._tracking(rate["carrier"])
        url = f"{fake.base}/labels/{shipment['id']}.pdf"
        shipment.update(
            status="pre_transit", tracking_code=tracking, selected_rate=rate,
            updated_at=_now(),
            postage_label={"id": _id("pl"), "object": "PostageLabel", "label_size": "4x6",
                           "label_file_type": "application/pdf", "label_url": url,
                           "label_pdf_url": url, "label_zpl_url": None,
                           "label_date": _now()},
            tracker={"id": _id("trk"), "object": "Tracker", "tracking_code": tracking,
                     "status": "pre_transit", "carrier": rate["carrier"]})
        shipment["label"] = label_pdf(tracking, f"{rate['carrier']} {rate['service']}",
                                      shipment["from_address"], shipment["to_address"],
                                      float(shipment["parcel"]["weight"]))
        self._answer(200, {k: v for k, v in shipment.items() if k != "label"})

    def _refund(self, shipment: dict) -> None:
        if not shipment["postage_label"]:
            return self._error(422, "SHIPMENT.REFUND.UNAVAILABLE",
                               "This shipment has no postage to refund")
        if shipment["refund_status"]:
            return self._error(422, "SHIPMENT.REFUND.UNAVAILABLE",
                               "A refund has already been requested")
        shipment.update(refund_status="submitted", updated_at=_now())
        self._answer(200, {k: v for k, v in shipment.items() if k != "label"})

    def _tracker(self, params: dict) -> None:
        code = params.get("tracking_code")
        if not code:
            return self._error(422, "TRACKER.INVALID_PARAMS", "tracking_code is required")
        fake = self.aggregator
        tracker = fake.trackers.get(code) or fake.script_tracker(
            code, [], carrier=params.get("carrier") or "UPS")
        self._answer(200, tracker)

    def _scan_form(self, params: dict) -> None:
        fake = self.aggregator
        ids = [s.get("id") for s in params.get("shipments") or []]
        shipments = [fake.shipments.get(i) for i in ids]
        if not ids or any(s is None or not s["tracking_code"] for s in shipments):
            return self._error(422, "SCAN_FORM.INVALID", "Every shipment must be purchased")
        ident = _id("sf")
        form = {"id": ident, "object": "ScanForm", "status": "created", "message": None,
                "tracking_codes": [s["tracking_code"] for s in shipments],
                "form_url": f"{fake.base}/forms/{ident}.pdf", "form_file_type": None,
                "batch_id": _id("batch"), "created_at": _now(), "updated_at": _now(),
                "shipments": ids}
        with fake.lock:
            fake.scan_forms[ident] = form
        self._answer(200, form)

    def _document(self, path: str) -> None:
        fake = self.aggregator
        match = re.fullmatch(r"/(labels|forms)/([^/]+)\.pdf", path)
        if not match:
            return self._error(404, "NOT_FOUND", "No such document")
        if match.group(1) == "labels":
            shipment = fake.shipments.get(match.group(2))
            data = shipment and shipment.get("label")
        else:
            form = fake.scan_forms.get(match.group(2))
            data = form and label_pdf(f"SCANFORM {len(form['tracking_codes'])}", "SCAN FORM",
                                      {}, {}, 1.0)
        if not data:
            return self._error(404, "NOT_FOUND", "No such document")
        self._answer(200, data, content_type="application/pdf")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


def main(argv=None) -> int:
    """Run it by hand (the demo): python -m server.carriers.fake_aggregator --port 8099;
    then set a warehouse's carrier account to api_base http://127.0.0.1:8099/v2."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--api-key", default="EZTK_fake_key")
    parser.add_argument("--webhook-secret", default="whsec_fake")
    args = parser.parse_args(argv)
    fake = FakeAggregator(api_key=args.api_key, webhook_secret=args.webhook_secret,
                          host=args.host, port=args.port).start()
    print(f"fake aggregator at {fake.url} (api key {args.api_key})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
