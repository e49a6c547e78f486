"""Floor tasks. For now: exception tasks a supervisor resolves (short picks, counts
that disagree, sync conflicts, damage); pick, putaway and count tasks follow."""
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime

TASK_KINDS = ("exception",)
TASK_STATUSES = ("open", "claimed", "done", "cancelled")


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
    title: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict | None] = mapped_column(JSON)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    bin_id: Mapped[int | None] = mapped_column(ForeignKey("bins.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
