"""SKUs: a seller manages its own; admins any; floor staff read them to scan."""
from flask_smorest import Blueprint
from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from ..api import keyset_page, page_schema, roles_required
from ..auth.scoping import get_scoped, owning_seller_id, principal, scoped
from ..extensions import db
from . import services
from .models import Sku, SkuBarcode
from .schemas import ComponentsArgs, SkuQueryArgs, SkuSchema, SkuUpdateSchema

blp = Blueprint("catalog", __name__, url_prefix="/api/skus", description="SKUs per seller")


@blp.route("")
@roles_required()
@blp.arguments(SkuQueryArgs, location="query")
@blp.response(200, page_schema(SkuSchema, "SkuPage"))
def list_skus(args):
    """SKUs the caller may see, filtered by seller, text, barcode or state."""
    stmt = scoped(Sku).options(selectinload(Sku.barcode_rows))
    if args["seller_id"] is not None:
        stmt = stmt.where(Sku.seller_id == args["seller_id"])
    if args["q"]:
        like = f"%{args['q']}%"
        stmt = stmt.where(or_(Sku.code.ilike(like), Sku.name.ilike(like)))
    if args["barcode"]:
        stmt = stmt.where(Sku.id.in_(db.select(SkuBarcode.sku_id)
                                     .where(SkuBarcode.barcode == args["barcode"])))
    if args["active"] is not None:
        stmt = stmt.where(Sku.active == args["active"])
    return keyset_page(stmt, Sku.id, args)


@blp.route("", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(SkuSchema)
@blp.response(201, SkuSchema)
def create_sku(args):
    user = principal()
    args["seller_id"] = owning_seller_id(args.get("seller_id"), user)
    sku = services.create_sku(db.session, **args)
    db.session.commit()
    return sku


@blp.route("/<int:sku_id>")
@roles_required()
@blp.response(200, SkuSchema)
def get_sku(sku_id):
    return get_scoped(Sku, sku_id)


@blp.route("/<int:sku_id>", methods=["PATCH"])
@roles_required("admin", "seller")
@blp.arguments(SkuUpdateSchema)
@blp.response(200, SkuSchema)
def update_sku(args, sku_id):
    sku = get_scoped(Sku, sku_id)
    services.update_sku(db.session, sku, **args)
    db.session.commit()
    return sku


@blp.route("/<int:sku_id>/components", methods=["PUT"])
@roles_required("admin", "seller")
@blp.arguments(ComponentsArgs)
@blp.response(200, SkuSchema)
def set_components(args, sku_id):
    """Make the SKU a kit or bundle of other SKUs of the same seller (an empty list
    makes it a plain SKU again). A kit's order line reserves its components."""
    sku = get_scoped(Sku, sku_id)
    services.set_kit_components(db.session, sku, [(c["sku_id"], c["quantity"])
                                                  for c in args["components"]])
    db.session.commit()
    return sku
