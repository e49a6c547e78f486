"""What the public tracking page shows, read in two statements, and the lookup.

`load(session, token)` is the whole page: the order's row with its shipments, their
service and carrier (one statement, LEFT JOINs, only the columns the page shows:
never the street, the phone, the name, prices or the channel's payload), then the
timeline of those shipments (one statement). It returns plain data (`TrackingView`);
the template turns it into words.

`find_token(session, number, zip)` answers the lookup form: an order number (the
channel's, as the customer saw it) or a tracking number (the shipment's or one of
its parcels'), with the ZIP of the delivery address. A wrong ZIP and an unknown
number are the same None: the caller answers both alike, so the form tells nobody
whether a number exists.

Stages and headline: the page's progress bar has five stages (ordered, shipped, in
transit, out for delivery, delivered). An order with several live shipments reads
as its least advanced one, and "partly delivered" once some but not all are.

The expected delivery date: the shipment's `delivery_date`. When a tracking event
carried the carrier's est_delivery_date (carriers/tracking.py copies it onto the
shipment) it is the carrier's estimate ("Estimated by the carrier"); otherwise it
is what the label's rate said, or, when the shipment holds no date, the rate card's
transit days for its zone counted from the ship date ("Expected").

Proof of delivery: the delivered event itself (when and where, and the carrier's
words), and for the own vans the driver's proof (issue #12): who signed and the
photo or signature, served only through the order's own token (`proof_file`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from ..carriers.models import Carrier, CarrierService, Parcel, Shipment, ShipmentEvent
from ..carriers.rating import add_business_days
from ..i18n import N_, render
from ..models_base import utcnow
from ..orders.models import Order

STAGES = ("ordered", "shipped", "in_transit", "out_for_delivery", "delivered")

# The page's words for each state, in English; the template translates the ones it
# shows (marked here with N_ so extraction finds them).
STAGE_NAMES = (N_("Ordered"), N_("Shipped"), N_("In transit"), N_("Out for delivery"),
               N_("Delivered"))
HEADLINES = {
    "received": N_("Order received"),
    "preparing": N_("Preparing to ship"),
    "shipped": N_("Shipped"),
    "in_transit": N_("In transit"),
    "out_for_delivery": N_("Out for delivery"),
    "failed_attempt": N_("Delivery attempted"),
    "delivered": N_("Delivered"),
    "partly_delivered": N_("Partly delivered"),
    "returned": N_("Returned to sender"),
    "cancelled": N_("Cancelled"),
    "marketplace": N_("Shipped by the marketplace"),
}
EXPLANATIONS = {
    "received": N_("We have your order and are getting it ready."),
    "preparing": N_("Your order is being packed at our warehouse."),
    "shipped": N_("Your parcel has been handed to the carrier."),
    "in_transit": N_("Your parcel is on its way."),
    "out_for_delivery": N_("Your parcel is on the delivery vehicle and should arrive today."),
    "failed_attempt": N_("The carrier tried to deliver your parcel. The latest update below "
                         "says what happens next."),
    "delivered": N_("Your parcel was delivered."),
    "partly_delivered": N_("Part of your order was delivered; the rest is on its way."),
    "returned": N_("Your parcel is going back to the sender. Please contact the shop you "
                   "ordered from."),
    "cancelled": N_("This order was cancelled."),
    "marketplace": N_("The marketplace you ordered from shipped this order: track it there."),
}
# A shipment's (and a timeline event's) status in words.
STATUSES = {
    "labelled": N_("Label created"),
    "shipped": N_("Shipped"),
    "in_transit": N_("In transit"),
    "out_for_delivery": N_("Out for delivery"),
    "delivered": N_("Delivered"),
    "failed_attempt": N_("Delivery attempted"),
    "returned": N_("Returned to sender"),
    "cancelled": N_("Cancelled"),
}
# A shipment's status -> the stage of the bar it has reached.
STAGE_OF = {"labelled": 0, "shipped": 1, "in_transit": 2, "out_for_delivery": 3,
            "failed_attempt": 3, "delivered": 4, "returned": 2}
# How far along each headline is (the least advanced live shipment wins).
_RANK = {"labelled": 0, "shipped": 1, "in_transit": 2, "returned": 2, "failed_attempt": 3,
         "out_for_delivery": 3, "delivered": 4}
# Orders without a shipment on its way yet.
_PREPARING = ("released", "picked", "packed")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ZIP5 = re.compile(r"^\d{5}$")


@dataclass
class Event:
    status: str
    occurred_at: datetime
    location: str
    message: str
    translated: bool = False  # our own driver's words, in the reader's language


@dataclass
class ShipmentView:
    id: int
    status: str
    tracking_number: str | None
    carrier_name: str
    service_name: str
    carrier_url: str | None
    ship_date: date | None
    eta: date | None
    eta_source: str | None  # "carrier" (a tracking event's estimate) | "expected" | None
    events: list[Event] = field(default_factory=list)  # newest first
    proof: dict | None = None

    @property
    def carrier_label(self) -> str:
        """"UPS Ground"; "LTL freight partner · Large item freight"."""
        if not self.carrier_name or self.service_name.startswith(self.carrier_name):
            return self.service_name or self.carrier_name
        return f"{self.carrier_name} · {self.service_name}" if self.service_name \
            else self.carrier_name


@dataclass
class TrackingView:
    order_id: int
    number: str
    channel: str
    order_status: str
    placed_at: datetime
    destination: str  # "City, ST 12345": what the customer already knows
    timezone: str
    headline: str
    stage: int | None  # index into STAGES; None: no bar (cancelled, marketplace)
    problem: bool  # a failed attempt or a return: the bar shows it
    eta: date | None
    eta_source: str | None
    late: bool  # the expected date passed without delivery
    delivered_at: datetime | None
    latest: Event | None  # the newest event of any package: "where is it" at a glance
    shipments: list[ShipmentView] = field(default_factory=list)


# -- the page ---------------------------------------------------------------------------

_ORDER_COLUMNS = (Order.id, Order.external_id, Order.channel, Order.status, Order.placed_at,
                  Order.ship_to_city, Order.ship_to_state, Order.ship_to_zip)
_SHIPMENT_COLUMNS = (Shipment.id.label("shipment_id"), Shipment.status.label("shipment_status"),
                     Shipment.tracking_number, Shipment.ship_date, Shipment.delivery_date,
                     Shipment.zone, Shipment.provider,
                     CarrierService.name.label("service_name"),
                     CarrierService.transit_days_by_zone, Carrier.name.label("carrier_name"),
                     Carrier.tracking_url)


# Built once: the order by its token, one row per live shipment (or one row
# without any), joined to the service and carrier; then the shipments' timelines.
# Run on the session's connection as Core statements (no ORM objects to build).
PAGE_STATEMENT = (
    select(*_ORDER_COLUMNS, *_SHIPMENT_COLUMNS)
    .select_from(Order)
    .outerjoin(Shipment, (Shipment.order_id == Order.id) & (Shipment.status != "cancelled"))
    .outerjoin(CarrierService, CarrierService.id == Shipment.service_id)
    .outerjoin(Carrier, Carrier.id == CarrierService.carrier_id)
    .where(Order.tracking_token == bindparam("token"))
    .order_by(Shipment.id))
EVENTS_STATEMENT = (
    select(ShipmentEvent.shipment_id, ShipmentEvent.status, ShipmentEvent.occurred_at,
           ShipmentEvent.location, ShipmentEvent.message, ShipmentEvent.message_i18n,
           ShipmentEvent.est_delivery_date)
    .where(ShipmentEvent.shipment_id.in_(bindparam("ids", expanding=True)))
    .order_by(ShipmentEvent.occurred_at.desc(), ShipmentEvent.id.desc()))


def carrier_link(template: str | None, tracking_number: str | None) -> str | None:
    """The carrier's own tracking page for the number (https only), or None."""
    if not template or not tracking_number or not template.startswith("https://") \
            or "{tracking}" not in template:
        return None
    from urllib.parse import quote
    return template.replace("{tracking}", quote(tracking_number, safe=""))


def rate_card_eta(ship_date: date | None, transit_days_by_zone, zone) -> date | None:
    """The ship date plus the service's transit days for the zone (business days)."""
    if ship_date is None or not isinstance(transit_days_by_zone, dict):
        return None
    days = transit_days_by_zone.get(str(zone), transit_days_by_zone.get(zone))
    if not isinstance(days, int):
        return None
    return add_business_days(ship_date, days)


def proof_of_delivery(events: list[Event], driver: dict | None = None,
                      token: str = "") -> dict | None:
    """What proves delivery: the delivered event (its time, place and words) and,
    for the warehouse's own vans, the driver's proof: who signed (the first name
    only: nothing the customer does not know) and the photo, or else the signature,
    served through the page's own token (`proof_file`)."""
    delivered = next((e for e in events if e.status == "delivered"), None)
    if delivered is None:
        return None
    out = {"at": delivered.occurred_at, "location": delivered.location,
           "message": delivered.message, "message_translated": delivered.translated,
           "photo_url": None, "signed_by": None}
    if driver:
        out["signed_by"] = (driver["recipient_name"] or "").split(" ")[0] or None
        picture = driver["picture"]
        if picture:
            out["photo_url"] = f"{tracking_path(token)}/photo/{picture}"
    return out


def _driver_proofs(session: Session, shipment_ids: list[int]) -> dict[int, dict]:
    """The own vans' delivered attempts of these shipments: recipient and the first
    picture (photo, else signature) whose file has arrived."""
    from ..delivery.models import DeliveryAttempt, ProofFile
    rows = session.execute(select(DeliveryAttempt.shipment_id, DeliveryAttempt.recipient_name,
                                  DeliveryAttempt.photo_hashes, DeliveryAttempt.signature_hash)
                           .where(DeliveryAttempt.shipment_id.in_(shipment_ids),
                                  DeliveryAttempt.outcome == "delivered")).all()
    wanted = {h for r in rows for h in [*(r.photo_hashes or []), r.signature_hash] if h}
    have = set(session.scalars(select(ProofFile.sha256).where(
        ProofFile.sha256.in_(wanted)))) if wanted else set()
    return {r.shipment_id: {"recipient_name": r.recipient_name, "picture": next(
        (h for h in [*(r.photo_hashes or []), r.signature_hash] if h in have), None)}
        for r in rows}


def proof_file(session: Session, token: str, sha256: str) -> tuple[bytes, str] | None:
    """A proof picture for the page of `token`: only one that the order's own
    delivered attempts name (bytes, content type); None otherwise."""
    from ..delivery import proof
    from ..delivery.models import DeliveryAttempt, ProofFile
    if not isinstance(token, str) or not TOKEN_RE.match(token) or \
            not proof.SHA256.match(sha256 or ""):
        return None
    attempts = session.execute(
        select(DeliveryAttempt.photo_hashes, DeliveryAttempt.signature_hash)
        .join(Order, Order.id == DeliveryAttempt.order_id)
        .where(Order.tracking_token == token, DeliveryAttempt.outcome == "delivered")).all()
    if not any(sha256 in [*(a.photo_hashes or []), a.signature_hash] for a in attempts):
        return None
    row = session.get(ProofFile, sha256)
    body = proof.storage().get(sha256) if row is not None else None
    return (body, row.content_type) if body is not None else None


def _timezone(zip_code: str) -> str:
    from ..geo import _point
    point = _point((zip_code or "")[:5]) if ZIP5.match((zip_code or "")[:5]) else None
    name = point.timezone if point and point.timezone else "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def _headline(order_status: str, shipments: list[ShipmentView]) -> tuple[str, int | None, bool]:
    """(headline key, stage, problem) of the whole order."""
    if order_status == "cancelled":
        return "cancelled", None, False
    if order_status == "fulfilled_by_channel":
        return "marketplace", None, False
    moving = [s for s in shipments if s.status in _RANK]
    if not moving:
        if order_status == "delivered":
            return "delivered", 4, False
        if order_status == "shipped":
            return "shipped", 1, False
        return ("preparing" if order_status in _PREPARING else "received"), 0, False
    least = min(moving, key=lambda s: _RANK[s.status])
    if least.status != "delivered" and any(s.status == "delivered" for s in moving):
        return "partly_delivered", STAGE_OF[least.status], least.status in (
            "failed_attempt", "returned")
    status = least.status
    if status == "labelled":
        # A label is bought: shipped once the order left the dock, else packing.
        return ("shipped", 1, False) if order_status in ("shipped", "delivered") else \
            ("preparing", 0, False)
    return status, STAGE_OF[status], status in ("failed_attempt", "returned")


def load(session: Session, token: str, today: date | None = None) -> TrackingView | None:
    """The tracking page's data for a token; None when no order has it."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None  # not even the shape of a token: no query
    connection = session.connection()
    rows = connection.execute(PAGE_STATEMENT, {"token": token}).all()
    if not rows:
        return None
    first = rows[0]
    shipments: dict[int, ShipmentView] = {}
    for row in rows:
        if row.shipment_id is None:
            continue
        shipments[row.shipment_id] = ShipmentView(
            id=row.shipment_id, status=row.shipment_status,
            tracking_number=row.tracking_number, carrier_name=row.carrier_name or "",
            service_name=row.service_name or "",
            # Only a number the carrier issued (bought through the aggregator) is
            # known at the carrier's site; the built-in rate cards' are Haicang's own.
            carrier_url=carrier_link(row.tracking_url, row.tracking_number)
            if row.provider == "easypost" else None,
            ship_date=row.ship_date,
            eta=row.delivery_date or rate_card_eta(row.ship_date, row.transit_days_by_zone,
                                                   row.zone),
            eta_source="expected")
    carrier_estimated: set[int] = set()
    if shipments:
        for ev in connection.execute(EVENTS_STATEMENT, {"ids": list(shipments)}):
            view = shipments[ev.shipment_id]
            view.events.append(Event(ev.status, ev.occurred_at, ev.location or "",
                                     render(ev.message_i18n) if ev.message_i18n
                                     else ev.message or "", bool(ev.message_i18n)))
            if ev.est_delivery_date is not None:
                carrier_estimated.add(ev.shipment_id)
    delivered = [i for i, v in shipments.items() if v.status == "delivered"]
    drivers = _driver_proofs(session, delivered) if delivered else {}
    for view in shipments.values():
        if view.id in carrier_estimated:
            view.eta_source = "carrier"
        if view.eta is None:
            view.eta_source = None
        view.proof = proof_of_delivery(view.events, drivers.get(view.id), token) \
            if view.status == "delivered" else None

    tz = _timezone(first.ship_to_zip)
    today = today or utcnow().astimezone(ZoneInfo(tz)).date()
    listed = list(shipments.values())
    headline, stage, problem = _headline(first.status, listed)
    waiting = [s for s in listed if s.status not in ("delivered", "returned") and s.eta]
    latest = max(waiting, key=lambda s: s.eta, default=None)
    delivered_at = None
    if listed and all(s.status == "delivered" for s in listed):
        delivered_at = max((s.proof["at"] for s in listed if s.proof), default=None)
    place = ", ".join(p for p in (first.ship_to_city, first.ship_to_state) if p)
    destination = " ".join(p for p in (place, (first.ship_to_zip or "")[:5]) if p)
    return TrackingView(
        order_id=first.id, number=first.external_id, channel=first.channel,
        order_status=first.status, placed_at=first.placed_at, destination=destination,
        timezone=tz, headline=headline, stage=stage, problem=problem,
        eta=latest.eta if latest and headline not in ("cancelled", "marketplace") else None,
        eta_source=latest.eta_source if latest else None,
        late=bool(latest and latest.eta < today and headline != "delivered"),
        delivered_at=delivered_at,
        latest=max((s.events[0] for s in listed if s.events), key=lambda e: e.occurred_at,
                   default=None),
        shipments=listed)


# -- the lookup ---------------------------------------------------------------------------

def zip5(value: str | None) -> str | None:
    """The 5-digit ZIP someone typed ("90001", "90001-1234", " 90001 "), else None."""
    digits = re.sub(r"[\s-]", "", value or "")
    return digits[:5] if re.fullmatch(r"\d{5}(\d{4})?", digits) else None


def _number_variants(number: str) -> list[str]:
    """An order number as typed and without a leading '#' (Shopify shows "#1001")."""
    text = " ".join((number or "").split())
    variants = [text]
    if text.startswith("#"):
        variants.append(text[1:].strip())
    return [v for v in dict.fromkeys(variants) if v][:2]


def _tracking_variant(number: str) -> str:
    """A tracking number as carriers print it spaced ("1Z 999 AA1 01 2345 6784")."""
    return re.sub(r"[\s-]", "", number or "").upper()


def find_token(session: Session, number: str, zip_code: str) -> str | None:
    """The tracking token of the order that `number` (its order number or a tracking
    number of it) names and that ships to `zip_code`; None otherwise, the same
    None whether the number is unknown or the ZIP is wrong. Two orders with the same
    number and ZIP (two shops' #1001 to one town): the most recent."""
    wanted = zip5(zip_code)
    variants = _number_variants(number)
    if wanted is None or not variants or len(variants[0]) > 64:
        return None
    rows = session.execute(
        select(Order.tracking_token, Order.ship_to_zip, Order.placed_at)
        .where(Order.external_id.in_(variants)).order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(50)).all()
    tracking = _tracking_variant(number)
    if 0 < len(tracking) <= 40:
        by_parcel = select(Parcel.shipment_id).where(Parcel.tracking_number == tracking)
        rows += session.execute(
            select(Order.tracking_token, Order.ship_to_zip, Order.placed_at)
            .join(Shipment, Shipment.order_id == Order.id)
            .where(or_(Shipment.tracking_number == tracking, Shipment.id.in_(by_parcel)))
            .limit(10)).all()
    for token, ship_to_zip, _placed in sorted(rows, key=lambda r: r.placed_at, reverse=True):
        if token and zip5(ship_to_zip) == wanted:
            return token
    return None


def tracking_path(token: str) -> str:
    """The page's path for an order's token (for e-mails and SMS: prefix the site)."""
    return f"/t/{token}"
