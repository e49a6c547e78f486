"""The stock rules. These functions are the only writers of Stock, StockMovement
and Reservation; a route, an RQ job, a sync mutation and a test all call them.

Each one works inside the caller's transaction and never commits: the caller
commits once, so a raised error rolls everything back (bad input changes nothing).

Invariants kept (ARCHITECTURE.md):
1. reserved <= on_hand for every stock row, under any concurrency. Rows are locked
   with SELECT ... FOR UPDATE in primary-key order (so two transactions never wait
   on each other in a cycle) and checked after the lock is held; there is no global
   lock. SQLite has no row locks: there every write transaction begins IMMEDIATE
   (see extensions.py), which serialises writers. The database's CHECK constraint
   `reserved <= on_hand` is the last line of defence.
2. Every change of on_hand or reserved writes a StockMovement in the same
   transaction; the Stock row equals the sum of its movements (`verify_ledger`).
7. Only units in a sellable bin (models.SELLABLE_BIN_KINDS) are reserved or
   counted as available; units in the dock or a damaged bin stay on hand, and
   become available when they are moved onto a shelf.

Side effects (the `stock.changed` event) are queued and sent after commit.
"""
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..catalog.models import Sku
from ..errors import Conflict, InsufficientStock, InvalidInput, NotFound
from ..events import emit_after_commit, room_for_seller, room_for_warehouse
from ..i18n import message
from ..jobs import enqueue_after_commit
from ..models_base import utcnow
from .models import SELLABLE_BIN_KINDS, Bin, Reservation, Stock, StockMovement, in_sellable_bin


@dataclass(frozen=True)
class ReserveLine:
    sku_id: int
    warehouse_id: int
    quantity: int
    # Where this line's units are held; None: the reference of the reserve() call.
    reference: str | None = None


# -- helpers ---------------------------------------------------------------------

_OCCURRED_AT = "haicang_occurred_at"


@contextmanager
def occurred_at(session: Session, moment):
    """Movements recorded inside happened at `moment` (a device's offline scan),
    not now. The sync engine wraps each mutation in it."""
    previous = session.info.get(_OCCURRED_AT)
    session.info[_OCCURRED_AT] = moment
    try:
        yield
    finally:
        session.info[_OCCURRED_AT] = previous

def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(name, message("must be a whole number greater than 0"))


def _sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise NotFound(message("No SKU %(id)s", id=sku_id),
                       fields={"sku_id": [message("not found")]})
    return sku


def _bin(session: Session, bin_id: int, field: str = "bin_id") -> Bin:
    bin_ = session.get(Bin, bin_id)
    if bin_ is None:
        raise NotFound(message("No bin %(id)s", id=bin_id), fields={field: [message("not found")]})
    if not bin_.active:
        raise InvalidInput(field, message("bin %(bin)s is inactive", bin=bin_.code))
    return bin_


def _ensure_stock_row(session: Session, sku: Sku, bin_: Bin) -> int:
    """The id of the stock row for (sku, bin), created empty if it was missing.

    Looked up first, because an INSERT ... ON CONFLICT DO NOTHING that finds the row
    still uses up a sequence value; only a missing row is inserted, and ON CONFLICT
    makes two transactions creating it at once both succeed on the same row."""
    def find():
        return session.execute(select(Stock.id).where(
            Stock.sku_id == sku.id, Stock.bin_id == bin_.id)).scalar_one_or_none()
    stock_id = find()
    if stock_id is not None:
        return stock_id
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Stock).values(
        sku_id=sku.id, seller_id=sku.seller_id, warehouse_id=bin_.warehouse_id,
        bin_id=bin_.id, on_hand=0, reserved=0, updated_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["sku_id", "bin_id"]))
    return find()


def lock_stock_rows(session: Session, pairs: list[tuple[int, int]]) -> list[Stock]:
    """Lock the existing stock rows of these (sku_id, bin_id) pairs, all in
    primary-key order: for a caller about to change several in one transaction (a
    batch of scans), so that it never waits in a cycle. Rows that do not exist yet
    are not created here (a refused scan must leave nothing behind); the operation
    that needs one creates it."""
    if not pairs:
        return []
    return _lock(session, or_(*(and_(Stock.sku_id == s, Stock.bin_id == b)
                                for s, b in sorted(set(pairs)))))


def _lock(session: Session, *conditions) -> list[Stock]:
    """Stock rows matching `conditions`, locked FOR UPDATE in primary-key order and
    re-read after the lock is held (populate_existing), so the values we check are
    the ones no other transaction can change before we commit."""
    stmt = (select(Stock).where(*conditions).order_by(Stock.id)
            .with_for_update(of=Stock).execution_options(populate_existing=True))
    return list(session.scalars(stmt))


def _offer_to_backorders(session: Session, sku_id: int) -> None:
    """Sellable units appeared: backordered orders waiting for this SKU get their
    chance once this commits (a job, coalesced per transaction)."""
    enqueue_after_commit(session, "server.allocation.jobs.allocate_backorders", sku_id)


def _record(session: Session, stock: Stock, kind: str, d_on_hand: int, d_reserved: int,
            *, reason: str, reference: str, user_id: int | None) -> StockMovement:
    now = utcnow()
    # Usually in the identity map already (the rule looked the bin up).
    sellable = session.get(Bin, stock.bin_id).kind in SELLABLE_BIN_KINDS
    stock.on_hand += d_on_hand
    stock.reserved += d_reserved
    stock.updated_at = now
    movement = StockMovement(
        stock_id=stock.id, sku_id=stock.sku_id, seller_id=stock.seller_id,
        warehouse_id=stock.warehouse_id, bin_id=stock.bin_id, kind=kind,
        delta_on_hand=d_on_hand, delta_reserved=d_reserved,
        on_hand_after=stock.on_hand, reserved_after=stock.reserved,
        reason=reason or "", reference=reference or "", user_id=user_id, created_at=now,
        occurred_at=session.info.get(_OCCURRED_AT) or now)
    session.add(movement)
    # Units became available where they can sell (received or found on a shelf,
    # released by an order). Units landing in the dock or a damaged bin are not
    # available; a move between shelves makes none new; a putaway out of the dock
    # is offered by move().
    if sellable and kind != "move_in" and (d_on_hand > 0 or d_reserved < 0):
        _offer_to_backorders(session, stock.sku_id)
    emit_after_commit(session, "stock.changed", {
        "stock_id": stock.id, "sku_id": stock.sku_id, "warehouse_id": stock.warehouse_id,
        "bin_id": stock.bin_id, "on_hand": stock.on_hand, "reserved": stock.reserved,
        "available": stock.on_hand - stock.reserved if sellable else 0,
        "sellable": sellable,
    }, [room_for_seller(stock.seller_id), room_for_warehouse(stock.warehouse_id)])
    return movement


# -- the rules -------------------------------------------------------------------

def receive(session: Session, *, sku_id: int, bin_id: int, quantity: int, reason: str = "",
            reference: str = "", user_id: int | None = None) -> Stock:
    """Add `quantity` units of a SKU to a bin (goods arrived)."""
    _positive("quantity", quantity)
    sku, bin_ = _sku(session, sku_id), _bin(session, bin_id)
    stock_id = _ensure_stock_row(session, sku, bin_)
    (stock,) = _lock(session, Stock.id == stock_id)
    _record(session, stock, "receive", quantity, 0, reason=reason, reference=reference,
            user_id=user_id)
    session.flush()
    return stock


def move(session: Session, *, sku_id: int, from_bin_id: int, to_bin_id: int, quantity: int,
         reason: str = "", reference: str = "", user_id: int | None = None
         ) -> tuple[Stock, Stock]:
    """Move unreserved units between two bins of one warehouse. Out of the dock or
    a damaged bin onto a shelf (putaway), they become sellable; from a shelf into
    a damaged bin, they stop being sellable (reserved units never move)."""
    _positive("quantity", quantity)
    if from_bin_id == to_bin_id:
        raise InvalidInput("to_bin_id", message("must differ from from_bin_id"))
    sku = _sku(session, sku_id)
    source, target = _bin(session, from_bin_id, "from_bin_id"), _bin(session, to_bin_id,
                                                                       "to_bin_id")
    if source.warehouse_id != target.warehouse_id:
        raise InvalidInput("to_bin_id", message("must be in the same warehouse as from_bin_id"))
    target_id = _ensure_stock_row(session, sku, target)
    rows = {s.bin_id: s for s in _lock(
        session, Stock.sku_id == sku.id, Stock.bin_id.in_([source.id, target.id]))}
    src = rows.get(source.id)
    available = src.on_hand - src.reserved if src else 0
    if available < quantity:
        raise InsufficientStock([{"sku_id": sku.id, "bin_id": source.id,
                                  "warehouse_id": source.warehouse_id,
                                  "requested": quantity, "available": available}])
    dst = rows[target.id]
    assert dst.id == target_id
    _record(session, src, "move_out", -quantity, 0, reason=reason, reference=reference,
            user_id=user_id)
    _record(session, dst, "move_in", quantity, 0, reason=reason, reference=reference,
            user_id=user_id)
    if target.kind in SELLABLE_BIN_KINDS and source.kind not in SELLABLE_BIN_KINDS:
        _offer_to_backorders(session, sku.id)
    session.flush()
    return src, dst


def adjust(session: Session, *, sku_id: int, bin_id: int, delta: int, reason: str,
           reference: str = "", user_id: int | None = None, kind: str = "adjust") -> Stock:
    """Correct on_hand by `delta` (found, damaged, lost). A reason is required, and
    on_hand may not fall below what is reserved: reserved goods are promised."""
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidInput("delta", message("must be a whole number other than 0"))
    if not reason or not reason.strip():
        raise InvalidInput("reason", message("is required for an adjustment"))
    sku, bin_ = _sku(session, sku_id), _bin(session, bin_id)
    stock_id = _ensure_stock_row(session, sku, bin_)
    (stock,) = _lock(session, Stock.id == stock_id)
    if stock.on_hand + delta < stock.reserved:
        raise InsufficientStock([{"sku_id": sku.id, "bin_id": bin_.id,
                                  "warehouse_id": bin_.warehouse_id, "requested": -delta,
                                  "available": stock.on_hand - stock.reserved}])
    _record(session, stock, kind, delta, 0, reason=reason, reference=reference,
            user_id=user_id)
    session.flush()
    return stock


def take_from_bins(candidates: list[int], free: dict[int, int], quantity: int
                   ) -> tuple[list[tuple[int, int]], int]:
    """Which stock rows a reservation of `quantity` takes, and how many units are
    still missing (0: it is covered). `candidates` are stock row ids in walking
    order, `free` their unreserved units. One bin that holds the whole quantity if
    there is one (one stop for the picker), otherwise bins in walking order. The
    one rule for reserve() and for allocation's set-based write."""
    whole = next((c for c in candidates if free[c] >= quantity), None)
    wanted, taken = quantity, []
    for stock_id in ([whole] if whole is not None else candidates):
        take = min(wanted, free[stock_id])
        if take > 0:
            taken.append((stock_id, take))
            wanted -= take
        if wanted == 0:
            break
    return taken, wanted


# Who wants to know that stock moved (the channels, to push what is available):
# hook(session, sku_ids), called by every writer of ledger rows that goes around
# the ORM (allocation.writer, the sync engine's set-based batch). ORM-written
# movements are seen by a flush watcher of the same subscriber.
_STOCK_MOVED_HOOKS: list = []


def on_stock_moved(hook):
    """Subscribe `hook(session, sku_ids)` to stock changes written set-based."""
    _STOCK_MOVED_HOOKS.append(hook)
    return hook


def stock_moved(session: Session, sku_ids) -> None:
    """Ledger rows of these SKUs were written without ORM objects: tell the
    subscribers, in the same transaction (what they queue commits with it)."""
    sku_ids = sorted(set(sku_ids))
    if sku_ids:
        for hook in _STOCK_MOVED_HOOKS:
            hook(session, sku_ids)


def movement_time(session: Session, now):
    """When a movement recorded now happened: the device's time inside
    occurred_at(), else now."""
    return session.info.get(_OCCURRED_AT) or now


def reserve(session: Session, lines: list[ReserveLine], *, reference: str,
            user_id: int | None = None) -> list[Reservation]:
    """Reserve every line or none (a kit or an order is all or nothing).

    Each line takes units from the sellable bins of its warehouse (never the dock
    or a damaged bin): one bin that holds the whole quantity if there is one (one
    stop for the picker), otherwise bins in walking order. Raises
    InsufficientStock naming every short line.
    """
    if not lines:
        raise InvalidInput("lines", message("must not be empty"))
    if (not reference or not reference.strip()) and not all(l.reference for l in lines):
        raise InvalidInput("reference", message("is required: it is what a release names"))
    for i, line in enumerate(lines):
        _positive(f"lines.{i}.quantity", line.quantity)
    pairs = sorted({(line.sku_id, line.warehouse_id) for line in lines})
    # One statement: the stock rows locked (in key order) with their bins, which
    # the walking order and each ledger row's sellable check need.
    located = session.execute(
        select(Stock, Bin).join(Bin, Bin.id == Stock.bin_id)
        .where(or_(*(and_(Stock.sku_id == s, Stock.warehouse_id == w) for s, w in pairs)),
               Stock.on_hand > Stock.reserved, in_sellable_bin())
        .order_by(Stock.id).with_for_update(of=Stock)
        .execution_options(populate_existing=True)).all()
    rows = [stock for stock, _bin in located]
    sort_keys = {bin_.id: bin_.sort_key for _stock, bin_ in located}
    by_pair: dict[tuple[int, int], list[Stock]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (sort_keys[r.bin_id], r.id)):
        by_pair[(row.sku_id, row.warehouse_id)].append(row)

    # Plan in memory first, so a short line leaves every row untouched.
    free = {row.id: row.on_hand - row.reserved for row in rows}
    by_id = {row.id: row for row in rows}
    plan: list[tuple[Stock, int, str]] = []
    shortages = []
    for line in lines:
        candidates = [r.id for r in by_pair[(line.sku_id, line.warehouse_id)]]
        taken, wanted = take_from_bins(candidates, free, line.quantity)
        if wanted:
            shortages.append({"sku_id": line.sku_id, "warehouse_id": line.warehouse_id,
                              "requested": line.quantity,
                              "available": line.quantity - wanted})
            continue
        for stock_id, take in taken:
            free[stock_id] -= take
            plan.append((by_id[stock_id], take, line.reference or reference))
    if shortages:
        raise InsufficientStock(shortages)

    reservations = []
    for row, take, ref in plan:
        _record(session, row, "reserve", 0, take, reason="reserved", reference=ref,
                user_id=user_id)
        reservation = Reservation(
            stock_id=row.id, sku_id=row.sku_id, seller_id=row.seller_id,
            warehouse_id=row.warehouse_id, bin_id=row.bin_id, reference=ref,
            quantity=take, created_at=utcnow())
        session.add(reservation)
        reservations.append(reservation)
    session.flush()
    return reservations


def release(session: Session, *, reference: str, sku_id: int | None = None,
            quantity: int | None = None, user_id: int | None = None,
            reason: str = "released", bin_id: int | None = None) -> int:
    """Give back what `reference` reserved: all of it, or `quantity` units of one
    SKU (a partial cancellation). Releases exactly what was reserved, newest first,
    never more. Returns the number of units released."""
    if quantity is not None:
        _positive("quantity", quantity)
        if sku_id is None:
            raise InvalidInput("sku_id", message("is required when releasing a quantity"))
    conditions = [Reservation.reference == reference, Reservation.quantity > 0]
    if sku_id is not None:
        conditions.append(Reservation.sku_id == sku_id)
    if bin_id is not None:  # a short pick gives back what one bin did not have
        conditions.append(Reservation.bin_id == bin_id)
    stock_ids = session.scalars(select(Reservation.stock_id).where(*conditions)).all()
    if not stock_ids:
        raise NotFound(message("Nothing is reserved for %(reference)s", reference=repr(reference)),
                       fields={"reference": [message("has no open reservation")]})
    # Stock rows first, in primary-key order, as reserve() locks them: no cycles.
    stocks = {s.id: s for s in _lock(session, Stock.id.in_(set(stock_ids)))}
    held = list(session.scalars(
        select(Reservation).where(*conditions).order_by(Reservation.id.desc())
        .with_for_update().execution_options(populate_existing=True)))
    total = sum(r.quantity for r in held)
    wanted = total if quantity is None else quantity
    if wanted > total:
        raise Conflict(message("Cannot release %(wanted)s: %(reference)s holds %(total)s", wanted=wanted, reference=repr(reference), total=total),
                       fields={"quantity": [message("at most %(n)s", n=total)]}, held=total)
    left = wanted
    for reservation in held:
        if left == 0:
            break
        give = min(left, reservation.quantity)
        reservation.quantity -= give
        left -= give
        _record(session, stocks[reservation.stock_id], "release", 0, -give, reason=reason,
                reference=reference, user_id=user_id)
    session.flush()
    return wanted


def pick(session: Session, *, reference: str, sku_id: int, quantity: int,
         bin_id: int | None = None, user_id: int | None = None) -> list[tuple[int, int]]:
    """Take `quantity` reserved units of a SKU off the shelf for `reference` (its
    order line): on_hand and reserved both fall, and the reservation shrinks. With
    `bin_id`, only from that bin (the picker scanned it). Raises InsufficientStock
    if the reference holds fewer units there. Returns [(bin_id, units)]."""
    _positive("quantity", quantity)
    conditions = [Reservation.reference == reference, Reservation.sku_id == sku_id,
                  Reservation.quantity > 0]
    if bin_id is not None:
        conditions.append(Reservation.bin_id == bin_id)
    stock_ids = session.scalars(select(Reservation.stock_id).where(*conditions)).all()
    stocks = {s.id: s for s in _lock(session, Stock.id.in_(set(stock_ids)))} if stock_ids \
        else {}
    held = list(session.scalars(
        select(Reservation).where(*conditions).order_by(Reservation.id)
        .with_for_update().execution_options(populate_existing=True)))
    total = sum(r.quantity for r in held)
    if total < quantity:
        raise InsufficientStock([{"sku_id": sku_id, "bin_id": bin_id, "reference": reference,
                                  "requested": quantity, "available": total}])
    left, taken = quantity, []
    for reservation in held:
        if left == 0:
            break
        take = min(left, reservation.quantity)
        reservation.quantity -= take
        left -= take
        _record(session, stocks[reservation.stock_id], "pick", -take, -take,
                reason="picked", reference=reference, user_id=user_id)
        taken.append((reservation.bin_id, take))
    session.flush()
    return taken


def available_by_warehouse(session: Session, sku_id: int) -> dict[int, int]:
    """Units of a SKU that can still be promised, per warehouse: sellable bins only."""
    rows = session.execute(
        select(Stock.warehouse_id, func.sum(Stock.on_hand - Stock.reserved))
        .where(Stock.sku_id == sku_id, in_sellable_bin()).group_by(Stock.warehouse_id)).all()
    return {w: int(n) for w, n in rows}


def verify_ledger(session: Session) -> list[dict]:
    """Every stock row whose on_hand or reserved differs from the sum of its ledger
    rows, or whose reserved differs from its open reservations. Empty means the
    projection is exactly the ledger."""
    ledger = select(StockMovement.stock_id,
                    func.sum(StockMovement.delta_on_hand).label("on_hand"),
                    func.sum(StockMovement.delta_reserved).label("reserved")
                    ).group_by(StockMovement.stock_id).subquery()
    held = select(Reservation.stock_id, func.sum(Reservation.quantity).label("held")
                  ).group_by(Reservation.stock_id).subquery()
    rows = session.execute(
        select(Stock.id, Stock.on_hand, Stock.reserved,
               func.coalesce(ledger.c.on_hand, 0), func.coalesce(ledger.c.reserved, 0),
               func.coalesce(held.c.held, 0))
        .outerjoin(ledger, ledger.c.stock_id == Stock.id)
        .outerjoin(held, held.c.stock_id == Stock.id)).all()
    problems = []
    for stock_id, on_hand, reserved, l_on_hand, l_reserved, l_held in rows:
        if (on_hand, reserved) != (l_on_hand, l_reserved) or reserved != l_held:
            problems.append({"stock_id": stock_id, "on_hand": on_hand, "reserved": reserved,
                             "ledger_on_hand": int(l_on_hand),
                             "ledger_reserved": int(l_reserved),
                             "open_reservations": int(l_held)})
    return problems


def promised_outside_sellable_bins(session: Session) -> list[dict]:
    """Stock rows holding reserved units in a bin that may not sell: promised before
    only sellable bins sold, or a bin whose kind was changed by hand. They balance
    with the ledger and can still be picked, but their units cannot be put away
    until the order releases them: a supervisor should look at each."""
    rows = session.execute(
        select(Stock.id, Stock.sku_id, Stock.warehouse_id, Stock.bin_id, Bin.code, Bin.kind,
               Stock.reserved).join(Bin, Bin.id == Stock.bin_id)
        .where(Stock.reserved > 0, Bin.kind.not_in(SELLABLE_BIN_KINDS))
        .order_by(Stock.id)).all()
    return [{"stock_id": r[0], "sku_id": r[1], "warehouse_id": r[2], "bin_id": r[3],
             "bin_code": r[4], "bin_kind": r[5], "reserved": r[6]} for r in rows]


def rebuild_stock_from_ledger(session: Session) -> int:
    """Rewrite every stock row from its ledger (the projection rebuilt from the
    truth). Returns how many rows changed. For repair after a manual edit."""
    changed = 0
    for problem in verify_ledger(session):
        (stock,) = _lock(session, Stock.id == problem["stock_id"])
        if (stock.on_hand, stock.reserved) != (problem["ledger_on_hand"],
                                               problem["ledger_reserved"]):
            stock.on_hand = problem["ledger_on_hand"]
            stock.reserved = problem["ledger_reserved"]
            changed += 1
    session.flush()
    return changed
