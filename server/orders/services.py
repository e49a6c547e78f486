"""Order rules: creating orders, moving them through their states, cancelling and
editing them. Like every service here, these work in the caller's transaction and
never commit; events go out after the commit.

Where stock is concerned they call the allocation package, which reserves and
releases through inventory.services, so a cancellation releases exactly what the
order reserved: no more (someone else's), no less (stranded stock).
"""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalog.models import Sku
from ..errors import Conflict, InvalidInput, NotFound, english
from ..events import emit_after_commit, room_for_seller, room_for_warehouse
from ..geo import locate
from ..i18n import message
from ..models_base import utcnow
from .models import CHANNELS, Order, OrderAllocation, OrderEvent, OrderLine, status_word
from .store import insert_new_order

TRANSITIONS = {
    "held": {"received", "cancelled"},
    "received": {"allocated", "backordered", "cancelled", "exception", "held"},
    "backordered": {"allocated", "backordered", "cancelled", "exception"},
    "allocated": {"allocated", "backordered", "released", "cancelled", "exception"},
    "released": {"picked", "allocated", "backordered", "cancelled", "exception"},
    "picked": {"packed", "exception"},
    "packed": {"shipped", "exception"},
    "shipped": {"delivered", "exception"},
    "delivered": set(),
    "cancelled": set(),
    "exception": {"received", "allocated", "backordered", "released", "cancelled"},
    "fulfilled_by_channel": {"cancelled"},
}
# Until the floor has picked it, an order's stock is only reserved and can be freed.
CANCELLABLE = {"held", "received", "backordered", "allocated", "released", "exception",
               "fulfilled_by_channel"}


class DuplicateOrder(Conflict):
    """The order exists already: another worker stored it between a look and an
    insert (the channel's upsert then updates it instead)."""


def order_payload(order: Order) -> dict:
    return {"order_id": order.id, "status": order.status, "seller_id": order.seller_id,
            "channel": order.channel, "external_id": order.external_id}


def record(session: Session, order: Order, kind: str, text="", *,
           data: dict | None = None, user_id: int | None = None,
           from_status: str | None = None, to_status: str | None = None) -> OrderEvent:
    """Add a line to the order's history and tell the seller's room (after commit).
    `text` is English, or a stored message (server/i18n.py: kept with its English,
    read in the reader's language); a person's own words (a cancel reason) stay as
    they wrote them."""
    event = OrderEvent(order_id=order.id, seller_id=order.seller_id, kind=kind,
                       from_status=from_status, to_status=to_status, message=english(text),
                       message_i18n=None if isinstance(text, str) else text,
                       data=data, user_id=user_id, created_at=utcnow())
    session.add(event)
    rooms = [room_for_seller(order.seller_id)]
    rooms += [room_for_warehouse(a.warehouse_id) for a in order.allocations if a.quantity]
    emit_after_commit(session, "order.updated", order_payload(order), rooms)
    return event


def transition(session: Session, order: Order, to_status: str, text="", *,
               data: dict | None = None, user_id: int | None = None) -> Order:
    """Move an order to `to_status` if its state machine allows it. `text`: as for
    record() (none: the change itself, "received -> allocated")."""
    if to_status not in TRANSITIONS.get(order.status, set()):
        raise Conflict(message("Order %(id)s is %(status)s; it cannot become %(to)s",
                               id=order.id, status=status_word(order.status),
                               to=status_word(to_status)),
                       fields={"status": [message("%(status)s -> %(to)s is not allowed",
                                                 status=order.status, to=to_status)]},
                       order_id=order.id, status=order.status)
    previous, order.status = order.status, to_status
    record(session, order, "status", text or f"{previous} -> {to_status}", data=data,
           user_id=user_id, from_status=previous, to_status=to_status)
    return order


def _check_lines(session: Session, seller_id: int, lines: list[dict]) -> list[Sku]:
    if not lines:
        raise InvalidInput("lines", message("an order needs at least one line"))
    skus = []
    wanted = {line["sku_id"] for line in lines if isinstance(line.get("sku_id"), int)}
    found = {s.id: s for s in session.scalars(select(Sku).where(Sku.id.in_(wanted)))} \
        if wanted else {}
    for i, line in enumerate(lines):
        sku = found.get(line["sku_id"])
        if sku is None or sku.seller_id != seller_id:
            raise NotFound(message("No SKU %(id)s", id=line["sku_id"]),
                           fields={f"lines.{i}.sku_id": ["not found"]})
        if not sku.active:
            raise InvalidInput(f"lines.{i}.sku_id", message("SKU %(code)s is inactive",
                                                            code=sku.code))
        if line["quantity"] <= 0:
            raise InvalidInput(f"lines.{i}.quantity", message("must be greater than 0"))
        skus.append(sku)
    return skus


def create_order(session: Session, *, seller_id: int, external_id: str, lines: list[dict],
                 ship_to: dict, channel: str = "manual", account_key: str = "",
                 placed_at: datetime | None = None, ship_by: datetime | None = None,
                 promised_by: datetime | None = None, currency: str = "USD",
                 fulfilled_by_channel: bool = False, raw_payload: dict | None = None,
                 customer_locale: str = "", user_id: int | None = None) -> Order:
    """Record a new order (status received, or fulfilled_by_channel when the channel
    ships it itself). `lines`: [{sku_id, quantity, unit_price_cents,
    external_line_id?}]. Allocation is a separate step (allocation.allocate_order)."""
    if channel not in CHANNELS:
        raise InvalidInput("channel", message("must be one of %(choices)s",
                                              choices=", ".join(CHANNELS)))
    external_id = (external_id or "").strip()
    if not external_id:
        raise InvalidInput("external_id", message("is required"))
    locate(ship_to.get("zip", ""), "ship_to.zip")  # an unknown ZIP is refused, by field
    _check_lines(session, seller_id, lines)
    values = dict(
        seller_id=seller_id, channel=channel, account_key=account_key,
        external_id=external_id, placed_at=placed_at or utcnow(), ship_by=ship_by,
        promised_by=promised_by, currency=currency,
        status="fulfilled_by_channel" if fulfilled_by_channel else "received",
        fulfilled_by_channel=fulfilled_by_channel, raw_payload=raw_payload,
        **{f"ship_to_{k}": v for k, v in ship_to.items()
           if k in ("name", "address1", "address2", "city", "state", "zip", "country",
                    "phone", "email")},
        customer_locale=(customer_locale or "")[:16])
    # Written with Core (orders/store.py): the unit of work costs more than the
    # statements on the busiest write of a peak day. The duplicate is refused by the
    # INSERT itself (the unique constraint), not by a look first.
    order = insert_new_order(session, values, [
        {"seller_id": seller_id, "sku_id": line["sku_id"], "quantity": line["quantity"],
         "unit_price_cents": line.get("unit_price_cents", 0),
         "external_line_id": line.get("external_line_id", "")} for line in lines])
    if order is None:
        raise Conflict(message("Order %(external_id)s from %(channel)s exists",
                               external_id=external_id, channel=channel),
                       fields={"external_id": [message("already exists")]})
    record(session, order, "created", message("Order %(external_id)s received from "
                                              "%(channel)s", external_id=external_id,
                                              channel=channel),
           user_id=user_id, to_status=order.status)
    return order


def _release_line(session: Session, line: OrderLine, quantity: int, user_id) -> int:
    """Release up to `quantity` allocated units of a line, newest allocation first.
    Returns how many were released."""
    from ..allocation.services import release_allocation
    left = quantity
    allocations = [a for a in line.order.allocations
                   if a.order_line_id == line.id and a.quantity > 0]
    for allocation in sorted(allocations, key=lambda a: a.id, reverse=True):
        if left == 0:
            break
        left -= release_allocation(session, allocation, min(left, allocation.quantity),
                                   user_id=user_id)
    return quantity - left


def cancel_order(session: Session, order: Order, *, reason: str = "",
                 user_id: int | None = None) -> Order:
    """Cancel the whole order and release every unit it reserved."""
    if order.status not in CANCELLABLE:
        raise Conflict(_too_late(order, "cancel"),
                       fields={"status": [message("cannot cancel a %(status)s order",
                                                 status=status_word(order.status))]})
    for line in order.lines:
        _release_line(session, line, line.open_quantity, user_id)
        line.quantity_cancelled = line.quantity
    return transition(session, order, "cancelled", reason or message("cancelled"),
                      user_id=user_id)


def cancel_quantity(session: Session, order: Order, line: OrderLine, quantity: int, *,
                    reason: str = "", user_id: int | None = None) -> Order:
    """Cancel `quantity` units of one line (a partial cancellation). Units still
    waiting for stock go first; then allocated units are released, exactly."""
    if order.status not in CANCELLABLE:
        raise Conflict(_too_late(order, "cancel"),
                       fields={"status": [message("cannot cancel a %(status)s order",
                                                 status=status_word(order.status))]})
    if line.order_id != order.id:
        raise NotFound(message("No such line"), fields={"line_id": [message("not on this order")]})
    if not 0 < quantity <= line.open_quantity:
        raise InvalidInput("quantity", message("must be between %(low)s and %(high)s",
                                               low=1, high=line.open_quantity),
                           max_quantity=line.open_quantity)
    allocated = sum(a.quantity for a in order.allocations if a.order_line_id == line.id)
    waiting = line.open_quantity - allocated
    from_allocated = max(0, quantity - waiting)
    released = _release_line(session, line, from_allocated, user_id) if from_allocated else 0
    line.quantity_cancelled += quantity
    record(session, order, "cancelled_quantity",
           reason or message("%(n)s x line %(line)s cancelled", n=quantity, line=line.id),
           user_id=user_id,
           data={"line_id": line.id, "quantity": quantity, "released": released})
    if all(l.open_quantity == 0 for l in order.lines):
        return transition(session, order, "cancelled", message("every line cancelled"),
                          user_id=user_id)
    from ..allocation.services import refresh_status
    refresh_status(session, order, user_id=user_id)
    return order


def edit_lines(session: Session, order: Order, lines: list[dict], *,
               user_id: int | None = None) -> Order:
    """Replace the order's lines (a channel edit). Everything reserved is released,
    then the new lines are allocated afresh: what was reserved is exactly freed."""
    if order.status not in ("held", "received", "backordered", "allocated", "exception"):
        raise Conflict(_too_late(order, "edit"),
                       fields={"status": [message("cannot edit a %(status)s order",
                                                 status=status_word(order.status))]})
    _check_lines(session, order.seller_id, lines)
    for line in order.lines:
        _release_line(session, line, line.open_quantity, user_id)
    order.allocations = [a for a in order.allocations if a.quantity > 0]
    order.lines = [OrderLine(seller_id=order.seller_id, sku_id=line["sku_id"],
                             quantity=line["quantity"],
                             unit_price_cents=line.get("unit_price_cents", 0),
                             external_line_id=line.get("external_line_id", ""))
                   for line in lines]
    session.flush()
    previous, order.status = order.status, "received"
    record(session, order, "edited", message("lines replaced"), user_id=user_id,
           from_status=previous, to_status="received")
    return order


# -- channel orders: lines that may not be resolved yet, held orders -------------

SHIP_TO_FIELDS = ("name", "address1", "address2", "city", "state", "zip", "country", "phone",
                  "email")


def _line_values(seller_id: int, lines: list[dict]) -> list[dict]:
    return [{"seller_id": seller_id, "sku_id": line.get("sku_id"),
             "quantity": line["quantity"],
             "quantity_cancelled": line.get("quantity_cancelled", 0),
             "unit_price_cents": line.get("unit_price_cents", 0),
             "external_line_id": (line.get("external_line_id") or "")[:64],
             "channel_sku": (line.get("channel_sku") or "")[:128],
             "title": (line.get("title") or "")[:300]}
            for line in lines]


def _line_rows(seller_id: int, lines: list[dict]) -> list[OrderLine]:
    return [OrderLine(**values) for values in _line_values(seller_id, lines)]


def hold_problems(order: Order) -> list[str]:
    """Why an order cannot go to allocation yet, in words a seller can act on: a
    channel SKU without a mapping, a ship-to ZIP we cannot route to."""
    problems = []
    unmapped = sorted({line.channel_sku or line.external_line_id or "?"
                       for line in order.lines if line.sku_id is None})
    if unmapped:
        problems.append(message("No SKU mapping for channel SKU %(skus)s: map it to your "
                                "SKU, then release the order", skus=", ".join(unmapped)))
    if not order.fulfilled_by_channel:
        try:
            locate(order.ship_to_zip or "", "ship_to.zip")
        except InvalidInput:
            problems.append(message("Ship-to ZIP %(zip)s is not a US ZIP we can ship to: "
                                    "correct the address, then release the order",
                                    zip=repr(order.ship_to_zip)))
    return problems


def _check_resolved(session: Session, seller_id: int, lines: list[dict]) -> None:
    if not lines:
        raise InvalidInput("lines", message("an order needs at least one line"))
    resolved = [line for line in lines if line.get("sku_id")]
    if resolved:
        _check_lines(session, seller_id, resolved)
    for i, line in enumerate(lines):
        if line["quantity"] <= 0:
            raise InvalidInput(f"lines.{i}.quantity", message("must be greater than 0"))
        if not 0 <= line.get("quantity_cancelled", 0) <= line["quantity"]:
            raise InvalidInput(f"lines.{i}.quantity_cancelled",
                               message("must be between %(low)s and %(high)s", low=0,
                                       high=line["quantity"]))


def _settle_status(session: Session, order: Order, user_id) -> Order:
    """A new or re-lined channel order: cancelled when nothing is open, held while a
    person must act, otherwise received (ready for allocation)."""
    if order.fulfilled_by_channel:
        return order
    if all(line.open_quantity == 0 for line in order.lines):
        if order.status != "cancelled":
            transition(session, order, "cancelled",
                       message("every line cancelled by the channel"), user_id=user_id)
        return order
    problems = hold_problems(order)
    if problems:
        order.hold_because(problems)
        if order.status != "held":
            transition(session, order, "held", problems, user_id=user_id,
                       data={"problems": [english(p) for p in problems]})
    else:
        order.hold_because(None)
    return order


def create_channel_order(session: Session, *, seller_id: int, channel: str,
                         account_key: str, external_id: str, lines: list[dict],
                         ship_to: dict, placed_at: datetime | None = None,
                         ship_by: datetime | None = None, promised_by: datetime | None = None,
                         currency: str = "USD", fulfilled_by_channel: bool = False,
                         raw_payload: dict | None = None, channel_status: str = "",
                         channel_updated_at: datetime | None = None,
                         customer_locale: str = "", user_id: int | None = None) -> Order:
    """Record an order as a channel sent it. Unlike create_order, a line may have no
    SKU yet (`sku_id` None: its channel SKU is unmapped) and the address may not be
    routable: such an order is kept, `held`, with a reason the seller can act on
    (release_held). Lines may arrive partly cancelled (`quantity_cancelled`)."""
    if channel not in CHANNELS:
        raise InvalidInput("channel", message("must be one of %(choices)s",
                                              choices=", ".join(CHANNELS)))
    external_id = (external_id or "").strip()
    if not external_id:
        raise InvalidInput("external_id", message("is required"))
    _check_resolved(session, seller_id, lines)
    order = insert_new_order(session, dict(
        seller_id=seller_id, channel=channel, account_key=account_key,
        external_id=external_id, placed_at=placed_at or utcnow(), ship_by=ship_by,
        promised_by=promised_by, currency=currency,
        status="fulfilled_by_channel" if fulfilled_by_channel else "received",
        fulfilled_by_channel=fulfilled_by_channel, raw_payload=raw_payload,
        channel_status=channel_status[:32], channel_updated_at=channel_updated_at,
        customer_locale=(customer_locale or "")[:16],
        **{f"ship_to_{k}": (v or "") for k, v in ship_to.items() if k in SHIP_TO_FIELDS}),
        _line_values(seller_id, lines))
    if order is None:  # another worker stored it first
        raise DuplicateOrder(message("Order %(external_id)s from %(channel)s exists",
                                     external_id=external_id, channel=channel),
                             fields={"external_id": [message("already exists")]})
    record(session, order, "created", message("Order %(external_id)s received from "
                                              "%(channel)s", external_id=external_id,
                                              channel=channel),
           user_id=user_id, to_status=order.status)
    return _settle_status(session, order, user_id)


def replace_lines(session: Session, order: Order, lines: list[dict], *,
                  user_id: int | None = None, text=None) -> Order:
    """A channel edit whose lines may be unresolved: release everything reserved
    (exactly), replace the lines, then the order is received again (or held, or
    cancelled when nothing is left open). Allocation is the caller's next step."""
    if order.status not in ("held", "received", "backordered", "allocated", "exception"):
        raise Conflict(_too_late(order, "edit"),
                       fields={"status": [message("cannot edit a %(status)s order",
                                                 status=status_word(order.status))]})
    _check_resolved(session, order.seller_id, lines)
    for line in order.lines:
        if line.sku_id is not None:
            _release_line(session, line, line.open_quantity, user_id)
    order.allocations = [a for a in order.allocations if a.quantity > 0]
    order.lines = _line_rows(order.seller_id, lines)
    session.flush()
    previous = order.status
    order.status = "received"
    record(session, order, "edited", text or message("lines replaced"), user_id=user_id,
           from_status=previous, to_status="received")
    return _settle_status(session, order, user_id)


def release_held(session: Session, order: Order, *, user_id: int | None = None) -> Order:
    """Release a held order once its problems are fixed (its lines re-resolved by the
    caller, its address corrected): it becomes received, ready for allocation. A
    problem that remains is refused with its reason, and nothing changes."""
    if order.status != "held":
        raise Conflict(message("Order %(id)s is %(status)s, not held", id=order.id,
                               status=status_word(order.status)),
                       fields={"status": [message("only a held order can be released")]})
    problems = hold_problems(order)
    if problems:
        order.hold_because(problems)
        raise Conflict(problems, fields={"lines": problems},
                       problems=[english(p) for p in problems], order_id=order.id)
    order.hold_because(None)
    return transition(session, order, "received", message("released: exceptions resolved"),
                      user_id=user_id)


def get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(message("No order %(id)s", id=order_id),
                       fields={"order_id": [message("not found")]})
    return order


def _too_late(order: Order, what: str) -> dict:
    """"Order 7 is shipped: too late to cancel" (or to edit), as a message."""
    if what == "edit":
        return message("Order %(id)s is %(status)s: too late to edit", id=order.id,
                       status=status_word(order.status))
    return message("Order %(id)s is %(status)s: too late to cancel", id=order.id,
                   status=status_word(order.status))


def allocated_quantity(order: Order, line: OrderLine) -> int:
    return sum(a.quantity for a in order.allocations if a.order_line_id == line.id)


__all__ = ["OrderAllocation", "cancel_order", "cancel_quantity", "create_channel_order",
           "create_order", "edit_lines", "hold_problems", "record", "release_held",
           "replace_lines", "transition"]
