"""Waves: allocated orders released to the floor as one pick list per warehouse,
its lines in walking order, from the bins that hold their reserved stock."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..allocation.services import priority_key
from ..errors import InvalidInput, NotFound
from ..events import emit_after_commit, room_for_warehouse
from ..i18n import N_, message
from ..inventory.models import Bin, Reservation, Warehouse
from ..orders.fulfilment import release_to_floor
from ..orders.models import Order, OrderAllocation
from .models import InboundLine, InboundShipment, Task, TaskLine


def release_wave(session: Session, warehouse_id: int, *, max_orders: int = 20,
                 order_ids: list[int] | None = None, user_id: int | None = None) -> Task:
    """Release up to `max_orders` allocated orders (highest priority first: ship-by,
    margin, age) to the floor of one warehouse, as one pick task whose lines are
    sorted in the bins' walking order. Orders are locked, so two supervisors
    releasing at once never put one order in two waves."""
    if session.get(Warehouse, warehouse_id) is None:
        raise NotFound(message("No such warehouse"),
                       fields={"warehouse_id": [message("not found")]})
    if not 1 <= max_orders <= 500:
        raise InvalidInput("max_orders", message("must be between %(low)s and %(high)s",
                                                 low=1, high=500))
    # An order split over warehouses is released in each one's wave: its part here
    # is ready when no open pick list covers it. A pick list that finished with
    # short lines sent those units back to allocation; once allocated again they
    # wait for the next wave, under the same allocation.
    on_the_floor = (select(TaskLine.allocation_id).join(Task, Task.id == TaskLine.task_id)
                    .where(Task.status.in_(("open", "claimed"))))
    waiting = (select(OrderAllocation.order_id)
               .where(OrderAllocation.warehouse_id == warehouse_id,
                      OrderAllocation.quantity > OrderAllocation.quantity_picked,
                      ~OrderAllocation.id.in_(on_the_floor)))
    stmt = (select(Order).where(Order.status.in_(("allocated", "released")),
                                Order.id.in_(waiting))
            .order_by(Order.id).with_for_update(skip_locked=True))
    if order_ids:
        stmt = stmt.where(Order.id.in_(order_ids))
    candidates = sorted(session.scalars(stmt), key=priority_key)[:max_orders]
    if not candidates:
        raise InvalidInput("warehouse_id", message("no allocated orders to release here"))
    task = Task(warehouse_id=warehouse_id, kind="pick", reason="wave", status="open",
                raised_by_user_id=user_id, data={"orders": [o.id for o in candidates]})
    session.add(task)
    session.flush()
    units = 0
    listed = set(session.scalars(on_the_floor))  # already on an open pick list
    for order in candidates:
        if order.status == "allocated":
            release_to_floor(session, order, user_id=user_id)
        for allocation in order.allocations:
            if allocation.warehouse_id != warehouse_id or allocation.quantity <= 0 \
                    or allocation.id in listed:
                continue
            held = session.execute(
                select(Reservation.sku_id, Reservation.bin_id, Reservation.quantity,
                       Bin.sort_key).join(Bin, Bin.id == Reservation.bin_id)
                .where(Reservation.reference == allocation.reference,
                       Reservation.quantity > 0)).all()
            for sku_id, bin_id, quantity, sort_key in held:
                task.lines.append(TaskLine(
                    warehouse_id=warehouse_id, allocation_id=allocation.id,
                    order_id=order.id, sku_id=sku_id, bin_id=bin_id, sort_key=sort_key,
                    quantity=quantity))
                units += quantity
    task.lines = sorted(task.lines, key=lambda l: (l.sort_key, l.order_id, l.sku_id))
    task.set_title(message("Wave of %(orders)s, %(units)s",
                           orders=_count(len(candidates), "order"),
                           units=_count(units, "unit")))
    session.flush()
    emit_after_commit(session, "task.assigned", {"task_id": task.id, "kind": "pick",
                                                 "title": task.title},
                      [room_for_warehouse(warehouse_id)])
    return task


def _count(n: int, what: str) -> dict:
    """"1 order", "3 orders", "1 unit", "12 units", as a message."""
    if what == "order":
        return message("%(n)s order", n=n) if n == 1 else message("%(n)s orders", n=n)
    return message("%(n)s unit", n=n) if n == 1 else message("%(n)s units", n=n)


# -- receiving and putaway ----------------------------------------------------------

def create_inbound(session: Session, *, seller_id: int, warehouse_id: int, reference: str,
                   lines: list[dict], expected_at=None) -> InboundShipment:
    """Announce a container or ASN: `lines` [{sku_id, quantity}] of the seller's SKUs."""
    from ..catalog.models import Sku
    if session.get(Warehouse, warehouse_id) is None:
        raise NotFound(message("No such warehouse"),
                       fields={"warehouse_id": [message("not found")]})
    if not lines:
        raise InvalidInput("lines", message("an inbound shipment needs at least one line"))
    inbound = InboundShipment(warehouse_id=warehouse_id, seller_id=seller_id,
                              reference=reference.strip(), status="expected",
                              expected_at=expected_at)
    for i, line in enumerate(lines):
        sku = session.get(Sku, line["sku_id"])
        if sku is None or sku.seller_id != seller_id:
            raise NotFound(message("No SKU %(id)s", id=line["sku_id"]),
                           fields={f"lines.{i}.sku_id": ["not found"]})
        inbound.lines.append(InboundLine(warehouse_id=warehouse_id, seller_id=seller_id,
                                         sku_id=sku.id, quantity_expected=line["quantity"]))
    session.add(inbound)
    session.flush()
    return inbound


def close_inbound(session: Session, inbound, *, user_id: int | None = None) -> list[Task]:
    """Close the shipment: every line whose received units differ from the expected
    ones, or that has damaged units, becomes an exception task (over, short, damaged)."""
    from ..models_base import utcnow
    if inbound.status == "closed":
        raise InvalidInput("status", message("already closed"))
    raised = []
    for line in inbound.lines:
        problems = {}
        if line.quantity_received < line.quantity_expected:
            problems["short"] = line.quantity_expected - line.quantity_received
        if line.quantity_received > line.quantity_expected:
            problems["over"] = line.quantity_received - line.quantity_expected
        if line.quantity_damaged:
            problems["damaged"] = line.quantity_damaged
        if problems:
            words = [message(_DIFFERENCES[k], n=v) for k, v in problems.items()]
            joined = words[0]
            for word in words[1:]:
                joined = message("%(list)s, %(item)s", list=joined, item=word)
            task = Task(warehouse_id=inbound.warehouse_id, kind="exception",
                        reason="receiving_difference", status="open",
                        data={"inbound_id": inbound.id, "line_id": line.id, **problems},
                        sku_id=line.sku_id, raised_by_user_id=user_id)
            task.set_title(message("%(reference)s %(sku)s: %(problems)s",
                                   reference=inbound.reference, sku=line.sku.code,
                                   problems=joined))
            session.add(task)
            raised.append(task)
    inbound.status, inbound.closed_at = "closed", utcnow()
    session.flush()
    return raised


_DIFFERENCES = {"short": N_("short %(n)s"), "over": N_("over %(n)s"),
                "damaged": N_("damaged %(n)s")}


def suggest_bin(session: Session, warehouse_id: int, sku_id: int) -> Bin | None:
    """Where to put a SKU away: the storage bin that already holds most of it (one
    place to pick from), else the first empty storage bin in walking order. Only
    sellable bins: a putaway is what makes the units sellable."""
    from ..inventory.models import SELLABLE_BIN_KINDS, Stock
    holding = session.execute(
        select(Bin).join(Stock, Stock.bin_id == Bin.id)
        .where(Stock.sku_id == sku_id, Stock.warehouse_id == warehouse_id,
               Stock.on_hand > 0, Bin.kind.in_(SELLABLE_BIN_KINDS), Bin.active.is_(True))
        .order_by(Stock.on_hand.desc(), Bin.sort_key).limit(1)).scalar_one_or_none()
    if holding is not None:
        return holding
    occupied = select(Stock.bin_id).where(Stock.warehouse_id == warehouse_id,
                                          Stock.on_hand > 0)
    return session.execute(
        select(Bin).where(Bin.warehouse_id == warehouse_id, Bin.kind.in_(SELLABLE_BIN_KINDS),
                          Bin.active.is_(True), ~Bin.id.in_(occupied))
        .order_by(Bin.sort_key).limit(1)).scalar_one_or_none()


# -- a pick list always finishes ------------------------------------------------------
#
# The rules that close pick lines, shared by the sync mutations (pick.confirm, in
# mutations.py) and the API (POST /api/tasks/<id>/resolve): a short pick, a line
# that can no longer be picked, or a supervisor's resolution each leave the list
# either done or with its open lines saying what is left.

# Orders whose pick lines can still be picked: released to the floor, or sent partly
# back to allocation by a short pick (backordered, allocated again) while the rest
# stays on the list.
PICKABLE_ON_LIST = ("released", "picked", "backordered", "allocated")


def finish_pick_task(session: Session, task: Task, at) -> bool:
    """A pick list is done when none of its lines has units left to pick or to
    report short; each line then says how many were picked and how many short."""
    if task.status in ("open", "claimed") and all(l.open_quantity == 0 for l in task.lines):
        task.status = "done"
        task.resolved_at = at
        emit_after_commit(session, "task.changed", {"task_id": task.id, "status": "done"},
                          [room_for_warehouse(task.warehouse_id)])
        return True
    return False


def back_to_allocation(session: Session, order: Order, allocation: OrderAllocation,
                       sku_id: int, bin_id: int, units: int, *, user_id=None) -> None:
    """Units a picker did not find go back to allocation: their reservation in the
    bin is released (a ledger movement), the allocation shrinks, and the order waits
    for stock again (another bin or warehouse, or a backorder; allocate_backorders
    runs after commit). The rest of the order stays on its pick list, pickable."""
    from ..inventory import services as inventory
    from ..jobs import enqueue_after_commit
    from ..orders.services import transition
    inventory.release(session, reference=allocation.reference, sku_id=sku_id,
                      quantity=units, bin_id=bin_id, user_id=user_id, reason="short pick")
    allocation.quantity -= units
    if order.status in ("released", "allocated"):
        transition(session, order, "backordered", message("short pick: back to allocation"),
                   user_id=user_id)
    enqueue_after_commit(session, "server.allocation.jobs.allocate_backorders", sku_id)


def reserved_here(session: Session, allocation: OrderAllocation, sku_id: int,
                  bin_id: int) -> int:
    """Units the allocation still holds of a SKU in one bin."""
    from sqlalchemy import func
    return int(session.scalar(select(func.coalesce(func.sum(Reservation.quantity), 0))
                              .where(Reservation.reference == allocation.reference,
                                     Reservation.bin_id == bin_id,
                                     Reservation.sku_id == sku_id)) or 0)


def is_kit_part(session: Session, allocation: OrderAllocation) -> bool:
    from ..catalog.models import KitComponent
    from ..orders.models import OrderLine
    order_line = session.get(OrderLine, allocation.order_line_id)
    return session.scalar(select(KitComponent.id).where(
        KitComponent.kit_sku_id == order_line.sku_id).limit(1)) is not None


def pickable_units(session: Session, line: TaskLine) -> int:
    """What a picker may still take or report short on a line: its open units, no
    more than its allocation still waits for, and none once the order cannot be
    picked (cancelled, say). Open units beyond it can only be closed."""
    task = line.task
    if task.status not in ("open", "claimed"):
        return 0
    order = session.get(Order, line.order_id)
    if order is None or order.status not in PICKABLE_ON_LIST:
        return 0
    allocation = session.get(OrderAllocation, line.allocation_id)
    if is_kit_part(session, allocation):  # a kit's part: its own line is the bound
        return line.open_quantity
    return max(0, min(line.open_quantity, allocation.quantity - allocation.quantity_picked))


def close_pick_line(session: Session, line: TaskLine, *, user_id=None, at=None,
                    units: int | None = None, why=None) -> dict:
    """Close a pick line (all its open units, or `units` of them): they are short.
    For a plain item the reservation they still hold in the bin is released and goes
    back to allocation (the next wave picks them from wherever stock really is); for
    a kit's part the reservation stays and the next wave lists it again (a kit never
    ships incomplete). Then its pick list is done if nothing else is left on it.
    Returns what it closed: {task_line_id, pick_task_id, sku_id, sku, bin_id, bin,
    units, released}."""
    from ..models_base import utcnow
    from ..orders.services import record
    at = at or utcnow()
    task = line.task
    open_units = line.open_quantity if task.status in ("open", "claimed") else 0
    closed = open_units if units is None else max(0, min(units, open_units))
    released = 0
    if closed:
        allocation = session.get(OrderAllocation, line.allocation_id)
        order = session.get(Order, line.order_id)
        line.quantity_short += closed
        if not is_kit_part(session, allocation):
            released = min(closed, reserved_here(session, allocation, line.sku_id, line.bin_id),
                           max(0, allocation.quantity - allocation.quantity_picked))
        if released:
            back_to_allocation(session, order, allocation, line.sku_id, line.bin_id,
                               released, user_id=user_id)
        record(session, order, "short_pick", message(
            "%(order)s: %(bin)s %(sku)s: %(n)s more short, %(why)s", order=order.external_id,
            bin=line.bin.code, sku=line.sku.code, n=closed,
            why=why or message("closed by a supervisor")), user_id=user_id,
               data={"pick_task_id": task.id, "task_line_id": line.id, "short": closed})
    finish_pick_task(session, task, at)
    session.flush()
    return {"task_line_id": line.id, "pick_task_id": task.id, "sku_id": line.sku_id,
            "sku": line.sku.code, "bin_id": line.bin_id, "bin": line.bin.code,
            "units": closed, "released": released}


def short_pick_line(session: Session, exception: Task) -> TaskLine | None:
    """The pick line a short-pick exception is about: named in its data, or (for an
    exception raised before exceptions named their line) the open line of the same
    order, SKU and bin."""
    data = exception.data or {}
    if data.get("task_line_id"):
        return session.get(TaskLine, data["task_line_id"])
    if not (exception.order_id and exception.sku_id and exception.bin_id):
        return None
    return session.scalars(select(TaskLine).join(Task, Task.id == TaskLine.task_id).where(
        Task.kind == "pick", Task.status.in_(("open", "claimed")),
        TaskLine.order_id == exception.order_id, TaskLine.sku_id == exception.sku_id,
        TaskLine.bin_id == exception.bin_id).order_by(TaskLine.id)).first()


def resolve_task(session: Session, task: Task, *, user_id=None, note: str = "",
                 at=None) -> Task:
    """A supervisor dealt with a task. A short pick's exception closes its pick line
    with it: units still open there are short too, their reservation is released and
    they go back to allocation, so the pick list finishes (done, each line saying
    what was picked and what was short) when nothing else is left on it. A pick list
    resolved by hand closes every open line the same way. Idempotent: a task already
    done (or cancelled) is answered as it is, with its first note."""
    from ..models_base import utcnow
    if not isinstance(note, str) or len(note) > 500:
        raise InvalidInput("note", message("must be text of at most 500 characters"))
    # Locked, so two supervisors resolving at once close the line once.
    task = session.execute(select(Task).where(Task.id == task.id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()
    if task.status not in ("open", "claimed"):
        return task
    at = at or utcnow()
    if task.kind == "pick":
        lines = [line for line in task.lines if line.open_quantity]
        why = message("pick list closed by a supervisor")
    else:
        line = short_pick_line(session, task) if task.reason == "short_pick" else None
        lines = [line] if line is not None and line.open_quantity else []
        why = message("closed with its short-pick exception")
    closed = [close_pick_line(session, line, user_id=user_id, at=at, why=why)
              for line in lines]
    closed = [c for c in closed if c["units"]]
    if task.kind == "pick":
        finish_pick_task(session, task, at)
    task.status, task.resolved_at = "done", at
    task.data = {**(task.data or {}), "note": note, "resolved_by": user_id,
                 "closed_short": closed}
    emit_after_commit(session, "task.changed", {"task_id": task.id, "status": "done"},
                      [room_for_warehouse(task.warehouse_id)])
    session.flush()
    return task
