"""From allocated to delivered: release to the floor, pick (stock leaves the shelf),
pack (parcels rated, numbered and labelled), ship, deliver.

The floor's task screens (issue #5) will drive these per scan; here they move a
whole order, for an admin, an integration, or a test.
"""
import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..carriers.models import Shipment
from ..carriers.services import create_shipment
from ..catalog.models import KitComponent, Sku
from ..errors import Conflict
from ..i18n import message
from ..inventory.models import Warehouse
from ..inventory.services import pick
from .models import Order, OrderAllocation, status_word
from .services import record, transition

# A box is large (it ships alone, one per unit) past 48 in or 50 lb: furniture.
LARGE_LENGTH_MM = 1219
LARGE_WEIGHT_G = 22680


def release_to_floor(session: Session, order: Order, *, user_id=None) -> Order:
    return transition(session, order, "released", message("released to the floor"),
                      user_id=user_id)


def _per_unit(session: Session, sku_id: int) -> dict[int, int]:
    return dict(session.execute(select(KitComponent.component_sku_id, KitComponent.quantity)
                                .where(KitComponent.kit_sku_id == sku_id)).all()) \
        or {sku_id: 1}


def pick_order(session: Session, order: Order, *, user_id=None) -> Order:
    """Take every allocated unit off its shelf: the reserved stock is issued to the
    order (ledger kind `pick`)."""
    if order.status != "released":
        raise Conflict(message("Order %(id)s is %(status)s; release it before picking",
                               id=order.id, status=status_word(order.status)),
                       fields={"status": [message("must be released")]})
    for allocation in order.allocations:
        units = allocation.quantity - allocation.quantity_picked
        if units <= 0:
            continue
        line = next(l for l in order.lines if l.id == allocation.order_line_id)
        for sku_id, per in sorted(_per_unit(session, line.sku_id).items()):
            pick(session, reference=allocation.reference, sku_id=sku_id,
                 quantity=per * units, user_id=user_id)
        allocation.quantity_picked += units
    return transition(session, order, "picked", message("picked"), user_id=user_id)


def parcels_for(session: Session, order: Order, allocations: list[OrderAllocation]
                ) -> list[dict]:
    """The boxes for the units one warehouse ships: every large item alone, the rest
    together in one box that holds their volume."""
    small_weight, small_volume, longest, widest = 0, 0, 0, 0
    boxes = []
    for allocation in allocations:
        line = next(l for l in order.lines if l.id == allocation.order_line_id)
        sku = session.get(Sku, line.sku_id)
        dims = sorted((sku.length_mm, sku.width_mm, sku.height_mm), reverse=True)
        weight = max(sku.weight_g, 1)
        for _ in range(allocation.quantity):
            if dims[0] >= LARGE_LENGTH_MM or weight >= LARGE_WEIGHT_G:
                boxes.append({"weight_g": weight, "length_mm": dims[0], "width_mm": dims[1],
                              "height_mm": dims[2]})
            else:
                small_weight += weight
                small_volume += dims[0] * dims[1] * dims[2]
                longest, widest = max(longest, dims[0]), max(widest, dims[1])
    if small_weight:
        height = math.ceil(small_volume / (longest * widest)) if longest and widest else 0
        boxes.insert(0, {"weight_g": small_weight, "length_mm": longest, "width_mm": widest,
                         "height_mm": height})
    return boxes


def pack_order(session: Session, order: Order, *, user_id=None) -> list[Shipment]:
    """Pack what each warehouse ships into parcels and label them: one shipment per
    warehouse, rate-shopped against the order's promised date."""
    if order.status != "picked":
        raise Conflict(message("Order %(id)s is %(status)s; pick it before packing",
                               id=order.id, status=status_word(order.status)),
                       fields={"status": [message("must be picked")]})
    by_warehouse: dict[int, list[OrderAllocation]] = {}
    for allocation in order.allocations:
        if allocation.quantity:
            by_warehouse.setdefault(allocation.warehouse_id, []).append(allocation)
    ship_to = {"name": order.ship_to_name or "Customer", "address1":
               order.ship_to_address1 or "-", "address2": order.ship_to_address2,
               "city": order.ship_to_city or "-", "state": order.ship_to_state or "XX",
               "zip": order.ship_to_zip, "phone": order.ship_to_phone}
    if not ship_to["state"] or ship_to["state"] == "XX":
        from ..geo import locate
        ship_to["state"] = locate(order.ship_to_zip, "ship_to.zip").state
        ship_to["city"] = order.ship_to_city or locate(order.ship_to_zip).city
    shipments = []
    for warehouse_id, allocations in sorted(by_warehouse.items()):
        warehouse = session.get(Warehouse, warehouse_id)
        shipment = create_shipment(
            session, warehouse=warehouse, seller_id=order.seller_id, ship_to=ship_to,
            parcels=parcels_for(session, order, allocations), order_id=order.id,
            reference=f"{order.channel}:{order.external_id}"[:128],
            promised_by=order.promised_by)
        shipments.append(shipment)
        record(session, order, "shipment", f"{warehouse.code}: {shipment.service.name} "
               f"{shipment.tracking_number}, ${shipment.cost_cents / 100:,.2f}",  # no words
               data={"shipment_id": shipment.id, "tracking_number": shipment.tracking_number},
               user_id=user_id)
    transition(session, order, "packed", message("packed and labelled"), user_id=user_id)
    return shipments


def ship_order(session: Session, order: Order, *, user_id=None) -> Order:
    """The parcels left the dock: the order and its shipments are shipped."""
    for shipment in order.shipments:
        if shipment.status == "labelled":
            shipment.status = "shipped"
    return transition(session, order, "shipped", message("handed to the carrier"),
                      user_id=user_id)


def deliver_order(session: Session, order: Order, *, user_id=None) -> Order:
    for shipment in order.shipments:
        if shipment.status in ("shipped", "in_transit", "out_for_delivery"):
            shipment.status = "delivered"
    return transition(session, order, "delivered", message("delivered"), user_id=user_id)


STEPS = {"released": release_to_floor, "picked": pick_order, "packed": pack_order,
         "shipped": ship_order, "delivered": deliver_order}
