"""Orders, their lines, where each line is allocated, and the order's history."""
import secrets
from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index,
                        Integer, String, Text, UniqueConstraint, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import N_, message
from ..models_base import Timestamps, UTCDateTime, utcnow

# received -> allocated | backordered -> released -> picked -> packed -> shipped
# -> delivered; cancelled and exception branch off. `held` waits for a person (an
# unmapped SKU); `fulfilled_by_channel` is recorded (Amazon AFN) and never allocated.
STATUSES = ("held", "received", "backordered", "allocated", "released", "picked", "packed",
            "shipped", "delivered", "cancelled", "exception", "fulfilled_by_channel")
CHANNELS = ("manual", "amazon", "ebay", "shopify", "temu")
# Each status as a person reads it, in text the server writes (history, errors).
STATUS_WORDS = {"held": N_("held"), "received": N_("received"),
                "backordered": N_("backordered"), "allocated": N_("allocated"),
                "released": N_("released"), "picked": N_("picked"), "packed": N_("packed"),
                "shipped": N_("shipped"), "delivered": N_("delivered"),
                "cancelled": N_("cancelled"), "exception": N_("exception"),
                "fulfilled_by_channel": N_("fulfilled by the channel")}


def status_word(status: str):
    """An order status as a message to render (an unknown one as it is)."""
    return message(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def new_tracking_token() -> str:
    """The secret of an order's public tracking link (/t/<token>): 192 random bits."""
    return secrets.token_urlsafe(24)


class Order(Timestamps, db.Model):
    __tablename__ = "orders"
    __seller_scope__ = "seller_id"
    __table_args__ = (
        # Invariant 3: an external order exists once, however often it is delivered.
        UniqueConstraint("channel", "account_key", "external_id"),
        CheckConstraint("status IN ('held', 'received', 'backordered', 'allocated', "
                        "'released', 'picked', 'packed', 'shipped', 'delivered', "
                        "'cancelled', 'exception', 'fulfilled_by_channel')", name="status"),
        Index("ix_orders_seller_status", "seller_id", "status", "id"),
        Index("ix_orders_queue", "status", "ship_by", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    channel: Mapped[str] = mapped_column(String(16), default="manual")
    # Which account of the channel (a shop, a marketplace id); "" for manual orders.
    account_key: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default="received")
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ship_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promised_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    ship_to_name: Mapped[str] = mapped_column(String(200), default="")
    ship_to_address1: Mapped[str] = mapped_column(String(200), default="")
    ship_to_address2: Mapped[str] = mapped_column(String(200), default="")
    ship_to_city: Mapped[str] = mapped_column(String(100), default="")
    ship_to_state: Mapped[str] = mapped_column(String(2), default="")
    ship_to_zip: Mapped[str] = mapped_column(String(10))
    ship_to_country: Mapped[str] = mapped_column(String(2), default="US")
    ship_to_phone: Mapped[str] = mapped_column(String(32), default="")
    # The customer's contact and language, as the channel gave them (server/notifications
    # sends the shipping notices with them; migration 0013). Locale: a BCP 47 tag or
    # Babel name (zh-CN, es, zh_Hant); "" when the channel says nothing.
    ship_to_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    customer_locale: Mapped[str] = mapped_column(String(16), default="", server_default="")
    fulfilled_by_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last allocation decision: candidates, their cost and transit, the winner
    # and why (see allocation.services). Shown by the API and the order screen.
    allocation_reason: Mapped[dict | None] = mapped_column(JSON)
    raw_payload: Mapped[dict | None] = mapped_column(JSON)
    # Channel orders: the platform's own status and last-updated time (updates that
    # are older than what we hold are ignored), and why a held order waits.
    channel_status: Mapped[str] = mapped_column(String(32), default="", server_default="")
    channel_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_reason: Mapped[str | None] = mapped_column(Text)  # in English: search, logs
    # The same reason as stored messages (server/i18n.py), rendered in the reader's
    # language; rows held before migration 0019 have only the English text.
    hold_message: Mapped[dict | list | None] = mapped_column(JSON)

    def hold_because(self, reason) -> None:
        """Keep why the order waits for a person: `reason` a stored message, a list
        of them, or None to clear it."""
        from ..errors import english
        self.hold_message = reason or None
        self.hold_reason = english(reason) if reason else None
    # The public tracking page's link (server/tracking_page). Set by this default on
    # every ORM and Core insert (orders/store.py), and by the database for any other
    # insert (migration 0012), so every order has one.
    tracking_token: Mapped[str | None] = mapped_column(
        String(64), default=new_tracking_token, index=True, unique=True)

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id")
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id")
    allocations: Mapped[list["OrderAllocation"]] = relationship(
        cascade="all, delete-orphan", order_by="OrderAllocation.id")
    shipments = relationship("Shipment", primaryjoin="foreign(Shipment.order_id) == Order.id",
                             viewonly=True, order_by="Shipment.id")

    @property
    def total_cents(self) -> int:
        return sum(line.unit_price_cents * line.open_quantity for line in self.lines)


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __seller_scope__ = "seller_id"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_cancelled >= 0 AND quantity_cancelled <= quantity",
                        name="cancelled_in_range"),
        CheckConstraint("unit_price_cents >= 0", name="price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    # NULL while a channel SKU has no mapping (the order is held until it has one).
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"), index=True)
    external_line_id: Mapped[str] = mapped_column(String(64), default="")
    channel_sku: Mapped[str] = mapped_column(String(128), default="", server_default="")
    title: Mapped[str] = mapped_column(String(300), default="", server_default="")
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_cancelled: Mapped[int] = mapped_column(Integer, default=0)
    unit_price_cents: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    sku = relationship("Sku")

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.quantity_cancelled


class OrderAllocation(db.Model):
    """Units of an order line that one warehouse will ship, with the stock they
    hold reserved under `reference` (see inventory.services.reserve)."""
    __tablename__ = "order_allocations"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("order_line_id", "warehouse_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("quantity_picked >= 0 AND quantity_picked <= quantity",
                        name="picked_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id",
                                                          ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_picked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reference: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    warehouse = relationship("Warehouse")


class OrderEvent(db.Model):
    """One line of an order's history: a state change, an allocation, a note."""
    __tablename__ = "order_events"
    __seller_scope__ = "seller_id"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    # The line in English, and (migration 0014) its stored message, rendered in the
    # reader's language when the history is read (server/i18n.py); rows from before
    # have only the English.
    message: Mapped[str] = mapped_column(Text, default="")
    message_i18n: Mapped[dict | None] = mapped_column(JSON)
    data: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")

    @property
    def text(self) -> str:
        """The line in the reader's language (its English when it has no message)."""
        from ..i18n import render
        return render(self.message_i18n) if self.message_i18n else self.message


def _shipping_from(order_id_column):
    """Floor staff read an order (its lines, its history) only when some of it
    ships from one of their warehouses."""
    def condition(warehouse_ids):
        return order_id_column.in_(select(OrderAllocation.order_id).where(
            OrderAllocation.warehouse_id.in_(warehouse_ids)))
    return condition


Order.__warehouse_scope__ = staticmethod(_shipping_from(Order.id))
OrderLine.__warehouse_scope__ = staticmethod(_shipping_from(OrderLine.order_id))
OrderEvent.__warehouse_scope__ = staticmethod(_shipping_from(OrderEvent.order_id))

