"""Proof of delivery and failed attempts (issue #12, items 2 and 4).

- The driver's app sends `delivery.confirm` and `delivery.fail` as sync mutations
  (sync/registry.py): only the driver the stop's route is given to (and admins) may
  send them. Each attempt at a stop has one outcome: the stop row is locked, and a
  second report of the same attempt (another device, a retry) is answered `applied`
  with the first one's result, unchanged. A fail after a confirm is rejected.
- Photos and signatures travel apart, addressed by their sha256 (`store_file`): the
  server checks the hash, the size and the type (by magic bytes), and keeps them
  under instance/proofs. A proof is complete when its mutation and every file it
  names have arrived (`missing`).
- Events reach the order through the carriers' tracking service
  (carriers/tracking.record_tracker_update), as a tracker update from the driver:
  dispatched -> out for delivery, confirm -> delivered, fail -> failed attempt. The
  shipment's status moves, the order follows, notifications fire from there.
- A failed attempt waits for the dispatcher (`decide`): reschedule (the stop goes
  back to be planned on another day, as attempt n+1) or return. There is no return-
  to-stock service for a parcel coming back, so a return records the shipment as
  returned to sender: the order goes to `exception` with the reason, for a person
  to restock and reship or refund.
"""
from __future__ import annotations

import hashlib
import os
import re
from datetime import date as date_type
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, TooLarge, english
from ..i18n import N_, message
from ..models_base import utcnow
from .models import DECISIONS, FAIL_REASONS, DeliveryAttempt, ProofFile, Route, RouteStop

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_PHOTOS = 4
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
REASON_WORDS = {"no_one_home": N_("no one home"), "refused": N_("refused"),
                "wrong_address": N_("wrong address"), "damaged": N_("damaged")}


# -- files --------------------------------------------------------------------------------

def sniff(body: bytes) -> str | None:
    """The image type by its first bytes: JPEG, PNG or WebP, else None."""
    for magic, kind in MAGIC:
        if body.startswith(magic):
            return kind
    if len(body) >= 12 and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return None


class Storage:
    """Files by content hash in a directory (instance/proofs/ab/abcdef...)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, body: bytes) -> None:
        path = self.path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_bytes(body)
        os.replace(temp, path)  # whole or not at all

    def get(self, sha256: str) -> bytes | None:
        path = self.path(sha256)
        return path.read_bytes() if path.exists() else None


def storage() -> Storage:
    root = current_app.config.get("PROOF_STORAGE_DIR") or \
        os.path.join(current_app.instance_path, "proofs")
    return Storage(Path(root))


def check_hash(sha256: str, field: str = "sha256") -> str:
    if not isinstance(sha256, str) or not SHA256.match(sha256):
        raise InvalidInput(field, message("must be a sha256: 64 lowercase hex digits"))
    return sha256


def store_file(session: Session, user, sha256: str, body: bytes) -> ProofFile:
    """Keep an uploaded photo or signature. Refuses (naming the field) a body whose
    hash is not `sha256`, one over MAX_FILE_BYTES, or one that is not a JPEG, PNG or
    WebP image; then nothing is stored. Uploading the same file again is a no-op."""
    check_hash(sha256)
    if len(body) > MAX_FILE_BYTES:
        raise TooLarge("body", message("at most %(n)s bytes", n=MAX_FILE_BYTES),
                       limit=MAX_FILE_BYTES)
    if not body:
        raise InvalidInput("body", message("is empty: send the image"))
    kind = sniff(body)
    if kind is None:
        raise InvalidInput("content_type", message("must be a JPEG, PNG or WebP image"))
    if hashlib.sha256(body).hexdigest() != sha256:
        raise InvalidInput("sha256", message("does not match the file sent"))
    row = session.get(ProofFile, sha256)
    if row is None:
        storage().put(sha256, body)
        row = ProofFile(sha256=sha256, content_type=kind, size=len(body),
                        uploaded_by=user.id, created_at=utcnow())
        session.add(row)
        session.flush()
    return row


def missing(session: Session, attempt: DeliveryAttempt | None) -> list[str]:
    """The hashes the attempt names whose files have not arrived."""
    wanted = attempt.hashes() if attempt is not None else []
    if not wanted:
        return []
    have = set(session.scalars(select(ProofFile.sha256).where(ProofFile.sha256.in_(wanted))))
    return [h for h in wanted if h not in have]


def current_attempt(session: Session, stop: RouteStop) -> DeliveryAttempt | None:
    return session.scalar(select(DeliveryAttempt).where(
        DeliveryAttempt.stop_id == stop.id, DeliveryAttempt.attempt == stop.attempt))


def stop_proof(session: Session, stop: RouteStop) -> dict:
    """What the stop's API shows of its proof: the outcome, and what is missing."""
    attempt = current_attempt(session, stop)
    gone = missing(session, attempt)
    out = {"stop_id": stop.id, "status": stop.status, "attempt": stop.attempt,
           "outcome": None, "complete": False, "missing": gone}
    if attempt is not None:
        out.update(attempt.result, outcome=attempt.outcome, decision=attempt.decision,
                   complete=not gone, missing=gone)
    if attempt is None or attempt.outcome == "delivered":
        out["missing_parts"] = (["mutation"] if attempt is None else []) + \
            (["files"] if gone else [])
    return out


# -- events to the order (through carriers/tracking.py) ------------------------------------

def _track(session: Session, stop: RouteStop, status: str, at: datetime, what: dict,
           key: str) -> None:
    """A tracker update for the stop's shipment, as a carrier's would be; `what` a
    stored message (the customer reads it in their language)."""
    from ..carriers.models import Shipment
    from ..carriers.tracking import record_tracker_update
    shipment = session.get(Shipment, stop.shipment_id) if stop.shipment_id else None
    if shipment is None or not shipment.tracking_number:
        return
    address = stop.address or {}
    payload = {"tracking_code": shipment.tracking_number, "tracking_details": [{
        "id": f"hc-{key}", "status": status, "datetime": at.isoformat(),
        "message": english(what), "message_i18n": what,
        "tracking_location": {"city": address.get("city"), "state": address.get("state")}}]}
    record_tracker_update(session, shipment.provider, payload, "driver",
                          warehouse_id=stop.warehouse_id)


def route_dispatched(session: Session, route: Route, at: datetime | None = None) -> None:
    """The van left: every stop still to serve is out for delivery."""
    at = at or utcnow()
    for stop in route.stops:
        if stop.status == "planned":
            _track(session, stop, "out_for_delivery", at, message("Out for delivery"),
                   f"stop-{stop.id}-{stop.attempt}-out")


# -- the mutations' rules ------------------------------------------------------------------

def _text(args, key, limit, required=False) -> str:
    value = args.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(key, message("must be text"))
    value = value.strip()
    if required and not value:
        raise InvalidInput(key, message("is required"))
    if len(value) > limit:
        raise InvalidInput(key, message("at most %(n)s characters", n=limit))
    return value


def _number(args, key, low, high):
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or \
            not low <= value <= high:
        raise InvalidInput(key, message("must be a number from %(low)s to %(high)s",
                                        low=low, high=high))
    return float(value)


def _hashes(args, key, required=False) -> list[str]:
    value = args.get(key)
    if value is None or value == []:
        if required:
            raise InvalidInput(key, message("is required"))
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_PHOTOS:
        raise InvalidInput(key, message("must be a list of at most %(n)s sha256 hashes",
                                        n=MAX_PHOTOS))
    return [check_hash(v, key) for v in value]


def locked_stop(session: Session, stop_id) -> RouteStop:
    if not isinstance(stop_id, int) or isinstance(stop_id, bool):
        raise InvalidInput("stop_id", message("must be a stop's id"))
    stop = session.scalars(select(RouteStop).where(RouteStop.id == stop_id)
                           .with_for_update().execution_options(populate_existing=True)
                           ).first()
    if stop is None:
        raise InvalidInput("stop_id", message("no such stop"))
    return stop


def _position(args) -> dict:
    return {"latitude": _number(args, "lat", -90, 90),
            "longitude": _number(args, "lng", -180, 180),
            "accuracy_m": _number(args, "accuracy", 0, 100_000)}


def report(session: Session, user, stop_id, outcome: str, args: dict, at: datetime,
           device_id: str = "") -> tuple[str, dict]:
    """Record a confirm or a fail of the stop's current attempt, once. Returns
    ("applied", result); a repeat of the same outcome gets the first result."""
    stop = locked_stop(session, stop_id)
    route = session.get(Route, stop.route_id) if stop.route_id else None
    if user.role == "driver" and (route is None or route.driver_id != user.id):
        from sync.registry import Forbidden
        raise Forbidden("stop_id", message("is not on a route given to you"))
    earlier = current_attempt(session, stop)
    if earlier is not None:
        if earlier.outcome == outcome:
            return "applied", dict(earlier.result)  # the first report's data, unchanged
        if earlier.outcome == "delivered":
            raise Conflict(message("Stop %(id)s was delivered already; a failed attempt "
                                   "cannot follow", id=stop.id),
                           fields={"stop_id": [message("delivered already")]})
        raise Conflict(message("Stop %(id)s was reported failed; the dispatcher decides "
                               "what comes next", id=stop.id),
                       fields={"stop_id": [message("failed attempt reported")]})
    if route is None or route.status not in ("planned", "dispatched"):
        raise Conflict(message("Stop %(id)s is not on a route out today", id=stop.id),
                       fields={"stop_id": [message("not on a route out")]})
    row = DeliveryAttempt(warehouse_id=stop.warehouse_id, stop_id=stop.id,
                          attempt=stop.attempt, route_id=stop.route_id,
                          shipment_id=stop.shipment_id, order_id=stop.order_id,
                          driver_id=user.id, device_id=device_id[:64], outcome=outcome,
                          occurred_at=at, **_position(args))
    if outcome == "delivered":
        row.recipient_name = _text(args, "recipient_name", 120, required=True)
        row.photo_hashes = _hashes(args, "photo_hashes")
        row.signature_hash = _hashes(args, "signature_hash")[0] \
            if args.get("signature_hash") else None
        if not row.photo_hashes and not row.signature_hash:
            raise InvalidInput("photo_hashes", message("a photo or a signature is required"))
        what = message("Delivered, signed by %(name)s", name=first_name(row.recipient_name))
        status = "delivered"
    else:
        reason = args.get("reason")
        if reason not in FAIL_REASONS:
            raise InvalidInput("reason", message("must be one of %(choices)s",
                                                 choices=", ".join(FAIL_REASONS)))
        row.reason = reason
        row.photo_hashes = _hashes(args, "photo_hash")
        row.note = _text(args, "note", 1000)
        what = message("Delivery attempt failed: %(reason)s",
                       reason=message(REASON_WORDS[reason]))
        status = "failure"
    row.result = {"stop_id": stop.id, "attempt": stop.attempt, "outcome": outcome,
                  "warehouse_id": stop.warehouse_id, "order_id": stop.order_id,
                  "shipment_id": stop.shipment_id, "at": at.isoformat(),
                  "driver_id": user.id, "recipient_name": row.recipient_name,
                  "photo_hashes": row.photo_hashes, "signature_hash": row.signature_hash,
                  "reason": row.reason, "note": row.note, "latitude": row.latitude,
                  "longitude": row.longitude, "accuracy_m": row.accuracy_m}
    session.add(row)
    stop.status = outcome
    session.flush()
    _track(session, stop, status, at, what, f"stop-{stop.id}-{stop.attempt}-{outcome}")
    if route.status == "dispatched" and all(s.status in ("delivered", "failed", "skipped")
                                            for s in route.stops):
        route.status = "done"
    session.flush()
    return "applied", dict(row.result)


def first_name(name: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else ""


# -- the dispatcher's decision after a failed attempt ---------------------------------------

def decide(session: Session, stop: RouteStop, decision: str, day: date_type | None = None,
           user_id: int | None = None) -> dict:
    """Reschedule a failed stop to `day` (it waits, unassigned, for that day's plan)
    or return it (the shipment comes back: the order goes to exception with the
    reason, for a person to restock and reship or refund)."""
    if decision not in DECISIONS:
        raise InvalidInput("decision", message("must be one of %(choices)s",
                                               choices=", ".join(DECISIONS)))
    stop = locked_stop(session, stop.id)
    attempt = current_attempt(session, stop)
    if attempt is None or attempt.outcome != "failed" or stop.status != "failed":
        raise Conflict(message("Stop %(id)s has no failed attempt to decide on", id=stop.id),
                       fields={"stop_id": [message("no failed attempt")]})
    attempt.decision, attempt.decided_at = decision, utcnow()
    if decision == "reschedule":
        if day is None or day <= stop.date:
            raise InvalidInput("date", message("must be a day after %(day)s",
                                               day=stop.date.isoformat()))
        old = stop.route
        stop.route_id, stop.route, stop.sequence = None, None, 0
        stop.status, stop.date, stop.attempt = "unassigned", day, stop.attempt + 1
        stop.planned_arrival = None
        stop.drop_reason = message("Rescheduled after a failed attempt")
        session.flush()
        if old is not None:
            session.refresh(old)
            from .services import retime
            retime(session, old)
        return {"stop_id": stop.id, "decision": decision, "date": day.isoformat(),
                "attempt": stop.attempt}
    stop.status = "skipped"
    _track(session, stop, "return_to_sender", utcnow(), message("Returned to the warehouse"),
           f"stop-{stop.id}-{stop.attempt}-return")
    held = False
    if stop.order_id is not None:
        from ..orders.models import Order
        order = session.get(Order, stop.order_id)
        if order is not None:
            order.hold_because(message(
                "Delivery failed (%(reason)s): the parcel is back at the warehouse; "
                "restock it and reship or refund", reason=message(REASON_WORDS[attempt.reason])))
            held = True
    session.flush()
    return {"stop_id": stop.id, "decision": decision, "order_on_hold": held,
            "note": message("No return-to-stock service exists for a parcel coming back: "
                            "the order waits in exception for a person")}
