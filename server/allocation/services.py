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

What allocation reads, it reads in three statements (the order with its lines,
their SKUs, kit parts and allocations, the order row locked; the seller's rules
with the active warehouses; the free stock of those SKUs bin by bin), as plain
rows, not ORM objects: the plan is pure Python over them. The estimate of a
parcel's cost per zone is worked out once per session (carriers.rating).

The write is where the two databases differ (see `_write`):
- PostgreSQL: one statement (allocation.writer) locks the chosen stock rows in
  primary-key order, checks them after the lock and, only if every row still
  covers what the plan takes, reserves them, writes one ledger row and one
  reservation per take, the allocations, the order's status and reason and its
  history. If stock moved in between, it writes nothing, its savepoint is rolled
  back (releasing the rows it locked) and the plan is made again from fresh
  figures.
- Elsewhere (SQLite, the embedded default): the same plan through
  inventory.services.reserve and the ORM, in a savepoint, retried the same way.

Kits reserve their components, all or nothing, in one warehouse.
"""
import math
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import event, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..auth.models import Seller, seller_allowed_warehouses
from ..carriers.rating import estimate
from ..catalog.models import KitComponent, Sku
from ..errors import Conflict, InsufficientStock, NotFound, english
from ..geo import distance_miles, zip_to_point
from ..i18n import message
from ..inventory.models import SELLABLE_BIN_KINDS, Bin, Stock, Warehouse
from ..inventory.services import ReserveLine, release, reserve, take_from_bins
from ..models_base import utcnow
from ..orders.models import Order, OrderAllocation, OrderLine, status_word
from ..orders.services import TRANSITIONS, record, transition

ALLOCATABLE = ("received", "backordered", "allocated")
DEFAULT_SPLIT_MIN_VALUE_CENTS = 1500
RETRIES = 4


@dataclass
class Demand:
    """Open, unallocated units of one order line, and what each unit takes from the
    shelf: {sku_id: units} (a kit takes its components)."""
    line_id: int
    units: int
    per_unit: dict[int, int]
    unit_value_cents: int
    unit_weight_g: int
    unit_dims_mm: tuple[int, int, int]


@dataclass
class OrderFacts:
    """What allocation needs of an order, read in one statement."""
    id: int
    seller_id: int
    status: str
    channel: str
    external_id: str
    ship_to_zip: str
    promised_by: object
    open_units: int = 0
    # (line id, warehouse id) -> units already allocated there
    allocated: dict[tuple[int, int], int] = field(default_factory=dict)
    demands: list[Demand] = field(default_factory=list)

    @property
    def used(self) -> set[int]:
        """Warehouses that already ship part of the order."""
        return {w for (_line, w), n in self.allocated.items() if n > 0}


@dataclass
class Place:
    """A warehouse as allocation sees it (rating needs its zip)."""
    id: int
    code: str
    zip: str
    latitude: float
    longitude: float


@dataclass
class Rules:
    """The seller's allocation rules and the active warehouses, in one statement."""
    no_split: bool
    split_min_value_cents: int | None
    preferred_warehouse_id: int | None
    restricted: bool  # the seller names allowed warehouses (none named: all)
    candidates: list[Place]
    excluded: list[Place]


@dataclass
class Plan:
    strategy: str
    groups: dict[int, list[tuple[Demand, int]]] = field(default_factory=dict)
    backordered: list[tuple[Demand, int]] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    # Why, as a stored message (server/i18n.py): kept with its English in the order's
    # reason and history, and read in the reader's language.
    why: dict | str = ""


def reference_for(line_id: int, warehouse_id: int) -> str:
    return f"ol:{line_id}@w{warehouse_id}"


def _split_threshold(rules: Rules) -> int:
    if rules.split_min_value_cents is not None:
        return rules.split_min_value_cents
    if has_app_context():
        return current_app.config.get("SPLIT_MIN_VALUE_CENTS", DEFAULT_SPLIT_MIN_VALUE_CENTS)
    return DEFAULT_SPLIT_MIN_VALUE_CENTS


# -- what allocation reads ------------------------------------------------------------

_orders, _lines, _skus = Order.__table__, OrderLine.__table__, Sku.__table__
_kits, _allocations = KitComponent.__table__, OrderAllocation.__table__
_parts = _skus.alias("parts")
_stock, _bins, _warehouses = Stock.__table__, Bin.__table__, Warehouse.__table__
_sellers, _allowed = Seller.__table__, seller_allowed_warehouses

_ORDER_FACTS = (
    select(_orders.c.id, _orders.c.seller_id, _orders.c.status, _orders.c.channel,
           _orders.c.external_id, _orders.c.ship_to_zip, _orders.c.promised_by,
           _lines.c.id.label("line_id"), _lines.c.sku_id, _lines.c.quantity,
           _lines.c.quantity_cancelled, _lines.c.unit_price_cents,
           _skus.c.weight_g, _skus.c.length_mm, _skus.c.width_mm, _skus.c.height_mm,
           _kits.c.component_sku_id, _kits.c.quantity.label("per_kit"),
           _parts.c.weight_g.label("part_weight_g"), _parts.c.length_mm.label("part_l"),
           _parts.c.width_mm.label("part_w"), _parts.c.height_mm.label("part_h"),
           _allocations.c.id.label("allocation_id"),
           _allocations.c.warehouse_id.label("allocated_in"),
           _allocations.c.quantity.label("allocated_units"))
    .select_from(
        _orders.outerjoin(_lines, _lines.c.order_id == _orders.c.id)
        .outerjoin(_skus, _skus.c.id == _lines.c.sku_id)
        .outerjoin(_kits, _kits.c.kit_sku_id == _skus.c.id)
        .outerjoin(_parts, _parts.c.id == _kits.c.component_sku_id)
        .outerjoin(_allocations, _allocations.c.order_line_id == _lines.c.id))
    .order_by(_lines.c.id, _kits.c.id, _allocations.c.id))


def _read_order(session: Session, order_id: int) -> OrderFacts | None:
    """The order with its lines, their SKUs, kit parts and allocations, in one
    statement that locks the order row, so two workers never allocate the same
    order twice."""
    rows = session.connection().execute(
        _ORDER_FACTS.where(_orders.c.id == order_id).with_for_update(of=_orders)).all()
    if not rows:
        return None
    first = rows[0]
    facts = OrderFacts(first.id, first.seller_id, first.status, first.channel,
                       first.external_id, first.ship_to_zip, first.promised_by)
    lines: dict[int, dict] = {}
    seen_allocations = set()
    for r in rows:
        if r.line_id is None:
            continue
        line = lines.get(r.line_id)
        if line is None:
            line = lines[r.line_id] = {"row": r, "parts": {}, "part_rows": {}}
        if r.component_sku_id is not None:
            line["parts"][r.component_sku_id] = r.per_kit
            line["part_rows"][r.component_sku_id] = r
        if r.allocation_id is not None and r.allocation_id not in seen_allocations:
            seen_allocations.add(r.allocation_id)
            key = (r.line_id, r.allocated_in)
            facts.allocated[key] = facts.allocated.get(key, 0) + r.allocated_units
    allocated_by_line: dict[int, int] = {}
    for (line_id, _w), n in facts.allocated.items():
        allocated_by_line[line_id] = allocated_by_line.get(line_id, 0) + n
    for line_id, line in lines.items():
        r = line["row"]
        open_units = r.quantity - r.quantity_cancelled
        facts.open_units += open_units
        units = open_units - allocated_by_line.get(line_id, 0)
        if units <= 0 or r.sku_id is None:
            continue
        parts = line["parts"]
        if parts:
            part_rows = line["part_rows"].values()
            weight = r.weight_g or sum(p.part_weight_g * parts[p.component_sku_id]
                                       for p in part_rows)
            dims = ((r.length_mm, r.width_mm, r.height_mm) if r.length_mm else
                    max(((p.part_l, p.part_w, p.part_h) for p in part_rows),
                        key=lambda d: d[0] * d[1] * d[2]))
            per_unit = dict(parts)
        else:
            per_unit = {r.sku_id: 1}
            weight, dims = r.weight_g, (r.length_mm, r.width_mm, r.height_mm)
        facts.demands.append(Demand(line_id, units, per_unit, r.unit_price_cents, weight,
                                    dims))
    return facts


_RULES = (
    select(_sellers.c.no_split, _sellers.c.split_min_value_cents,
           _sellers.c.preferred_warehouse_id, _warehouses.c.id, _warehouses.c.code,
           _warehouses.c.zip, _warehouses.c.latitude, _warehouses.c.longitude,
           exists().where(_allowed.c.seller_id == _sellers.c.id,
                          _allowed.c.warehouse_id == _warehouses.c.id).label("allowed"),
           select(func.count()).select_from(_allowed)
           .where(_allowed.c.seller_id == _sellers.c.id).scalar_subquery()
           .label("allowed_count"))
    .select_from(_sellers.outerjoin(_warehouses, _warehouses.c.active.is_(True)))
    .order_by(_warehouses.c.id))


_RULES_KEY = "haicang.allocation.rules"


def _read_rules(session: Session, seller_id: int) -> Rules:
    """The seller's rules and the active warehouses, split into the candidates the
    seller allows and the ones it excludes, in one statement, once per transaction
    (a batch of one seller's orders reads them once; the next transaction reads
    them again)."""
    known = session.info.setdefault(_RULES_KEY, {})
    if seller_id not in known:
        known[seller_id] = _rules_from_database(session, seller_id)
    return known[seller_id]


@event.listens_for(Session, "after_commit")
def _forget_rules_on_commit(session):
    if session.get_nested_transaction() is None:  # not a savepoint released
        session.info.pop(_RULES_KEY, None)


@event.listens_for(Session, "after_rollback")
def _forget_rules_on_rollback(session):
    session.info.pop(_RULES_KEY, None)


@event.listens_for(Session, "before_flush")
def _forget_rules_on_change(session, _flush_context, _instances):
    """A seller's rules or a warehouse changed in this transaction: read again."""
    if _RULES_KEY in session.info and any(
            isinstance(obj, (Seller, Warehouse))
            for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_RULES_KEY, None)


def _rules_from_database(session: Session, seller_id: int) -> Rules:
    rows = session.connection().execute(_RULES.where(_sellers.c.id == seller_id)).all()
    first = rows[0]
    restricted = bool(first.allowed_count)
    rules = Rules(bool(first.no_split), first.split_min_value_cents,
                  first.preferred_warehouse_id, restricted, [], [])
    for r in rows:
        if r.id is None:
            continue  # no active warehouse at all
        place = Place(r.id, r.code, r.zip, r.latitude, r.longitude)
        (rules.candidates if r.allowed or not restricted else rules.excluded).append(place)
    return rules


_FREE_STOCK = (
    select(_stock.c.id, _stock.c.sku_id, _stock.c.warehouse_id,
           (_stock.c.on_hand - _stock.c.reserved).label("free"), _bins.c.sort_key)
    .select_from(_stock.join(_bins, _bins.c.id == _stock.c.bin_id))
    .where(_bins.c.kind.in_(SELLABLE_BIN_KINDS), _stock.c.on_hand > _stock.c.reserved))


@dataclass
class Shelf:
    """Free stock of the order's SKUs in the candidate warehouses, unlocked: per
    (sku_id, warehouse_id) the total, and the stock rows in walking order (only
    sellable bins: what reserve() may take; units in the dock or a damaged bin
    wait for putaway)."""
    totals: dict[tuple[int, int], int]
    rows: dict[tuple[int, int], list[int]]
    free: dict[int, int]


def _read_shelf(session: Session, sku_ids: set[int], warehouse_ids: list[int]) -> Shelf:
    """Unlocked: only the rows the plan takes are locked, by its write (locking
    every candidate row here, 75 of them for three SKUs in 30 warehouses, cost
    more database time than the rare second try)."""
    shelf = Shelf({}, {}, {})
    if not sku_ids or not warehouse_ids:
        return shelf
    found = session.connection().execute(_FREE_STOCK.where(
        _stock.c.sku_id.in_(sorted(sku_ids)), _stock.c.warehouse_id.in_(warehouse_ids))).all()
    for r in sorted(found, key=lambda r: (r.sort_key, r.id)):
        key = (r.sku_id, r.warehouse_id)
        shelf.totals[key] = shelf.totals.get(key, 0) + r.free
        shelf.rows.setdefault(key, []).append(r.id)
        shelf.free[r.id] = r.free
    return shelf


def lock_stock_for(session: Session, sku_ids) -> None:
    """Lock, in primary-key order, every sellable stock row with free units of these
    SKUs and of their kits' parts: for a transaction about to allocate many orders
    (a batch of channel orders). Each order locks the rows it takes in key order,
    but one after another they would not be in key order: two batches (or a batch
    and a single order) could then wait on each other in a cycle. Taken up front,
    the batch's locks are one ordered set, and an order's own are already held."""
    sku_ids = sorted(set(sku_ids))
    if not sku_ids or session.get_bind().dialect.name != "postgresql":
        return  # SQLite locks the whole database for a writer: no cycle to avoid
    parts = select(_kits.c.component_sku_id).where(_kits.c.kit_sku_id.in_(sku_ids))
    sellable = select(_bins.c.id).where(_bins.c.kind.in_(SELLABLE_BIN_KINDS))
    session.connection().execute(
        select(_stock.c.id).where(
            or_(_stock.c.sku_id.in_(sku_ids), _stock.c.sku_id.in_(parts)),
            _stock.c.on_hand > _stock.c.reserved, _stock.c.bin_id.in_(sellable))
        .order_by(_stock.c.id).with_for_update()).all()


# -- the decision -----------------------------------------------------------------------

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


def _days_to_promise(facts: OrderFacts) -> int | None:
    if facts.promised_by is None:
        return None
    return max(0, (facts.promised_by - utcnow()).days)


def _score(session, facts: OrderFacts, warehouse: Place, taken, dest, budget) -> dict:
    weight, dims = _parcel(taken)
    guess = estimate(session, warehouse, facts.ship_to_zip, max(weight, 1), dims,
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


def _units(n: int) -> dict:
    return message("%(n)s unit", n=n) if n == 1 else message("%(n)s units", n=n)


def _money(cents):
    return message("n/a") if cents is None else f"${cents / 100:,.2f}"


def _comma(items: list):
    """Items as one message, "a, b, c" in English (each language its own comma)."""
    if not items:
        return ""
    joined = items[0]
    for item in items[1:]:
        joined = message("%(list)s, %(item)s", list=joined, item=item)
    return joined


def _then(first, then):
    """Two sentences: "first. then"."""
    return message("%(first)s. %(then)s", first=first, then=then)


def plan_allocation(session: Session, facts: OrderFacts, rules: Rules,
                    free: dict[tuple[int, int], int]) -> Plan:
    """Decide where the order's demands ship, without touching stock. `free` is
    {(sku_id, warehouse_id): units free to promise}. Pure apart from the session's
    rating cache."""
    demands = facts.demands
    free = dict(free)  # the split below spends it
    excluded = [{"warehouse_id": w.id, "code": w.code, "excluded": "not allowed by the "
                 "seller's rules"} for w in rules.excluded]
    lat, lon, _state = zip_to_point(facts.ship_to_zip, "ship_to.zip")
    used = facts.used
    budget = _days_to_promise(facts)

    rows = []
    for w in rules.candidates:
        whole = _can_fill_all(demands, w.id, free)
        taken = [(d, d.units) for d in demands] if whole else \
            [(d, _fillable(d, w.id, free)) for d in demands if _fillable(d, w.id, free)]
        row = {"warehouse_id": w.id, "code": w.code, "can_fill_all": whole,
               "units_fillable": sum(n for _, n in taken),
               "value_fillable_cents": sum(d.unit_value_cents * n for d, n in taken),
               "preferred": w.id == rules.preferred_warehouse_id, "already_shipping": w.id
               in used}
        row.update(_score(session, facts, w, taken or [(d, d.units) for d in demands],
                          (lat, lon), budget))
        rows.append(row)
    plan = Plan(strategy="", candidates=sorted(rows, key=_rank) + excluded)
    by_id = {w.id: w for w in rules.candidates}

    whole = [r for r in plan.candidates if r.get("can_fill_all")]
    if whole:
        best = whole[0]
        plan.strategy = "single"
        plan.groups[best["warehouse_id"]] = [(d, d.units) for d in demands]
        others = [message("%(code)s %(cost)s, %(days)s d", code=r["code"],
                          cost=_money(r["cost_cents"]), days=r["transit_days"])
                  for r in whole[1:]]
        reasons = []
        if best["preferred"]:
            reasons.append(message("the seller's preferred warehouse"))
        if facts.promised_by and best["meets_promise"]:
            reasons.append(message("meets the promised date"))
        reasons.append(message("expected %(cost)s and %(days)s days to %(zip)s",
                               cost=_money(best["cost_cents"]), days=best["transit_days"],
                               zip=facts.ship_to_zip))
        if others:
            plan.why = message("%(code)s can ship every line in one parcel: %(reasons)s. "
                               "Also able: %(others)s", code=best["code"], reasons=reasons,
                               others=others)
        else:
            plan.why = message("%(code)s can ship every line in one parcel: %(reasons)s. "
                               "No other warehouse can ship it all", code=best["code"],
                               reasons=reasons)
        return _with_earlier(plan, facts, rules)

    if rules.no_split:
        plan.strategy = "backorder_no_split"
        plan.backordered = [(d, d.units) for d in demands]
        plan.why = message("No single warehouse can ship every line and the seller does "
                           "not split orders: waiting for stock")
        return _with_earlier(plan, facts, rules)

    # Split: the fewest parcels, by greedy cover of value.
    threshold = _split_threshold(rules)
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
            notes.append(message("%(code)s could ship %(value)s more, below the "
                                 "%(threshold)s split threshold: not worth another parcel",
                                 code=best["code"], value=_money(best_value),
                                 threshold=_money(threshold)))
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
        parts = [message("%(code)s: %(units)s", code=by_id[w].code,
                         units=_units(sum(n for _, n in g))) for w, g in plan.groups.items()]
        plan.why = message("No single warehouse can ship every line; fewest parcels: "
                           "%(parts)s", parts=_comma(parts))
    else:
        plan.strategy = "backorder"
        plan.why = (message("No allowed warehouse has the rest in stock: waiting for stock")
                    if used else
                    message("No allowed warehouse has the stock: waiting for stock"))
    if plan.backordered:
        plan.why = _then(plan.why, message(
            "Backordered: %(units)s", units=_units(sum(n for _, n in plan.backordered))))
    if notes:
        plan.why = _then(plan.why, notes)
    return _with_earlier(plan, facts, rules)


def _with_earlier(plan: Plan, facts: OrderFacts, rules: Rules) -> Plan:
    """A reason about the units still open must not read as the whole order's: when
    part of the order was allocated before, say where, first."""
    earlier: dict[int, int] = {}
    for (_line, wid), n in facts.allocated.items():
        if n > 0:
            earlier[wid] = earlier.get(wid, 0) + n
    if earlier:
        codes = {w.id: w.code for w in (*rules.candidates, *rules.excluded)}
        where = [message("%(code)s: %(units)s",
                         code=codes.get(w) or message("warehouse %(id)s", id=w),
                         units=_units(n)) for w, n in sorted(earlier.items())]
        plan.why = message("Already allocated: %(where)s. For the rest: %(why)s",
                           where=_comma(where), why=plan.why)
    return plan


def _reason(facts: OrderFacts, plan: Plan) -> dict:
    """The decision as it is stored on the order and shown to people: `why` in
    English (API clients, and reasons stored before messages were), `why_i18n` its
    stored message, which the API renders into `why` in the reader's language."""
    return {
        "decided_at": utcnow().isoformat(), "strategy": plan.strategy,
        "ship_to_zip": facts.ship_to_zip, "why": english(plan.why), "why_i18n": plan.why,
        "winners": [c["code"] for c in plan.candidates
                    if c.get("warehouse_id") in plan.groups],
        "candidates": plan.candidates,
        "allocated": [{"line_id": d.line_id, "warehouse_id": w, "units": n}
                      for w, g in plan.groups.items() for d, n in g],
        "backordered": [{"line_id": d.line_id, "units": n} for d, n in plan.backordered],
    }


@dataclass
class Take:
    """Units of one stock row the plan reserves for one order line (reference)."""
    stock_id: int
    quantity: int
    reference: str


def takes(plan: Plan, shelf: Shelf) -> list[Take] | None:
    """The stock rows the plan's reservations take, by the rule reserve() applies
    (inventory.services.take_from_bins), from the unlocked read; None if the read
    cannot cover them (the plan is made from the same read, so only a kit and a
    plain line sharing a part could get here)."""
    free = dict(shelf.free)
    out = []
    for wid, taken in sorted(plan.groups.items()):
        for demand, units in taken:
            ref = reference_for(demand.line_id, wid)
            for sku, per in sorted(demand.per_unit.items()):
                chosen, missing = take_from_bins(shelf.rows.get((sku, wid), []), free,
                                                 per * units)
                if missing:
                    return None
                for stock_id, n in chosen:
                    free[stock_id] -= n
                    out.append(Take(stock_id, n, ref))
    return out


def _target_status(facts: OrderFacts, plan: Plan | None) -> str:
    """allocated when every open unit has a warehouse, backordered otherwise."""
    allocated = sum(facts.allocated.values())
    if plan is not None:
        allocated += sum(n for g in plan.groups.values() for _d, n in g)
    return "allocated" if facts.open_units and allocated >= facts.open_units \
        else "backordered"


# -- allocating ---------------------------------------------------------------------------

def allocate_order(session: Session, order_id: int, *, user_id: int | None = None) -> Order:
    """Allocate the order's open units and reserve their stock, in the caller's
    transaction. The order row is locked first, so two workers never allocate the
    same order twice. Safe to call again: only unallocated units are considered."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # the reads below go around the ORM
    facts = _read_order(session, order_id)
    if facts is None:
        raise NotFound(message("No order %(id)s", id=order_id),
                       fields={"order_id": [message("not found")]})
    if facts.status not in ALLOCATABLE:
        raise Conflict(message("Order %(id)s is %(status)s: nothing to allocate", id=facts.id,
                               status=status_word(facts.status)),
                       fields={"status": [message("cannot allocate a %(status)s order",
                                                 status=status_word(facts.status))]})
    if not facts.demands:
        return refresh_status(session, session.get(Order, order_id), user_id=user_id)
    rules = _read_rules(session, facts.seller_id)
    sku_ids = {s for d in facts.demands for s in d.per_unit}
    for _attempt in range(RETRIES):
        shelf = _read_shelf(session, sku_ids, [w.id for w in rules.candidates])
        plan = plan_allocation(session, facts, rules, shelf.totals)
        if _write(session, facts, plan, shelf, user_id):
            break
        # Someone took the stock between our read and our lock: plan again.
    else:
        plan = Plan(strategy="backorder", why=message(
                    "stock kept moving while allocating; retried and backordered"),
                    backordered=[(d, d.units) for d in facts.demands])
        _write(session, facts, plan, Shelf({}, {}, {}), user_id)
    return session.get(Order, order_id)


def _write(session: Session, facts: OrderFacts, plan: Plan, shelf: Shelf, user_id) -> bool:
    """Reserve and record the plan; False (and nothing written) if stock moved."""
    if session.get_bind().dialect.name == "postgresql":
        chosen = takes(plan, shelf)
        if chosen is not None:
            from .writer import write_plan
            # In a savepoint: a try that finds its rows taken writes nothing, but
            # the rows it locked stay locked until the savepoint is rolled back;
            # kept, a second try locking other rows could wait in a cycle.
            savepoint = session.begin_nested()
            written = write_plan(session, facts, plan, chosen, _reason(facts, plan),
                                 _target_status(facts, plan), user_id)
            if written:
                savepoint.commit()
            else:
                savepoint.rollback()
            return written
    return _write_with_orm(session, facts, plan, user_id)


def _write_with_orm(session: Session, facts: OrderFacts, plan: Plan, user_id) -> bool:
    """The same write through inventory.services.reserve and the ORM, in a
    savepoint: the embedded default's path (and PostgreSQL's for the rare plan
    whose takes the unlocked read cannot place)."""
    order = session.get(Order, facts.id)
    savepoint = session.begin_nested()
    try:
        _reserve_plan(session, order, plan, user_id)
        savepoint.commit()
    except InsufficientStock:
        savepoint.rollback()
        session.expire(order)
        return False
    order.allocation_reason = _reason(facts, plan)
    record(session, order, "allocation", plan.why, data={
        "strategy": plan.strategy, "winners": order.allocation_reason["winners"]},
        user_id=user_id)
    refresh_status(session, order, user_id=user_id)
    return True


def _reserve_plan(session: Session, order: Order, plan: Plan, user_id) -> None:
    lines = []
    for wid, taken in sorted(plan.groups.items()):
        for demand, units in taken:
            ref = reference_for(demand.line_id, wid)
            for sku, per in sorted(demand.per_unit.items()):
                lines.append(ReserveLine(sku, wid, per * units, reference=ref))
    if lines:
        reserve(session, lines, reference=f"order:{order.id}", user_id=user_id)
    existing = {(a.order_line_id, a.warehouse_id): a for a in order.allocations}
    for wid, taken in plan.groups.items():
        for demand, units in taken:
            allocation = existing.get((demand.line_id, wid))
            if allocation is None:
                allocation = OrderAllocation(
                    order_id=order.id, order_line_id=demand.line_id,
                    seller_id=order.seller_id, warehouse_id=wid, quantity=0,
                    reference=reference_for(demand.line_id, wid), created_at=utcnow())
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


def after_set_based_write(session: Session, facts: OrderFacts, status: str, reason: dict,
                          stock_ids: list[int]) -> None:
    """Bring what the session already holds in line with a write that went around
    the ORM: the order's status and reason, and its allocations, history and stock
    rows read again when next used."""
    order = session.identity_map.get(identity_key(Order, facts.id))
    if order is not None:
        set_committed_value(order, "status", status)
        set_committed_value(order, "allocation_reason", reason)
        session.expire(order, ["allocations", "events", "updated_at"])
    if facts.allocated:
        for obj in list(session.identity_map.values()):
            if isinstance(obj, OrderAllocation) and obj.order_id == facts.id:
                session.expire(obj)
    for stock_id in stock_ids:
        stock = session.identity_map.get(identity_key(Stock, stock_id))
        if stock is not None:
            session.expire(stock)


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
