"""Route planning for the warehouse's own vans (issue #12, item 1): figures, not
assertions.

`route_planning`: plans 50, 200 and 500 stops (--quick: 50 and 200) with the pure
planner (server/delivery/planning.plan_routes, no database), on synthetic days made
like a real one: stops within about 40 x 40 km of a depot near Ontario, CA, time
windows by area (north mornings 9-13, south afternoons 13-17, a quarter any time, a
tenth a 2-hour window), a fifth of them large items for two people, and one van per
12 stops (half of them with a crew of two; 6 m3 and 600 kg each, shifts 8-18).

Per size it prints the wall time of planning (matrix, checks, solver), the solver's
time limit used (TIME_LIMIT_PER_STOP_S, scaled by stop count), the stops served and
dropped, and the planned distance against two nearest-neighbour baselines of the
same stops: the single tour that ignores windows and capacities, and the tour per van
that keeps them (which may serve fewer stops: its `served` says how many).
TARGETS.md: 200 stops with time windows on 4 vans within 10 s, feasible; the 200-stop
day here has 16 vans (the stops need them), and a 4-van 200-stop day is printed too.
"""
import random
import time

from .registry import Context, bench

TARGET = "TARGETS.md: route planning, 200 stops with time windows, 4 vans: <= 10 s, feasible"
DEPOT = (34.06, -117.65)
H = 3600


def day(n: int, vans: int | None = None, seed: int = 12):
    from server.delivery.planning import Stop, Vehicle
    rng = random.Random(seed + n)
    stops = []
    for i in range(n):
        lat = DEPOT[0] + rng.uniform(-0.18, 0.18)
        lon = DEPOT[1] + rng.uniform(-0.22, 0.22)
        r = rng.random()
        if r < 0.25:
            window = (None, None)
        elif r < 0.35:
            start = rng.choice((9, 11, 13, 15)) * H
            window = (start, start + 2 * H)
        elif lat >= DEPOT[0]:
            window = (9 * H, 13 * H)
        else:
            window = (13 * H, 17 * H)
        big = rng.random() < 0.2
        stops.append(Stop(
            i, lat, lon,
            volume_ml=(rng.randint(400, 900) if big else rng.randint(10, 150)) * 1000,
            weight_g=(rng.randint(35, 70) if big else rng.randint(1, 25)) * 1000,
            service_s=(20 if big else 6) * 60, window_start=window[0], window_end=window[1],
            needs_two=big))
    count = vans if vans is not None else max(2, -(-n // 12))
    fleet = [Vehicle(v, f"Van {v + 1}", 6_000_000, 600_000, crew=2 if v % 2 == 0 else 1,
                     shift_start=8 * H, shift_end=18 * H) for v in range(count)]
    return fleet, stops


def _one(ctx: Context, n: int, vans: int | None = None) -> None:
    from server.delivery.planning import matrix_for, nearest_neighbour, plan_routes
    fleet, stops = day(n, vans)
    began = time.perf_counter()
    plan = plan_routes(DEPOT, fleet, stops)
    wall = time.perf_counter() - began
    matrix = matrix_for(DEPOT, stops)
    nn_tour, _ = nearest_neighbour(matrix, stops)
    nn_kept, orders = nearest_neighbour(matrix, stops, fleet)
    served = sum(len(r.visits) for r in plan.routes)
    params = {
        "stops": n, "vans": len(fleet), "time_limit_s": plan.stats["time_limit_s"],
        "solver_status": plan.stats.get("status"), "solve_s": plan.stats.get("solve_s"),
        "served": served, "dropped": len(plan.dropped),
        "dropped_by_reason": {r: sum(1 for d in plan.dropped if d.reason == r)
                              for r in sorted({d.reason for d in plan.dropped})},
        "routes": len(plan.routes), "distance_km": round(plan.distance_m / 1000, 1),
        "nn_tour_km": round(nn_tour / 1000, 1),
        "distance_vs_nn_tour": round(plan.distance_m / nn_tour, 3) if nn_tour else None,
        "nn_with_windows_km": round(nn_kept / 1000, 1),
        "nn_with_windows_served": sum(len(o) for o in orders),
        "distance_vs_nn_with_windows": round(plan.distance_m / nn_kept, 3) if nn_kept else None,
        "detour_factor": plan.stats["detour_factor"], "speed_kmh": plan.stats["speed_kmh"],
    }
    suffix = f"_{len(fleet)}_vans" if vans is not None else ""
    ctx.log(f"{n} stops, {len(fleet)} vans: {wall:.1f}s (limit {params['time_limit_s']}s), "
            f"served {served}, {params['distance_km']} km vs nn tour {params['nn_tour_km']} km")
    ctx.figure(f"plan_{n}_stops{suffix}_s", wall, "s",
               target=TARGET if n == 200 else None, params=params)


@bench("route_planning")
def route_planning(ctx: Context) -> None:
    """Planning time for 50, 200 and 500 stops with windows (--quick: 50 and 200)."""
    for n in ctx.pick((50, 200, 500), (50, 200)):
        _one(ctx, n)
    _one(ctx, 200, vans=4)
