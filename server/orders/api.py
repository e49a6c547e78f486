"""Orders for sellers and admins: list with filters, detail with lines, allocation
reason and history; create (manual orders), allocate, cancel, edit, release."""
from flask_smorest import Blueprint
from sqlalchemy import select

from ..allocation import jobs as allocation_jobs
from ..allocation.services import allocate_order
from ..api import page_schema, roles_required
from ..auth.models import Seller
from ..auth.scoping import get_scoped, owning_seller_id, principal
from ..errors import NotFound
from ..extensions import db
from ..i18n import message
from ..inventory.models import Warehouse
from . import fulfilment, queries, services
from .models import Order, OrderLine
from .schemas import (
    AdvanceArgs,
    CancelArgs,
    CancelLineArgs,
    LinesArgs,
    OrderCreateArgs,
    OrderQueryArgs,
    OrderSchema,
    OrderSummarySchema,
    RunArgs,
    RunResultSchema,
    SellerRulesArgs,
    SellerRulesSchema,
)

blp = Blueprint("orders", __name__, url_prefix="/api",
                description="Orders, their allocation and their history")


def _order(order_id) -> Order:
    return get_scoped(Order, order_id, what="order")


@blp.route("/orders")
@roles_required()
@blp.arguments(OrderQueryArgs, location="query")
@blp.response(200, page_schema(OrderSummarySchema, "OrderPage"))
def list_orders(args):
    """Orders the caller may see, newest first, by status, channel, warehouse, date."""
    # One statement of the shown columns (server/orders/queries.py), answered as is.
    return queries.order_page(args)


@blp.route("/orders", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(OrderCreateArgs)
@blp.response(201, OrderSchema)
def create_order(args):
    """Create an order (manual, or a channel's pushed by an integration) and, unless
    `allocate` is false, allocate it and reserve its stock in the same transaction."""
    user = principal()
    args["seller_id"] = owning_seller_id(args.get("seller_id"), user)
    allocate = args.pop("allocate")
    order = services.create_order(db.session, user_id=user.id, **args)
    if allocate and order.status == "received":
        allocate_order(db.session, order.id, user_id=user.id)
    db.session.commit()
    return order


@blp.route("/orders/<int:order_id>")
@roles_required()
@blp.response(200, OrderSchema)
def get_order(order_id):
    """An order with its lines, where each is allocated, why, and its history."""
    return _order(order_id)


@blp.route("/orders/<int:order_id>/allocate", methods=["POST"])
@roles_required("admin", "seller")
@blp.response(200, OrderSchema)
def allocate(order_id):
    """Allocate what is still open (after new stock, or a rule change)."""
    order = _order(order_id)
    allocate_order(db.session, order.id, user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(CancelArgs)
@blp.response(200, OrderSchema)
def cancel(args, order_id):
    """Cancel the order; every reserved unit is released."""
    order = _order(order_id)
    services.cancel_order(db.session, order, reason=args["reason"], user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/orders/<int:order_id>/lines/<int:line_id>/cancel", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(CancelLineArgs)
@blp.response(200, OrderSchema)
def cancel_line(args, order_id, line_id):
    """Cancel some units of one line (a partial cancellation)."""
    order = _order(order_id)
    line = next((l for l in order.lines if l.id == line_id), None)
    if line is None:
        raise NotFound(message("No line %(line)s on order %(order)s", line=line_id,
                               order=order_id),
                       fields={"line_id": [message("not found")]})
    services.cancel_quantity(db.session, order, line, args["quantity"],
                             reason=args["reason"], user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/orders/<int:order_id>/lines", methods=["PUT"])
@roles_required("admin", "seller")
@blp.arguments(LinesArgs)
@blp.response(200, OrderSchema)
def edit_lines(args, order_id):
    """Replace the lines: the old reservations are released, the new lines allocated."""
    order = _order(order_id)
    services.edit_lines(db.session, order, args["lines"], user_id=principal().id)
    allocate_order(db.session, order.id, user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/orders/<int:order_id>/advance", methods=["POST"])
@roles_required("admin")
@blp.arguments(AdvanceArgs)
@blp.response(200, OrderSchema)
def advance(args, order_id):
    """Move an order one step on the floor: released (to the floor), picked (stock
    leaves the shelf), packed (parcels rated and labelled), shipped, delivered. The
    floor's scan screens do this per task; this is the whole-order shortcut."""
    order = _order(order_id)
    fulfilment.STEPS[args["status"]](db.session, order, user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/orders/<int:order_id>/exception", methods=["POST"])
@roles_required("admin")
@blp.arguments(CancelArgs)
@blp.response(200, OrderSchema)
def raise_exception(args, order_id):
    """Put the order aside for a person, with a note (damaged, address problem...)."""
    order = _order(order_id)
    services.transition(db.session, order, "exception",
                        args["reason"] or message("exception"), user_id=principal().id)
    db.session.commit()
    return order


@blp.route("/allocation/run", methods=["POST"])
@roles_required("admin")
@blp.arguments(RunArgs)
@blp.response(200, RunResultSchema)
def run_allocation(args):
    """Allocate every received order, then every backorder, in priority order
    (ship-by, then margin, then age). Each order commits on its own."""
    done = allocation_jobs.allocate_received(limit=args["limit"])
    backordered = db.session.scalars(select(OrderLine.sku_id).join(Order).where(
        Order.status == "backordered").distinct()).all()
    if backordered:
        done += allocation_jobs.allocate_backorders(list(backordered))
    return {"allocated": done}


@blp.route("/sellers/<int:seller_id>/rules")
@roles_required("admin", "seller")
@blp.response(200, SellerRulesSchema)
def get_rules(seller_id):
    return get_scoped(Seller, seller_id, what="seller")


@blp.route("/sellers/<int:seller_id>/rules", methods=["PATCH"])
@roles_required("admin", "seller")
@blp.arguments(SellerRulesArgs)
@blp.response(200, SellerRulesSchema)
def set_rules(args, seller_id):
    """A seller's allocation rules: allowed and preferred warehouses, no-split, and
    the value below which a line gets no parcel of its own."""
    seller = get_scoped(Seller, seller_id, what="seller")
    if "allowed_warehouse_ids" in args:
        warehouses = []
        for i, wid in enumerate(args.pop("allowed_warehouse_ids")):
            warehouse = db.session.get(Warehouse, wid)
            if warehouse is None:
                raise NotFound(message("No such warehouse"),
                               fields={f"allowed_warehouse_ids.{i}": ["not found"]})
            warehouses.append(warehouse)
        seller.allowed_warehouses = warehouses
    if args.get("preferred_warehouse_id") is not None and \
            db.session.get(Warehouse, args["preferred_warehouse_id"]) is None:
        raise NotFound(message("No such warehouse"),
                       fields={"preferred_warehouse_id": [message("not found")]})
    for key, value in args.items():
        setattr(seller, key, value)
    db.session.commit()
    return seller
