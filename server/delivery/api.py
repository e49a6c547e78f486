"""The routes of the warehouse's own vans: plan a day, read it, move a stop, print the
manifest; the vans themselves. Thin: the rules are in planning.py and services.py.

Doors: the dispatcher is an admin. A driver reads only the routes given to it
(Route.driver_id) once they leave draft; sellers and pickers nothing."""

import marshmallow as ma
from flask import Response, request
from marshmallow import fields, validate
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..api import roles_required
from ..auth.scoping import get_scoped, principal, scoped
from ..errors import NotFound
from ..i18n import message, render
from ..extensions import db
from ..inventory.models import Warehouse
from . import manifest, mutations, planning, proof, services  # noqa: F401  mutations: registers
from .models import DECISIONS, DeliveryAttempt, ProofFile, Route, RouteStop, Vehicle
from .schemas import (
    MoveResultSchema,
    RouteDayArgs,
    RouteDaySchema,
    RoutePatchArgs,
    RoutePlanArgs,
    RouteSchema,
    StopMoveArgs,
    VehicleArgs,
    VehiclePatchArgs,
    VehicleSchema,
)

blp = Blueprint("delivery", __name__, url_prefix="/api",
                description="Routes for the warehouse's own vans: plan, adjust, manifest")


def _routes():
    """Routes the current user may read: an admin every one; a driver those of its
    warehouses given to it, once out of draft."""
    stmt = scoped(Route).options(selectinload(Route.stops), selectinload(Route.vehicle))
    user = principal()
    if user.role != "admin":
        stmt = stmt.where(Route.driver_id == user.id, Route.status != "draft")
    return stmt


def _route(route_id) -> Route:
    route = db.session.scalars(_routes().where(Route.id == route_id)).first()
    if route is None:
        raise NotFound(message("No route %(id)s", id=route_id),
                       fields={"route_id": [message("not found")]})
    return route


def _day(warehouse_id, day) -> dict:
    routes = db.session.scalars(_routes().where(Route.warehouse_id == warehouse_id,
                                                Route.date == day).order_by(Route.id)).all()
    unassigned = []
    if principal().role == "admin":
        unassigned = db.session.scalars(scoped(RouteStop).where(
            RouteStop.warehouse_id == warehouse_id, RouteStop.date == day,
            RouteStop.route_id.is_(None)).order_by(RouteStop.id)).all()
    return {"warehouse_id": warehouse_id, "date": day, "routes": routes,
            "unassigned": unassigned}


@blp.route("/warehouses/<int:warehouse_id>/routes/plan", methods=["POST"])
@roles_required("admin")
@blp.arguments(RoutePlanArgs)
@blp.response(200, RouteDaySchema)
def plan(args, warehouse_id):
    """Plan the day: every labelled own-fleet shipment of that ship date on the active
    vans, as draft routes (replacing the day's drafts; planned, dispatched and done
    routes are kept). Stops no van can take come back in `unassigned`, each with the
    reason. One transaction."""
    warehouse = get_scoped(Warehouse, warehouse_id)
    planning.plan_day(db.session, warehouse, args["date"], time_limit_s=args["time_limit_s"])
    db.session.commit()
    return _day(warehouse.id, args["date"])


@blp.route("/routes")
@roles_required("admin", "driver")
@blp.arguments(RouteDayArgs, location="query")
@blp.response(200, RouteDaySchema)
def list_routes(args):
    """A warehouse's day: its routes with their stops, times and load, and (for the
    dispatcher) the stops no route carries."""
    warehouse = get_scoped(Warehouse, args["warehouse_id"])
    return _day(warehouse.id, args["date"])


@blp.route("/routes/<int:route_id>")
@roles_required("admin", "driver")
@blp.response(200, RouteSchema)
def get_route(route_id):
    return _route(route_id)


@blp.route("/routes/<int:route_id>", methods=["PATCH"])
@roles_required("admin")
@blp.arguments(RoutePatchArgs)
@blp.response(200, RouteSchema)
def patch_route(args, route_id):
    """Move a route on (draft -> planned -> dispatched -> done) or give it a driver."""
    route = _route(route_id)
    services.set_route(db.session, route, status=args.get("status"),
                       driver_id=args.get("driver_id"), driver_given="driver_id" in args)
    db.session.commit()
    return route


@blp.route("/routes/<int:route_id>/stops/<int:stop_id>/move", methods=["POST"])
@roles_required("admin")
@blp.arguments(StopMoveArgs)
@blp.response(200, MoveResultSchema)
def move(args, route_id, stop_id):
    """Move a stop to another route of the same day, or to another position on its own
    route. Both routes are re-timed; the move is made even when it breaks a window, a
    capacity, a crew or a shift, and `warnings` says what it breaks."""
    route = _route(route_id)
    stop = next((s for s in route.stops if s.id == stop_id), None)
    if stop is None:
        raise NotFound(message("No stop %(stop)s on route %(route)s", stop=stop_id, route=route_id),
                       fields={"stop_id": [message("not found")]})
    target = route if args["to_route_id"] in (None, route.id) else _route(args["to_route_id"])
    changed, warnings = services.move_stop(db.session, stop, target, args["position"])
    db.session.commit()
    return {"routes": changed, "warnings": warnings}


@blp.route("/routes/<int:route_id>/manifest.pdf")
@roles_required("admin", "driver")
@blp.doc(responses={"200": {"description": "the route's manifest, US Letter",
                            "content": {"application/pdf": {
                                "schema": {"type": "string", "format": "binary"}}}}})
def route_manifest(route_id):
    """The manifest to print for the van: stops in order with times, address, items,
    the two-person flag and a barcode per stop."""
    route = _route(route_id)
    warehouse = db.session.get(Warehouse, route.warehouse_id)
    pdf = manifest.render_manifest(route, warehouse)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="route-{route.id}-{route.date}.pdf"',
        "Cache-Control": "private, no-store"})


@blp.route("/warehouses/<int:warehouse_id>/vehicles")
@roles_required("admin")
@blp.response(200, VehicleSchema(many=True))
def list_vehicles(warehouse_id):
    warehouse = get_scoped(Warehouse, warehouse_id)
    return db.session.scalars(select(Vehicle).where(Vehicle.warehouse_id == warehouse.id)
                              .order_by(Vehicle.name)).all()


@blp.route("/warehouses/<int:warehouse_id>/vehicles", methods=["POST"])
@roles_required("admin")
@blp.arguments(VehicleArgs)
@blp.response(201, VehicleSchema)
def create_vehicle(args, warehouse_id):
    warehouse = get_scoped(Warehouse, warehouse_id)
    van = services.create_vehicle(db.session, warehouse, **args)
    db.session.commit()
    return van


@blp.route("/vehicles/<int:vehicle_id>", methods=["PATCH"])
@roles_required("admin")
@blp.arguments(VehiclePatchArgs)
@blp.response(200, VehicleSchema)
def patch_vehicle(args, vehicle_id):
    van = get_scoped(Vehicle, vehicle_id, what="vehicle")
    services.update_vehicle(db.session, van, **args)
    db.session.commit()
    return van


# -- the driver's app (issue #12, item 2) ------------------------------------------------------

class DriverRoutesArgs(ma.Schema):
    date = fields.Date(load_default=None, metadata={
        "description": "the day; default every route given to me that is not done"})


class DecisionArgs(ma.Schema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS), metadata={
        "description": "reschedule (back to be planned on `date`) or return"})
    date = fields.Date(load_default=None, metadata={"description": "for reschedule"})


class StopProofSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    stop_id = fields.Integer()
    status = fields.String()
    attempt = fields.Integer()
    outcome = fields.String(allow_none=True, metadata={"description": "delivered, failed"})
    complete = fields.Boolean(metadata={"description": "the mutation and all its files "
                                        "have arrived"})
    missing = fields.List(fields.String(), metadata={"description": "sha256 of files not "
                                                     "uploaded yet"})
    missing_parts = fields.List(fields.String(), metadata={
        "description": "what a proof of delivery still lacks: mutation, files"})
    recipient_name = fields.String()
    photo_hashes = fields.List(fields.String())
    signature_hash = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    note = fields.String()
    at = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    decision = fields.String(allow_none=True)


class DriverRouteSchema(RouteSchema):
    proofs = fields.Method("_proofs", metadata={"description": "per stop id: its proof"})

    def _proofs(self, route):
        return {str(s.id): StopProofSchema().dump(proof.stop_proof(db.session, s))
                for s in route.stops}


class DecisionResultSchema(ma.Schema):
    stop_id = fields.Integer()
    decision = fields.String()
    date = fields.String()
    attempt = fields.Integer()
    order_on_hold = fields.Boolean()
    note = fields.Method("_note")

    def _note(self, result):
        return render(result["note"]) if result.get("note") else None


class ProofFileSchema(ma.Schema):
    sha256 = fields.String()
    content_type = fields.String()
    size = fields.Integer()


@blp.route("/driver/routes")
@roles_required("admin", "driver")
@blp.arguments(DriverRoutesArgs, location="query")
@blp.response(200, DriverRouteSchema(many=True))
def driver_routes(args):
    """My routes (a driver's: given to me, out of draft), stops in order, each with
    its proof so far: what the driver's app keeps for the day offline."""
    stmt = _routes().where(Route.driver_id == principal().id)
    if args["date"] is not None:
        stmt = stmt.where(Route.date == args["date"])
    else:
        stmt = stmt.where(Route.status.in_(("planned", "dispatched")))
    return db.session.scalars(stmt.order_by(Route.date, Route.id)).all()


def _stop(stop_id) -> RouteStop:
    stop = db.session.scalars(scoped(RouteStop).where(RouteStop.id == stop_id)).first()
    user = principal()
    visible = stop is not None and (user.role == "admin" or (
        stop.route_id is not None and db.session.scalar(
            select(Route.id).where(Route.id == stop.route_id, Route.driver_id == user.id,
                                   Route.status != "draft")) is not None))
    if not visible:
        raise NotFound(message("No stop %(id)s", id=stop_id),
                       fields={"stop_id": [message("not found")]})
    return stop


@blp.route("/stops/<int:stop_id>/proof")
@roles_required("admin", "driver")
@blp.response(200, StopProofSchema)
def stop_proof(stop_id):
    """The stop's current attempt: delivered (recipient, photos, signature, place) or
    failed (reason), and what is still missing (the mutation, files by hash)."""
    return proof.stop_proof(db.session, _stop(stop_id))


@blp.route("/stops/<int:stop_id>/decision", methods=["POST"])
@roles_required("admin")
@blp.arguments(DecisionArgs)
@blp.response(200, DecisionResultSchema)
def decide(args, stop_id):
    """After a failed attempt, the dispatcher decides: reschedule to another day (the
    stop waits, unassigned, for that day's plan) or return (the order goes to
    exception for a person: there is no return-to-stock service for a parcel)."""
    stop = _stop(stop_id)
    result = proof.decide(db.session, stop, args["decision"], args["date"],
                          user_id=principal().id)
    db.session.commit()
    return result


@blp.route("/delivery/proofs/<string:sha256>", methods=["PUT"])
@roles_required("admin", "driver")
@blp.doc(requestBody={"content": {t: {"schema": {"type": "string", "format": "binary"}}
                                  for t in ("image/jpeg", "image/png", "image/webp")}})
@blp.response(200, ProofFileSchema)
def put_proof(sha256):
    """Upload a photo or a signature under its sha256: the body must hash to it, be
    at most 2 MB and be a JPEG, PNG or WebP image (by its bytes). Idempotent."""
    row = proof.store_file(db.session, principal(), sha256, request.get_data(cache=False))
    db.session.commit()
    return row


@blp.route("/delivery/proofs/<string:sha256>")
@roles_required("admin", "driver")
def get_proof(sha256):
    """A photo or signature: admins any; a driver those of its own stops' attempts."""
    proof.check_hash(sha256)
    row = db.session.get(ProofFile, sha256)
    user = principal()
    if row is not None and user.role == "driver" and row.uploaded_by != user.id and \
            not any(sha256 in a.hashes() for a in db.session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.driver_id == user.id))):
        row = None  # another driver's proof is as good as absent: no hint it exists
    body = proof.storage().get(sha256) if row is not None else None
    if body is None:
        raise NotFound(message("No file %(sha256)s", sha256=sha256),
                       fields={"sha256": [message("not found")]})
    return Response(body, mimetype=row.content_type,
                    headers={"Cache-Control": "private, max-age=86400, immutable"})
