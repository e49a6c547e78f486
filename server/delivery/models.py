"""The warehouse's own vans, a day's routes and their stops (issue #12, item 1).

Units as in the rest of the app: weights in grams on stops, lengths in millimetres;
a van's capacity is stated as people state it, in litres and kilograms. Times are
aware UTC datetimes; a route's `date` is the local day in the warehouse's time zone.

Everything here is scoped by warehouse (`__warehouse_scope__`): floor staff see only
their warehouses' rows, sellers none (a route mixes sellers). Drivers will read only
the routes given to them (`Route.driver_id`, items 2-4).

A RouteStop with no route is unassigned: the planner could not place it (the reason
is in `drop_reason`, a stored i18n message) or the dispatcher took it off a route.
The fields a driver's confirmation needs later are here already: `status`,
`sequence`, `planned_arrival`, the shipment and order, `needs_two`.
"""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime

ROUTE_STATUSES = ("draft", "planned", "dispatched", "done")
STOP_STATUSES = ("unassigned", "planned", "delivered", "failed", "skipped")


class Vehicle(Timestamps, db.Model):
    """A van of the warehouse's own fleet: what it carries, its crew, its shift
    (local times of the warehouse, "HH:MM")."""
    __tablename__ = "vehicles"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "name"),
        CheckConstraint("capacity_volume_l > 0 AND capacity_weight_kg > 0", name="capacity"),
        CheckConstraint("crew IN (1, 2)", name="crew"),
        CheckConstraint("shift_start < shift_end", name="shift"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(16), default="")
    capacity_volume_l: Mapped[int] = mapped_column(Integer)
    capacity_weight_kg: Mapped[int] = mapped_column(Integer)
    crew: Mapped[int] = mapped_column(Integer, default=1)
    shift_start: Mapped[str] = mapped_column(String(5), default="08:00")
    shift_end: Mapped[str] = mapped_column(String(5), default="18:00")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Route(Timestamps, db.Model):
    """One van's work on one day: its stops in order, planned distance and duration,
    and how the solver got there (`solver_stats`)."""
    __tablename__ = "routes"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'planned', 'dispatched', 'done')", name="status"),
        UniqueConstraint("vehicle_id", "date"),
        Index("ix_routes_day", "warehouse_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    date: Mapped[date] = mapped_column(Date)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_distance_m: Mapped[int] = mapped_column(Integer, default=0)
    planned_duration_s: Mapped[int] = mapped_column(Integer, default=0)
    solver_stats: Mapped[dict] = mapped_column(JSON, default=dict)

    vehicle: Mapped[Vehicle] = relationship()
    stops: Mapped[list["RouteStop"]] = relationship(
        back_populates="route", order_by="RouteStop.sequence")


class RouteStop(Timestamps, db.Model):
    """One delivery on a route (or unassigned, with `route_id` NULL): where, when it
    may be served and when the plan gets there, what is carried, whether it needs two
    people. `reference` is what its barcode on the manifest holds: the shipment's
    tracking number (the parcel's label carries the same code), else HC-STOP-<id>."""
    __tablename__ = "route_stops"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("status IN ('unassigned', 'planned', 'delivered', 'failed', "
                        "'skipped')", name="status"),
        CheckConstraint("volume_l >= 0 AND weight_g >= 0 AND service_minutes >= 0",
                        name="load"),
        Index("ix_route_stops_day", "warehouse_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    date: Mapped[date] = mapped_column(Date)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"),
                                                 index=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # 1.. on a route; 0 unassigned
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reference: Mapped[str] = mapped_column(String(64), default="")
    # {name, company, address1, address2, city, state, zip, phone} as labelled.
    address: Mapped[dict] = mapped_column(JSON, default=dict)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_minutes: Mapped[int] = mapped_column(Integer, default=5)
    volume_l: Mapped[float] = mapped_column(Float, default=0.0)
    weight_g: Mapped[int] = mapped_column(Integer, default=0)
    needs_two: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"sku", "name", "quantity"}] or, without an order, the parcels.
    items: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    planned_arrival: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    # Why the planner left it out: a stored message (server/i18n.py), rendered on read.
    drop_reason: Mapped[dict | None] = mapped_column(JSON)
    # 1 for the first visit; a failed attempt the dispatcher reschedules adds one
    # (proof.py): each attempt has at most one outcome (DeliveryAttempt).
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    route: Mapped[Route | None] = relationship(back_populates="stops")


OUTCOMES = ("delivered", "failed")
FAIL_REASONS = ("no_one_home", "refused", "wrong_address", "damaged")
DECISIONS = ("reschedule", "return")


class DeliveryAttempt(Timestamps, db.Model):
    """What the driver reported for one attempt at a stop (issue #12, item 2): a
    proof of delivery (recipient, photos, signature, position) or a failed attempt
    (reason, photo, note). Written once per (stop, attempt): a second device
    reporting the same attempt is answered with this row's `result`. `decision` is
    the dispatcher's answer to a failed attempt."""
    __tablename__ = "delivery_attempts"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("stop_id", "attempt"),
        CheckConstraint("outcome IN ('delivered', 'failed')", name="outcome"),
        CheckConstraint("reason IS NULL OR reason IN ('no_one_home', 'refused', "
                        "'wrong_address', 'damaged')", name="reason"),
        CheckConstraint("decision IS NULL OR decision IN ('reschedule', 'return')",
                        name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    stop_id: Mapped[int] = mapped_column(ForeignKey("route_stops.id", ondelete="CASCADE"),
                                         index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    route_id: Mapped[int | None] = mapped_column(Integer)
    shipment_id: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(Integer)
    driver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(12))
    recipient_name: Mapped[str] = mapped_column(String(120), default="")
    photo_hashes: Mapped[list] = mapped_column(JSON, default=list)
    signature_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The answer the first report got, given again to any later report of it.
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    decision: Mapped[str | None] = mapped_column(String(12))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def hashes(self) -> list[str]:
        return list(self.photo_hashes or []) + ([self.signature_hash]
                                                if self.signature_hash else [])


class ProofFile(db.Model):
    """A photo or signature, stored by its sha256 (proof.py's storage): uploaded
    apart from the mutation that names it, in either order."""
    __tablename__ = "proof_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
