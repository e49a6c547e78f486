"""Vans, moving a stop, re-timing a route, a route's status. Plain functions over a
session: they flush, never commit."""
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput
from ..i18n import message
from . import planning
from .models import ROUTE_STATUSES, Route, RouteStop, Vehicle

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
VEHICLE_FIELDS = ("name", "plate", "capacity_volume_l", "capacity_weight_kg", "crew",
                  "shift_start", "shift_end", "active")
# A route goes forward only; a draft may also be planned again (plan_day replaces it).
NEXT_STATUS = {"draft": ("planned",), "planned": ("draft", "dispatched"),
               "dispatched": ("done",), "done": ()}


# -- the own fleet as a carrier service ------------------------------------------------------

def own_fleet_service(session: Session):
    """The carrier service of the warehouse's own vans (carrier OWNFLEET, service
    OWN_FLEET_VAN), created if missing. It is inactive: rate shopping never picks it
    by itself for a parcel across the country; a dispatcher or the booking (issue #12
    item 3) names it for a shipment, and plan_day plans the shipments labelled with it."""
    from ..carriers.models import Carrier, CarrierService
    carrier = session.scalar(select(Carrier).where(Carrier.code == planning.OWN_FLEET_CARRIER))
    if carrier is None:
        carrier = Carrier(code=planning.OWN_FLEET_CARRIER, name="Own fleet", tracking_url="")
        session.add(carrier)
        session.flush()
    service = session.scalar(select(CarrierService).where(
        CarrierService.carrier_id == carrier.id))
    if service is None:
        service = CarrierService(
            carrier_id=carrier.id, code="OWN_FLEET_VAN", name="Own fleet van", active=False,
            transit_days_by_zone={str(z): 1 for z in range(1, 9)}, cutoff_local_time="18:00",
            dim_divisor=None, pricing="per_lb",
            per_lb_cents_by_zone={str(z): 50 for z in range(1, 9)}, minimum_charge_cents=4900)
        session.add(service)
        session.flush()
    return service


# -- vans ------------------------------------------------------------------------------------

def _check_vehicle(attrs: dict, current: Vehicle | None = None) -> None:
    for key in ("shift_start", "shift_end"):
        if key in attrs and not HHMM.match(str(attrs[key])):
            raise InvalidInput(key, message("must be a time HH:MM"))
    start = attrs.get("shift_start", current.shift_start if current else "08:00")
    end = attrs.get("shift_end", current.shift_end if current else "18:00")
    if start >= end:
        raise InvalidInput("shift_end", message("must be after shift_start"))
    if "crew" in attrs and attrs["crew"] not in (1, 2):
        raise InvalidInput("crew", message("must be 1 or 2"))


def create_vehicle(session: Session, warehouse, **attrs) -> Vehicle:
    _check_vehicle(attrs)
    if session.scalar(select(Vehicle.id).where(Vehicle.warehouse_id == warehouse.id,
                                               Vehicle.name == attrs["name"])):
        raise Conflict(message("Van %(name)s exists", name=attrs['name']),
                       fields={"name": [message("already exists")]})
    van = Vehicle(warehouse_id=warehouse.id, **{k: v for k, v in attrs.items()
                                                 if k in VEHICLE_FIELDS})
    session.add(van)
    session.flush()
    return van


def update_vehicle(session: Session, van: Vehicle, **attrs) -> Vehicle:
    _check_vehicle(attrs, van)
    if "name" in attrs and attrs["name"] != van.name and session.scalar(
            select(Vehicle.id).where(Vehicle.warehouse_id == van.warehouse_id,
                                     Vehicle.name == attrs["name"])):
        raise Conflict(message("Van %(name)s exists", name=attrs['name']),
                       fields={"name": [message("already exists")]})
    for key, value in attrs.items():
        if key in VEHICLE_FIELDS:
            setattr(van, key, value)
    session.flush()
    return van


# -- re-timing and moving ------------------------------------------------------------------------

def _warning(route: Route, broken: dict, stops: list[RouteStop]) -> dict:
    kind = broken["kind"]
    stop = stops[broken["stop"]] if broken.get("stop") is not None else None
    out = {"route_id": route.id, "kind": kind, "stop_id": stop.id if stop else None}
    if kind == "late":
        out["message"] = message("Stop %(sequence)s starts %(minutes)s min after its window "
                                 "closes", sequence=stop.sequence,
                                 minutes=-(-broken["by_s"] // 60))
    elif kind == "crew":
        out["message"] = message("Stop %(sequence)s needs two people; this van has a crew "
                                 "of one", sequence=stop.sequence)
    elif kind == "volume":
        out["message"] = message("The van is %(litres)s L over its volume",
                                 litres=-(-broken["over_ml"] // 1000))
    elif kind == "weight":
        out["message"] = message("The van is %(kg)s kg over its weight",
                                 kg=round(broken["over_g"] / 1000, 1))
    else:
        out["message"] = message("The van is back %(minutes)s min after its shift ends",
                                 minutes=-(-broken["by_s"] // 60))
    return out


def retime(session: Session, route: Route) -> list[dict]:
    """Number the route's stops 1.. in their order and time them again (planning.schedule,
    the same matrix as the planner); store the arrivals, distance and duration. Returns
    what the route now breaks: [{route_id, kind, stop_id, message}] (kind late, crew,
    volume, weight or shift)."""
    from ..inventory.models import Warehouse
    warehouse = session.get(Warehouse, route.warehouse_id)
    stops = sorted(route.stops, key=lambda s: s.sequence)
    for sequence, stop in enumerate(stops, start=1):
        stop.sequence = sequence
    origin = planning.day_origin(warehouse, route.date)
    van = planning.vehicle_input(warehouse, route.date, route.vehicle)
    inputs = [planning.stop_input(origin, s) for s in stops]
    matrix = planning.matrix_for((warehouse.latitude, warehouse.longitude), inputs)
    planned, broken = planning.schedule(matrix, inputs, van, list(range(len(stops))))
    for visit in planned.visits:
        stops[visit.stop].planned_arrival = planning.at_seconds(origin, visit.start)
    route.planned_distance_m = planned.distance_m
    route.planned_duration_s = planned.duration_s if stops else 0
    route.planned_start = planning.at_seconds(origin, planned.depart) if stops else None
    route.planned_end = planning.at_seconds(origin, planned.back) if stops else None
    session.flush()
    return [_warning(route, b, stops) for b in broken]


def move_stop(session: Session, stop: RouteStop, to_route: Route, position: int | None = None,
              ) -> tuple[list[Route], list[dict]]:
    """Put `stop` on `to_route` at `position` (1-based; default: last), take it off its
    old route, and re-time both. Allowed even when it breaks a window, a capacity, a
    crew or a shift, as Onfleet allows it: the answer warns of each. Returns (the
    routes changed, warnings). Routes already done cannot change."""
    if to_route.warehouse_id != stop.warehouse_id or to_route.date != stop.date:
        raise InvalidInput("to_route_id", message("must be a route of the same warehouse and day"))
    for route in {r for r in (stop.route, to_route) if r is not None}:
        if route.status == "done":
            raise Conflict(message("Route %(id)s is done", id=route.id),
                           fields={"to_route_id": [message("is done")]})
    if stop.status not in ("planned", "unassigned"):
        raise Conflict(message("Stop %(id)s is %(status)s", id=stop.id, status=stop.status),
                       fields={"stop_id": [stop.status]})
    old = stop.route
    others = [s for s in sorted(to_route.stops, key=lambda s: s.sequence) if s.id != stop.id]
    if position is None:
        position = len(others) + 1
    if not 1 <= position <= len(others) + 1:
        raise InvalidInput("position", message("must be between 1 and %(n)s", n=len(others) + 1))
    if old is not None and old is not to_route:
        old.stops.remove(stop)
    others.insert(position - 1, stop)
    if stop not in to_route.stops:
        to_route.stops.append(stop)
    for sequence, s in enumerate(others, start=1):
        s.sequence = sequence
    stop.status, stop.drop_reason = "planned", None
    session.flush()
    changed = [to_route] + ([old] if old is not None and old is not to_route else [])
    warnings = []
    for route in changed:
        warnings.extend(retime(session, route))
    return changed, warnings


def set_route(session: Session, route: Route, *, status: str | None = None,
              driver_id=None, driver_given: bool = False) -> Route:
    """Move a route along draft -> planned -> dispatched -> done (planned may go back
    to draft), and give it a driver: a driver user of its warehouse."""
    from ..auth.models import User
    if status is not None and status != route.status:
        if status not in ROUTE_STATUSES or status not in NEXT_STATUS[route.status]:
            raise Conflict(message("Route %(id)s cannot go from %(now)s to %(wanted)s",
                                   id=route.id, now=route.status, wanted=status),
                           fields={"status": [message("cannot follow %(status)s",
                                                         status=route.status)]})
        route.status = status
        if status == "dispatched":
            from .proof import route_dispatched
            route_dispatched(session, route)  # its orders are out for delivery
    if driver_given:
        if driver_id is not None:
            driver = session.get(User, driver_id)
            if driver is None or driver.role != "driver" or \
                    route.warehouse_id not in set(driver.warehouse_ids):
                raise InvalidInput("driver_id", message("must be a driver of the route's warehouse"))
        route.driver_id = driver_id
    session.flush()
    return route
