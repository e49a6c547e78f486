"""Carriers, their services with limits, surcharges and rate tables; shipments and
their parcels.

Units as in the rest of the app: lengths in millimetres, weights in grams, money in
cents (USD). Carriers think in inches and pounds; rating.py converts, and compares
every length threshold as whole inches (a threshold stored as 1219 mm is 48 in).

A service's prices are one JSON table, not rows: a rate card is replaced whole (the
yearly general rate increase), read whole for every quote, and small (8 zones x 150
weight breaks):

- pricing "table": `rate_table` = {"1": [c1, c2, ...], ..., "8": [...]}, where the
  n-th price (from 1) is the base price in cents for a billable weight of n lb
  (billable weight rounded up to a whole pound). Beyond the last break the price
  grows by the last break's increment per lb.
- pricing "per_lb": `per_lb_cents_by_zone` = {"1": cents per lb, ...} (freight),
  times the billable pounds.

Either way `minimum_charge_cents` is the least a shipment costs before fuel.
"""
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime, utcnow

SHIPMENT_STATUSES = ("labelled", "shipped", "in_transit", "out_for_delivery", "delivered",
                     "failed_attempt", "returned", "cancelled")


class Carrier(Timestamps, db.Model):
    """A carrier (UPS, USPS, FedEx, a freight partner). Reference data, the same for
    every seller and warehouse: any logged-in user may read it."""
    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    tracking_url: Mapped[str] = mapped_column(
        String(300), default="", doc="public tracking page, {tracking} for the number")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    services: Mapped[list["CarrierService"]] = relationship(
        back_populates="carrier", order_by="CarrierService.id")


class CarrierService(Timestamps, db.Model):
    """One service level of a carrier (UPS Ground, USPS Ground Advantage ...): what it
    can carry, how long it takes per zone, its cut-off, and what it costs."""
    __tablename__ = "carrier_services"
    __table_args__ = (
        CheckConstraint("pricing IN ('table', 'per_lb')", name="pricing"),
        CheckConstraint("dim_divisor IS NULL OR dim_divisor > 0", name="dim_divisor"),
        CheckConstraint("fuel_surcharge_pct >= 0", name="fuel"),
        CheckConstraint("minimum_charge_cents >= 0 AND large_surcharge_cents >= 0 "
                        "AND handling_surcharge_cents >= 0", name="money"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. UPS_GROUND
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"1": days, ..., "8": days}: business days in transit after pickup, per zone.
    transit_days_by_zone: Mapped[dict] = mapped_column(JSON)
    # Parcels handed over by this local time (the origin warehouse's time zone)
    # leave the same business day; later ones the next.
    cutoff_local_time: Mapped[str] = mapped_column(String(5), default="17:00")

    # Dimensional weight = L x W x H (whole inches) / dim_divisor, in lb; NULL: the
    # service bills actual weight only. Applied only to parcels larger than
    # dim_min_cubic_in (USPS: 1728, one cubic foot; UPS and FedEx: 0, always).
    dim_divisor: Mapped[int | None] = mapped_column(Integer)
    dim_min_cubic_in: Mapped[int] = mapped_column(Integer, default=0)

    # What the service accepts at all (NULL: no limit). Length is the longest side;
    # length + girth is L + 2W + 2H.
    max_weight_g: Mapped[int | None] = mapped_column(Integer)
    max_length_mm: Mapped[int | None] = mapped_column(Integer)
    max_length_girth_mm: Mapped[int | None] = mapped_column(Integer)

    # Large item ("Large Package" at UPS, "Oversize" at FedEx): length + girth over
    # large_length_girth_mm or length over large_length_mm. Adds large_surcharge_cents
    # and bills at least large_min_billable_g.
    large_length_mm: Mapped[int | None] = mapped_column(Integer)
    large_length_girth_mm: Mapped[int | None] = mapped_column(Integer)
    large_surcharge_cents: Mapped[int] = mapped_column(Integer, default=0)
    large_min_billable_g: Mapped[int | None] = mapped_column(Integer)

    # Additional handling / nonstandard: longest side over handling_length_mm, second
    # longest over handling_width_mm, or actual weight over handling_weight_g. Not
    # charged on top of the large-item surcharge.
    handling_length_mm: Mapped[int | None] = mapped_column(Integer)
    handling_width_mm: Mapped[int | None] = mapped_column(Integer)
    handling_weight_g: Mapped[int | None] = mapped_column(Integer)
    handling_surcharge_cents: Mapped[int] = mapped_column(Integer, default=0)

    # Percent of the base price plus surcharges (it moves weekly with diesel prices).
    fuel_surcharge_pct: Mapped[float] = mapped_column(Float, default=0.0)

    pricing: Mapped[str] = mapped_column(String(8), default="table")
    rate_table: Mapped[dict | None] = mapped_column(JSON)
    per_lb_cents_by_zone: Mapped[dict | None] = mapped_column(JSON)
    minimum_charge_cents: Mapped[int] = mapped_column(Integer, default=0)

    carrier: Mapped[Carrier] = relationship(back_populates="services")


class Shipment(Timestamps, db.Model):
    """What leaves a warehouse for one address with one service: one or more parcels,
    a tracking number, what it cost, and the label.

    `order_id` will reference the orders table (another domain); for now it is a
    plain integer. The tracking number is the first parcel's.
    """
    __tablename__ = "shipments"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("status IN ('labelled', 'shipped', 'in_transit', 'out_for_delivery', "
                        "'delivered', 'failed_attempt', 'returned', 'cancelled')",
                        name="status"),
        CheckConstraint("cost_cents >= 0", name="cost"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("carrier_services.id"))
    tracking_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="labelled")
    reference: Mapped[str] = mapped_column(String(128), default="")  # the order's number
    zone: Mapped[int] = mapped_column(Integer)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    ship_date: Mapped[date] = mapped_column(Date)
    delivery_date: Mapped[date | None] = mapped_column(Date)  # the estimate when labelled
    # The address as it was labelled: {name, company, address1, address2, city, state,
    # zip, phone}.
    ship_to: Mapped[dict] = mapped_column(JSON)
    # The 4x6 PDF, one page per parcel; deferred so lists of shipments do not load it.
    label_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # Who bought the label (gateway.py): 'builtin' or 'easypost'; NULL on rows older
    # than the gateway (built-in). The provider's own id of the shipment, to void it
    # or put it on a manifest.
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_shipment_id: Mapped[str | None] = mapped_column(String(64))

    service: Mapped[CarrierService] = relationship()
    # The timeline in the carrier's order (tracking.py appends; never rewritten).
    events: Mapped[list["ShipmentEvent"]] = relationship(
        viewonly=True, order_by=lambda: (ShipmentEvent.occurred_at, ShipmentEvent.id))
    parcels: Mapped[list["Parcel"]] = relationship(
        back_populates="shipment", order_by="Parcel.number", cascade="all, delete-orphan")


class Parcel(db.Model):
    """One box of a shipment, as weighed and measured, and what it was billed at."""
    __tablename__ = "parcels"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("shipment_id", "number"),
        CheckConstraint("weight_g > 0", name="weight"),
        CheckConstraint("length_mm >= 0 AND width_mm >= 0 AND height_mm >= 0", name="dims"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"),
                                             index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1 .. n within the shipment
    tracking_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    weight_g: Mapped[int] = mapped_column(Integer)
    length_mm: Mapped[int] = mapped_column(Integer, default=0)
    width_mm: Mapped[int] = mapped_column(Integer, default=0)
    height_mm: Mapped[int] = mapped_column(Integer, default=0)
    billable_weight_g: Mapped[int] = mapped_column(Integer)
    cost_cents: Mapped[int] = mapped_column(Integer)

    shipment: Mapped[Shipment] = relationship(back_populates="parcels")


class CarrierAccount(Timestamps, db.Model):
    """A warehouse's account at a label aggregator (gateway.py). Write-only: the API
    sets and clears it and says whether a key is set, never what it is. One per
    warehouse; without one the warehouse labels with the built-in provider."""
    __tablename__ = "carrier_accounts"
    __table_args__ = (
        CheckConstraint("provider IN ('easypost')", name="provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), unique=True)
    provider: Mapped[str] = mapped_column(String(16), default="easypost")
    api_key: Mapped[str] = mapped_column(String(200))
    # Another endpoint than the provider's own (the fake aggregator, a sandbox).
    api_base: Mapped[str | None] = mapped_column(String(300))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))


class ShipmentEvent(db.Model):
    """One line of a shipment's timeline, as the carrier reported it (tracking.py):
    append-only like order_events (the database refuses UPDATE and DELETE,
    migration 0011). `provider_event_id` dedups a delivery seen twice (a webhook
    retried, a poll after a webhook): unique per shipment."""
    __tablename__ = "shipment_events"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("shipment_id", "provider_event_id"),
        CheckConstraint("status IN ('labelled', 'shipped', 'in_transit', 'out_for_delivery', "
                        "'delivered', 'failed_attempt', 'returned', 'cancelled')",
                        name="status"),
        CheckConstraint("source IN ('webhook', 'poll', 'driver')", name="source"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"),
                                             index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(16))
    carrier_status: Mapped[str] = mapped_column(String(64), default="")  # raw, as sent
    message: Mapped[str] = mapped_column(Text, default="")
    # Our own drivers' events only (source 'driver'): the same words as a stored
    # message (server/i18n.py), read in the reader's language; a carrier's stay its own.
    message_i18n: Mapped[dict | None] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(String(200), default="")  # "City, ST"
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the carrier's time
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(8))
    provider_event_id: Mapped[str] = mapped_column(String(128))
    est_delivery_date: Mapped[date | None] = mapped_column(Date)

    shipment: Mapped[Shipment] = relationship()
