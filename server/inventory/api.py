"""Warehouses, bins, stock and the ledger. Thin: every rule is in services.py."""
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from ..api import keyset_page, page_schema, roles_required
from ..auth.scoping import get_scoped, principal, scoped
from ..catalog.models import Sku
from ..extensions import db
from . import services, warehouses
from .models import Bin, Stock, StockMovement, Warehouse
from .schemas import (AdjustArgs, BinCreateArgs, BinQueryArgs, BinSchema, LedgerQueryArgs,
                      MoveArgs, MovementSchema, ReceiveArgs, ReleaseArgs, ReleaseResultSchema,
                      ReservationSchema, ReserveArgs, StockQueryArgs, StockSchema,
                      WarehouseSchema, WarehouseUpdateSchema)
from ..api import PageArgs

warehouses_blp = Blueprint("warehouses", __name__, url_prefix="/api",
                           description="Warehouses and their bins")
blp = Blueprint("inventory", __name__, url_prefix="/api",
                description="Stock levels, stock operations and the ledger")


# -- warehouses and bins -----------------------------------------------------------

@warehouses_blp.route("/warehouses")
@roles_required()
@warehouses_blp.arguments(PageArgs, location="query")
@warehouses_blp.response(200, page_schema(WarehouseSchema, "WarehousePage"))
def list_warehouses(args):
    return keyset_page(scoped(Warehouse), Warehouse.id, args)


@warehouses_blp.route("/warehouses", methods=["POST"])
@roles_required("admin")
@warehouses_blp.arguments(WarehouseSchema)
@warehouses_blp.response(201, WarehouseSchema)
def create_warehouse(args):
    warehouse = warehouses.create_warehouse(db.session, **args)
    db.session.commit()
    return warehouse


@warehouses_blp.route("/warehouses/<int:warehouse_id>")
@roles_required()
@warehouses_blp.response(200, WarehouseSchema)
def get_warehouse(warehouse_id):
    return get_scoped(Warehouse, warehouse_id)


@warehouses_blp.route("/warehouses/<int:warehouse_id>", methods=["PATCH"])
@roles_required("admin")
@warehouses_blp.arguments(WarehouseUpdateSchema)
@warehouses_blp.response(200, WarehouseSchema)
def update_warehouse(args, warehouse_id):
    warehouse = get_scoped(Warehouse, warehouse_id)
    warehouses.update_warehouse(db.session, warehouse, **args)
    db.session.commit()
    return warehouse


@warehouses_blp.route("/warehouses/<int:warehouse_id>/bins")
@roles_required()
@warehouses_blp.arguments(BinQueryArgs, location="query")
@warehouses_blp.response(200, page_schema(BinSchema, "BinPage"))
def list_bins(args, warehouse_id):
    """Bins of a warehouse in id order; `sort_key` gives the walking order."""
    get_scoped(Warehouse, warehouse_id)
    stmt = scoped(Bin).where(Bin.warehouse_id == warehouse_id)
    if args["prefix"]:
        stmt = stmt.where(Bin.code.startswith(args["prefix"].upper()))
    return keyset_page(stmt, Bin.id, args)


@warehouses_blp.route("/warehouses/<int:warehouse_id>/bins", methods=["POST"])
@roles_required("admin")
@warehouses_blp.arguments(BinCreateArgs)
@warehouses_blp.response(201, BinSchema(many=True))
def create_bins(args, warehouse_id):
    warehouse = get_scoped(Warehouse, warehouse_id)
    bins = warehouses.create_bins(db.session, warehouse, args["codes"], args["kind"])
    db.session.commit()
    return bins


# -- stock ------------------------------------------------------------------------

def _stock_query():
    return scoped(Stock).options(selectinload(Stock.sku), selectinload(Stock.bin))


@blp.route("/stock")
@roles_required("admin", "seller", "picker")
@blp.arguments(StockQueryArgs, location="query")
@blp.response(200, page_schema(StockSchema, "StockPage"))
def list_stock(args):
    """Stock rows (SKU x bin) the caller may see."""
    stmt = _stock_query()
    for key in ("sku_id", "warehouse_id", "bin_id", "seller_id"):
        if args[key] is not None:
            stmt = stmt.where(getattr(Stock, key) == args[key])
    if args["in_stock"] is not None:
        stmt = stmt.where((Stock.on_hand > 0) if args["in_stock"] else (Stock.on_hand == 0))
    return keyset_page(stmt, Stock.id, args)


def _check_scope(sku_id, *bin_ids):
    """404 unless the caller may see the SKU and every bin: a picker's bins are in
    its warehouses, so it cannot touch another warehouse's stock."""
    get_scoped(Sku, sku_id, what="sku")
    for bin_id in bin_ids:
        get_scoped(Bin, bin_id, what="bin")


def _stock_response(*rows):
    return _stock_query().where(Stock.id.in_([r.id for r in rows])).order_by(Stock.id)


@blp.route("/stock/receive", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(ReceiveArgs)
@blp.response(200, StockSchema)
def receive(args):
    """Put received units of a SKU into a bin."""
    _check_scope(args["sku_id"], args["bin_id"])
    stock = services.receive(db.session, user_id=principal().id, **args)
    db.session.commit()
    return stock


@blp.route("/stock/move", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(MoveArgs)
@blp.response(200, StockSchema(many=True))
def move(args):
    """Move available units from one bin to another in the same warehouse."""
    _check_scope(args["sku_id"], args["from_bin_id"], args["to_bin_id"])
    rows = services.move(db.session, user_id=principal().id, **args)
    db.session.commit()
    return db.session.scalars(_stock_response(*rows)).all()


@blp.route("/stock/adjust", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(AdjustArgs)
@blp.response(200, StockSchema)
def adjust(args):
    """Correct on_hand by a signed delta, with a reason (damaged, found, lost)."""
    _check_scope(args["sku_id"], args["bin_id"])
    stock = services.adjust(db.session, user_id=principal().id, **args)
    db.session.commit()
    return stock


@blp.route("/stock/reserve", methods=["POST"])
@roles_required("admin")
@blp.arguments(ReserveArgs)
@blp.response(201, ReservationSchema(many=True))
def reserve(args):
    """Reserve every line or none, under `reference` (e.g. an order line)."""
    lines = [services.ReserveLine(**line) for line in args["lines"]]
    for i, line in enumerate(lines):
        get_scoped(Sku, line.sku_id, what="sku")
        get_scoped(Warehouse, line.warehouse_id, what="warehouse")
    reservations = services.reserve(db.session, lines, reference=args["reference"],
                                    user_id=principal().id)
    db.session.commit()
    return reservations


@blp.route("/stock/release", methods=["POST"])
@roles_required("admin")
@blp.arguments(ReleaseArgs)
@blp.response(200, ReleaseResultSchema)
def release(args):
    """Release what `reference` reserved: all, or `quantity` of `sku_id`."""
    released = services.release(db.session, user_id=principal().id, **args)
    db.session.commit()
    return {"reference": args["reference"], "released": released}


@blp.route("/ledger")
@roles_required("admin", "seller", "picker")
@blp.arguments(LedgerQueryArgs, location="query")
@blp.response(200, page_schema(MovementSchema, "LedgerPage"))
def ledger(args):
    """Stock movements the caller may see, newest first."""
    stmt = scoped(StockMovement)
    for key in ("sku_id", "warehouse_id", "bin_id", "reference", "kind"):
        if args[key] is not None:
            stmt = stmt.where(getattr(StockMovement, key) == args[key])
    return keyset_page(stmt, StockMovement.id, args, descending=True)
