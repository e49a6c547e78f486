"""Allocating an order to warehouses, with its stock reserved and its reason kept.

The decision, in the order a person would explain it:
1. Candidates: the active warehouses the seller allows.
2. One warehouse that can ship every open unit is best (one parcel). Among those,
   the one that meets the promised delivery date, then the seller's preferred
   warehouse, then the cheapest expected shipping cost to the ship-to ZIP, then the
   shortest transit, then the nearest.
3. Otherwise, unless the seller said no-split, split with the fewest parcels: take
   the warehouse that can ship the most value, then the next, and so on; a further
   parcel is opened only for lines worth at least the split threshold (a $3 line is
   not worth a second parcel: it waits for stock instead).
4. Whatever nobody can ship is backordered, and allocated automatically, in
   priority order, when stock arrives (allocation.jobs.allocate_backorders).

The reservation happens in the same transaction, through inventory.services.reserve,
which locks stock rows in primary-key order and checks them after the lock. The plan
is made from an unlocked read; if stock moved in between, reserve() refuses, the
savepoint rolls back, and the plan is made again from fresh figures.

Kits reserve their components, all or nothing, in one warehouse.
"""
import math
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth.models import Seller
from ..carriers.rating import estimate
from ..catalog.models import KitComponent, Sku
from ..errors import Conflict, InsufficientStock
from ..geo import distance_miles, zip_to_point
from ..inventory.models import Stock, Warehouse, in_sellable_bin
from ..inventory.services import ReserveLine, release, reserve
from ..models_base import utcnow
from ..orders.models import Order, OrderAllocation, OrderLine
from ..orders.services import record, transition

ALLOCATABLE = ("received", "backordered", "allocated")
DEFAULT_SPLIT_MIN_VALUE_CENTS = 1500
RETRIES = 4


@dataclass
class Demand:
    """Open, unallocated units of one order line, and what each unit takes from the
    shelf: {sku_id: units} (a kit takes its components)."""
    line: OrderLine
    units: int
    per_unit: dict[int, int]
    unit_value_cents: int
    unit_weight_g: int
    unit_dims_mm: tuple[int, int, int]


@dataclass
class Plan:
    strategy: str
    groups: dict[int, list[tuple[Demand, int]]] = field(default_factory=dict)
    backordered: list[tuple[Demand, int]] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    why: str = ""


def reference_for(line_id: int, warehouse_id: int) -> str:
    return f"ol:{line_id}@w{warehouse_id}"


def _split_threshold(seller: Seller) -> int:
    if seller.split_min_value_cents is not None:
        return seller.split_min_value_cents
    if has_app_context():
        return current_app.config.get("SPLIT_MIN_VALUE_CENTS", DEFAULT_SPLIT_MIN_VALUE_CENTS)
    return DEFAULT_SPLIT_MIN_VALUE_CENTS


def _demands(session: Session, order: Order) -> list[Demand]:
    allocated = {}
    for a in order.allocations:
        allocated[a.order_line_id] = allocated.get(a.order_line_id, 0) + a.quantity
    open_lines = [(line, line.open_quantity - allocated.get(line.id, 0))
                  for line in order.lines]
    open_lines = [(line, units) for line, units in open_lines if units > 0]
    if not open_lines:
        return []
    # The lines' SKUs and their kit components in one statement; a kit's parts in
    # one more, only when there is a kit.
    skus: dict[int, Sku] = {}
    kits: dict[int, dict[int, int]] = {}
    for sku, component_id, quantity in session.execute(
            select(Sku, KitComponent.component_sku_id, KitComponent.quantity)
            .outerjoin(KitComponent, KitComponent.kit_sku_id == Sku.id)
            .where(Sku.id.in_({line.sku_id for line, _ in open_lines}))):
        skus[sku.id] = sku
        if component_id is not None:
            kits.setdefault(sku.id, {})[component_id] = quantity
    parts_needed = {c for per in kits.values() for c in per}
    parts = {s.id: s for s in session.scalars(select(Sku).where(Sku.id.in_(parts_needed)))} \
        if parts_needed else {}
    demands = []
    for line, units in open_lines:
        sku = skus[line.sku_id]
        components = kits.get(sku.id)
        if components:
            per_unit = dict(components)
            weight = sku.weight_g or sum(parts[c].weight_g * q for c, q in per_unit.items())
            dims = ((sku.length_mm, sku.width_mm, sku.height_mm) if sku.length_mm else
                    max(((parts[c].length_mm, parts[c].width_mm, parts[c].height_mm)
                         for c in per_unit), key=lambda d: d[0] * d[1] * d[2]))
        else:
            per_unit = {sku.id: 1}
            weight, dims = sku.weight_g, (sku.length_mm, sku.width_mm, sku.height_mm)
        demands.append(Demand(line, units, per_unit, line.unit_price_cents, weight, dims))
    return demands


def _available(session: Session, sku_ids: set[int], warehouse_ids: list[int]):
    """{(sku_id, warehouse_id): units free to promise}, from sellable bins only (what
    reserve() may take; units in the dock or a damaged bin wait for putaway)."""
    rows = session.execute(
        select(Stock.sku_id, Stock.warehouse_id, func.sum(Stock.on_hand - Stock.reserved))
        .where(Stock.sku_id.in_(sku_ids), Stock.warehouse_id.in_(warehouse_ids),
               in_sellable_bin())
        .group_by(Stock.sku_id, Stock.warehouse_id)).all()
    return {(s, w): int(n) for s, w, n in rows}


def _fillable(demand: Demand, warehouse_id: int, free: dict) -> int:
    return min(demand.units, *(free.get((sku, warehouse_id), 0) // per
                               for sku, per in demand.per_unit.items()))


def _can_fill_all(demands: list[Demand], warehouse_id: int, free: dict) -> bool:
    need: dict[int, int] = {}
    for d in demands:
        for sku, per in d.per_unit.items():
            need[sku] = need.get(sku, 0) + per * d.units
    return all(free.get((sku, warehouse_id), 0) >= n for sku, n in need.items())


def _parcel(taken: list[tuple[Demand, int]]) -> tuple[int, tuple[int, int, int]]:
    """Weight and rough box of the units shipped together: the longest item's
    length and width, and a height that holds the volume of everything."""
    weight = sum(d.unit_weight_g * n for d, n in taken)
    volume = sum(math.prod(d.unit_dims_mm) * n for d, n in taken)
    length = max((d.unit_dims_mm[0] for d, _ in taken), default=0)
    width = max((d.unit_dims_mm[1] for d, _ in taken), default=0)
    height = math.ceil(volume / (length * width)) if length and width else 0
    return weight, (length, width, height)


def _days_to_promise(order: Order) -> int | None:
    if order.promised_by is None:
        return None
    return max(0, (order.promised_by - utcnow()).days)


def _score(session, order: Order, warehouse: Warehouse, taken, dest) -> dict:
    weight, dims = _parcel(taken)
    budget = _days_to_promise(order)
    guess = estimate(session, warehouse, order.ship_to_zip, max(weight, 1), dims,
                     max_transit_days=budget)
    cost_cents, transit_days = (guess.cost_cents, guess.transit_days) if guess else (None,
                                                                                     None)
    distance = distance_miles(warehouse.latitude, warehouse.longitude, *dest)
    meets = guess is not None and (budget is None or transit_days <= budget)
    return {"cost_cents": cost_cents, "transit_days": transit_days,
            "distance_mi": round(distance, 1), "meets_promise": meets}


def _rank(candidate: dict) -> tuple:
    cost = candidate["cost_cents"]
    return (not candidate["meets_promise"], not candidate["preferred"],
            cost if cost is not None else math.inf,
            candidate["transit_days"] if candidate["transit_days"] is not None else 99,
            candidate["distance_mi"], candidate["code"])


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _money(cents) -> str:
    return "n/a" if cents is None else f"${cents / 100:,.2f}"


def plan_allocation(session: Session, order: Order, demands: list[Demand]) -> Plan:
    """Decide where the demands ship, without touching stock. Pure apart from reads."""
    seller = session.get(Seller, order.seller_id)
    warehouses = session.scalars(select(Warehouse).where(Warehouse.active.is_(True))
                                 .order_by(Warehouse.id)).all()
    allowed = {w.id for w in seller.allowed_warehouses}
    candidates = [w for w in warehouses if not allowed or w.id in allowed]
    excluded = [{"warehouse_id": w.id, "code": w.code, "excluded": "not allowed by the "
                 "seller's rules"} for w in warehouses if allowed and w.id not in allowed]
    sku_ids = {s for d in demands for s in d.per_unit}
    free = _available(session, sku_ids, [w.id for w in candidates])
    lat, lon, _state = zip_to_point(order.ship_to_zip, "ship_to.zip")
    used = {a.warehouse_id for a in order.allocations if a.quantity > 0}

    rows = []
    for w in candidates:
        whole = _can_fill_all(demands, w.id, free)
        taken = [(d, d.units) for d in demands] if whole else \
            [(d, _fillable(d, w.id, free)) for d in demands if _fillable(d, w.id, free)]
        row = {"warehouse_id": w.id, "code": w.code, "can_fill_all": whole,
               "units_fillable": sum(n for _, n in taken),
               "value_fillable_cents": sum(d.unit_value_cents * n for d, n in taken),
               "preferred": w.id == seller.preferred_warehouse_id, "already_shipping": w.id
               in used}
        row.update(_score(session, order, w, taken or [(d, d.units) for d in demands],
                          (lat, lon)))
        rows.append(row)
    plan = Plan(strategy="", candidates=sorted(rows, key=_rank) + excluded)
    by_id = {w.id: w for w in candidates}

    whole = [r for r in plan.candidates if r.get("can_fill_all")]
    if whole:
        best = whole[0]
        plan.strategy = "single"
        plan.groups[best["warehouse_id"]] = [(d, d.units) for d in demands]
        others = [f"{r['code']} {_money(r['cost_cents'])}, {r['transit_days']} d"
                  for r in whole[1:]]
        reasons = []
        if best["preferred"]:
            reasons.append("the seller's preferred warehouse")
        if order.promised_by and best["meets_promise"]:
            reasons.append("meets the promised date")
        reasons.append(f"expected {_money(best['cost_cents'])} and {best['transit_days']} "
                       f"days to {order.ship_to_zip}")
        plan.why = (f"{best['code']} can ship every line in one parcel: "
                    + "; ".join(reasons)
                    + (f". Also able: {'; '.join(others)}" if others else
                       ". No other warehouse can ship it all"))
        return plan

    if seller.no_split:
        plan.strategy = "backorder_no_split"
        plan.backordered = [(d, d.units) for d in demands]
        plan.why = ("No single warehouse can ship every line and the seller does not "
                    "split orders: waiting for stock")
        return plan

    # Split: the fewest parcels, by greedy cover of value.
    threshold = _split_threshold(seller)
    remaining = {id(d): d.units for d in demands}
    opened = set(used)
    notes = []
    while any(remaining.values()):
        best, best_taken, best_value = None, [], 0
        for r in sorted(rows, key=_rank):
            wid = r["warehouse_id"]
            if wid in plan.groups:
                continue
            taken = []
            for d in demands:
                n = min(remaining[id(d)], _fillable(d, wid, free))
                if n:
                    taken.append((d, n))
            value = sum(d.unit_value_cents * n for d, n in taken)
            # Warehouses that already ship part of the order add no parcel: first.
            if taken and (best is None or (wid in opened, value) >
                          (best["warehouse_id"] in opened, best_value)):
                best, best_taken, best_value = r, taken, value
        if best is None:
            break
        if best["warehouse_id"] not in opened and opened and best_value < threshold:
            notes.append(f"{best['code']} could ship {_money(best_value)} more, below the "
                         f"{_money(threshold)} split threshold: not worth another parcel")
            break
        wid = best["warehouse_id"]
        plan.groups[wid] = best_taken
        opened.add(wid)
        for d, n in best_taken:
            remaining[id(d)] -= n
            for sku, per in d.per_unit.items():
                free[(sku, wid)] = free.get((sku, wid), 0) - per * n
    plan.backordered = [(d, remaining[id(d)]) for d in demands if remaining[id(d)]]
    if plan.groups:
        plan.strategy = "split" if len(set(plan.groups) | used) > 1 else "partial"
        parts = [f"{by_id[w].code}: {_units(sum(n for _, n in g))}" for w, g in
                 plan.groups.items()]
        plan.why = ("No single warehouse can ship every line; fewest parcels: "
                    + ", ".join(parts))
    else:
        plan.strategy = "backorder"
        plan.why = "No allowed warehouse has the stock: waiting for stock"
    if plan.backordered:
        plan.why += f". Backordered: {_units(sum(n for _, n in plan.backordered))}"
    if notes:
        plan.why += ". " + "; ".join(notes)
    return plan


def _reserve_plan(session: Session, order: Order, plan: Plan, user_id) -> None:
    lines = []
    for wid, taken in sorted(plan.groups.items()):
        for demand, units in taken:
            ref = reference_for(demand.line.id, wid)
            for sku, per in sorted(demand.per_unit.items()):
                lines.append(ReserveLine(sku, wid, per * units, reference=ref))
    if lines:
        reserve(session, lines, reference=f"order:{order.id}", user_id=user_id)
    existing = {(a.order_line_id, a.warehouse_id): a for a in order.allocations}
    for wid, taken in plan.groups.items():
        for demand, units in taken:
            allocation = existing.get((demand.line.id, wid))
            if allocation is None:
                allocation = OrderAllocation(
                    order_id=order.id, order_line_id=demand.line.id,
                    seller_id=order.seller_id, warehouse_id=wid, quantity=0,
                    reference=reference_for(demand.line.id, wid), created_at=utcnow())
                order.allocations.append(allocation)
            allocation.quantity += units


def refresh_status(session: Session, order: Order, *, user_id=None) -> Order:
    """allocated when every open unit has a warehouse, backordered otherwise."""
    if order.status not in ALLOCATABLE:
        return order
    open_units = sum(line.open_quantity for line in order.lines)
    allocated = sum(a.quantity for a in order.allocations)
    target = "allocated" if open_units and allocated >= open_units else "backordered"
    if target != order.status:
        transition(session, order, target, user_id=user_id)
    return order


def allocate_order(session: Session, order_id: int, *, user_id: int | None = None) -> Order:
    """Allocate the order's open units and reserve their stock, in the caller's
    transaction. The order row is locked first, so two workers never allocate the
    same order twice. Safe to call again: only unallocated units are considered."""
    order = session.execute(select(Order).where(Order.id == order_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if order is None:
        from ..errors import NotFound
        raise NotFound(f"No order {order_id}", fields={"order_id": ["not found"]})
    if order.status not in ALLOCATABLE:
        raise Conflict(f"Order {order.id} is {order.status}: nothing to allocate",
                       fields={"status": [f"cannot allocate a {order.status} order"]})
    for attempt in range(RETRIES):
        demands = _demands(session, order)
        if not demands:
            return refresh_status(session, order, user_id=user_id)
        plan = plan_allocation(session, order, demands)
        savepoint = session.begin_nested()
        try:
            _reserve_plan(session, order, plan, user_id)
            savepoint.commit()
        except InsufficientStock:
            # Someone took the stock between our read and our lock: plan again.
            savepoint.rollback()
            session.expire(order)
            continue
        break
    else:
        plan = Plan(strategy="backorder", why="stock kept moving while allocating; "
                    "retried and backordered", backordered=[(d, d.units) for d in demands])
    reason = {
        "decided_at": utcnow().isoformat(), "strategy": plan.strategy,
        "ship_to_zip": order.ship_to_zip, "why": plan.why,
        "winners": [c["code"] for c in plan.candidates
                    if c.get("warehouse_id") in plan.groups],
        "candidates": plan.candidates,
        "allocated": [{"line_id": d.line.id, "warehouse_id": w, "units": n}
                      for w, g in plan.groups.items() for d, n in g],
        "backordered": [{"line_id": d.line.id, "units": n} for d, n in plan.backordered],
    }
    order.allocation_reason = reason
    record(session, order, "allocation", plan.why, data={"strategy": plan.strategy,
                                                         "winners": reason["winners"]},
           user_id=user_id)
    return refresh_status(session, order, user_id=user_id)


def release_allocation(session: Session, allocation: OrderAllocation, units: int, *,
                       user_id=None) -> int:
    """Release `units` of an allocation: exactly the stock they reserved."""
    units = min(units, allocation.quantity)
    if units <= 0:
        return 0
    line = session.get(OrderLine, allocation.order_line_id)
    per_unit = dict(session.execute(
        select(KitComponent.component_sku_id, KitComponent.quantity)
        .where(KitComponent.kit_sku_id == line.sku_id)).all()) or {line.sku_id: 1}
    for sku, per in sorted(per_unit.items()):
        release(session, reference=allocation.reference, sku_id=sku, quantity=per * units,
                user_id=user_id)
    allocation.quantity -= units
    return units


def margin_cents(order: Order) -> int:
    total = 0
    for line in order.lines:
        cost = line.sku.cost_cents or sum(c.component.cost_cents * c.quantity
                                           for c in line.sku.components)
        total += (line.unit_price_cents - cost) * line.open_quantity
    return total


def priority_key(order: Order) -> tuple:
    """Orders compete in this order: ship-by deadline (soonest first, none last),
    then margin (most profitable first), then age (oldest first)."""
    deadline = order.ship_by.timestamp() if order.ship_by else math.inf
    return (deadline, -margin_cents(order), order.placed_at.timestamp(), order.id)
