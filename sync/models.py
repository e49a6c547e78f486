"""The sync engine's tables: devices, the mutations they sent (with the result
each one got, kept forever), and the change log that pulls read."""
from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models_base import UTCDateTime, utcnow


class SyncDevice(db.Model):
    """One installation of the PWA (a uuid it keeps in IndexedDB), bound to the user
    who first pushed from it. `last_mutation_id` is the highest mutation id applied:
    mutation ids are 1, 2, 3... per device, with no gaps."""
    __tablename__ = "sync_devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    last_mutation_id: Mapped[int] = mapped_column(Integer, default=0)
    # Server clock minus device clock, measured at the last push (milliseconds).
    clock_offset_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncMutation(db.Model):
    """A mutation as the device sent it and the result it got: applied, conflict
    (applied in the nearest sensible way, with an exception raised) or rejected
    (invalid; `detail` names the field). Nothing a device sends is lost."""
    __tablename__ = "sync_mutations"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("device_id", "mutation_id"),
        Index("ix_sync_mutations_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("sync_devices.id"))
    mutation_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # device clock, corrected
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict | None] = mapped_column(JSON)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncChange(db.Model):
    """One row of the change log: entity `entity` #`entity_id` changed (or was
    deleted). Pulls read it after their cursor. On PostgreSQL `tx` is the writing
    transaction's id, so a pull can also catch rows of transactions that were still
    open at the last pull (ids are handed out before commit, not in commit order)."""
    __tablename__ = "sync_changes"
    __table_args__ = (
        Index("ix_sync_changes_tx", "tx"),
        Index("ix_sync_changes_warehouse", "warehouse_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    warehouse_id: Mapped[int | None] = mapped_column(Integer)
    seller_id: Mapped[int | None] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    tx: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
