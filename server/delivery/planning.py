"""Planning a day's routes for the warehouse's own vans (issue #12, item 1).

Two layers:

- `plan_routes(depot, vehicles, stops)`: a pure function over plain data (no
  database, no Flask): the test and the benchmark call it directly. It builds the
  travel matrix, solves the vehicle routing problem with OR-Tools' routing library
  and returns each van's stops in order with their times and load, and every stop it
  could not serve with the reason. Nothing is ever dropped silently.
- `plan_day(session, warehouse, day)`: reads the day's own-fleet shipments of a
  warehouse and its active vans, plans, and stores the routes as drafts, replacing
  the day's earlier drafts. Flushes, never commits: the caller commits once.

Travel. There is no road network here, so road distance is estimated as the
great-circle (haversine) distance times DETOUR_FACTOR = 1.4: the mean ratio of
driving to straight-line distance between US addresses measured by Boscoe,
Henry and Zdeb (2012, "A nationwide comparison of driving distance versus
straight-line distance", 1.417 on average, lower for long trips). Travel time is that
distance at AVERAGE_SPEED_KMH = 40, a van's average in suburban delivery traffic
including junctions and parking. Both are module constants and can be passed in.
The matrix is in whole metres and whole seconds.

Time. Times are seconds since local midnight of the route's day in the warehouse's
time zone. A stop's window bounds the start of service: a van that arrives early
waits, one that would arrive after the window's end may not serve it. Each van
leaves the depot no earlier than its shift start and is back by its shift end.

Service time by item size (`service_seconds`): 4 minutes for a small delivery (every
parcel at most 10 kg and 50 L), 8 for a medium one (at most 32 kg and 300 L each),
20 for a large item (over 32 kg, over 300 L, or a side over 1.5 m), which also needs
a crew of two (`needs_two_people`); each parcel beyond the first adds 1, 2 or 5
minutes.

Capacities. Two dimensions, volume (millilitres) and weight (grams); a van's load is
the sum of its stops' (all goods leave the depot in the morning).

Solver. First solution by PATH_CHEAPEST_ARC, improved by GUIDED_LOCAL_SEARCH until
the time limit, which is `time_limit_for(n)`: 0.025 s per stop, at least 1 s and at
most 30 s (200 stops: 5 s), or what the caller passes. The objective is the total
distance. Every stop is optional at a penalty far above any route's length, so the
solver serves all it can and drops the rest. Before solving, each stop is checked
alone against every van (weight, volume, two people, reachability within a window and
a shift); a stop no van could ever serve is dropped with that reason and never given
to the solver. A stop the solver leaves out is dropped with the reason
"does_not_fit": it could be served alone, but not together with the others.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

EARTH_RADIUS_M = 6_371_000.0
DETOUR_FACTOR = 1.4
AVERAGE_SPEED_KMH = 40.0
DAY_SECONDS = 24 * 3600

TWO_PERSON_WEIGHT_G = 32_000        # about 70 lb: one person does not carry it in
TWO_PERSON_VOLUME_ML = 300_000      # 300 L: a sofa, a wardrobe, a fridge
TWO_PERSON_LENGTH_MM = 1500
SMALL_WEIGHT_G = 10_000
SMALL_VOLUME_ML = 50_000

# (first parcel, each further parcel) in minutes, by size.
SERVICE_MINUTES = {"small": (4, 1), "medium": (8, 2), "large": (20, 5)}

TIME_LIMIT_PER_STOP_S = 0.025
TIME_LIMIT_MIN_S = 1.0
TIME_LIMIT_MAX_S = 30.0

# A dropped stop costs this much in the objective (metres): more than any detour.
DROP_PENALTY = 100_000_000

# Why a stop is dropped (the API renders each as a translated sentence).
DROP_REASONS = ("too_heavy", "too_large", "needs_two_people", "outside_shift",
                "does_not_fit", "no_vehicle")


# -- plain data ------------------------------------------------------------------------

@dataclass
class Parcel:
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0

    @property
    def volume_ml(self) -> int:
        return (self.length_mm * self.width_mm * self.height_mm + 999) // 1000


@dataclass
class Vehicle:
    """A van as the planner sees it. Shift in seconds since local midnight."""
    key: object
    name: str
    capacity_volume_ml: int
    capacity_weight_g: int
    crew: int = 1
    shift_start: int = 8 * 3600
    shift_end: int = 18 * 3600


@dataclass
class Stop:
    """One delivery. Window in seconds since local midnight (None: any time in the
    shift). `key` is the caller's (a shipment id, an index)."""
    key: object
    latitude: float
    longitude: float
    volume_ml: int = 0
    weight_g: int = 0
    service_s: int = 300
    window_start: int | None = None
    window_end: int | None = None
    needs_two: bool = False


@dataclass
class Visit:
    stop: int            # index into the stops given
    arrival: int         # when the van gets there (s since midnight)
    start: int           # start of service (>= window start: it may wait)
    departure: int       # start + service


@dataclass
class PlannedRoute:
    vehicle: int         # index into the vehicles given
    visits: list[Visit]
    depart: int          # leaves the depot
    back: int            # back at the depot
    distance_m: int
    volume_ml: int
    weight_g: int

    @property
    def duration_s(self) -> int:
        return self.back - self.depart


@dataclass
class Dropped:
    stop: int
    reason: str          # one of DROP_REASONS
    detail: dict = field(default_factory=dict)


@dataclass
class Plan:
    routes: list[PlannedRoute]
    dropped: list[Dropped]
    stats: dict

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)


# -- sizes and service times -------------------------------------------------------------

def _size(parcels: list[Parcel]) -> str:
    if needs_two_people(parcels):
        return "large"
    if all(p.weight_g <= SMALL_WEIGHT_G and p.volume_ml <= SMALL_VOLUME_ML for p in parcels):
        return "small"
    return "medium"


def needs_two_people(parcels: list[Parcel]) -> bool:
    return any(p.weight_g > TWO_PERSON_WEIGHT_G or p.volume_ml > TWO_PERSON_VOLUME_ML
               or max(p.length_mm, p.width_mm, p.height_mm) > TWO_PERSON_LENGTH_MM
               for p in parcels)


def service_seconds(parcels: list[Parcel]) -> int:
    first, more = SERVICE_MINUTES[_size(parcels)]
    return 60 * (first + more * max(0, len(parcels) - 1))


def time_limit_for(n_stops: int) -> float:
    return min(TIME_LIMIT_MAX_S, max(TIME_LIMIT_MIN_S, TIME_LIMIT_PER_STOP_S * n_stops))


# -- the matrix --------------------------------------------------------------------------

def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class Matrix:
    """Road estimates between points (index 0: the depot): metres and seconds."""
    distance: list[list[int]]
    travel: list[list[int]]

    def leg(self, a: int, b: int) -> tuple[int, int]:
        return self.distance[a][b], self.travel[a][b]


def build_matrix(points: list[tuple[float, float]], *, detour: float = DETOUR_FACTOR,
                 speed_kmh: float = AVERAGE_SPEED_KMH) -> Matrix:
    metres_per_s = speed_kmh * 1000 / 3600
    n = len(points)
    distance = [[0] * n for _ in range(n)]
    travel = [[0] * n for _ in range(n)]
    for i in range(n):
        lat1, lon1 = points[i]
        for j in range(i + 1, n):
            d = haversine_m(lat1, lon1, *points[j]) * detour
            distance[i][j] = distance[j][i] = round(d)
            travel[i][j] = travel[j][i] = round(d / metres_per_s)
    return Matrix(distance, travel)


def matrix_for(depot: tuple[float, float], stops: list[Stop], **kwargs) -> Matrix:
    return build_matrix([depot, *((s.latitude, s.longitude) for s in stops)], **kwargs)


# -- schedules -----------------------------------------------------------------------------

def _window(stop: Stop, vehicle: Vehicle) -> tuple[int, int]:
    start = stop.window_start if stop.window_start is not None else vehicle.shift_start
    end = stop.window_end if stop.window_end is not None else vehicle.shift_end
    return start, end


def schedule(matrix: Matrix, stops: list[Stop], vehicle: Vehicle, order: list[int],
             *, vehicle_index: int = 0, depart: int | None = None) -> tuple[PlannedRoute, list]:
    """Time a van's stops in this order (indexes into `stops`; matrix node = index + 1):
    each stop is served as early as the van gets there and its window allows. The van
    leaves at `depart`, or, by default, as late as it can without making any stop later
    than the window or the shift allows, so it waits at the depot rather than at the
    kerb. Returns the route and what it breaks: a list of
    {"stop", "kind": "late" | "volume" | "weight" | "crew" | "shift", ...}."""
    def run(leave: int) -> tuple[list[Visit], int, int]:
        visits, t, prev, dist = [], leave, 0, 0
        for i in order:
            d, tt = matrix.leg(prev, i + 1)
            arrival = t + tt
            ws, _we = _window(stops[i], vehicle)
            start = max(arrival, ws)
            t = start + stops[i].service_s
            visits.append(Visit(i, arrival, start, t))
            dist += d
            prev = i + 1
        d, tt = matrix.leg(prev, 0)
        return visits, t + tt, dist + d

    leave = vehicle.shift_start if depart is None else depart
    visits, back, dist = run(leave)
    if depart is None and visits:
        # Delay the start by d: stop k starts max(0, d - waits up to k) later.
        waited, delay = 0, None
        for v in visits:
            waited += v.start - v.arrival
            _ws, we = _window(stops[v.stop], vehicle)
            room = we - v.start + waited
            delay = room if delay is None else min(delay, room)
        delay = max(0, min(delay, waited, vehicle.shift_end - back + waited))
        if delay:
            leave += delay
            visits, back, dist = run(leave)
    volume = sum(stops[i].volume_ml for i in order)
    weight = sum(stops[i].weight_g for i in order)
    broken = []
    for v in visits:
        _ws, we = _window(stops[v.stop], vehicle)
        if v.start > we:
            broken.append({"stop": v.stop, "kind": "late", "by_s": v.start - we})
        if stops[v.stop].needs_two and vehicle.crew < 2:
            broken.append({"stop": v.stop, "kind": "crew"})
    if volume > vehicle.capacity_volume_ml:
        broken.append({"stop": None, "kind": "volume",
                       "over_ml": volume - vehicle.capacity_volume_ml})
    if weight > vehicle.capacity_weight_g:
        broken.append({"stop": None, "kind": "weight",
                       "over_g": weight - vehicle.capacity_weight_g})
    if back > vehicle.shift_end:
        broken.append({"stop": None, "kind": "shift", "by_s": back - vehicle.shift_end})
    route = PlannedRoute(vehicle_index, visits, leave, back if visits else leave,
                         dist if visits else 0, volume, weight)
    return route, broken


# -- which van could serve a stop at all ---------------------------------------------------

def _alone(matrix: Matrix, stop: Stop, node: int, vehicle: Vehicle) -> str | None:
    """Why this van cannot serve this stop even with nothing else to do, or None."""
    if stop.weight_g > vehicle.capacity_weight_g:
        return "too_heavy"
    if stop.volume_ml > vehicle.capacity_volume_ml:
        return "too_large"
    if stop.needs_two and vehicle.crew < 2:
        return "needs_two_people"
    ws, we = _window(stop, vehicle)
    start = max(vehicle.shift_start + matrix.travel[0][node], ws)
    if start > we or start + stop.service_s + matrix.travel[node][0] > vehicle.shift_end:
        return "outside_shift"
    return None


_REASON_ORDER = ("too_heavy", "too_large", "needs_two_people", "outside_shift")


# -- the solver --------------------------------------------------------------------------------

def plan_routes(depot: tuple[float, float], vehicles: list[Vehicle], stops: list[Stop], *,
                time_limit_s: float | None = None, matrix: Matrix | None = None,
                detour: float = DETOUR_FACTOR, speed_kmh: float = AVERAGE_SPEED_KMH) -> Plan:
    """Routes for these vans through these stops, from and back to `depot` (lat, lon).
    Pure: plain data in, plain data out. See the module docstring for the model."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    began = time.perf_counter()
    if matrix is None:
        matrix = matrix_for(depot, stops, detour=detour, speed_kmh=speed_kmh)
    limit = time_limit_for(len(stops)) if time_limit_s is None else float(time_limit_s)

    dropped: list[Dropped] = []
    candidates: list[int] = []          # stops given to the solver
    allowed: dict[int, list[int]] = {}  # stop -> vans that could serve it alone
    for i, stop in enumerate(stops):
        why = {v: _alone(matrix, stop, i + 1, vehicle) for v, vehicle in enumerate(vehicles)}
        ok = [v for v, reason in why.items() if reason is None]
        if ok:
            candidates.append(i)
            allowed[i] = ok
        elif not vehicles:
            dropped.append(Dropped(i, "no_vehicle"))
        else:
            # The reason that holds for the van that came closest (the earliest check
            # failed last): heavier than all, else bigger than all, ...
            reason = max(why.values(), key=_REASON_ORDER.index)
            detail = {}
            if reason == "too_heavy":
                detail = {"weight_g": stop.weight_g,
                          "max_g": max(v.capacity_weight_g for v in vehicles)}
            elif reason == "too_large":
                detail = {"volume_ml": stop.volume_ml,
                          "max_ml": max(v.capacity_volume_ml for v in vehicles)}
            dropped.append(Dropped(i, reason, detail))

    stats = {"solver": "ortools", "time_limit_s": limit, "stops": len(stops),
             "vehicles": len(vehicles), "detour_factor": detour, "speed_kmh": speed_kmh,
             "first_solution": "PATH_CHEAPEST_ARC", "metaheuristic": "GUIDED_LOCAL_SEARCH"}
    if not candidates:
        stats.update(status="NO_STOPS", wall_s=round(time.perf_counter() - began, 3))
        return Plan([], sorted(dropped, key=lambda d: d.stop), stats)

    # The solver's nodes: 0 the depot, then the candidates.
    nodes = [0] + [i + 1 for i in candidates]
    n = len(nodes)
    dist = [[matrix.distance[a][b] for b in nodes] for a in nodes]
    service = [0] + [stops[i].service_s for i in candidates]
    # Time from a node to the next: service at the node, then the drive.
    ttime = [[service[a] + matrix.travel[nodes[a]][nodes[b]] if a != b else 0
              for b in range(n)] for a in range(n)]

    manager = pywrapcp.RoutingIndexManager(n, len(vehicles), 0)
    routing = pywrapcp.RoutingModel(manager)
    distance_cb = routing.RegisterTransitMatrix(dist)
    routing.SetArcCostEvaluatorOfAllVehicles(distance_cb)

    time_cb = routing.RegisterTransitMatrix(ttime)
    routing.AddDimension(time_cb, DAY_SECONDS, DAY_SECONDS, False, "time")
    time_dim = routing.GetDimensionOrDie("time")

    volume_cb = routing.RegisterUnaryTransitVector(
        [0] + [stops[i].volume_ml for i in candidates])
    routing.AddDimensionWithVehicleCapacity(
        volume_cb, 0, [v.capacity_volume_ml for v in vehicles], True, "volume")
    weight_cb = routing.RegisterUnaryTransitVector(
        [0] + [stops[i].weight_g for i in candidates])
    routing.AddDimensionWithVehicleCapacity(
        weight_cb, 0, [v.capacity_weight_g for v in vehicles], True, "weight")

    for node, i in enumerate(candidates, start=1):
        index = manager.NodeToIndex(node)
        stop = stops[i]
        ws = stop.window_start if stop.window_start is not None else 0
        we = stop.window_end if stop.window_end is not None else DAY_SECONDS
        time_dim.CumulVar(index).SetRange(ws, we)
        # (SetAllowedVehiclesForIndex's Python binding refuses lists in OR-Tools 9.15;
        # removing the other vans from the stop's vehicle variable is the same.)
        for v in set(range(len(vehicles))) - set(allowed[i]):
            routing.VehicleVar(index).RemoveValue(v)
        routing.AddDisjunction([index], DROP_PENALTY)
    for v, vehicle in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(v)).SetRange(vehicle.shift_start, vehicle.shift_end)
        time_dim.CumulVar(routing.End(v)).SetRange(vehicle.shift_start, vehicle.shift_end)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = \
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, round(limit * 1000)))
    solve_began = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    solve_s = time.perf_counter() - solve_began
    status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    stats.update(status=status, solve_s=round(solve_s, 3))

    routes: list[PlannedRoute] = []
    served: set[int] = set()
    if solution is not None:
        for v, vehicle in enumerate(vehicles):
            order = []
            index = routing.Start(v)
            while not routing.IsEnd(index):
                node = manager.IndexToNode(index)
                if node:
                    order.append(candidates[node - 1])
                index = solution.Value(routing.NextVar(index))
            if not order:
                continue
            served.update(order)
            route, _broken = schedule(matrix, stops, vehicle, order, vehicle_index=v)
            routes.append(route)
        stats["objective"] = solution.ObjectiveValue()
    for i in candidates:
        if i not in served:
            dropped.append(Dropped(i, "does_not_fit"))
    stats["wall_s"] = round(time.perf_counter() - began, 3)
    stats["distance_m"] = sum(r.distance_m for r in routes)
    stats["dropped"] = len(dropped)
    return Plan(routes, sorted(dropped, key=lambda d: d.stop), stats)


# -- a baseline to read the solver against --------------------------------------------------

def nearest_neighbour(matrix: Matrix, stops: list[Stop], vehicles: list[Vehicle] | None = None,
                      ) -> tuple[int, list[list[int]]]:
    """A nearest-neighbour baseline: (total metres, the order per van).

    Without vehicles: one tour from the depot to the nearest unvisited stop, again
    and again, and back (windows and capacities ignored). With vehicles: each van in
    turn goes on to the nearest stop it can still serve on time, within its capacity
    and crew and back by its shift end, until none is left; stops no van takes are
    left out (their indexes are in no order)."""
    n = len(stops)
    if not vehicles:
        left, prev, order, total = set(range(n)), 0, [], 0
        while left:
            nxt = min(left, key=lambda i: (matrix.distance[prev][i + 1], i))
            total += matrix.distance[prev][nxt + 1]
            order.append(nxt)
            left.discard(nxt)
            prev = nxt + 1
        total += matrix.distance[prev][0] if order else 0
        return total, [order]
    left, total, orders = set(range(n)), 0, []
    for vehicle in vehicles:
        prev, t, volume, weight, order = 0, vehicle.shift_start, 0, 0, []
        while True:
            best = None
            for i in left:
                s = stops[i]
                if volume + s.volume_ml > vehicle.capacity_volume_ml or \
                        weight + s.weight_g > vehicle.capacity_weight_g or \
                        (s.needs_two and vehicle.crew < 2):
                    continue
                ws, we = _window(s, vehicle)
                start = max(t + matrix.travel[prev][i + 1], ws)
                if start > we or start + s.service_s + matrix.travel[i + 1][0] > \
                        vehicle.shift_end:
                    continue
                key = (start - t, matrix.distance[prev][i + 1], i)
                if best is None or key < best[0]:
                    best = (key, i, start)
            if best is None:
                break
            _key, i, start = best
            total += matrix.distance[prev][i + 1]
            t = start + stops[i].service_s
            volume += stops[i].volume_ml
            weight += stops[i].weight_g
            order.append(i)
            left.discard(i)
            prev = i + 1
        if order:
            total += matrix.distance[prev][0]
        orders.append(order)
    return total, orders


# -- the service: a warehouse's day, from the database -----------------------------------------

OWN_FLEET_CARRIER = "OWNFLEET"   # the carrier code of the warehouse's own vans
PLANNABLE_SHIPMENT_STATUSES = ("labelled",)


def day_origin(warehouse, day) -> datetime:
    """Local midnight of `day` in the warehouse's time zone, as an aware UTC time:
    the zero of the planner's seconds."""
    from zoneinfo import ZoneInfo
    return datetime.combine(day, dtime(0), tzinfo=ZoneInfo(warehouse.timezone)).astimezone(UTC)


def local_seconds(warehouse, day, hhmm: str) -> int:
    """"HH:MM" on `day` in the warehouse's zone as planner seconds (DST-correct)."""
    from zoneinfo import ZoneInfo
    hours, minutes = (int(x) for x in hhmm.split(":"))
    moment = datetime.combine(day, dtime(hours, minutes), tzinfo=ZoneInfo(warehouse.timezone))
    return int((moment.astimezone(UTC) - day_origin(warehouse, day)).total_seconds())


def at_seconds(origin: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else origin + timedelta(seconds=seconds)


def seconds_at(origin: datetime, moment: datetime | None) -> int | None:
    return None if moment is None else int((moment - origin).total_seconds())


def vehicle_input(warehouse, day, van) -> Vehicle:
    return Vehicle(van.id, van.name, van.capacity_volume_l * 1000,
                   van.capacity_weight_kg * 1000, van.crew,
                   local_seconds(warehouse, day, van.shift_start),
                   local_seconds(warehouse, day, van.shift_end))


def stop_input(origin: datetime, row) -> Stop:
    """A stored RouteStop as the planner sees it."""
    return Stop(row.id, row.latitude, row.longitude, volume_ml=math.ceil(row.volume_l * 1000),
                weight_g=row.weight_g, service_s=row.service_minutes * 60,
                window_start=seconds_at(origin, row.window_start),
                window_end=seconds_at(origin, row.window_end), needs_two=row.needs_two)


def drop_message(dropped: Dropped) -> dict:
    from ..i18n import message
    d = dropped.detail
    if dropped.reason == "too_heavy":
        return message("Heavier than every van: %(weight_kg)s kg, the largest van carries "
                       "%(max_kg)s kg", weight_kg=round(d["weight_g"] / 1000, 1),
                       max_kg=round(d["max_g"] / 1000))
    if dropped.reason == "too_large":
        return message("Larger than every van: %(volume_l)s L, the largest van holds "
                       "%(max_l)s L", volume_l=round(d["volume_ml"] / 1000),
                       max_l=round(d["max_ml"] / 1000))
    if dropped.reason == "needs_two_people":
        return message("Needs two people, and no van with a crew of two can take it")
    if dropped.reason == "outside_shift":
        return message("Its delivery window falls outside every van's shift")
    if dropped.reason == "no_vehicle":
        return message("The warehouse has no active van for this day")
    return message("Does not fit into any route without breaking another stop's window, a "
                   "van's capacity or its shift")


def _shipment_stop(shipment, warehouse, day, origin, lines_by_order) -> dict:
    """The RouteStop fields of an own-fleet shipment. Where: ship_to's latitude and
    longitude when given, else its ZIP's centroid (server/geo.py). When: ship_to's
    delivery_window {"start": "HH:MM", "end": "HH:MM"} in the warehouse's local time,
    else any time of the van's shift."""
    from .. import geo
    to = shipment.ship_to or {}
    if isinstance(to.get("latitude"), (int, float)) and isinstance(to.get("longitude"),
                                                                   (int, float)):
        lat, lon = float(to["latitude"]), float(to["longitude"])
    else:
        lat, lon, _state = geo.zip_to_point(to.get("zip", ""), "ship_to.zip")
    window = to.get("delivery_window") or {}
    ws = we = None
    if window.get("start") and window.get("end"):
        ws = at_seconds(origin, local_seconds(warehouse, day, window["start"]))
        we = at_seconds(origin, local_seconds(warehouse, day, window["end"]))
    parcels = [Parcel(p.weight_g, p.length_mm, p.width_mm, p.height_mm)
               for p in shipment.parcels]
    items = lines_by_order.get(shipment.order_id) or [
        {"parcel": p.number, "weight_g": p.weight_g} for p in shipment.parcels]
    return {"shipment_id": shipment.id, "order_id": shipment.order_id,
                "reference": shipment.tracking_number or "", "address": {
                    k: to.get(k, "") for k in ("name", "company", "address1", "address2",
                                               "city", "state", "zip", "phone")},
                "latitude": lat, "longitude": lon, "window_start": ws, "window_end": we,
                "service_minutes": service_seconds(parcels) // 60 if parcels else 4,
                "volume_l": sum(p.volume_ml for p in parcels) / 1000,
                "weight_g": sum(p.weight_g for p in parcels),
                "needs_two": needs_two_people(parcels), "items": items,
                "notes": str(to.get("notes") or "")[:1000]}


def plan_day(session, warehouse, day, *, time_limit_s: float | None = None):
    """Plan `day` for `warehouse`: every labelled own-fleet shipment of that ship date
    that no kept route carries yet, on every active van that no kept route uses. The
    day's draft routes and unassigned stops are replaced; planned, dispatched and done
    routes are kept as they are. Returns (routes, unassigned stops). Flushes, never
    commits."""
    from sqlalchemy import delete, select
    from sqlalchemy.orm import selectinload

    from ..carriers.models import Carrier, CarrierService, Shipment
    from ..catalog.models import Sku
    from ..orders.models import OrderLine
    from .models import Route, RouteStop
    from .models import Vehicle as Van

    kept = session.scalars(select(Route).where(
        Route.warehouse_id == warehouse.id, Route.date == day,
        Route.status != "draft")).all()
    kept_ids = [r.id for r in kept]
    drafts = select(Route.id).where(Route.warehouse_id == warehouse.id, Route.date == day,
                                    Route.status == "draft")
    # A stop rescheduled after a failed attempt (attempt > 1, proof.py) is kept: its
    # shipment has left the labelled state, so it is planned again from its row.
    session.execute(delete(RouteStop).where(
        (RouteStop.route_id.in_(drafts) & (RouteStop.attempt <= 1)) | (
            RouteStop.route_id.is_(None) & (RouteStop.warehouse_id == warehouse.id)
            & (RouteStop.date == day) & (RouteStop.attempt <= 1)))
        .execution_options(synchronize_session=False))
    session.execute(RouteStop.__table__.update().where(
        RouteStop.route_id.in_(drafts)).values(route_id=None, sequence=0,
                                               status="unassigned")
        .execution_options(synchronize_session=False))
    session.execute(delete(Route).where(Route.id.in_(drafts))
                    .execution_options(synchronize_session=False))
    session.expire_all()

    vans = session.scalars(select(Van).where(
        Van.warehouse_id == warehouse.id, Van.active.is_(True),
        Van.id.not_in([r.vehicle_id for r in kept])).order_by(Van.id)).all()
    carried = select(RouteStop.shipment_id).where(RouteStop.route_id.in_(kept_ids),
                                                 RouteStop.shipment_id.is_not(None))
    shipments = session.scalars(
        select(Shipment).join(CarrierService, Shipment.service_id == CarrierService.id)
        .join(Carrier, CarrierService.carrier_id == Carrier.id)
        .where(Shipment.warehouse_id == warehouse.id, Shipment.ship_date == day,
               Shipment.status.in_(PLANNABLE_SHIPMENT_STATUSES),
               Carrier.code == OWN_FLEET_CARRIER, Shipment.id.not_in(carried))
        .options(selectinload(Shipment.parcels)).order_by(Shipment.id)).all()
    order_ids = {s.order_id for s in shipments if s.order_id}
    lines_by_order: dict = {}
    if order_ids:
        rows = session.execute(
            select(OrderLine.order_id, OrderLine.quantity, OrderLine.quantity_cancelled,
                   OrderLine.title, Sku.code, Sku.name)
            .outerjoin(Sku, OrderLine.sku_id == Sku.id)
            .where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)).all()
        for order_id, qty, cancelled, title, code, name in rows:
            if qty - (cancelled or 0) > 0:
                lines_by_order.setdefault(order_id, []).append(
                    {"sku": code or "", "name": name or title or "",
                     "quantity": qty - (cancelled or 0)})

    origin = day_origin(warehouse, day)
    fields = [_shipment_stop(s, warehouse, day, origin, lines_by_order) for s in shipments]
    rows = [RouteStop(warehouse_id=warehouse.id, date=day, **f) for f in fields]
    rows += session.scalars(select(RouteStop).where(
        RouteStop.warehouse_id == warehouse.id, RouteStop.date == day,
        RouteStop.route_id.is_(None), RouteStop.attempt > 1).order_by(RouteStop.id)).all()
    inputs = [Stop(i, r.latitude, r.longitude, volume_ml=math.ceil(r.volume_l * 1000),
                   weight_g=r.weight_g, service_s=r.service_minutes * 60,
                   window_start=seconds_at(origin, r.window_start),
                   window_end=seconds_at(origin, r.window_end), needs_two=r.needs_two)
              for i, r in enumerate(rows)]
    van_inputs = [vehicle_input(warehouse, day, v) for v in vans]
    plan = plan_routes((warehouse.latitude, warehouse.longitude), van_inputs, inputs,
                       time_limit_s=time_limit_s)

    routes = []
    for planned in plan.routes:
        van = vans[planned.vehicle]
        route = Route(warehouse_id=warehouse.id, date=day, vehicle_id=van.id, status="draft",
                      planned_start=at_seconds(origin, planned.depart),
                      planned_end=at_seconds(origin, planned.back),
                      planned_distance_m=planned.distance_m,
                      planned_duration_s=planned.duration_s, solver_stats=dict(plan.stats))
        session.add(route)
        for sequence, visit in enumerate(planned.visits, start=1):
            row = rows[visit.stop]
            row.sequence, row.status = sequence, "planned"
            row.planned_arrival = at_seconds(origin, visit.start)
            route.stops.append(row)
        routes.append(route)
    unassigned = []
    for dropped in plan.dropped:
        row = rows[dropped.stop]
        row.status, row.sequence, row.drop_reason = "unassigned", 0, drop_message(dropped)
        session.add(row)
        unassigned.append(row)
    session.flush()
    for row in rows:
        if not row.reference:
            row.reference = f"HC-STOP-{row.id}"
    session.flush()
    return routes, unassigned
