"""The routes of the warehouse's own vans: plan a day, read it, move a stop, print the
manifest; the vans themselves. Thin: the rules are in planning.py and services.py.

Doors: the dispatcher is an admin. A driver reads only the routes given to it
(Route.driver_id) once they leave draft; sellers and pickers nothing."""
from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..api import roles_required
from ..auth.scoping import get_scoped, principal, scoped
from ..errors import NotFound
from ..extensions import db
from ..inventory.models import Warehouse
from . import manifest, planning, services
from .models import Route, RouteStop, Vehicle
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
        raise NotFound(f"No route {route_id}", fields={"route_id": ["not found"]})
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
        raise NotFound(f"No stop {stop_id} on route {route_id}",
                       fields={"stop_id": ["not found"]})
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
