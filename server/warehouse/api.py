"""The sync endpoints (POST /api/sync/push, GET /api/sync/pull) and the floor's
exception tasks. Thin: sync/engine.py and warehouse/mutations.py hold the rules."""
import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import selectinload

from sync import engine
from sync.models import SyncChange

from ..api import PageArgs, keyset_page, page_schema, roles_required
from ..auth.scoping import apply_scope, get_scoped, owning_seller_id, principal, scoped
from ..catalog.models import Sku
from ..errors import TooLarge
from ..extensions import db
from ..i18n import message
from ..inventory.models import Stock, Warehouse
from ..inventory.schemas import BinSchema, StockSchema
from ..orders.models import Order, OrderAllocation, OrderLine
from ..orders.queries import core_page, iso
from ..orders.schemas import OrderSummarySchema
from ..validation import checked_by_view
from . import mutations  # noqa: F401  registers the mutation handlers
from .models import InboundShipment, Task, title_text

blp = Blueprint("floor", __name__, url_prefix="/api",
                description="Offline sync (push/pull) and the floor's exception tasks")

OPEN_ORDER_STATUSES = ("allocated", "released", "picked", "packed", "backordered")

engine.track("stock", Stock, lambda s: (s.warehouse_id, s.seller_id))
engine.track("orders", Order, lambda o: (None, o.seller_id))
engine.track("tasks", Task, lambda t: (t.warehouse_id, None))


class MutationArgs(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # the engine validates each mutation and keeps bad ones

    id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    name = fields.String(required=True)
    args = fields.Raw(load_default=None)
    at = fields.Raw(load_default=None)


class PushArgs(ma.Schema):
    device_id = fields.String(required=True, validate=validate.Length(8, 64))
    sent_at = fields.String(load_default=None)
    mutations = fields.List(fields.Nested(MutationArgs), required=True,
                            validate=validate.Length(0, engine.MAX_BATCH),
                            metadata={"description": f"at most {engine.MAX_BATCH}: a "
                                      "larger batch is answered 413 with the limit"})

    @ma.pre_load
    def _one_batch_at_most(self, data, **_kwargs):
        # Before a single mutation is read: 413 and the limit, so the device splits.
        if isinstance(data, dict) and isinstance(data.get("mutations"), list) \
                and len(data["mutations"]) > engine.MAX_BATCH:
            raise TooLarge("mutations", message("at most %(n)s per push: send the rest in "
                                                "the next", n=engine.MAX_BATCH),
                           limit=engine.MAX_BATCH)
        return data


class PushResultSchema(ma.Schema):
    last_mutation_id = fields.Integer()
    results = fields.List(fields.Dict())


class PullArgs(ma.Schema):
    cursor = fields.String(load_default=None)


class PullSchema(ma.Schema):
    cursor = fields.String()
    reset = fields.Boolean()
    changes = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))


class TaskSchema(ma.Schema):
    id = fields.Integer()
    warehouse_id = fields.Integer()
    kind = fields.String()
    reason = fields.String()
    status = fields.String()
    title = fields.Function(lambda t: t.title_text, metadata={
        "type": "string", "description": "in the reader's language"})
    data = fields.Dict(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    bin_id = fields.Integer(allow_none=True)
    sku_id = fields.Integer(allow_none=True)
    assigned_user_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class TaskLineSchema(ma.Schema):
    id = fields.Integer()
    allocation_id = fields.Integer()
    order_id = fields.Integer()
    sku_id = fields.Integer()
    sku_code = fields.Function(lambda l: l.sku.code)
    sku_name = fields.Function(lambda l: l.sku.name)
    barcodes = fields.Function(lambda l: l.sku.barcodes)
    bin_id = fields.Integer()
    bin_code = fields.Function(lambda l: l.bin.code)
    quantity = fields.Integer()
    quantity_done = fields.Integer()
    quantity_short = fields.Integer()
    open_quantity = fields.Integer()
    # What the device checks a scan against before it answers, as the server will:
    # the order must still be pickable, and no more than `to_pick` units taken or
    # reported short (pick.confirm in warehouse/mutations.py).
    order_status = fields.Function(lambda l: _order_of(l).status)
    to_pick = fields.Function(lambda l: _to_pick(l))


def _order_of(line):
    return db.session.get(Order, line.order_id)


def _to_pick(line) -> int:
    from .services import pickable_units
    return pickable_units(db.session, line)


class TaskDetailSchema(TaskSchema):
    lines = fields.List(fields.Nested(TaskLineSchema))


class WaveArgs(ma.Schema):
    warehouse_id = fields.Integer(required=True, strict=True)
    max_orders = fields.Integer(load_default=20, strict=True,
                                validate=validate.Range(1, 500))
    order_ids = fields.List(fields.Integer(strict=True), load_default=None)


class TaskQueryArgs(PageArgs):
    kind = fields.String(load_default=None, validate=validate.OneOf(["pick", "exception"]))
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["open", "claimed", "done", "cancelled"]))
    warehouse_id = fields.Integer(load_default=None)


class ResolveArgs(ma.Schema):
    note = fields.String(load_default="", validate=validate.Length(0, 500))


@blp.route("/sync/push", methods=["POST"])
@roles_required()
@checked_by_view("mutations.*.*")  # the engine rejects a bad mutation alone
@blp.arguments(PushArgs)
@blp.response(200, PushResultSchema)
def push(args):
    """Apply a device's queued mutations, each at most once, in order; answers what
    really happened to each (applied, conflict, rejected; replayed when seen before)."""
    return engine.push_and_commit(db.session, principal(), args["device_id"],
                                  args["mutations"], args["sent_at"])


def _scope_changes(stmt):
    user = principal()
    if user.role == "admin":
        return stmt
    if user.role == "seller":
        # Exceptions about a seller's goods carry no seller in the change log: the
        # tasks serializer, through scoped(), keeps only those it may read.
        return stmt.where(or_(SyncChange.seller_id == user.seller_id,
                              SyncChange.entity == "tasks"))
    return stmt.where(or_(SyncChange.warehouse_id.in_(user.warehouse_ids),
                          SyncChange.entity == "orders"))


def _orders_in_scope():
    stmt = scoped(Order).options(selectinload(Order.lines).selectinload(OrderLine.sku),
                                 selectinload(Order.allocations)
                                 .selectinload(OrderAllocation.warehouse))
    return stmt  # floor staff: scoped() keeps the orders that ship from their warehouses


def _serializers():
    def stock(ids):
        rows = db.session.scalars(scoped(Stock).options(
            selectinload(Stock.sku), selectinload(Stock.bin)).where(Stock.id.in_(ids)))
        return {r.id: StockSchema().dump(r) for r in rows}

    def orders(ids):
        rows = db.session.scalars(_orders_in_scope().where(Order.id.in_(ids)))
        return {r.id: OrderSummarySchema().dump(r) for r in rows}

    def tasks(ids):
        rows = db.session.scalars(scoped(Task).where(Task.id.in_(ids)))
        return {r.id: TaskSchema().dump(r) for r in rows}
    return {"stock": stock, "orders": orders, "tasks": tasks}


def _full_scope():
    stock = db.session.scalars(scoped(Stock).options(
        selectinload(Stock.sku), selectinload(Stock.bin)).order_by(Stock.id))
    orders = db.session.scalars(_orders_in_scope().where(
        Order.status.in_(OPEN_ORDER_STATUSES)).order_by(Order.id))
    tasks = db.session.scalars(scoped(Task).where(Task.status.in_(("open", "claimed")))
                               .order_by(Task.id))
    return {"stock": StockSchema(many=True).dump(stock),
            "orders": OrderSummarySchema(many=True).dump(orders),
            "tasks": TaskSchema(many=True).dump(tasks)}


@blp.route("/sync/pull")
@roles_required()
@blp.arguments(PullArgs, location="query")
@blp.response(200, PullSchema)
def pull(args):
    """What changed in your scope since `cursor` (rows as they are now; deleted rows
    as {"id", "deleted": true}). Without a cursor, or with one this server cannot
    read: `reset: true` and the whole scope."""
    return engine.pull(db.session, principal(), args["cursor"], _scope_changes,
                       _serializers(), _full_scope)


@blp.route("/tasks")
@roles_required("admin", "seller", "picker")
@blp.arguments(TaskQueryArgs, location="query")
@blp.response(200, page_schema(TaskSchema, "TaskPage"))
def list_tasks(args):
    """Floor tasks in your warehouses: exceptions for a supervisor first of all."""
    # One statement of the columns TaskSchema shows, answered as plain dicts.
    filters = {k: args[k] for k in ("kind", "status") if args[k]}
    if args["warehouse_id"] is not None:
        filters["warehouse_id"] = args["warehouse_id"]
    return core_page("tasks", args, filters, _task_list_statement, Task.id, _task_list_item)


def _task_list_statement(names):
    stmt = scoped(Task).with_only_columns(*_TASK_LIST_COLUMNS)
    for key in names:
        stmt = stmt.where(getattr(Task, key) == bindparam(key))
    return stmt


_TASK_LIST_COLUMNS = (Task.id, Task.warehouse_id, Task.kind, Task.reason, Task.status,
                      Task.title, Task.title_i18n, Task.data, Task.order_id, Task.bin_id,
                      Task.sku_id,
                      Task.assigned_user_id, Task.created_at, Task.resolved_at)


def _task_list_item(row) -> dict:
    """A task as TaskSchema dumps it."""
    return {"id": row.id, "warehouse_id": row.warehouse_id, "kind": row.kind,
            "reason": row.reason, "status": row.status,
            "title": title_text(row.title, row.title_i18n),
            "data": row.data, "order_id": row.order_id, "bin_id": row.bin_id,
            "sku_id": row.sku_id, "assigned_user_id": row.assigned_user_id,
            "created_at": iso(row.created_at), "resolved_at": iso(row.resolved_at)}


@blp.route("/tasks/<int:task_id>")
@roles_required("admin", "seller", "picker")
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    """A task with its lines; a pick task's lines are in walking order."""
    return get_scoped(Task, task_id, what="task")


@blp.route("/waves", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(WaveArgs)
@blp.response(201, TaskDetailSchema)
def release_wave(args):
    """Release the highest-priority allocated orders of a warehouse to the floor as
    one pick list in walking order."""
    from .services import release_wave as release
    get_scoped(Warehouse, args["warehouse_id"], what="warehouse")
    task = release(db.session, args["warehouse_id"], max_orders=args["max_orders"],
                   order_ids=args["order_ids"], user_id=principal().id)
    db.session.commit()
    return task


class InboundLineArgs(ma.Schema):
    sku_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**6))


class InboundArgs(ma.Schema):
    seller_id = fields.Integer(strict=True, metadata={"description": "admins only"})
    warehouse_id = fields.Integer(required=True, strict=True)
    reference = fields.String(required=True, validate=validate.Length(1, 64))
    expected_at = fields.AwareDateTime(load_default=None)
    lines = fields.List(fields.Nested(InboundLineArgs), required=True,
                        validate=validate.Length(1, 1000))


class InboundLineSchema(ma.Schema):
    id = fields.Integer()
    sku_id = fields.Integer()
    sku_code = fields.Function(lambda l: l.sku.code)
    quantity_expected = fields.Integer()
    quantity_received = fields.Integer()
    quantity_damaged = fields.Integer()


class InboundSchema(ma.Schema):
    id = fields.Integer()
    warehouse_id = fields.Integer()
    seller_id = fields.Integer()
    reference = fields.String()
    status = fields.String()
    expected_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(InboundLineSchema))


class InboundQueryArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["expected", "receiving", "closed"]))


class SuggestArgs(ma.Schema):
    warehouse_id = fields.Integer(required=True)
    sku_id = fields.Integer(required=True)


@blp.route("/inbound", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(InboundArgs)
@blp.response(201, InboundSchema)
def create_inbound(args):
    """Announce a container or ASN: the SKUs and quantities a warehouse should expect."""
    from .services import create_inbound as create
    seller_id = owning_seller_id(args.pop("seller_id", None))
    get_scoped(Warehouse, args["warehouse_id"], what="warehouse")
    inbound = create(db.session, seller_id=seller_id, **args)
    db.session.commit()
    return inbound


@blp.route("/inbound")
@roles_required("admin", "seller", "picker")
@blp.arguments(InboundQueryArgs, location="query")
@blp.response(200, page_schema(InboundSchema, "InboundPage"))
def list_inbound(args):
    stmt = scoped(InboundShipment)
    if args["status"]:
        stmt = stmt.where(InboundShipment.status == args["status"])
    return keyset_page(stmt, InboundShipment.id, args, descending=True)


@blp.route("/inbound/<int:inbound_id>")
@roles_required("admin", "seller", "picker")
@blp.response(200, InboundSchema)
def get_inbound(inbound_id):
    return get_scoped(InboundShipment, inbound_id, what="inbound")


@blp.route("/inbound/<int:inbound_id>/close", methods=["POST"])
@roles_required("admin", "picker")
@blp.response(200, InboundSchema)
def close_inbound(inbound_id):
    """Close receiving: over, short and damaged lines become exceptions."""
    from .services import close_inbound as close
    inbound = get_scoped(InboundShipment, inbound_id, what="inbound")
    close(db.session, inbound, user_id=principal().id)
    db.session.commit()
    return inbound


@blp.route("/putaway/suggest")
@roles_required("admin", "picker")
@blp.arguments(SuggestArgs, location="query")
@blp.response(200, BinSchema)
def suggest(args):
    """The bin to put a SKU away in: where most of it already is, else the first
    empty storage bin in walking order."""
    from ..errors import NotFound
    from .services import suggest_bin
    get_scoped(Warehouse, args["warehouse_id"], what="warehouse")
    get_scoped(Sku, args["sku_id"], what="sku")
    target = suggest_bin(db.session, args["warehouse_id"], args["sku_id"])
    if target is None:
        raise NotFound(message("No free storage bin"),
                       fields={"warehouse_id": [message("no free bin")]})
    return target


class PackItemArgs(ma.Schema):
    sku_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**5))


class PackArgs(ma.Schema):
    warehouse_id = fields.Integer(required=True, strict=True)
    items = fields.List(fields.Nested(PackItemArgs), required=True,
                        validate=validate.Length(1, 1000))
    weight_g = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**6))


class PackedShipmentSchema(ma.Schema):
    id = fields.Integer()
    tracking_number = fields.String()
    service = fields.Function(lambda s: s.service.name)
    cost_cents = fields.Integer()
    label_url = fields.Function(lambda s: f"/api/shipments/{s.id}/label.pdf")


@blp.route("/orders/<int:order_id>/pack", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(PackArgs)
@blp.response(200, PackedShipmentSchema(many=True))
def pack(args, order_id):
    """Pack a picked order at a pack station: the scanned items must be exactly what
    was picked and the scale must agree with their weight; then the parcel is rated
    and its label printed (label_url)."""
    from ..orders.models import Order
    from .packing import verify_and_pack
    get_scoped(Warehouse, args["warehouse_id"], what="warehouse")
    order = db.session.get(Order, order_id)
    if order is None or not any(a.warehouse_id == args["warehouse_id"] and a.quantity
                                for a in order.allocations):
        from ..errors import NotFound
        raise NotFound(message("No order %(id)s to pack here", id=order_id),
                       fields={"order_id": [message("not found")]})
    shipments = verify_and_pack(db.session, order, args["warehouse_id"], args["items"],
                                args["weight_g"], user_id=principal().id)
    db.session.commit()
    return shipments


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@roles_required("admin", "picker")
@blp.response(200, TaskDetailSchema)
def claim(task_id):
    """Claim an open task, so two people never work the same one."""
    from ..errors import Conflict
    from .models import task_status_word
    task = db.session.execute(apply_scope(select(Task), Task, principal())
                              .where(Task.id == task_id).with_for_update()).scalar_one_or_none()
    if task is None:
        get_scoped(Task, task_id, what="task")
    if task.status != "open" and task.assigned_user_id != principal().id:
        raise Conflict(message("Task %(id)s is %(status)s", id=task_id,
                               status=task_status_word(task.status)),
                       fields={"task_id": [message("already %(status)s",
                                                   status=task_status_word(task.status))]})
    task.status, task.assigned_user_id = "claimed", principal().id
    db.session.commit()
    return task


@blp.route("/tasks/<int:task_id>/resolve", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(ResolveArgs)
@blp.response(200, TaskSchema)
def resolve(args, task_id):
    """A supervisor dealt with a task. A short pick's exception closes its pick line
    with it: units still open there are short too and go back to allocation, so the
    pick list finishes (done, each line saying what was picked and what was short)
    when nothing else is left on it. A pick list resolved by hand closes every open
    line the same way. Resolving a task already done changes nothing."""
    from .services import resolve_task
    task = get_scoped(Task, task_id, what="task")
    task = resolve_task(db.session, task, user_id=principal().id, note=args["note"])
    db.session.commit()
    return task
