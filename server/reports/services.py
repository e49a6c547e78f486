"""The seller's numbers (issue #13, item 1), each one SQL statement of aggregates
over indexed columns, never a Python loop over rows.

Every report takes the reader (`user`: a seller reads its own, an admin everyone's
or one seller's) and a range of days [start, end], both included, in UTC. It
returns {"columns": [...], "rows": [{column: value}, ...]} plus what it was asked.

- orders: orders placed and their open units per day or week, split by channel
  (or not at all); fully cancelled orders are not counted.
- velocity: per SKU, units picked in the range (the units that left its shelves),
  how many picks, their value at list price, and ABC classes by units and by value
  (A: the SKUs that make the first 80 % of the total, B: the next 15 %, C: the rest).
- supply: per SKU and warehouse, units on hand and available now, units picked in
  the range and per day, days of supply (available / daily; none without demand)
  and turnover in the range (picked / on hand).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Date, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from ..auth.scoping import scope_condition
from ..catalog.models import Sku
from ..errors import InvalidInput
from ..i18n import message
from ..inventory.models import Bin, SELLABLE_BIN_KINDS, Stock, StockMovement, Warehouse
from ..orders.models import Order, OrderLine

MAX_DAYS = 731  # two years in one answer at most
A_SHARE, B_SHARE = 0.80, 0.95


@dataclass(frozen=True)
class Range:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=timezone.utc)

    @property
    def until(self) -> datetime:  # exclusive
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=timezone.utc)


def day_range(start: date | None, end: date | None, today: date | None = None) -> Range:
    """The days asked for: by default the last 28 days up to today (UTC)."""
    today = today or datetime.now(timezone.utc).date()
    end = end or today
    start = start or end - timedelta(days=27)
    if start > end:
        raise InvalidInput("from", message("must be on or before %(day)s", day=end.isoformat()))
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput("from", message("at most %(n)s days in one report", n=MAX_DAYS))
    return Range(start, end)


def _scope(model, user, seller_id: int | None):
    """Conditions for `model`: what `user` may read, and the one seller asked for."""
    conditions = []
    allowed = scope_condition(model, user)
    if allowed is not None:
        conditions.append(allowed)
    if seller_id is not None:
        conditions.append(model.seller_id == seller_id)
    return conditions


def _utc_day(session: Session, column):
    """The UTC calendar day of a timestamp column, as a date, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _week_of(session: Session, day_expr):
    """The Monday of the ISO week a day falls in."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("week", day_expr), Date)
    return func.date(day_expr, "-6 days", "weekday 1")


def _as_date(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def orders(session: Session, user, days: Range, *, seller_id: int | None = None,
           by: str = "day", split: str | None = "channel") -> dict:
    day = _utc_day(session, Order.placed_at)
    bucket = day if by == "day" else _week_of(session, day)
    units = func.sum(OrderLine.quantity - OrderLine.quantity_cancelled)
    key = Order.channel if split == "channel" else literal("")
    stmt = (select(bucket.label("bucket"), key.label("key"),
                   func.count(func.distinct(Order.id)).label("orders"), units.label("units"))
            .select_from(Order).join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.placed_at >= days.since, Order.placed_at < days.until,
                   Order.status != "cancelled", *_scope(Order, user, seller_id))
            .group_by(bucket, key).order_by(bucket, key))
    rows = [{"period": _as_date(r.bucket).isoformat(), "channel": r.key or None,
             "orders": r.orders, "units": int(r.units or 0)}
            for r in session.execute(stmt)]
    columns = ["period", "channel", "orders", "units"] if split == "channel" else \
        ["period", "orders", "units"]
    if split != "channel":
        for r in rows:
            del r["channel"]
    return {"report": "orders", "by": by, "split": split, "columns": columns, "rows": rows,
            "totals": {"orders": sum(r["orders"] for r in rows),
                       "units": sum(r["units"] for r in rows)}}


def _picked(user, days: Range, seller_id: int | None):
    """Units picked per (SKU, warehouse) in the range: the subquery both reports use."""
    return (select(StockMovement.sku_id, StockMovement.warehouse_id,
                   func.sum(-StockMovement.delta_on_hand).label("units"),
                   func.count().label("picks"))
            .where(StockMovement.kind == "pick", StockMovement.occurred_at >= days.since,
                   StockMovement.occurred_at < days.until,
                   *_scope(StockMovement, user, seller_id))
            .group_by(StockMovement.sku_id, StockMovement.warehouse_id))


def _abc(share):
    return case((share <= A_SHARE, "A"), (share <= B_SHARE, "B"), else_="C")


def velocity(session: Session, user, days: Range, *, seller_id: int | None = None) -> dict:
    picked = _picked(user, days, seller_id).subquery()
    per_sku = (select(picked.c.sku_id, func.sum(picked.c.units).label("units"),
                      func.sum(picked.c.picks).label("picks"))
               .group_by(picked.c.sku_id).subquery())
    value = (per_sku.c.units * Sku.price_cents).label("value_cents")
    ranked = (select(Sku.id, Sku.code, Sku.name, per_sku.c.units, per_sku.c.picks, value,
                     # The share of the total reached by this SKU and every SKU above it
                     # (ties broken by code, so the classes are stable).
                     (func.sum(per_sku.c.units).over(order_by=(per_sku.c.units.desc(),
                                                               Sku.code))
                      * 1.0 / func.sum(per_sku.c.units).over()).label("unit_share"),
                     (func.sum(value).over(order_by=(value.desc(), Sku.code))
                      * 1.0 / func.nullif(func.sum(value).over(), 0)).label("value_share"))
              .join(per_sku, per_sku.c.sku_id == Sku.id).subquery())
    stmt = (select(ranked, _abc(ranked.c.unit_share).label("abc_units"),
                   _abc(func.coalesce(ranked.c.value_share, 1)).label("abc_value"))
            .order_by(ranked.c.units.desc(), ranked.c.code))
    rows = [{"sku_id": r.id, "sku": r.code, "name": r.name, "units": int(r.units),
             "picks": int(r.picks), "per_day": round(int(r.units) / days.days, 2),
             "value_cents": int(r.value_cents or 0), "abc_units": r.abc_units,
             "abc_value": r.abc_value} for r in session.execute(stmt)]
    return {"report": "velocity", "columns": ["sku", "name", "units", "picks", "per_day",
                                              "value_cents", "abc_units", "abc_value"],
            "rows": rows}


def supply(session: Session, user, days: Range, *, seller_id: int | None = None) -> dict:
    picked = _picked(user, days, seller_id).subquery()
    sellable = Bin.kind.in_(SELLABLE_BIN_KINDS)
    held = (select(Stock.sku_id, Stock.warehouse_id,
                   func.sum(Stock.on_hand).label("on_hand"),
                   func.sum(case((sellable, Stock.on_hand - Stock.reserved), else_=0))
                   .label("available"))
            .join(Bin, Bin.id == Stock.bin_id)
            .where(*_scope(Stock, user, seller_id))
            .group_by(Stock.sku_id, Stock.warehouse_id).subquery())
    units = func.coalesce(picked.c.units, 0)
    per_day = units * 1.0 / days.days
    days_of_supply = case((units > 0, held.c.available * 1.0 / per_day), else_=None)
    turnover = case((held.c.on_hand > 0, units * 1.0 / held.c.on_hand), else_=None)
    stmt = (select(Sku.id, Sku.code, Sku.name, Warehouse.id.label("warehouse_id"),
                   Warehouse.code.label("warehouse"), held.c.on_hand, held.c.available,
                   units.label("picked"), per_day.label("per_day"),
                   days_of_supply.label("days_of_supply"), turnover.label("turnover"))
            .select_from(held)
            .join(Sku, Sku.id == held.c.sku_id)
            .join(Warehouse, Warehouse.id == held.c.warehouse_id)
            .outerjoin(picked, and_(picked.c.sku_id == held.c.sku_id,
                                    picked.c.warehouse_id == held.c.warehouse_id))
            .where((held.c.on_hand > 0) | (units > 0))
            # Shortest supply first (what to restock first is on top), no demand last.
            .order_by(days_of_supply.is_(None), days_of_supply, Sku.code, Warehouse.code))
    rows = [{"sku_id": r.id, "sku": r.code, "name": r.name, "warehouse_id": r.warehouse_id,
             "warehouse": r.warehouse, "on_hand": int(r.on_hand or 0),
             "available": int(r.available or 0), "picked": int(r.picked),
             "per_day": round(float(r.per_day), 2),
             "days_of_supply": None if r.days_of_supply is None
             else round(float(r.days_of_supply), 1),
             "turnover": None if r.turnover is None else round(float(r.turnover), 2)}
            for r in session.execute(stmt)]
    return {"report": "supply", "columns": ["sku", "name", "warehouse", "on_hand",
                                            "available", "picked", "per_day",
                                            "days_of_supply", "turnover"],
            "rows": rows}


REPORTS = {"orders": orders, "velocity": velocity, "supply": supply}
