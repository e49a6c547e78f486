"""A booking: what was quoted and chosen, and the order and shipment it made."""
from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import Timestamps


class Booking(Timestamps, db.Model):
    __tablename__ = "bookings"
    __seller_scope__ = "seller_id"
    __warehouse_scope__ = "warehouse_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    kind: Mapped[str] = mapped_column(String(16))          # own_fleet | carrier
    service_code: Mapped[str] = mapped_column(String(32))
    price_cents: Mapped[int] = mapped_column(Integer)
    delivery_date: Mapped[date | None] = mapped_column(Date)
    item: Mapped[dict] = mapped_column(JSON)
    pickup: Mapped[dict] = mapped_column(JSON)
    destination: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
