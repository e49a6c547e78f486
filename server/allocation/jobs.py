"""Why a job: stock that arrives (a receipt, a cancellation, a found unit) should
go to the orders that have waited longest for it, in priority order, without making
the receiver's scan wait for every backordered order to be reconsidered. Each order
is allocated in its own transaction, so one failure does not undo the others."""
import logging

from sqlalchemy import or_, select

from ..catalog.models import KitComponent
from ..extensions import db
from ..jobs import job
from ..orders.models import Order, OrderLine
from .services import allocate_order, priority_key

log = logging.getLogger(__name__)


@job(timeout=600, retries=3)
def allocate_backorders(sku_ids: list[int]) -> list[int]:
    """Allocate backordered orders that wait for any of `sku_ids` (directly or as a
    kit component), in priority order. Returns the ids of orders it allocated."""
    kits = select(KitComponent.kit_sku_id).where(KitComponent.component_sku_id.in_(sku_ids))
    waiting = db.session.scalars(
        select(Order).where(Order.status == "backordered",
                            Order.id.in_(select(OrderLine.order_id).where(
                                or_(OrderLine.sku_id.in_(sku_ids),
                                    OrderLine.sku_id.in_(kits)))))).all()
    return _allocate_in_priority_order(waiting)


@job(timeout=600, retries=3)
def allocate_received(limit: int = 1000) -> list[int]:
    """Allocate orders that were received but not yet allocated, in priority order."""
    waiting = db.session.scalars(select(Order).where(Order.status == "received")
                                 .order_by(Order.id).limit(limit)).all()
    return _allocate_in_priority_order(waiting)


@job(timeout=900, retries=1)
def sweep() -> list[int]:
    """The clock's safety net: orders received but never allocated, and backorders
    whose SKUs have sellable units free now (a trigger lost before the outbox, a
    unit freed by a path that queues no job). Returns the ids it allocated."""
    from ..inventory.models import Stock, in_sellable_bin
    done = allocate_received()
    free = db.session.scalars(select(Stock.sku_id).where(
        Stock.on_hand > Stock.reserved, in_sellable_bin()).distinct()).all()
    db.session.rollback()
    if free:
        done += allocate_backorders(sorted(free))
    return done


def _allocate_in_priority_order(orders) -> list[int]:
    done = []
    for order_id in [o.id for o in sorted(orders, key=priority_key)]:
        try:
            order = allocate_order(db.session, order_id)
            db.session.commit()
            if order.status == "allocated":
                done.append(order_id)
        except Exception:  # noqa: BLE001 - one order's failure must not stop the rest
            db.session.rollback()
            log.exception("allocating order %s failed", order_id)
    return done
