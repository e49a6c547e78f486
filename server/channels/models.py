"""Channel accounts, channel SKU mappings, dead letters, webhook receipts, and the
state of each channel SKU's stock push."""
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime, utcnow

CHANNEL_KINDS = ("amazon", "ebay", "shopify", "temu")


class ChannelAccount(Timestamps, db.Model):
    """One seller's shop on one platform. `credentials` (tokens, secrets) is write
    only: no schema ever returns it."""
    __tablename__ = "channel_accounts"
    __seller_scope__ = "seller_id"
    __table_args__ = (
        UniqueConstraint("channel", "account_key"),
        CheckConstraint("channel IN ('amazon', 'ebay', 'shopify', 'temu')", name="channel"),
        CheckConstraint("buffer >= 0", name="buffer"),
        CheckConstraint("cap IS NULL OR cap >= 0", name="cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    # Shop domain (Shopify), marketplace id (Amazon), seller / user id (eBay), mall id
    # (Temu): what Order.account_key holds for this account's orders.
    account_key: Mapped[str] = mapped_column(String(64))
    credentials: Mapped[dict] = mapped_column(JSON, default=dict)
    # The platform's API root; tests and the demo point it at the fake marketplace.
    base_url: Mapped[str] = mapped_column(String(300), default="")
    # Poll cursor: orders updated after this time (and any pagination token), kept in
    # the database so a restart resumes where the last complete poll ended.
    last_updated_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cursor_token: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Units kept back from this channel, and the most it is ever offered.
    buffer: Mapped[int] = mapped_column(Integer, default=0)
    cap: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    mappings: Mapped[list["ChannelSkuMapping"]] = relationship(
        back_populates="account", cascade="all, delete-orphan",
        order_by="ChannelSkuMapping.id")


class ChannelSkuMapping(db.Model):
    """One channel SKU is `quantity` units of a seller SKU; a bundle or multipack has
    one row per component (channel_sku -> [(sku_id, quantity)])."""
    __tablename__ = "channel_sku_mappings"
    __seller_scope__ = "seller_id"
    __table_args__ = (
        UniqueConstraint("account_id", "channel_sku", "sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id",
                                                       ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    channel_sku: Mapped[str] = mapped_column(String(128))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[ChannelAccount] = relationship(back_populates="mappings")
    sku = relationship("Sku")


class DeadLetter(db.Model):
    """A payload that could not be read, kept whole with the reason, until it is
    replayed: nothing a channel sends is lost."""
    __tablename__ = "channel_dead_letters"
    __seller_scope__ = "seller_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id",
                                                       ondelete="CASCADE"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    source: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict | None] = mapped_column(JSON)


class WebhookReceipt(db.Model):
    """A webhook delivery, kept (raw body included) before it is answered: the
    platform's delivery id deduplicates at-least-once deliveries."""
    __tablename__ = "channel_webhook_receipts"
    __table_args__ = (UniqueConstraint("account_id", "webhook_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id",
                                                       ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelStockPush(db.Model):
    """What a channel SKU was last told, and whether stock changed since: the push
    job coalesces every change of a debounce window into one call."""
    __tablename__ = "channel_stock_pushes"
    __seller_scope__ = "seller_id"
    __table_args__ = (UniqueConstraint("account_id", "channel_sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id",
                                                       ondelete="CASCADE"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    channel_sku: Mapped[str] = mapped_column(String(128))
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quantity: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
