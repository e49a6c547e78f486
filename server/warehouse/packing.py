"""Packing: every item scanned into the parcel, missing or extra flagged, the
parcel weighed against what its contents should weigh, then rated and labelled."""
from collections import Counter

from sqlalchemy.orm import Session

from ..catalog.models import KitComponent, Sku
from ..errors import Conflict, InvalidInput
from ..i18n import message
from ..orders.fulfilment import pack_order
from ..orders.models import Order, status_word

# A scale reading further than this from the expected weight stops the parcel.
WEIGHT_TOLERANCE = 0.10
# Packaging adds a little; within this many grams the weight is fine whatever the ratio.
WEIGHT_SLACK_G = 150


def expected_contents(session: Session, order: Order, warehouse_id: int) -> Counter:
    """SKU id -> units that must go in the parcel from this warehouse (kits as their
    components, which is what was picked)."""
    want: Counter = Counter()
    for allocation in order.allocations:
        if allocation.warehouse_id != warehouse_id or not allocation.quantity:
            continue
        line = next(l for l in order.lines if l.id == allocation.order_line_id)
        parts = session.query(KitComponent).filter_by(kit_sku_id=line.sku_id).all()
        for sku_id, per in ([(p.component_sku_id, p.quantity) for p in parts]
                            or [(line.sku_id, 1)]):
            want[sku_id] += per * allocation.quantity_picked
    return want


def verify_and_pack(session: Session, order: Order, warehouse_id: int,
                    scanned: list[dict], weight_g: int, *, user_id=None):
    """Check the scanned items and the weight, then pack and label the order.

    `scanned`: [{sku_id, quantity}]. Raises Conflict naming what is missing or extra,
    or a weight that does not match, and changes nothing."""
    if order.status != "picked":
        raise Conflict(message("Order %(id)s is %(status)s, not picked", id=order.external_id,
                               status=status_word(order.status)),
                       fields={"order_id": [message("is %(status)s",
                                                    status=status_word(order.status))]})
    if any(a.warehouse_id != warehouse_id for a in order.allocations if a.quantity):
        raise InvalidInput("order_id", message("ships from several warehouses: pack it in "
                                               "each (not supported yet)"))
    want = expected_contents(session, order, warehouse_id)
    got: Counter = Counter()
    for i, item in enumerate(scanned):
        if item["quantity"] <= 0:
            raise InvalidInput(f"items.{i}.quantity", message("must be greater than 0"))
        got[item["sku_id"]] += item["quantity"]
    missing = {s: n - got[s] for s, n in want.items() if got[s] < n}
    extra = {s: n - want[s] for s, n in got.items() if n > want[s]}
    if missing or extra:
        codes = {s.id: s.code for s in session.query(Sku).filter(
            Sku.id.in_(set(missing) | set(extra)))}
        raise Conflict(message("The parcel does not hold what was picked"),
                       fields={"items": [message("missing %(n)s x %(sku)s", n=n, sku=codes.get(s, s))
                                         for s, n in missing.items()]
                               + [f"extra {n} x {codes.get(s, s)}" for s, n in extra.items()]},
                       missing={str(s): n for s, n in missing.items()},
                       extra={str(s): n for s, n in extra.items()})
    weights = {s.id: s.weight_g for s in session.query(Sku).filter(Sku.id.in_(list(want)))}
    expected = sum(weights[s] * n for s, n in want.items())
    if expected and abs(weight_g - expected) > max(WEIGHT_SLACK_G, expected * WEIGHT_TOLERANCE):
        raise Conflict(message("The parcel weighs %(weight)s g; its contents should weigh "
                               "about %(expected)s g", weight=weight_g, expected=expected),
                       fields={"weight_g": [message("expected about %(g)s g", g=expected)]},
                       expected_weight_g=expected)
    return pack_order(session, order, user_id=user_id)
