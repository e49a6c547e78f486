"""Carriers, rate shopping, shipments and their labels. Thin: the rules are in
rating.py, services.py and labels.py."""
from types import SimpleNamespace

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..api import roles_required, signed_webhook
from ..auth.scoping import get_scoped
from ..errors import NotFound
from ..i18n import message
from ..extensions import db
from ..inventory.models import Warehouse
from . import gateway, rating, services, tracking
from .models import Carrier, Shipment
from .schemas import (
    CarrierAccountArgs,
    CarrierAccountSchema,
    CarrierSchema,
    ManifestArgs,
    ManifestSchema,
    ShipmentSchema,
    ShopArgs,
    ShopResultSchema,
)

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
        raise NotFound(message("Shipment %(id)s has no label", id=shipment_id),
                       fields={"shipment_id": [message("has no label")]})
    return Response(shipment.label_pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="label-{shipment.tracking_number}.pdf"',
        "Cache-Control": "private, max-age=300"})


@blp.route("/shipments/<int:shipment_id>/void", methods=["POST"])
@roles_required("admin", "seller", "picker")
@blp.response(200, ShipmentSchema)
def void_shipment(shipment_id):
    """Void an unused label (a 'labelled' shipment): the provider that sold it refunds
    it and the shipment is 'cancelled'. 409 once it has shipped; 502/503 when the
    aggregator refuses or is down (then nothing changes)."""
    shipment = get_scoped(Shipment, shipment_id)
    services.void_shipment(db.session, shipment)
    db.session.commit()
    return shipment


@blp.route("/manifests", methods=["POST"])
@roles_required("admin", "picker")
@blp.arguments(ManifestArgs)
@blp.response(200, ManifestSchema)
def create_manifest(args):
    """The end-of-day scan form of one carrier at a warehouse: every labelled
    shipment of that carrier there (or only `shipment_ids`)."""
    warehouse = get_scoped(Warehouse, args["warehouse_id"])
    return services.manifest(db.session, warehouse, args["carrier"], args["shipment_ids"])


def _warehouse(warehouse_id) -> Warehouse:
    warehouse = db.session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(message("No warehouse %(id)s", id=warehouse_id),
                       fields={"warehouse_id": [message("not found")]})
    return warehouse


@blp.route("/warehouses/<int:warehouse_id>/carrier-account")
@roles_required("admin")
@blp.response(200, CarrierAccountSchema)
def get_carrier_account(warehouse_id):
    """Whether the warehouse labels through an aggregator, and where, or with the
    built-in rate cards (provider "builtin"); never the key."""
    warehouse = _warehouse(warehouse_id)
    account = gateway.account_for(db.session, warehouse.id)
    if account is None:
        return SimpleNamespace(warehouse_id=warehouse.id, provider="builtin", api_base=None,
                               api_key=None, webhook_secret=None, updated_at=None)
    return account


@blp.route("/warehouses/<int:warehouse_id>/carrier-account", methods=["PUT"])
@roles_required("admin")
@blp.arguments(CarrierAccountArgs)
@blp.response(200, CarrierAccountSchema)
def set_carrier_account(args, warehouse_id):
    """Set the warehouse's label aggregator account (write-only: the key and webhook
    secret are stored, never returned). From now on its labels are bought there."""
    account = services.set_carrier_account(db.session, _warehouse(warehouse_id), **args)
    db.session.commit()
    return account


@blp.route("/warehouses/<int:warehouse_id>/carrier-account", methods=["DELETE"])
@roles_required("admin")
@blp.response(204)
def clear_carrier_account(warehouse_id):
    """Back to the built-in rate cards and labels."""
    services.clear_carrier_account(db.session, _warehouse(warehouse_id))
    db.session.commit()


@blp.route("/carriers/easypost/webhook/<int:warehouse_id>", methods=["POST"])
@signed_webhook
@blp.response(200)
def easypost_webhook(warehouse_id):
    """The label aggregator's event webhook (set its URL per warehouse): verified by
    X-Hmac-Signature over the raw body with the warehouse's webhook secret
    (easypost's validate_webhook, a constant-time compare); a bad or missing one is
    401 with nothing stored. tracker.created / tracker.updated are recorded here, in
    the request (a few statements; duplicates are no-ops, so the aggregator's
    retries are safe); other events are acknowledged and ignored."""
    import easypost.errors as ep
    from easypost.util import validate_webhook
    body = request.get_data(cache=False)
    account = gateway.account_for(db.session, warehouse_id)
    secret = account.webhook_secret if account is not None else None
    try:
        if not secret:
            raise ep.SignatureVerificationError(message="no webhook secret")
        event = validate_webhook(body, {"X-Hmac-Signature":
                                        request.headers.get("X-Hmac-Signature")}, secret)
    except ep.SignatureVerificationError:
        db.session.rollback()
        return {"error": "unauthorized", "message": "bad or missing signature",
                "fields": {"X-Hmac-Signature": ["does not match"]}}, 401
    except ValueError:  # signed, but not JSON
        db.session.rollback()
        return {"error": "bad_request", "message": "the body is not JSON",
                "fields": {"body": ["is not JSON"]}}, 400
    if not isinstance(event, dict):
        return {"error": "bad_request", "message": "the body is not an event",
                "fields": {"body": ["is not an event"]}}, 400
    kind = event.get("description")
    if kind not in ("tracker.created", "tracker.updated"):
        return {"status": "ignored", "description": str(kind)[:64]}
    try:
        result = tracking.record_tracker_update(db.session, "easypost",
                                                event.get("result"), "webhook",
                                                warehouse_id=warehouse_id)
    except tracking.BadTrackerPayload as error:
        db.session.rollback()
        return {"error": "validation_error", "message": str(error),
                "fields": {"result": [str(error)]}}, 422
    db.session.commit()
    return {"status": "accepted", **{k: result[k] for k in ("added", "status")},
            "matched": result["shipment_id"] is not None}
