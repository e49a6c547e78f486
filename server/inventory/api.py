"""Warehouses, bins, stock and the ledger. Thin: every rule is in services.py."""
from flask_smorest import Blueprint
from sqlalchemy import bindparam
from sqlalchemy.orm import selectinload

from ..api import PageArgs, keyset_page, page_schema, roles_required
from ..auth.scoping import get_scoped, principal, scoped
from ..catalog.models import Sku
from ..extensions import db
from ..orders.queries import core_page, given, iso
from . import services, warehouses
from .models import SELLABLE_BIN_KINDS, Bin, Stock, StockMovement, Warehouse
from .schemas import (
    AdjustArgs,
    BinCreateArgs,
    BinQueryArgs,
    BinSchema,
    LedgerQueryArgs,
    MoveArgs,
    MovementSchema,
    ReceiveArgs,
    ReleaseArgs,
    ReleaseResultSchema,
    ReservationSchema,
    ReserveArgs,
    StockQueryArgs,
    StockSchema,
    WarehouseSchema,
    WarehouseUpdateSchema,
)

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
    # One statement: the stock row with its SKU's code and its bin's code and kind.
    filters = given(args, ("sku_id", "warehouse_id", "bin_id", "seller_id"))
    if args["in_stock"] is not None:
        # Not a bound value: on_hand > 0 and on_hand = 0 are two statements.
        filters["in_stock" if args["in_stock"] else "out_of_stock"] = True
    return core_page("stock", args, filters, _stock_list_statement, Stock.id,
                     _stock_list_item)


def _stock_list_statement(names):
    stmt = (scoped(Stock).with_only_columns(*_STOCK_LIST_COLUMNS)
            .join_from(Stock, Sku, Sku.id == Stock.sku_id)
            .join_from(Stock, Bin, Bin.id == Stock.bin_id))
    for key in names:
        if key == "in_stock":
            stmt = stmt.where(Stock.on_hand > 0)
        elif key == "out_of_stock":
            stmt = stmt.where(Stock.on_hand == 0)
        else:
            stmt = stmt.where(getattr(Stock, key) == bindparam(key))
    return stmt


_STOCK_LIST_COLUMNS = (Stock.id, Stock.sku_id, Sku.code.label("sku_code"), Stock.seller_id,
                       Stock.warehouse_id, Stock.bin_id, Bin.code.label("bin_code"),
                       Bin.kind.label("bin_kind"), Stock.on_hand, Stock.reserved,
                       Stock.updated_at)


def _stock_list_item(row) -> dict:
    """A stock row as StockSchema dumps it (available and sellable as Stock has
    them: only a sellable bin's unreserved units are available)."""
    sellable = row.bin_kind in SELLABLE_BIN_KINDS
    return {"id": row.id, "sku_id": row.sku_id, "sku_code": row.sku_code,
            "seller_id": row.seller_id, "warehouse_id": row.warehouse_id,
            "bin_id": row.bin_id, "bin_code": row.bin_code, "bin_kind": row.bin_kind,
            "on_hand": row.on_hand, "reserved": row.reserved,
            "available": row.on_hand - row.reserved if sellable else 0,
            "sellable": sellable, "updated_at": iso(row.updated_at)}


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
    # One statement of the columns MovementSchema shows, answered as plain dicts.
    filters = given(args, ("sku_id", "warehouse_id", "bin_id", "reference", "kind"))
    return core_page("ledger", args, filters, _ledger_statement, StockMovement.id,
                     _ledger_item, descending=True)


def _ledger_statement(names):
    stmt = scoped(StockMovement).with_only_columns(*_LEDGER_COLUMNS)
    for key in names:
        stmt = stmt.where(getattr(StockMovement, key) == bindparam(key))
    return stmt


_LEDGER_COLUMNS = (StockMovement.id, StockMovement.stock_id, StockMovement.sku_id,
                   StockMovement.seller_id, StockMovement.warehouse_id, StockMovement.bin_id,
                   StockMovement.kind, StockMovement.delta_on_hand,
                   StockMovement.delta_reserved, StockMovement.on_hand_after,
                   StockMovement.reserved_after, StockMovement.reason,
                   StockMovement.reference, StockMovement.user_id, StockMovement.created_at)


def _ledger_item(row) -> dict:
    """A movement as MovementSchema dumps it."""
    item = row._asdict()
    item["created_at"] = iso(row.created_at)
    return item
