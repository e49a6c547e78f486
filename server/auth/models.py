"""Sellers, users, and the bearer tokens of devices and integrations."""
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (Boolean, CheckConstraint, Column, ForeignKey, Integer,
                        String, Table, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import Timestamps, UTCDateTime

ROLES = ("admin", "seller", "picker", "driver")
FLOOR_ROLES = ("picker", "driver")
LOCALES = ("en", "zh-CN", "es")

user_warehouses = Table(
    "user_warehouses",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id", ondelete="CASCADE"),
           primary_key=True),
)


seller_allowed_warehouses = Table(
    "seller_allowed_warehouses",
    db.metadata,
    Column("seller_id", Integer, ForeignKey("sellers.id", ondelete="CASCADE"),
           primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id", ondelete="CASCADE"),
           primary_key=True),
)


class Seller(Timestamps, db.Model):
    """A tenant: a merchant whose goods the warehouse stores and ships.

    Its allocation rules: `allowed_warehouses` (empty: all), a `preferred_warehouse`
    that wins whenever it can ship the whole order in time, `no_split` (wait for one
    warehouse rather than ship in several parcels), and `split_min_value_cents`
    (no extra parcel for lines worth less; None: the app's default)."""
    __tablename__ = "sellers"
    __seller_scope__ = "id"
    __floor_reads__ = True  # floor staff see whose goods they handle

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    no_split: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    split_min_value_cents: Mapped[int | None] = mapped_column(Integer)

    allowed_warehouses = relationship("Warehouse", secondary=seller_allowed_warehouses,
                                      lazy="selectin", order_by="Warehouse.code")


class User(UserMixin, Timestamps, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'seller', 'picker', 'driver')", name="role"),
        CheckConstraint("role != 'seller' OR seller_id IS NOT NULL", name="seller_has_seller"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("sellers.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised by log-out and a password change: a session or remember-me cookie
    # carries the value it was issued under and stops working when it is stale.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    seller: Mapped[Seller | None] = relationship()
    warehouses = relationship("Warehouse", secondary=user_warehouses, lazy="selectin",
                              order_by="Warehouse.code")

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    def get_id(self) -> str:
        # What Flask-Login keeps in the session and the remember-me cookie: with the
        # version in it, raising the version makes every cookie issued so far stale
        # (auth.services.user_for_session).
        return f"{self.id}:{self.session_version or 1}"

    @property
    def warehouse_ids(self) -> list[int]:
        return [w.id for w in self.warehouses]


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored; the token is shown once."""
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
