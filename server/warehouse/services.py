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
from .models import Task, TaskLine


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
    # is ready when no pick line covers it yet.
    waiting = (select(OrderAllocation.order_id)
               .where(OrderAllocation.warehouse_id == warehouse_id,
                      OrderAllocation.quantity > OrderAllocation.quantity_picked,
                      ~OrderAllocation.id.in_(select(TaskLine.allocation_id))))
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
    for order in candidates:
        if order.status == "allocated":
            release_to_floor(session, order, user_id=user_id)
        for allocation in order.allocations:
            if allocation.warehouse_id != warehouse_id or allocation.quantity <= 0:
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
