"""The floor's work: inbound shipments to receive, pick waves (lines sorted in
walking order), and the exceptions a supervisor resolves (short picks, counts that
disagree, receiving differences, sync conflicts, damage)."""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime

TASK_KINDS = ("pick", "exception")
TASK_STATUSES = ("open", "claimed", "done", "cancelled")


def task_status_word(status: str):
    """A task's status as a message to render."""
    from ..i18n import N_, message
    words = {"open": N_("open"), "claimed": N_("claimed"), "done": N_("done"),
             "cancelled": N_("cancelled")}
    return message(words[status]) if status in words else status


class Task(Timestamps, db.Model):
    __tablename__ = "tasks"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'claimed', 'done', 'cancelled')", name="status"),
        Index("ix_tasks_warehouse_status", "warehouse_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    kind: Mapped[str] = mapped_column(String(16), default="exception")
    reason: Mapped[str] = mapped_column(String(32))  # short_pick, count_mismatch, ...
    status: Mapped[str] = mapped_column(String(16), default="open")
    # The title in English, and (migration 0014) its stored message, rendered in the
    # reader's language when served (server/i18n.py); older rows have only English.
    title: Mapped[str] = mapped_column(Text, default="")
    title_i18n: Mapped[dict | None] = mapped_column(JSON)
    data: Mapped[dict | None] = mapped_column(JSON)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list["TaskLine"]] = relationship(
        back_populates="task", cascade="all, delete-orphan",
        order_by="(TaskLine.sort_key, TaskLine.id)")

    def set_title(self, title) -> None:
        """The title, English text or a stored message (kept with its English)."""
        from ..errors import english
        from ..i18n import is_message
        self.title = english(title)
        self.title_i18n = title if is_message(title) else None

    @property
    def title_text(self) -> str:
        """The title in the reader's language."""
        return title_text(self.title, self.title_i18n)


def title_text(title: str, stored) -> str:
    from ..i18n import render
    return render(stored) if stored else (title or "")


class TaskLine(db.Model):
    """One stop of a pick list: take `quantity` of a SKU from a bin for an order
    line. A wave's lines sort by the bin's walking order, so the list is the path."""
    __tablename__ = "task_lines"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_done >= 0 AND quantity_short >= 0 AND "
                        "quantity_done + quantity_short <= quantity", name="progress"),
        Index("ix_task_lines_task", "task_id", "sort_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    allocation_id: Mapped[int] = mapped_column(ForeignKey("order_allocations.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    sort_key: Mapped[str] = mapped_column(String(96))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_done: Mapped[int] = mapped_column(Integer, default=0)
    quantity_short: Mapped[int] = mapped_column(Integer, default=0)

    task: Mapped[Task] = relationship(back_populates="lines")
    sku = relationship("Sku")
    bin = relationship("Bin")

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.quantity_done - self.quantity_short


class InboundShipment(Timestamps, db.Model):
    """A container or ASN a seller announced: what is expected to arrive, and what
    did (received, damaged). Closing it records every difference as an exception."""
    __tablename__ = "inbound_shipments"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("status IN ('expected', 'receiving', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="expected")
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list["InboundLine"]] = relationship(
        back_populates="inbound", cascade="all, delete-orphan", order_by="InboundLine.id")


class InboundLine(db.Model):
    __tablename__ = "inbound_lines"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("quantity_expected > 0", name="expected_positive"),
        CheckConstraint("quantity_received >= 0 AND quantity_damaged >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_shipments.id",
                                                       ondelete="CASCADE"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity_expected: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0)
    quantity_damaged: Mapped[int] = mapped_column(Integer, default=0)

    inbound: Mapped[InboundShipment] = relationship(back_populates="lines")
    sku = relationship("Sku")


def _about_sellers_goods(seller_id):
    """A seller reads the floor's exceptions about its own orders and SKUs, never a
    pick list (one list mixes many sellers' orders)."""
    from sqlalchemy import exists, or_

    from ..catalog.models import Sku
    from ..orders.models import Order
    # Correlated EXISTS, not IN (subquery): PostgreSQL plans an OR of two IN
    # subqueries as a filter run per task row (8.5 s at 1M orders); each EXISTS is
    # one primary-key probe.
    return or_(exists().where(Order.id == Task.order_id, Order.seller_id == seller_id),
               exists().where(Sku.id == Task.sku_id, Sku.seller_id == seller_id))


Task.__seller_scope__ = staticmethod(_about_sellers_goods)

