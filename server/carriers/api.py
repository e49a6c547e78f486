"""Carriers, rate shopping, shipments and their labels. Thin: the rules are in
rating.py, services.py and labels.py."""
from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..api import roles_required
from ..auth.scoping import get_scoped
from ..errors import NotFound
from ..extensions import db
from ..inventory.models import Warehouse
from . import rating
from .models import Carrier, Shipment
from .schemas import CarrierSchema, ShipmentSchema, ShopArgs, ShopResultSchema

blp = Blueprint("carriers", __name__, url_prefix="/api",
                description="Carriers and services, rate shopping, shipments and labels")


@blp.route("/carriers")
@roles_required()
@blp.response(200, CarrierSchema(many=True))
def list_carriers():
    """Every carrier with its services, their limits, surcharges and cut-offs."""
    return db.session.scalars(select(Carrier).options(selectinload(Carrier.services))
                              .order_by(Carrier.code)).all()


@blp.route("/rates/shop", methods=["POST"])
@roles_required("admin", "seller", "picker")
@blp.arguments(ShopArgs)
@blp.response(200, ShopResultSchema)
def shop(args):
    """Rate-shop parcels from a warehouse to a ZIP: the cheapest service that meets
    `promised_by` (or, if none can, the fastest, with meets_promise false), and every
    runner-up with its price, transit days and delivery date. Changes nothing."""
    warehouse = get_scoped(Warehouse, args["warehouse_id"])
    return rating.shop(db.session, warehouse, args["to_zip"], args["parcels"],
                       promised_by=args["promised_by"], ship_at=args["ship_at"],
                       services=args["services"])


@blp.route("/shipments/<int:shipment_id>")
@roles_required("admin", "seller", "picker")
@blp.response(200, ShipmentSchema)
def get_shipment(shipment_id):
    return get_scoped(Shipment, shipment_id)


@blp.route("/shipments/<int:shipment_id>/label.pdf")
@roles_required("admin", "seller", "picker")
@blp.doc(responses={"200": {"description": "the 4x6 in label, one page per parcel",
                            "content": {"application/pdf": {
                                "schema": {"type": "string", "format": "binary"}}}}})
def shipment_label(shipment_id):
    """The shipment's 4x6 in label PDF (seller's own shipments; floor staff: their
    warehouses)."""
    shipment = get_scoped(Shipment, shipment_id)
    if not shipment.label_pdf:
        raise NotFound(f"Shipment {shipment_id} has no label",
                       fields={"shipment_id": ["has no label"]})
    return Response(shipment.label_pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="label-{shipment.tracking_number}.pdf"',
        "Cache-Control": "private, max-age=300"})
