"""SKUs per seller. Dimensions in millimetres, weight in grams, money in cents."""
from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Integer, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import Timestamps


class Sku(Timestamps, db.Model):
    __tablename__ = "skus"
    __seller_scope__ = "seller_id"
    __floor_reads__ = True  # floor staff handle every seller's items
    __table_args__ = (
        UniqueConstraint("seller_id", "code"),
        CheckConstraint("length_mm >= 0 AND width_mm >= 0 AND height_mm >= 0", name="dims"),
        CheckConstraint("weight_g >= 0", name="weight"),
        CheckConstraint("cost_cents >= 0 AND price_cents >= 0", name="money"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    length_mm: Mapped[int] = mapped_column(Integer, default=0)
    width_mm: Mapped[int] = mapped_column(Integer, default=0)
    height_mm: Mapped[int] = mapped_column(Integer, default=0)
    weight_g: Mapped[int] = mapped_column(Integer, default=0)
    cost_cents: Mapped[int] = mapped_column(Integer, default=0)
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    barcode_rows: Mapped[list["SkuBarcode"]] = relationship(
        back_populates="sku", cascade="all, delete-orphan", order_by="SkuBarcode.id")

    components: Mapped[list["KitComponent"]] = relationship(
        foreign_keys="KitComponent.kit_sku_id", cascade="all, delete-orphan",
        order_by="KitComponent.id")

    @property
    def is_kit(self) -> bool:
        return bool(self.components)

    @property
    def barcodes(self) -> list[str]:
        return [b.barcode for b in self.barcode_rows]


class SkuBarcode(db.Model):
    """A barcode that scans to a SKU. Unique per seller: two sellers may stock the
    same UPC, and the floor tells them apart by the bin and the task."""
    __tablename__ = "sku_barcodes"
    __table_args__ = (UniqueConstraint("seller_id", "barcode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    barcode: Mapped[str] = mapped_column(String(64), index=True)

    sku: Mapped[Sku] = relationship(back_populates="barcode_rows")


class KitComponent(db.Model):
    """A kit or bundle SKU is made of other SKUs: selling one kit takes `quantity`
    units of each component from the shelf. Kits hold no stock of their own."""
    __tablename__ = "kit_components"
    __seller_scope__ = "seller_id"
    __floor_reads__ = True
    __table_args__ = (
        UniqueConstraint("kit_sku_id", "component_sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("kit_sku_id != component_sku_id", name="not_itself"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    kit_sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id", ondelete="CASCADE"),
                                            index=True)
    component_sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    component: Mapped[Sku] = relationship(foreign_keys=[component_sku_id])
