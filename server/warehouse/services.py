"""Waves: allocated orders released to the floor as one pick list per warehouse,
its lines in walking order, from the bins that hold their reserved stock."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..allocation.services import priority_key
from ..errors import InvalidInput, NotFound
from ..events import emit_after_commit, room_for_warehouse
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
        raise NotFound("No such warehouse", fields={"warehouse_id": ["not found"]})
    if not 1 <= max_orders <= 500:
        raise InvalidInput("max_orders", "must be between 1 and 500")
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
        raise InvalidInput("warehouse_id", "no allocated orders to release here")
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
    task.title = f"Wave of {len(candidates)} orders, {units} units"
    session.flush()
    emit_after_commit(session, "task.assigned", {"task_id": task.id, "kind": "pick",
                                                 "title": task.title},
                      [room_for_warehouse(warehouse_id)])
    return task


# -- receiving and putaway ----------------------------------------------------------

def create_inbound(session: Session, *, seller_id: int, warehouse_id: int, reference: str,
                   lines: list[dict], expected_at=None) -> InboundShipment:
    """Announce a container or ASN: `lines` [{sku_id, quantity}] of the seller's SKUs."""
    from ..catalog.models import Sku
    if session.get(Warehouse, warehouse_id) is None:
        raise NotFound("No such warehouse", fields={"warehouse_id": ["not found"]})
    if not lines:
        raise InvalidInput("lines", "an inbound shipment needs at least one line")
    inbound = InboundShipment(warehouse_id=warehouse_id, seller_id=seller_id,
                              reference=reference.strip(), status="expected",
                              expected_at=expected_at)
    for i, line in enumerate(lines):
        sku = session.get(Sku, line["sku_id"])
        if sku is None or sku.seller_id != seller_id:
            raise NotFound(f"No SKU {line['sku_id']}",
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
        raise InvalidInput("status", "already closed")
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
            words = ", ".join(f"{k} {v}" for k, v in problems.items())
            task = Task(warehouse_id=inbound.warehouse_id, kind="exception",
                        reason="receiving_difference", status="open",
                        title=f"{inbound.reference} {line.sku.code}: {words}",
                        data={"inbound_id": inbound.id, "line_id": line.id, **problems},
                        sku_id=line.sku_id, raised_by_user_id=user_id)
            session.add(task)
            raised.append(task)
    inbound.status, inbound.closed_at = "closed", utcnow()
    session.flush()
    return raised


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
