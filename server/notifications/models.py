"""What Haicang told (or will tell) a customer about a parcel, and who asked not to
be told (migration 0013).

A Notification is one message to one address about one shipment: written by the
same transaction as the status change that caused it (services.py), sent after
the commit by a job (jobs.py). `(shipment_id, kind, channel)` is unique, so a
trigger that fires twice (a tracker event delivered again, a status that comes
back) sends once. Its subject and bodies are rendered when it is decided, in the
recipient's language, so what an admin reads in the outbox is what is sent.

Statuses: queued (a job will send it), sent, failed (every try spent; last_error
says why), suppressed (the recipient or the order opted out), held (no transport
configured for the channel: the embedded default keeps it here for an admin).
"""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime, utcnow

# "reply": a person's templated reply from customer service (server/customer_service),
# about the order, with no shipment.
KINDS = ("shipped", "out_for_delivery", "delivered", "failed_attempt", "delayed", "reply")
CHANNELS = ("email", "sms")
STATUSES = ("queued", "sent", "failed", "suppressed", "held")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Notification(Timestamps, db.Model):
    __tablename__ = "notifications"
    __seller_scope__ = "seller_id"
    __table_args__ = (
        UniqueConstraint("shipment_id", "kind", "channel", name="uq_notifications_once"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_notifications_seller", "seller_id", "id"),
        Index("ix_notifications_status", "status", "id"),
        Index("ix_notifications_order", "order_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id",
                                                               ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(8))
    # An e-mail address, or a phone number in E.164 (+12135550101).
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # plain text (the SMS itself)
    body_html: Mapped[str | None] = mapped_column(Text)  # e-mail only
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The provider's id of the message: the e-mail's Message-ID, the SMS's sid.
    provider_message_id: Mapped[str | None] = mapped_column(String(200))


class NotificationOptOut(db.Model):
    """A customer's "stop telling me": for an address on a channel (every order's
    notices to it), or for one order (every channel). `key` makes each one exist
    once: "address:email:ann@example.com", "address:sms:+12135550101", "order:42"."""
    __tablename__ = "notification_opt_outs"
    __table_args__ = (
        CheckConstraint("scope IN ('address', 'order')", name="scope"),
        CheckConstraint("source IN ('link', 'api', 'provider')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(254))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # How it was asked: the link in a message, a person through the API, the SMS
    # provider (the customer replied STOP).
    source: Mapped[str] = mapped_column(String(8), default="link")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
