"""Warehouses and bins, stock per SKU x bin, reservations and the stock ledger."""
import re
from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Float, ForeignKey,
                        Index, Integer, String, Text, UniqueConstraint, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime, utcnow


class Warehouse(Timestamps, db.Model):
    __tablename__ = "warehouses"
    __warehouse_scope__ = "id"
    __seller_reads__ = True  # a seller sees where its stock can be

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address1: Mapped[str] = mapped_column(String(200), default="")
    address2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip: Mapped[str] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2), default="US")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


_DIGITS = re.compile(r"(\d+)")


def bin_sort_key(code: str) -> str:
    """The walking-order key of a bin code: numbers compare as numbers, so A-2-10
    comes after A-2-9 and before A-10-1, however the codes were padded."""
    return "".join(part.zfill(6) if part.isdigit() else part.upper()
                   for part in _DIGITS.split(code))


class Bin(Timestamps, db.Model):
    """A storage location. Bins sort in walking order by `sort_key`, derived from the
    code (zone-aisle-bay-level), so a pick list sorted by it is the picker's path."""
    __tablename__ = "bins"
    __warehouse_scope__ = "warehouse_id"
    __seller_reads__ = True  # bin codes, so a seller can read its stock lines
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        Index("ix_bins_walk", "warehouse_id", "sort_key"),
        CheckConstraint("kind IN ('storage', 'receiving', 'staging', 'shipping', 'damaged')",
                        name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    code: Mapped[str] = mapped_column(String(32))
    sort_key: Mapped[str] = mapped_column(String(96))
    kind: Mapped[str] = mapped_column(String(16), default="storage")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    warehouse: Mapped[Warehouse] = relationship()

    @validates("code")
    def _derive_sort_key(self, _key, code):
        self.sort_key = bin_sort_key(code)
        return code

    @property
    def sellable(self) -> bool:
        return self.kind in SELLABLE_BIN_KINDS


# Invariant 7, the one place it is declared: units may be promised to an order,
# allocated, or offered to a channel only from a storage bin (a shelf a picker can
# pick from). The other kinds hold units that are on hand but not ready to sell:
# - receiving: the dock; goods not yet checked and put away. Reserving them would
#   strand the putaway ("9 to move from RECV-01, 0 there").
# - staging: goods in transit between the dock and a shelf, or picked goods
#   waiting to be packed; neither is where a pick list can send a picker.
# - shipping: packed parcels at the outbound door; their units are already sold.
# - damaged: not fit to sell until someone inspects them and moves them back.
# Putaway (a move into a storage bin) is what makes units sellable.
SELLABLE_BIN_KINDS = ("storage",)


class Stock(db.Model):
    """How many units of a SKU lie in a bin, and how many of them are promised.

    A projection of the ledger: never written except by inventory.services.
    """
    __tablename__ = "stock"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        UniqueConstraint("sku_id", "bin_id"),
        Index("ix_stock_sku_warehouse", "sku_id", "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        # Invariant 1, held by the database itself as the last line of defence.
        CheckConstraint("reserved <= on_hand", name="no_oversell"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                 onupdate=utcnow)

    # Loaded on demand (the API lists use selectinload): the locking queries of
    # inventory.services must select stock rows alone.
    sku = relationship("Sku")
    bin: Mapped[Bin] = relationship()

    @property
    def unpromised(self) -> int:
        """Units nobody holds: what may be moved, counted or adjusted away."""
        return self.on_hand - self.reserved

    @property
    def sellable(self) -> bool:
        return self.bin.sellable

    @property
    def available(self) -> int:
        """Units that may still be promised to an order or offered to a channel: the
        unpromised units of a sellable bin. Units in the dock or a damaged bin are
        on hand, but none of them is available."""
        return self.unpromised if self.sellable else 0


def in_sellable_bin():
    """SELLABLE_BIN_KINDS as a condition on Stock rows, for every query that locks,
    sums or offers what may be sold (reserve, allocation, the channel push)."""
    return Stock.bin_id.in_(select(Bin.id).where(Bin.kind.in_(SELLABLE_BIN_KINDS)))


# pick: reserved units taken off the shelf for their order; they leave stock.
MOVEMENT_KINDS = ("receive", "move_out", "move_in", "adjust", "reserve", "release", "rebase",
                  "pick")


class StockMovement(db.Model):
    """One immutable line of the stock ledger: who changed what, why, and when.

    Append-only: the database refuses UPDATE and DELETE on this table (triggers in
    the migration), and so does the ORM (see inventory.services).
    """
    __tablename__ = "stock_movements"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        Index("ix_stock_movements_stock", "stock_id", "id"),
        Index("ix_stock_movements_sku", "sku_id", "id"),
        CheckConstraint("kind IN ('receive', 'move_out', 'move_in', 'adjust', 'reserve', "
                        "'release', 'rebase', 'pick')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    kind: Mapped[str] = mapped_column(String(16))
    delta_on_hand: Mapped[int] = mapped_column(Integer, default=0)
    delta_reserved: Mapped[int] = mapped_column(Integer, default=0)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reserved_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(String(128), default="", index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it happened on the floor: a scan made offline at 10:02 and synced at 10:40
    # happened at 10:02 (the device's clock, corrected). Counts are facts as of a
    # moment, so they compare against this, not against created_at.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(db.Model):
    """Units of one stock row promised to a reference (an order line, a transfer).

    `quantity` is what is still held; releasing lowers it, and it never rises. The
    sum of open reservations of a stock row equals its `reserved`.
    """
    __tablename__ = "reservations"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_reservations_reference", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stock.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"))
    reference: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@db.event.listens_for(StockMovement, "before_update")
@db.event.listens_for(StockMovement, "before_delete")
def _ledger_is_append_only(_mapper, _connection, movement):
    raise RuntimeError(f"stock ledger row {movement.id} is immutable: add a new movement")
