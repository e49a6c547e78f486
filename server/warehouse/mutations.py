"""What a device on the floor can do, as sync mutations (../shared/design/SYNC.md).

Each handler resolves what the scan names (bin codes, SKU codes or barcodes)
within the device user's warehouses only, applies the same inventory and order
rules as the API, and answers "applied", or "conflict" when the world moved on
while the device was offline: it then applies the nearest sensible thing and
raises an exception task for a supervisor. Invalid scans are Rejected, naming the
field; the engine stores every outcome.
"""
from sqlalchemy import Integer, String, any_, bindparam, func, or_, select
from sqlalchemy.types import ARRAY

from server.auth.scoping import apply_scope
from server.catalog.models import KitComponent, Sku, SkuBarcode
from server.errors import InsufficientStock
from server.events import emit_after_commit, room_for_seller, room_for_warehouse
from server.i18n import message
from server.inventory import services as inventory
from server.inventory.models import Bin, Stock, StockMovement
from server.orders.models import Order, OrderAllocation, OrderLine, status_word
from server.orders.services import record, transition
from sync.registry import Planned, Rejected, mutation
from sync.registry import batch as register_batch

from .models import Task, task_status_word
from .services import (  # noqa: F401  the rules pick lines share with the API
    PICKABLE_ON_LIST,
    back_to_allocation,
    close_pick_line,
    finish_pick_task,
    pickable_units,
    reserved_here,
    short_pick_line,
)


def _qty(args, key="qty", minimum=1):
    value = args.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum \
            or value > 1_000_000:
        raise Rejected(key, message("must be a whole number from %(n)s", n=minimum))
    return value


# Who works the floor: admins anywhere, pickers in their own warehouses. Sellers
# send no floor mutations; drivers only delivery ones (none yet).
WAREHOUSE_STAFF = ("admin", "picker")


def _bin(ctx, args, key="bin") -> Bin:
    """The bin a scan names, by id or code. Codes repeat across warehouses, so a
    code means the bin of the sender's warehouses; a bin found only elsewhere is
    returned too, and the mutation's rule then refuses it as another warehouse's."""
    cached = ctx.cache.get(("bin", key))
    if cached is not None:
        return cached
    value = args.get(key)
    known = None  # what the push's lookups found for this code
    if isinstance(value, int) and not isinstance(value, bool):
        conditions = [Bin.id == value]
    elif isinstance(value, str) and value.strip():
        code = value.strip().upper()
        if ctx.batch is not None:
            known = ctx.batch.get("bins", {}).get(code)
        if known is None:
            conditions = [Bin.code == code]
        if isinstance(args.get("warehouse_id"), int):
            if known is None:
                conditions.append(Bin.warehouse_id == args["warehouse_id"])
            else:
                known = [b for b in known if b.warehouse_id == args["warehouse_id"]]
    else:
        raise Rejected(key, message("scan a bin"))
    bins = known[:50] if known is not None else ctx.session.scalars(
        select(Bin).where(*conditions).order_by(Bin.id).limit(50)).all()
    if ctx.user.role != "admin":
        mine = [b for b in bins if b.warehouse_id in ctx.user.warehouse_ids]
        bins = mine or bins[:1]
    if not bins:
        raise Rejected(key, message("no bin %(bin)s in your warehouse", bin=value))
    if len(bins) > 1:
        raise Rejected(key, message("bin %(bin)s exists in several of your warehouses: "
                                    "send warehouse_id", bin=value))
    ctx.cache[("bin", key)] = bins[0]
    return bins[0]


def _in_bins(*keys):
    """Scope of a mutation about bins: the warehouses of the bins it names."""
    def scope(ctx, args):
        return {"warehouse_ids": {_bin(ctx, args, key).warehouse_id for key in keys}}
    return scope


def _sku(ctx, args, bin_: Bin | None = None, key="sku") -> Sku:
    value = args.get(key, args.get("sku_id"))
    if isinstance(value, int) and not isinstance(value, bool):
        sku = ctx.session.get(Sku, value)
        if sku is None:
            raise Rejected(key, message("no SKU %(sku)s", sku=value))
        return sku
    if not isinstance(value, str) or not value.strip():
        raise Rejected(key, message("scan an item"))
    code = value.strip()
    candidates = ctx.batch.get("skus", {}).get(code) if ctx.batch is not None else None
    if candidates is None:
        candidates = ctx.session.scalars(select(Sku).where(or_(
            Sku.code == code, Sku.id.in_(select(SkuBarcode.sku_id)
                                         .where(SkuBarcode.barcode == code))))).all()
    if len(candidates) > 1 and bin_ is not None:
        # Two sellers may stock the same barcode; the bin tells them apart.
        here = set(ctx.session.scalars(select(Stock.sku_id).where(Stock.bin_id == bin_.id)))
        candidates = [s for s in candidates if s.id in here] or candidates
    if not candidates:
        raise Rejected(key, message("%(code)s is not a known item", code=code))
    if len(candidates) > 1:
        raise Rejected(key, message("%(code)s matches several sellers' items: scan the SKU "
                                    "label", code=code))
    return candidates[0]


def _exception(ctx, warehouse_id, reason, title, **data) -> Task:
    """An exception task for a supervisor; `title` a stored message (server/i18n.py)."""
    task = Task(warehouse_id=warehouse_id, kind="exception", reason=reason, status="open",
                data={**data, "device_id": ctx.device_id, "mutation_id": ctx.mutation_id},
                order_id=data.get("order_id"), bin_id=data.get("bin_id"),
                sku_id=data.get("sku_id"), raised_by_user_id=ctx.user.id)
    task.set_title(title)
    ctx.session.add(task)
    ctx.session.flush()
    emit_after_commit(ctx.session, "sync.conflict", {"task_id": task.id, "reason": reason,
                                                     "title": task.title},
                      [room_for_warehouse(warehouse_id)])
    return task


def _stock_detail(stock: Stock) -> dict:
    return {"stock_id": stock.id, "warehouse_id": stock.warehouse_id, "bin_id": stock.bin_id,
            "sku_id": stock.sku_id, "on_hand": stock.on_hand, "reserved": stock.reserved}


def _locks_bin_sku(ctx, args):
    bin_ = _bin(ctx, args)
    return [(_sku(ctx, args, bin_).id, bin_.id)]


def _locks_move(ctx, args):
    source, target = _bin(ctx, args, "from_bin"), _bin(ctx, args, "to_bin")
    sku = _sku(ctx, args, source)
    return [(sku.id, source.id), (sku.id, target.id)]


def _inbound_line(ctx, args, bin_, sku):
    from .models import InboundLine, InboundShipment
    inbound_id = args.get("inbound_id")
    if not isinstance(inbound_id, int) or isinstance(inbound_id, bool):
        raise Rejected("inbound_id", message("must be an inbound shipment's id"))
    inbound = ctx.session.scalars(apply_scope(select(InboundShipment), InboundShipment,
                                              ctx.user).where(
        InboundShipment.id == inbound_id)).first()
    if inbound is None or inbound.warehouse_id != bin_.warehouse_id:
        raise Rejected("inbound_id", message("no such inbound shipment in this warehouse"))
    if inbound.status == "closed":
        raise Rejected("inbound_id", message("%(reference)s is closed",
                                             reference=inbound.reference))
    line = ctx.session.scalar(select(InboundLine).where(InboundLine.inbound_id == inbound.id,
                                                        InboundLine.sku_id == sku.id))
    if line is None:
        raise Rejected("sku", message("%(sku)s is not on %(reference)s: set it aside for a "
                                      "supervisor", sku=sku.code, reference=inbound.reference))
    inbound.status = "receiving"
    return line


@mutation("receive.scan", roles=WAREHOUSE_STAFF, scope=_in_bins("bin"),
          locks=_locks_bin_sku, plan=lambda ctx, args, batch: _plan_receive(ctx, args, batch))
def receive_scan(ctx, args):
    """Units scanned into a bin (the dock, or straight to a shelf), against an
    inbound shipment when `inbound_id` is given; `damaged: true` records damaged
    units on the shipment without making them stock. The answer suggests where to
    put the units away."""
    from .services import suggest_bin
    bin_ = _bin(ctx, args)
    sku = _sku(ctx, args, bin_)
    qty = _qty(args)
    line = _inbound_line(ctx, args, bin_, sku) if "inbound_id" in args else None
    if args.get("damaged"):
        if line is None:
            raise Rejected("inbound_id",
                           message("damaged units are recorded on an inbound shipment"))
        line.quantity_damaged += qty
        return "applied", {"warehouse_id": bin_.warehouse_id, "inbound_line_id": line.id,
                           "damaged": line.quantity_damaged}
    stock = inventory.receive(ctx.session, sku_id=sku.id, bin_id=bin_.id, quantity=qty,
                              reason="received", user_id=ctx.user.id,
                              reference=(f"inbound:{line.inbound_id}" if line else
                                         str(args.get("reference", ""))[:128]))
    detail = _stock_detail(stock)
    if line is not None:
        line.quantity_received += qty
        detail.update(inbound_line_id=line.id, received=line.quantity_received,
                      expected=line.quantity_expected)
    if not bin_.sellable:  # the dock: these units sell once they are put away
        target = suggest_bin(ctx.session, bin_.warehouse_id, sku.id)
        detail["suggested_bin"] = target.code if target else None
    return "applied", detail


@mutation("stock.move", roles=WAREHOUSE_STAFF, scope=_in_bins("from_bin", "to_bin"),
          locks=_locks_move, plan=lambda ctx, args, batch: _plan_move(ctx, args, batch))
@mutation("putaway.confirm", roles=WAREHOUSE_STAFF, scope=_in_bins("from_bin", "to_bin"),
          locks=_locks_move, plan=lambda ctx, args, batch: _plan_move(ctx, args, batch))
def move(ctx, args):
    """Units moved between bins. Deltas commute; a move out of a bin that holds
    less than the scan says moves what is there and raises an exception."""
    source, target = _bin(ctx, args, "from_bin"), _bin(ctx, args, "to_bin")
    if source.warehouse_id != target.warehouse_id:
        raise Rejected("to_bin", message("must be in the same warehouse as from_bin"))
    if source.id == target.id:
        raise Rejected("to_bin", message("must differ from from_bin"))
    sku = _sku(ctx, args, source)
    wanted = _qty(args)
    row = ctx.session.scalar(select(Stock).where(Stock.sku_id == sku.id,
                                                 Stock.bin_id == source.id))
    available = (row.on_hand - row.reserved) if row else 0
    moved = min(wanted, max(available, 0))
    if moved:
        try:
            inventory.move(ctx.session, sku_id=sku.id, from_bin_id=source.id,
                           to_bin_id=target.id, quantity=moved, reason="moved",
                           user_id=ctx.user.id)
        except InsufficientStock as error:  # it moved again under us
            moved = 0
            available = error.data["shortages"][0]["available"]
    detail = {"warehouse_id": source.warehouse_id, "moved": moved, "short": wanted - moved}
    if moved == wanted:
        return "applied", detail
    task = _exception(ctx, source.warehouse_id, "move_short",
                      message("%(sku)s: %(wanted)s to move from %(bin)s, %(moved)s there",
                              sku=sku.code, wanted=wanted, bin=source.code, moved=moved),
                      sku_id=sku.id, bin_id=source.id, wanted=wanted, moved=moved)
    return "conflict", {**detail, "task_id": task.id}


@mutation("count.submit", roles=WAREHOUSE_STAFF, scope=_in_bins("bin"),
          locks=_locks_bin_sku)
def count(ctx, args):
    """A count is a fact as of `at`: on_hand := counted + what moved in that bin
    after `at`. The difference is one `rebase` movement. A count below what is
    reserved lowers on_hand only to the reserved units and raises an exception."""
    bin_ = _bin(ctx, args)
    sku = _sku(ctx, args, bin_)
    counted = _qty(args, "counted", minimum=0)
    stock_id = inventory._ensure_stock_row(ctx.session, sku, bin_)
    (stock,) = inventory._lock(ctx.session, Stock.id == stock_id)
    after = ctx.session.scalar(select(func.coalesce(func.sum(StockMovement.delta_on_hand), 0))
                               .where(StockMovement.stock_id == stock.id,
                                      StockMovement.occurred_at > ctx.at)) or 0
    target = counted + int(after)
    floor = max(target, stock.reserved)
    delta = floor - stock.on_hand
    if delta:
        inventory.adjust(ctx.session, sku_id=sku.id, bin_id=bin_.id, delta=delta,
                         reason=f"cycle count: {counted} as of {ctx.at.isoformat()}",
                         reference=f"count:{ctx.device_id}:{ctx.mutation_id}",
                         user_id=ctx.user.id, kind="rebase")
    detail = {**_stock_detail(stock), "counted": counted, "moved_since": int(after),
              "adjusted_by": delta}
    if floor == target:
        return "applied", detail
    task = _exception(ctx, bin_.warehouse_id, "count_below_reserved",
                      message("%(bin)s %(sku)s: counted %(counted)s, %(reserved)s promised",
                              bin=bin_.code, sku=sku.code, counted=counted,
                              reserved=stock.reserved),
                      sku_id=sku.id, bin_id=bin_.id, counted=counted,
                      reserved=stock.reserved)
    return "conflict", {**detail, "task_id": task.id}


def _pick_scope(ctx, args):
    """A pick's warehouse: its pick line's (or allocation's), and the bin's."""
    from .models import TaskLine
    ids = set()
    line_id, allocation_id = args.get("task_line_id"), args.get("allocation_id")
    if isinstance(line_id, int) and not isinstance(line_id, bool):
        line = ctx.session.get(TaskLine, line_id)
        if line is None:
            raise Rejected("task_line_id", message("no such pick line in your warehouse"))
        ids.add(line.warehouse_id)
    elif isinstance(allocation_id, int) and not isinstance(allocation_id, bool):
        allocation = ctx.session.get(OrderAllocation, allocation_id)
        if allocation is None:
            raise Rejected("allocation_id", message("no such pick in your warehouse"))
        ids.add(allocation.warehouse_id)
    if args.get("bin") is not None:
        ids.add(_bin(ctx, args).warehouse_id)
    return {"warehouse_ids": ids}


@mutation("pick.confirm", roles=WAREHOUSE_STAFF, scope=_pick_scope,
          locks=_locks_bin_sku)
def pick_confirm(ctx, args):
    """Units of an order line taken from a bin. Takes what the order holds there; if
    the bin had less (someone took it, or the count was wrong) the rest is a short
    pick: a conflict, an exception to count the bin, and the units go back to
    allocation (another bin or warehouse, or a backorder)."""
    task_line = None
    if "task_line_id" in args:
        task_line = _task_line(ctx, args)
        args = {**args, "allocation_id": task_line.allocation_id}
        args.setdefault("bin", task_line.bin_id)
    allocation_id = args.get("allocation_id")
    if not isinstance(allocation_id, int) or isinstance(allocation_id, bool):
        raise Rejected("allocation_id", message("is required (or task_line_id)"))
    allocation = ctx.session.scalars(apply_scope(
        select(OrderAllocation), OrderAllocation, ctx.user).where(
        OrderAllocation.id == allocation_id)).first()
    if allocation is None:
        raise Rejected("allocation_id", message("no such pick in your warehouse"))
    order = ctx.session.get(Order, allocation.order_id)
    if task_line is not None and task_line.task.status not in ("open", "claimed"):
        raise Rejected("task_line_id", message("pick list %(id)s is %(status)s",
                                               id=task_line.task_id,
                                               status=task_status_word(task_line.task.status)))
    # A short pick sends part of an order back to allocation (backordered, then
    # allocated again) while the rest of it is still on the pick list: those lines
    # stay pickable, or the list could never finish.
    # Units of a line that can no longer be picked (a cancelled order) are closed by
    # reporting them short (_close_unpickable below), so the list can still finish.
    closing = task_line is not None and args.get("qty") == 0 and "short" in args
    if order.status not in (PICKABLE_ON_LIST if task_line is not None else ("released",
                                                                              "picked")) \
            and not closing:
        raise Rejected("allocation_id", _not_released(order))
    line = ctx.session.get(OrderLine, allocation.order_line_id)
    bin_ = _bin(ctx, args)
    if task_line is not None and bin_.id != task_line.bin_id:
        raise Rejected("bin", message("wrong bin: this pick is in %(bin)s",
                                      bin=task_line.bin.code))
    is_kit = ctx.session.scalar(select(KitComponent.id).where(
        KitComponent.kit_sku_id == line.sku_id)) is not None
    if is_kit and task_line is None:
        raise Rejected("task_line_id",
                       message("a kit is picked by component, from its pick list"))
    sku = _sku(ctx, args, bin_)
    expected = task_line.sku_id if task_line is not None else line.sku_id
    if sku.id != expected:
        wanted = task_line.sku.code if task_line is not None else line.sku.code
        raise Rejected("sku", message("wrong item: this pick is %(wanted)s, not %(sku)s",
                                      wanted=wanted, sku=sku.code))
    qty = _qty(args, minimum=0)
    short = _qty(args, "short", minimum=0) if "short" in args else 0
    closed = _close_unpickable(ctx, task_line, order, qty, short)
    if closed is not None:
        return closed
    if order.status not in PICKABLE_ON_LIST:
        raise Rejected("allocation_id", _not_released(order))
    if is_kit:
        return _pick_component(ctx, args, allocation, task_line, bin_, sku)
    if qty + short == 0:
        raise Rejected("qty", message("pick at least one unit, or report it short"))
    open_units = allocation.quantity - allocation.quantity_picked
    if task_line is not None:
        open_units = min(open_units, task_line.open_quantity)
    if qty + short > open_units:
        raise Rejected("qty", message("only %(n)s left to pick on this line", n=open_units))
    here = reserved_here(ctx.session, allocation, sku.id, bin_.id)
    take = min(qty, here)
    if take:
        inventory.pick(ctx.session, reference=allocation.reference, sku_id=sku.id,
                       quantity=take, bin_id=bin_.id, user_id=ctx.user.id)
        allocation.quantity_picked += take
    # Units the bin did not have: the picker said so (short), or the bin held less
    # for this order than the scan (someone took it while the device was offline).
    missing = short + (qty - take)
    if task_line is not None:
        task_line.quantity_done += take
        task_line.quantity_short += min(missing, task_line.open_quantity)
        _finish_task(ctx, task_line.task)
    detail = {"warehouse_id": bin_.warehouse_id, "order_id": order.id, "picked": take,
              "short": missing}
    if missing:
        give_back = min(short, here - take)
        if give_back:
            back_to_allocation(ctx.session, order, allocation, sku.id, bin_.id, give_back,
                               user_id=ctx.user.id)
        task = _exception(ctx, bin_.warehouse_id, "short_pick",
                          message("%(order)s: %(bin)s %(sku)s short by %(n)s",
                                  order=order.external_id, bin=bin_.code, sku=sku.code,
                                  n=missing),
                          order_id=order.id, sku_id=sku.id, bin_id=bin_.id, short=missing,
                          **_pick_ref(task_line))
        record(ctx.session, order, "short_pick", task.title_i18n or task.title,
               user_id=ctx.user.id,
               data={"task_id": task.id, "short": missing})
        ctx.session.flush()
        return "conflict", {**detail, "task_id": task.id,
                            **({"line_open": task_line.open_quantity,
                                "line_to_pick": pickable_units(ctx.session, task_line),
                                "pick_task_status": task_line.task.status}
                               if task_line is not None else {})}
    if all(a.quantity_picked >= a.quantity for a in order.allocations) \
            and order.status == "released":
        transition(ctx.session, order, "picked", message("picked on the floor"),
                   user_id=ctx.user.id)
    return "applied", detail


def _not_released(order):
    return message("order %(order)s is %(status)s, not released to the floor",
                   order=order.external_id, status=status_word(order.status))


def _task_line(ctx, args):
    from .models import TaskLine
    line_id = args.get("task_line_id")
    if not isinstance(line_id, int) or isinstance(line_id, bool):
        raise Rejected("task_line_id", message("must be a pick line's id"))
    line = ctx.session.scalars(apply_scope(select(TaskLine), TaskLine, ctx.user)
                               .where(TaskLine.id == line_id)).first()
    if line is None:
        raise Rejected("task_line_id", message("no such pick line in your warehouse"))
    return line


def _finish_task(ctx, task):
    finish_pick_task(ctx.session, task, ctx.at)


def _pick_ref(task_line) -> dict:
    """What a short pick's exception needs to find its pick line again."""
    if task_line is None:
        return {}
    return {"task_line_id": task_line.id, "pick_task_id": task_line.task_id}


def _close_unpickable(ctx, task_line, order, qty, short):
    """A short report for units of a pick line that can no longer be picked (the
    order was cancelled, or its units were allocated elsewhere meanwhile): they are
    closed short, so the list can finish. None when the units are still pickable
    (then pick.confirm's own rules apply)."""
    if task_line is None or qty or not short or short > task_line.open_quantity:
        return None
    pickable = pickable_units(ctx.session, task_line)
    if pickable >= short:
        return None
    if pickable:  # part of it is still there to take: report that part short first
        raise Rejected("short", message("%(n)s of this line can still be picked: take them, "
                                        "or report those short", n=pickable))
    closed = close_pick_line(ctx.session, task_line, user_id=ctx.user.id, at=ctx.at,
                             units=short, why=message("closed on the floor: order is "
                                                      "%(status)s",
                                                      status=status_word(order.status)))
    return "applied", {"warehouse_id": task_line.warehouse_id, "order_id": order.id,
                       "picked": 0, "short": 0, "closed": closed["units"],
                       "released": closed["released"], "line_open": task_line.open_quantity,
                       "pick_task_status": task_line.task.status}


def _pick_component(ctx, args, allocation, task_line, bin_, sku):
    """A kit's component from its pick line. The kit's units count as picked when
    every component line of that allocation is done. A missing component is an
    exception for a supervisor (the kit cannot ship incomplete)."""
    qty = _qty(args, minimum=0)
    short = _qty(args, "short", minimum=0) if "short" in args else 0
    if qty + short == 0 or qty + short > task_line.open_quantity:
        raise Rejected("qty", message("%(n)s left on this pick line",
                                      n=task_line.open_quantity))
    if qty:
        inventory.pick(ctx.session, reference=allocation.reference, sku_id=sku.id,
                       quantity=qty, bin_id=bin_.id, user_id=ctx.user.id)
    task_line.quantity_done += qty
    task_line.quantity_short += short
    order = ctx.session.get(Order, allocation.order_id)
    detail = {"warehouse_id": bin_.warehouse_id, "order_id": order.id, "picked": qty,
              "short": short}
    siblings = [l for l in task_line.task.lines if l.allocation_id == allocation.id]
    if all(l.open_quantity == 0 and l.quantity_short == 0 for l in siblings):
        allocation.quantity_picked = allocation.quantity
        if all(a.quantity_picked >= a.quantity for a in order.allocations) \
                and order.status == "released":
            transition(ctx.session, order, "picked", message("picked on the floor"),
                       user_id=ctx.user.id)
    _finish_task(ctx, task_line.task)
    if short:
        task = _exception(ctx, bin_.warehouse_id, "short_pick",
                          message("%(order)s: kit part %(sku)s short by %(n)s in %(bin)s",
                                  order=order.external_id, sku=sku.code, n=short,
                                  bin=bin_.code), order_id=order.id, sku_id=sku.id,
                          bin_id=bin_.id, short=short, **_pick_ref(task_line))
        return "conflict", {**detail, "task_id": task.id}
    return "applied", detail


def _parcel_scope(ctx, args):
    """A parcel's warehouse: the one its shipment leaves from."""
    from server.carriers.models import Parcel
    tracking = args.get("tracking_number")
    if not isinstance(tracking, str) or not tracking.strip():
        raise Rejected("tracking_number", message("scan the parcel label"))
    warehouse_ids = ctx.session.scalars(select(Parcel.warehouse_id).where(
        Parcel.tracking_number == tracking.strip().replace(" ", ""))).all()
    return {"warehouse_ids": set(warehouse_ids)}


@mutation("ship.confirm", roles=WAREHOUSE_STAFF, scope=_parcel_scope)
def ship_confirm(ctx, args):
    """A parcel's label scanned at the dock. Idempotent: a second device confirming
    the same parcel gets the first one's answer, not a second shipment."""
    from server.carriers.models import Parcel, Shipment
    from server.orders.fulfilment import ship_order
    tracking = args.get("tracking_number")
    if not isinstance(tracking, str) or not tracking.strip():
        raise Rejected("tracking_number", message("scan the parcel label"))
    parcel = ctx.session.scalars(apply_scope(select(Parcel), Parcel, ctx.user).where(
        Parcel.tracking_number == tracking.strip().replace(" ", ""))).first()
    if parcel is None:
        raise Rejected("tracking_number", message("no parcel %(number)s in your warehouse",
                                                  number=tracking))
    shipment = ctx.session.get(Shipment, parcel.shipment_id)
    detail = {"warehouse_id": shipment.warehouse_id, "shipment_id": shipment.id,
              "order_id": shipment.order_id, "tracking_number": shipment.tracking_number}
    if shipment.status != "labelled":
        return "applied", {**detail, "status": shipment.status, "already": True}
    shipment.status = "shipped"
    order = ctx.session.get(Order, shipment.order_id) if shipment.order_id else None
    if order is not None and order.status == "packed" and all(
            s.status != "labelled" for s in order.shipments):
        ship_order(ctx.session, order, user_id=ctx.user.id)
    return "applied", {**detail, "status": "shipped"}


@mutation("scan.undone", roles=WAREHOUSE_STAFF, scope=None)
def scan_undone(ctx, args):
    """A scan the person undid before it was sent. Ids have no gaps, so the device
    still sends its id, under this name: it changes nothing and says so."""
    return "applied", {"undone": True}


# -- a push, set-based (sync.registry.batch) -------------------------------------------
#
# The scans that apply as asked (a receive into a shelf, a move the source bin can
# cover) are planned in memory against the stock rows the push locked, and written
# together: missing stock rows in one INSERT, every changed row in one UPDATE, one
# ledger row per movement in one multi-row INSERT, exactly what inventory.receive()
# and inventory.move() would write one scan at a time (verify_ledger stays []).
# Anything else (a dock receipt, a short move, a count, a pick) goes through its
# handler, after what was planned before it is written.

SCAN_BIN_KEYS = ("bin", "from_bin", "to_bin")


def _one_of(session, column, values, kind):
    """`column IN values`; on PostgreSQL as `= ANY(:array)`, one parameter, so the
    statement's text is the same for any number of values (an expanded IN has its
    own text, and the driver parses each new text again: thousands of placeholders
    for a batch of 500)."""
    values = sorted(values)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(kind)))


class FloorBatch:
    def __init__(self, session, user, device_id, mutations):
        self.session, self.user = session, user
        self.rows: dict = {}      # (sku_id, bin_id) -> Stock, locked by this push
        self.pending: list = []   # planned movements, in order
        self.deltas: dict = {}    # (sku_id, bin_id) -> on_hand change not yet written
        self.offers: set = set()  # SKUs whose backorders get their chance
        self.lookups = {"bins": {}, "skus": {}}
        bin_codes, sku_codes = set(), set()
        for m in mutations:
            args = m.get("args")
            if not isinstance(args, dict):
                continue
            for key in SCAN_BIN_KEYS:
                if isinstance(args.get(key), str) and args[key].strip():
                    bin_codes.add(args[key].strip().upper())
            value = args.get("sku", args.get("sku_id"))
            if isinstance(value, str) and value.strip():
                sku_codes.add(value.strip())
        if bin_codes:  # every bin of these codes, any warehouse (the rule decides)
            found = self.lookups["bins"]
            for code in bin_codes:
                found[code] = []
            for b in session.scalars(select(Bin).where(_one_of(session, Bin.code, bin_codes,
                                                               String))
                                     .order_by(Bin.id)):
                found[b.code].append(b)
        if sku_codes:
            by_barcode: dict = {}
            for barcode, sku_id in session.execute(
                    select(SkuBarcode.barcode, SkuBarcode.sku_id)
                    .where(_one_of(session, SkuBarcode.barcode, sku_codes, String))):
                by_barcode.setdefault(barcode, []).append(sku_id)
            ids = {i for v in by_barcode.values() for i in v}
            skus = session.scalars(select(Sku).where(or_(
                _one_of(session, Sku.code, sku_codes, String),
                _one_of(session, Sku.id, ids, Integer) if ids else False))).all()
            by_id = {sku.id: sku for sku in skus}
            by_code: dict = {}
            for sku in skus:
                by_code.setdefault(sku.code, []).append(sku)
            for code in sku_codes:
                matches = list(by_code.get(code, ()))
                matches += [by_id[i] for i in by_barcode.get(code, ())
                            if by_id[i] not in matches]
                self.lookups["skus"][code] = matches

    def lock(self, pairs) -> None:
        """The existing stock rows of these (sku_id, bin_id) pairs, locked in
        primary-key order, in one statement."""
        if not pairs:
            return
        for stock in self._lock_rows(pairs):
            self.rows[(stock.sku_id, stock.bin_id)] = stock

    def _lock_rows(self, pairs):
        from sqlalchemy import tuple_
        pairs = sorted(pairs)
        if self.session.get_bind().dialect.name == "postgresql":
            # The pairs as two array parameters, zipped by unnest: one statement
            # text for any batch (see _one_of).
            wanted = select(
                func.unnest(bindparam(None, [p[0] for p in pairs], type_=ARRAY(Integer)))
                .label("sku_id"),
                func.unnest(bindparam(None, [p[1] for p in pairs], type_=ARRAY(Integer)))
                .label("bin_id")).subquery()
            stmt = select(Stock).join(wanted, (Stock.sku_id == wanted.c.sku_id)
                                      & (Stock.bin_id == wanted.c.bin_id))
        else:
            stmt = select(Stock).where(tuple_(Stock.sku_id, Stock.bin_id).in_(pairs))
        stmt = (stmt.order_by(Stock.id).with_for_update(of=Stock)
                .execution_options(populate_existing=True))
        return self.session.scalars(stmt).all()

    def available(self, sku_id, bin_id) -> int:
        stock = self.rows.get((sku_id, bin_id))
        held = (stock.on_hand - stock.reserved) if stock is not None else 0
        return held + self.deltas.get((sku_id, bin_id), 0)

    def add(self, ctx, sku, bin_, kind, delta, reason, reference) -> dict:
        entry = {"sku": sku, "bin": bin_, "kind": kind, "delta": delta, "reason": reason,
                 "reference": reference, "user_id": ctx.user.id, "at": ctx.at}
        self.pending.append(entry)
        key = (sku.id, bin_.id)
        self.deltas[key] = self.deltas.get(key, 0) + delta
        return entry

    def flush(self) -> None:
        """Write what was planned: the missing stock rows, the rows' new values,
        one ledger row per movement, the change log and the events."""
        if not self.pending:
            return
        from sqlalchemy.orm.attributes import set_committed_value

        from server.models_base import utcnow
        from sync.bulk import insert_rows, update_rows
        from sync.engine import log_change
        session = self.session
        pending, self.pending, self.deltas = self.pending, [], {}
        missing = {(e["sku"].id, e["bin"].id): e for e in pending
                   if (e["sku"].id, e["bin"].id) not in self.rows}
        now = utcnow()
        if missing:
            dialect = session.get_bind().dialect.name
            from sqlalchemy.dialects import postgresql, sqlite
            upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            session.execute(upsert(Stock).values([
                {"sku_id": e["sku"].id, "seller_id": e["sku"].seller_id,
                 "warehouse_id": e["bin"].warehouse_id, "bin_id": e["bin"].id,
                 "on_hand": 0, "reserved": 0, "updated_at": now}
                for e in missing.values()]).on_conflict_do_nothing(
                index_elements=["sku_id", "bin_id"]))
            self.lock(list(missing))
        values: dict = {}   # stock id -> [on_hand, reserved]
        movements = []
        for e in pending:
            stock = self.rows[(e["sku"].id, e["bin"].id)]
            current = values.setdefault(stock.id, [stock.on_hand, stock.reserved])
            current[0] += e["delta"]
            e["stock"], e["on_hand"], e["reserved"] = stock, current[0], current[1]
            movements.append({
                "stock_id": stock.id, "sku_id": stock.sku_id, "seller_id": stock.seller_id,
                "warehouse_id": stock.warehouse_id, "bin_id": stock.bin_id,
                "kind": e["kind"], "delta_on_hand": e["delta"], "delta_reserved": 0,
                "on_hand_after": current[0], "reserved_after": current[1],
                "reason": e["reason"] or "", "reference": e["reference"] or "",
                "user_id": e["user_id"], "created_at": now, "occurred_at": e["at"] or now})
        update_rows(session, Stock.__table__, "id", [
            {"id": i, "on_hand": v[0], "updated_at": now} for i, v in values.items()])
        insert_rows(session, StockMovement.__table__, movements)
        inventory.stock_moved(session, [m["sku_id"] for m in movements])
        by_id = {s.id: s for s in self.rows.values()}
        for stock_id, (on_hand, _reserved) in values.items():
            stock = by_id[stock_id]
            set_committed_value(stock, "on_hand", on_hand)
            set_committed_value(stock, "updated_at", now)
            log_change(session, "stock", stock.id, stock.warehouse_id, stock.seller_id)
            sellable = session.get(Bin, stock.bin_id).kind in inventory.SELLABLE_BIN_KINDS
            # One event per row, with its state once the batch is written.
            emit_after_commit(session, "stock.changed", {
                "stock_id": stock.id, "sku_id": stock.sku_id,
                "warehouse_id": stock.warehouse_id, "bin_id": stock.bin_id,
                "on_hand": stock.on_hand, "reserved": stock.reserved,
                "available": stock.on_hand - stock.reserved if sellable else 0,
                "sellable": sellable,
            }, [room_for_seller(stock.seller_id), room_for_warehouse(stock.warehouse_id)])
        for sku_id in sorted(self.offers):
            inventory._offer_to_backorders(session, sku_id)
        self.offers = set()


@register_batch
def _floor_batch(session, user, device_id, mutations):
    return FloorBatch(session, user, device_id, mutations)


def _single_sku(ctx, args, bin_):
    """The scanned SKU when the push's lookups name exactly one, else None (the
    handler's path decides between several, or rejects)."""
    value = args.get("sku", args.get("sku_id"))
    if not isinstance(value, str) or not value.strip():
        return None
    candidates = (ctx.batch or {}).get("skus", {}).get(value.strip())
    if candidates is None or len(candidates) != 1:
        return None
    return candidates[0]


def _plan_receive(ctx, args, batch):
    """A receive into a shelf: applies as asked (a delta), so it is planned."""
    if "inbound_id" in args or args.get("damaged"):
        return None
    bin_ = _bin(ctx, args)
    if not bin_.active or not bin_.sellable:
        return None  # refused, or a dock receipt (its answer suggests a shelf)
    sku = _single_sku(ctx, args, bin_)
    if sku is None:
        return None
    qty = _qty(args)
    entry = batch.add(ctx, sku, bin_, "receive", qty, "received",
                      str(args.get("reference", ""))[:128])
    batch.offers.add(sku.id)  # units became available where they can sell

    def detail():
        stock = entry["stock"]
        return {"stock_id": stock.id, "warehouse_id": stock.warehouse_id,
                "bin_id": stock.bin_id, "sku_id": stock.sku_id, "on_hand": entry["on_hand"],
                "reserved": entry["reserved"]}
    return Planned("applied", detail)


def _plan_move(ctx, args, batch):
    """A move the source bin covers: applies as asked, so it is planned."""
    source, target = _bin(ctx, args, "from_bin"), _bin(ctx, args, "to_bin")
    if source.warehouse_id != target.warehouse_id or source.id == target.id \
            or not source.active or not target.active:
        return None
    sku = _single_sku(ctx, args, source)
    if sku is None:
        return None
    wanted = _qty(args)
    if batch.available(sku.id, source.id) < wanted:
        return None  # short: the handler moves what is there and raises an exception
    batch.add(ctx, sku, source, "move_out", -wanted, "moved", "")
    batch.add(ctx, sku, target, "move_in", wanted, "moved", "")
    if target.sellable and not source.sellable:
        batch.offers.add(sku.id)
    return Planned("applied", {"warehouse_id": source.warehouse_id, "moved": wanted,
                               "short": 0})
