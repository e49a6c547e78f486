"""Tracking events (issue #11, item 2): the aggregator's tracker updates, from its
signed webhook (api.py) or from polling (poll_trackers), become each shipment's
timeline (ShipmentEvent, append-only) and move the shipment and its order.

Rules:
- A tracker is matched to a shipment by provider + tracking code (the shipment's
  number or one of its parcels'). A carrier may reuse a number later (recycled):
  of the candidates, the one whose ship_date is the most recent and not after the
  event gets it; an event dated before every candidate's life_start belongs
  to an earlier life of the number and is not attached anywhere. (Today
  shipments.tracking_number and parcels.tracking_number are unique, item 1, so
  there is at most one candidate; the guard is what applies.) "Not after the
  event" is with a day of slack, and counts from the label's purchase when that
  is before the ship date (life_start).
- Each tracking_details entry is appended once: it is a duplicate when its
  provider event id (the entry's `id`, else a digest of status, time and message;
  EasyPost's details carry no id) or its (status, occurred_at, message) is on the
  timeline already. Entries with a status Haicang has no word for (unknown, error)
  are not recorded.
- The shipment's status is that of the LATEST event by occurred_at: an older event
  arriving late joins the timeline and never moves the status back. A 'labelled'
  (pre_transit) event never moves a shipment that has left.
- delivery_date follows the carrier's est_delivery_date when it gives one.
- The order moves when the shipment's status changes: delivered -> the order
  'delivered' once every live shipment of it is delivered (transition, when the
  state machine allows it); returned -> the order 'exception' ("returned to
  sender", a person must act: reship or refund); in_transit, out_for_delivery,
  failed_attempt -> a history line on the order (its state machine has no such
  states). No channel adapter has a "delivered" call today (push_tracking sends
  only carrier and number at ship time), so no channel is told of delivery.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..events import emit_after_commit, room_for_seller, room_for_warehouse
from ..i18n import N_, message
from ..jobs import job
from ..models_base import utcnow
from .models import Parcel, Shipment, ShipmentEvent

log = logging.getLogger(__name__)

# EasyPost's tracker statuses -> Haicang's shipment statuses.
STATUS_MAP = {
    "pre_transit": "labelled",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "failed_attempt",  # held at a counter for the customer
    "delivered": "delivered",
    "failure": "failed_attempt",
    "return_to_sender": "returned",
    "cancelled": "cancelled",
}
DONE = ("delivered", "returned", "cancelled")
# A shipment's statuses that mean it has left the building.
LEFT_THE_DOCK = frozenset({"in_transit", "out_for_delivery", "delivered", "failed_attempt",
                           "returned"})
# Said on the order's history when a shipment reaches these.
ORDER_NOTES = {"in_transit": N_("in transit"), "out_for_delivery": N_("out for delivery"),
               "failed_attempt": N_("delivery attempt failed"), "delivered": N_("delivered"),
               "returned": N_("returned to sender"),
               "cancelled": N_("cancelled by the carrier")}


class BadTrackerPayload(ValueError):
    """The payload is not a tracker Haicang can read."""


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_date(value) -> date | None:
    moment = _parse_time(value)
    return moment.date() if moment else None


def _event_id(detail: dict, status: str, occurred_at: datetime, message: str) -> str:
    if detail.get("id"):
        return str(detail["id"])[:128]
    key = f"{status}|{occurred_at.isoformat()}|{message}".encode()
    return "d_" + hashlib.sha256(key).hexdigest()[:40]


def find_shipment(session: Session, provider: str, tracking_code: str,
                  at: datetime | None, warehouse_id: int | None = None) -> Shipment | None:
    """The shipment a tracking code belongs to at time `at` (see the module's rule
    for a recycled number)."""
    by_parcel = select(Parcel.shipment_id).where(Parcel.tracking_number == tracking_code)
    candidates = session.scalars(
        select(Shipment).where(Shipment.provider == provider,
                               or_(Shipment.tracking_number == tracking_code,
                                   Shipment.id.in_(by_parcel)),
                               *([Shipment.warehouse_id == warehouse_id]
                                 if warehouse_id is not None else []))
        .order_by(Shipment.ship_date.desc(), Shipment.id.desc())).all()
    for shipment in candidates:
        if at is None or life_start(shipment) <= at:
            return shipment
    return None


def life_start(shipment: Shipment) -> datetime:
    """The earliest carrier time that can belong to this shipment: its ship date or
    the moment its label was bought, whichever is first, less a day of slack for
    carriers' clocks and time zones (a label bought after Friday's cut-off ships
    Monday but may be scanned Friday night). A reused number's earlier life is
    months older."""
    start = datetime(shipment.ship_date.year, shipment.ship_date.month,
                     shipment.ship_date.day, tzinfo=UTC)
    if shipment.created_at is not None:
        start = min(start, shipment.created_at)
    return start - timedelta(days=1)


def _details(payload: dict, source: str) -> list[dict]:
    from ..i18n import is_message
    out = []
    for detail in payload.get("tracking_details") or []:
        if not isinstance(detail, dict):
            continue
        status = STATUS_MAP.get(str(detail.get("status") or ""))
        occurred_at = _parse_time(detail.get("datetime"))
        if status is None or occurred_at is None:
            continue
        where = detail.get("tracking_location") or {}
        where = where if isinstance(where, dict) else {}
        location = ", ".join(str(p) for p in (where.get("city"), where.get("state")) if p)
        message = str(detail.get("message") or "")[:2000]
        out.append({"status": status, "occurred_at": occurred_at, "message": message,
                    "carrier_status": str(detail.get("status_detail") or
                                          detail.get("status") or "")[:64],
                    "location": location[:200],
                    "provider_event_id": _event_id(detail, status, occurred_at, message)})
        # Only our own driver app's words are kept as messages to translate; what a
        # carrier says is shown as it said it.
        stored = detail.get("message_i18n")
        out[-1]["message_i18n"] = stored if source == "driver" and is_message(stored) \
            else None
    return out


def record_tracker_update(session: Session, provider: str, tracker_payload: dict,
                          source: str, *, warehouse_id: int | None = None) -> dict:
    """Append the tracker's new details to its shipment's timeline and move the
    shipment and its order (the module's rules). Works in the caller's
    transaction; never commits. `warehouse_id`: only that warehouse's shipments
    (a webhook signed with that warehouse's secret). Returns {shipment_id, added, status} (shipment_id
    None when no shipment has the number)."""
    if not isinstance(tracker_payload, dict) or \
            not isinstance(tracker_payload.get("tracking_code"), str) or \
            not tracker_payload["tracking_code"]:
        raise BadTrackerPayload("a tracker needs a tracking_code")
    if not isinstance(tracker_payload.get("tracking_details") or [], list):
        raise BadTrackerPayload("tracking_details must be a list")
    details = _details(tracker_payload, source)
    newest = max((d["occurred_at"] for d in details), default=None)
    shipment = find_shipment(session, provider, tracker_payload["tracking_code"], newest,
                             warehouse_id)
    if shipment is None:
        return {"shipment_id": None, "added": 0, "status": None}
    start = life_start(shipment)
    details = [d for d in details if d["occurred_at"] >= start]
    est = _parse_date(tracker_payload.get("est_delivery_date"))

    seen = session.execute(select(ShipmentEvent.provider_event_id, ShipmentEvent.status,
                                  ShipmentEvent.occurred_at, ShipmentEvent.message)
                           .where(ShipmentEvent.shipment_id == shipment.id)).all()
    ids = {row[0] for row in seen}
    keys = {(row[1], row[2], row[3]) for row in seen}
    added = 0
    for detail in sorted(details, key=lambda d: d["occurred_at"]):
        key = (detail["status"], detail["occurred_at"], detail["message"])
        if detail["provider_event_id"] in ids or key in keys:
            continue
        ids.add(detail["provider_event_id"])
        keys.add(key)
        savepoint = session.begin_nested()
        try:
            session.add(ShipmentEvent(shipment_id=shipment.id, seller_id=shipment.seller_id,
                                      warehouse_id=shipment.warehouse_id, source=source,
                                      received_at=utcnow(), est_delivery_date=est, **detail))
            session.flush()
            savepoint.commit()
            added += 1
        except IntegrityError:  # the same delivery, stored meanwhile by another worker
            savepoint.rollback()

    if est is not None:
        shipment.delivery_date = est
    latest = session.scalars(select(ShipmentEvent)
                             .where(ShipmentEvent.shipment_id == shipment.id)
                             .order_by(ShipmentEvent.occurred_at.desc(),
                                       ShipmentEvent.id.desc()).limit(1)).first()
    previous = shipment.status
    if latest is not None and latest.status != previous and \
            not (latest.status == "labelled" and previous != "labelled"):
        shipment.status = latest.status
        _move_order(session, shipment, latest)
    if added or shipment.status != previous:
        emit_after_commit(session, "shipment.updated",
                          {"shipment_id": shipment.id, "order_id": shipment.order_id,
                           "status": shipment.status, "tracking_number":
                           shipment.tracking_number},
                          [room_for_seller(shipment.seller_id),
                           room_for_warehouse(shipment.warehouse_id)])
    return {"shipment_id": shipment.id, "added": added, "status": shipment.status}


def _move_order(session: Session, shipment: Shipment, event: ShipmentEvent) -> None:
    from ..orders.models import Order
    from ..orders.services import TRANSITIONS, record, transition
    if shipment.order_id is None:
        return
    order = session.get(Order, shipment.order_id)
    if order is None:
        return
    # The order's history line, read in the reader's language (server/i18n.py); the
    # carrier's place and words are quoted as the carrier wrote them.
    what = message(ORDER_NOTES[event.status]) if event.status in ORDER_NOTES else event.status
    note = message("%(number)s: %(what)s", number=shipment.tracking_number, what=what)
    if event.location:
        note = message("%(note)s (%(place)s)", note=note, place=event.location[:500])
    if event.message_i18n:
        note = message("%(note)s - %(detail)s", note=note, detail=event.message_i18n)
    elif event.message:
        note = message("%(note)s - %(detail)s", note=note, detail=event.message[:1400])
    data = {"shipment_id": shipment.id, "status": event.status,
            "occurred_at": event.occurred_at.isoformat()}
    if order.status == "packed" and event.status in LEFT_THE_DOCK:
        # The carrier (or our own van) has it: a parcel scanned on its way left the
        # dock even if nobody pressed "shipped" (a booking, a van loaded at dawn).
        transition(session, order, "shipped", message("handed to the carrier"), data=data)
    if event.status == "delivered":
        live = [s for s in order.shipments if s.status != "cancelled"]
        if all(s.status == "delivered" for s in live) and \
                "delivered" in TRANSITIONS.get(order.status, set()):
            transition(session, order, "delivered", note, data=data)
            return
    elif event.status == "returned" and "exception" in TRANSITIONS.get(order.status, set()):
        transition(session, order, "exception", note, data=data)
        return
    record(session, order, "tracking", note, data=data)


# -- polling --------------------------------------------------------------------------

def trackers_due(session: Session, now: datetime | None = None) -> list[int]:
    """Aggregator shipments still moving (not delivered, returned or cancelled) with
    no event received for TRACKER_POLL_SECONDS (none at all: since labelled)."""
    from flask import current_app
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config.get("TRACKER_POLL_SECONDS", 3600))
    last = (select(ShipmentEvent.shipment_id, func.max(ShipmentEvent.received_at)
                   .label("at")).group_by(ShipmentEvent.shipment_id).subquery())
    rows = session.execute(
        select(Shipment.id, Shipment.created_at, last.c.at)
        .outerjoin(last, last.c.shipment_id == Shipment.id)
        .where(Shipment.provider == "easypost", Shipment.tracking_number.is_not(None),
               Shipment.status.not_in(DONE))
        .order_by(Shipment.id)).all()
    return [sid for sid, created, at in rows if (at or created) <= cutoff]


@job(timeout=600, retries=3)
def poll_trackers(now: str | None = None) -> list[dict]:
    """Ask the aggregator (tracker.create: it answers the existing tracker for a
    number it knows) for every shipment due (trackers_due), and record what it
    says. One shipment's failure is logged and the others go on."""
    import easypost.errors as ep

    from ..extensions import db
    from . import gateway
    moment = _parse_time(now) if now else None
    done = []
    for shipment_id in trackers_due(db.session, moment):
        shipment = db.session.get(Shipment, shipment_id)
        account = gateway.account_for(db.session, shipment.warehouse_id)
        if account is None or not account.api_key:
            continue
        client = gateway._easypost(account).client
        try:
            tracker = client.tracker.create(tracking_code=shipment.tracking_number,
                                            carrier=shipment.service.carrier.code)
            result = record_tracker_update(db.session, "easypost", tracker.to_dict(), "poll")
            db.session.commit()
        except (ep.EasyPostError, BadTrackerPayload) as error:
            db.session.rollback()
            log.warning("tracker poll of shipment %s failed: %s", shipment_id,
                        getattr(error, "message", error))
            continue
        done.append(result)
    return done
