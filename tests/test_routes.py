"""Routes for the warehouse's own vans (issue #12, item 1): the solver's plans are
checked here independently of the solver, from the schedule it returns, recomputed
with the same travel matrix; the API stores them, lets a dispatcher move a stop
(with warnings) and prints a manifest whose barcodes scan."""
import random
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from server.carriers.models import Parcel, Shipment
from server.delivery import planning
from server.delivery.models import Route, RouteStop
from server.delivery.planning import Stop, Vehicle, matrix_for, nearest_neighbour, plan_routes
from server.delivery.services import own_fleet_service

DEPOT = (34.06, -117.65)  # the tests' warehouse (tests/helpers.make_warehouse)
H = 3600
TIME_LIMIT = 2.0


def forty_stops():
    """40 stops in about 20 x 20 km around the depot, with the windows a booking page
    offers by area (north mornings 9-13, south afternoons 13-17, a quarter any time),
    a fifth of them large items for two people, and two vans whose payloads the day
    needs both of: 520 + 420 kg for 699 kg of goods, 6 + 5 m3 for 5.8 m3."""
    rng = random.Random(17)
    stops = []
    for i in range(40):
        lat = DEPOT[0] + rng.uniform(-0.09, 0.09)
        lon = DEPOT[1] + rng.uniform(-0.11, 0.11)
        if rng.random() < 0.25:
            window = (None, None)
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
    vans = [Vehicle("A", "Van A", 6_000_000, 520_000, crew=2, shift_start=8 * H,
                    shift_end=18 * H),
            Vehicle("B", "Van B", 5_000_000, 420_000, crew=1, shift_start=8 * H,
                    shift_end=18 * H)]
    return vans, stops


def check_feasible(plan, vans, stops, matrix):
    """Every window, capacity, crew and shift held, recomputed from the returned
    schedule with the matrix alone; returns the total distance so recomputed."""
    served = []
    total = 0
    for route in plan.routes:
        van = vans[route.vehicle]
        t, prev, volume, weight = route.depart, 0, 0, 0
        assert route.depart >= van.shift_start
        for visit in route.visits:
            stop = stops[visit.stop]
            node = visit.stop + 1
            total += matrix.distance[prev][node]
            t += matrix.travel[prev][node]
            assert visit.arrival == t
            ws = stop.window_start if stop.window_start is not None else van.shift_start
            we = stop.window_end if stop.window_end is not None else van.shift_end
            assert visit.start >= max(t, ws), (visit, stop)
            assert visit.start <= we, f"stop {visit.stop} starts after its window"
            assert visit.departure == visit.start + stop.service_s
            t = visit.departure
            volume += stop.volume_ml
            weight += stop.weight_g
            if stop.needs_two:
                assert van.crew == 2, f"two-person stop {visit.stop} on a crew of one"
            served.append(visit.stop)
            prev = node
        total += matrix.distance[prev][0]
        t += matrix.travel[prev][0]
        assert route.back == t <= van.shift_end
        assert volume <= van.capacity_volume_ml and volume == route.volume_ml
        assert weight <= van.capacity_weight_g and weight == route.weight_g
    assert len(served) == len(set(served))
    return served, total


def test_forty_stops_two_vans_with_windows_is_feasible_and_beats_nearest_neighbour():
    """Does a 40-stop day with time windows and two vans come back with every stop
    served, every window, capacity, crew and shift held, and no longer than a
    nearest-neighbour tour of the same stops, both the one that keeps the same
    windows and capacities and the single tour that ignores them?"""
    vans, stops = forty_stops()
    plan = plan_routes(DEPOT, vans, stops, time_limit_s=TIME_LIMIT)
    matrix = matrix_for(DEPOT, stops)
    served, total = check_feasible(plan, vans, stops, matrix)
    assert plan.dropped == []
    assert sorted(served) == list(range(40))
    assert len(plan.routes) == 2  # the payloads need both vans
    assert total == plan.distance_m == plan.stats["distance_m"]

    nn_kept, orders = nearest_neighbour(matrix, stops, vans)
    assert sorted(i for o in orders for i in o) == list(range(40))  # a fair comparison
    nn_tour, _ = nearest_neighbour(matrix, stops)
    assert plan.distance_m <= nn_kept
    assert plan.distance_m <= nn_tour
    assert plan.stats["time_limit_s"] == TIME_LIMIT


def test_two_person_stops_only_go_on_two_person_vans():
    """Do large items (over 32 kg) go only on the van with a crew of two, even when the
    other van is nearer and emptier?"""
    rng = random.Random(3)
    stops = [Stop(i, DEPOT[0] + rng.uniform(-0.05, 0.05), DEPOT[1] + rng.uniform(-0.05, 0.05),
                  volume_ml=200_000, weight_g=(45_000 if i % 2 else 5_000),
                  service_s=600, needs_two=bool(i % 2)) for i in range(12)]
    assert planning.needs_two_people([planning.Parcel(45_000, 900, 600, 400)])
    vans = [Vehicle("solo", "Solo", 8_000_000, 1_000_000, crew=1),
            Vehicle("pair", "Pair", 8_000_000, 1_000_000, crew=2)]
    plan = plan_routes(DEPOT, vans, stops, time_limit_s=1)
    check_feasible(plan, vans, stops, matrix_for(DEPOT, stops))
    assert plan.dropped == []
    for route in plan.routes:
        if vans[route.vehicle].crew == 1:
            assert not any(stops[v.stop].needs_two for v in route.visits)


def test_impossible_stops_are_dropped_with_the_reason():
    """Is a stop that no van can ever serve (a window after every shift, heavier than
    every van, two people needed where no van has two) left out with that reason,
    and are the others still planned?"""
    stops = [Stop(0, 34.07, -117.64, weight_g=10_000, window_start=20 * H, window_end=21 * H),
             Stop(1, 34.05, -117.66, weight_g=2_000_000),
             Stop(2, 34.06, -117.60, weight_g=50_000, needs_two=True),
             Stop(3, 34.08, -117.62, weight_g=5_000, window_start=10 * H, window_end=12 * H),
             Stop(4, 34.04, -117.67, volume_ml=30_000_000)]
    vans = [Vehicle("v", "Van", 10_000_000, 1_000_000, crew=1, shift_start=8 * H,
                    shift_end=17 * H)]
    plan = plan_routes(DEPOT, vans, stops, time_limit_s=1)
    reasons = {d.stop: d.reason for d in plan.dropped}
    assert reasons == {0: "outside_shift", 1: "too_heavy", 2: "needs_two_people",
                       4: "too_large"}
    assert [v.stop for r in plan.routes for v in r.visits] == [3]
    too_heavy = next(d for d in plan.dropped if d.stop == 1)
    assert too_heavy.detail == {"weight_g": 2_000_000, "max_g": 1_000_000}


def test_a_stop_that_fits_alone_but_not_with_the_others_is_dropped_not_lost():
    """Three stops that each fit the van but not all together: the solver serves what
    it can and names the one left over."""
    stops = [Stop(i, 34.06 + i * 0.01, -117.65, weight_g=400_000) for i in range(3)]
    vans = [Vehicle("v", "Van", 10_000_000, 900_000)]
    plan = plan_routes(DEPOT, vans, stops, time_limit_s=1)
    assert len([v for r in plan.routes for v in r.visits]) == 2
    assert [d.reason for d in plan.dropped] == ["does_not_fit"]


# -- through the database and the API ----------------------------------------------------------

DAY = date(2025, 6, 12)
LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def fleet(db_session, world):
    """The warehouse's own fleet service, two vans (crew 2 and crew 1) and a helper
    that labels an own-fleet shipment for DAY."""
    s = db_session
    service = own_fleet_service(s)
    from server.delivery.services import create_vehicle
    pair = create_vehicle(s, world.wh1, name="Van 1", plate="8ABC123", capacity_volume_l=9000,
                          capacity_weight_kg=900, crew=2, shift_start="08:00",
                          shift_end="18:00")
    solo = create_vehicle(s, world.wh1, name="Van 2", capacity_volume_l=6000,
                          capacity_weight_kg=600, crew=1)
    s.commit()

    def ship(lat, lon, *, weight_g=8000, dims=(400, 300, 300), window=None, name="Ann Lee"):
        to = {"name": name, "address1": "1 Main St", "city": "Ontario", "state": "CA",
              "zip": "91761", "phone": "+1 909 555 0100", "latitude": lat, "longitude": lon}
        if window:
            to["delivery_window"] = {"start": window[0], "end": window[1]}
        shipment = Shipment(seller_id=world.seller_a.id, warehouse_id=world.wh1.id,
                            service_id=service.id, status="labelled", reference="R",
                            zone=1, cost_cents=0, ship_date=DAY, ship_to=to,
                            tracking_number="HC" + uuid.uuid4().hex[:14].upper())
        shipment.parcels.append(Parcel(seller_id=world.seller_a.id, warehouse_id=world.wh1.id,
                                       number=1, tracking_number=shipment.tracking_number,
                                       weight_g=weight_g, length_mm=dims[0], width_mm=dims[1],
                                       height_mm=dims[2], billable_weight_g=weight_g,
                                       cost_cents=0))
        s.add(shipment)
        s.flush()
        return shipment

    class Fleet:
        pass
    f = Fleet()
    f.__dict__.update(service=service, pair=pair, solo=solo, ship=ship)
    return f


def _plan(client, world, **body):
    body.setdefault("date", DAY.isoformat())
    body.setdefault("time_limit_s", 1)
    return client.post(f"/api/warehouses/{world.wh1.id}/routes/plan", json=body,
                       headers=world.headers["admin"])


def test_the_api_plans_and_stores_the_day_and_only_a_dispatcher_may(client, world, fleet,
                                                                     db_session):
    """Does planning through the API store draft routes with every stop in order and
    timed within its window, report the impossible stop with a translated reason,
    replace the drafts when planned again, and refuse a driver, a seller and a
    picker?"""
    rng = random.Random(5)
    for i in range(10):
        fleet.ship(34.06 + rng.uniform(-0.05, 0.05), -117.65 + rng.uniform(-0.05, 0.05),
                   window=("09:00", "13:00") if i % 2 else None,
                   weight_g=45_000 if i % 4 == 0 else 6_000)
    late = fleet.ship(34.07, -117.6, window=("21:00", "22:00"), name="Night Owl")
    db_session.commit()

    for who in ("driver1", "seller_a", "picker1"):
        answer = client.post(f"/api/warehouses/{world.wh1.id}/routes/plan",
                             json={"date": DAY.isoformat()}, headers=world.headers[who])
        assert answer.status_code == 403, who
    bad = client.post(f"/api/warehouses/{world.wh1.id}/routes/plan", json={"date": "soon"},
                      headers=world.headers["admin"])
    assert bad.status_code == 422 and "date" in bad.get_json()["fields"]

    answer = _plan(client, world)
    assert answer.status_code == 200, answer.get_json()
    day = answer.get_json()
    stops = [s for r in day["routes"] for s in r["stops"]]
    assert len(stops) == 10
    assert [u["shipment_id"] for u in day["unassigned"]] == [late.id]
    assert "shift" in day["unassigned"][0]["drop_reason"]
    for route in day["routes"]:
        assert route["status"] == "draft"
        assert [s["sequence"] for s in route["stops"]] == list(range(1, len(route["stops"]) + 1))
        assert route["planned_distance_m"] > 0
        crew = route["vehicle"]["crew"]
        for s in route["stops"]:
            assert crew == 2 or not s["needs_two"]
            if s["window_end"]:
                assert s["window_start"] <= s["planned_arrival"] <= s["window_end"]
    assert db_session.scalar(select(Route).where(Route.warehouse_id == world.wh1.id)) is not None

    zh = client.get(f"/api/routes?warehouse_id={world.wh1.id}&date={DAY}&lang=zh_Hans",
                    headers=world.headers["admin"]).get_json()
    assert zh["unassigned"][0]["drop_reason"] != day["unassigned"][0]["drop_reason"]

    again = _plan(client, world).get_json()
    db_session.expire_all()
    # The drafts were replaced, not added to (SQLite may reuse the ids).
    assert sorted(db_session.scalars(select(Route.id).where(
        Route.warehouse_id == world.wh1.id)).all()) == sorted(r["id"] for r in again["routes"])
    assert len(db_session.scalars(select(RouteStop).where(
        RouteStop.warehouse_id == world.wh1.id)).all()) == 11

    # A driver reads only the route given to it, once it leaves draft.
    route_id = again["routes"][0]["id"]
    driver = world.headers["driver1"]
    assert client.get(f"/api/routes/{route_id}", headers=driver).status_code == 404
    patch = client.patch(f"/api/routes/{route_id}", headers=world.headers["admin"],
                         json={"status": "planned", "driver_id": world.users["driver1"].id})
    assert patch.status_code == 200, patch.get_json()
    assert client.get(f"/api/routes/{route_id}", headers=driver).get_json()["id"] == route_id
    mine = client.get(f"/api/routes?warehouse_id={world.wh1.id}&date={DAY}",
                      headers=driver).get_json()
    assert [r["id"] for r in mine["routes"]] == [route_id] and mine["unassigned"] == []
    assert client.get(f"/api/routes/{route_id}",
                      headers=world.headers["seller_a"]).status_code == 403


def test_vehicles_are_created_and_changed_with_clear_errors(client, world, fleet):
    admin = world.headers["admin"]
    url = f"/api/warehouses/{world.wh1.id}/vehicles"
    made = client.post(url, headers=admin, json={"name": "Van 3", "capacity_volume_l": 4000,
                                                 "capacity_weight_kg": 500, "crew": 2})
    assert made.status_code == 201 and made.get_json()["shift_start"] == "08:00"
    for body, field in (({"name": "X", "capacity_volume_l": 1, "capacity_weight_kg": 1,
                          "crew": 3}, "crew"),
                        ({"name": "X", "capacity_weight_kg": 1}, "capacity_volume_l"),
                        ({"name": "X", "capacity_volume_l": 1, "capacity_weight_kg": 1,
                          "shift_start": "25:00"}, "shift_start"),
                        ({"name": "X", "capacity_volume_l": 1, "capacity_weight_kg": 1,
                          "shift_start": "12:00", "shift_end": "09:00"}, "shift_end"),
                        ({"name": "Van 3", "capacity_volume_l": 1, "capacity_weight_kg": 1},
                         "name")):
        answer = client.post(url, headers=admin, json=body)
        assert 400 <= answer.status_code < 500 and field in answer.get_json()["fields"], body
    van_id = made.get_json()["id"]
    changed = client.patch(f"/api/vehicles/{van_id}", headers=admin, json={"active": False})
    assert changed.status_code == 200 and changed.get_json()["active"] is False
    assert len(client.get(url, headers=admin).get_json()) == 3
    assert client.get(url, headers=world.headers["picker1"]).status_code == 403
    assert client.patch(f"/api/vehicles/{van_id}", headers=world.headers["driver1"],
                        json={"crew": 1}).status_code == 403


def test_moving_a_stop_retimes_and_reports_the_window_it_breaks(client, world, fleet,
                                                                db_session):
    """Moving an early-window stop to the end of a long route is made, and the answer
    says which window it now misses; the old route is re-timed without it."""
    for i in range(6):
        fleet.ship(34.06 + 0.03 * (i % 3), -117.65 + 0.03 * (i // 3), window=("13:00", "17:00"))
    early = fleet.ship(34.02, -117.70, window=("09:00", "09:45"))
    db_session.commit()
    day = _plan(client, world).get_json()
    assert day["unassigned"] == []
    stop_route = next(r for r in day["routes"] if any(s["shipment_id"] == early.id
                                                      for s in r["stops"]))
    stop = next(s for s in stop_route["stops"] if s["shipment_id"] == early.id)
    target = max(day["routes"], key=lambda r: len(r["stops"]))
    if target["id"] == stop_route["id"] and len(day["routes"]) > 1:
        target = next(r for r in day["routes"] if r["id"] != stop_route["id"])
    url = f"/api/routes/{stop_route['id']}/stops/{stop['id']}/move"
    answer = client.post(url, headers=world.headers["admin"],
                         json={"to_route_id": target["id"]})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    late = [w for w in body["warnings"] if w["kind"] == "late"]
    assert [w["stop_id"] for w in late] == [stop["id"]]
    assert "window" in late[0]["message"]
    moved = next(r for r in body["routes"] if r["id"] == target["id"])
    assert moved["stops"][-1]["id"] == stop["id"]
    assert [s["sequence"] for s in moved["stops"]] == list(range(1, len(moved["stops"]) + 1))
    arrival = datetime.fromisoformat(moved["stops"][-1]["planned_arrival"]).astimezone(LA)
    assert arrival.time() > datetime(2025, 6, 12, 9, 45).time()

    bad = client.post(url.replace(str(stop["id"]), str(stop["id"] + 10_000)),
                      headers=world.headers["admin"], json={})
    assert bad.status_code == 404
    bad = client.post(f"/api/routes/{target['id']}/stops/{stop['id']}/move",
                      headers=world.headers["admin"], json={"position": 999})
    assert bad.status_code == 422 and "position" in bad.get_json()["fields"]
    assert client.post(url, headers=world.headers["driver1"], json={}).status_code == 403


def _pdf_pages(pdf: bytes, dpi: int = 200):
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            out.append((page.render(scale=dpi / 72, grayscale=True).to_pil(),
                        textpage.get_text_range()))
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def test_the_manifest_is_a_pdf_whose_barcodes_scan_to_each_stop(client, world, fleet,
                                                                 db_session):
    """Is the manifest a PDF listing the stops in order with the two-person flag, whose
    Code 128 barcodes read back as exactly the stops' references?"""
    for i in range(9):
        fleet.ship(34.06 + 0.01 * i, -117.65, weight_g=50_000 if i == 0 else 4_000,
                   name=f"Customer {i}")
    db_session.commit()
    day = _plan(client, world).get_json()
    route = next(r for r in day["routes"] if any(s["needs_two"] for s in r["stops"]))
    answer = client.get(f"/api/routes/{route['id']}/manifest.pdf",
                        headers=world.headers["admin"])
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    codes, text = [], ""
    for image, page_text in _pdf_pages(answer.data):
        codes += [r.text for r in zxingcpp.read_barcodes(image)
                  if r.format == zxingcpp.BarcodeFormat.Code128]
        text += page_text
    assert sorted(codes) == sorted(s["reference"] for s in route["stops"])
    assert "TWO PEOPLE" in text
    names = [s["address"]["name"] for s in route["stops"]]
    positions = [text.index(n) for n in names]
    assert positions == sorted(positions)
    zh = client.get(f"/api/routes/{route['id']}/manifest.pdf?lang=zh_Hans",
                    headers=world.headers["admin"])
    assert zh.status_code == 200 and zh.data.startswith(b"%PDF")
    assert client.get(f"/api/routes/{route['id']}/manifest.pdf",
                      headers=world.headers["picker1"]).status_code == 403


def test_times_follow_the_warehouse_clock():
    """Planner seconds are counted from local midnight in the warehouse's zone."""
    class W:
        timezone = "America/Los_Angeles"
    origin = planning.day_origin(W, DAY)
    assert origin == datetime(2025, 6, 12, 7, 0, tzinfo=ZoneInfo("UTC"))
    assert planning.local_seconds(W, DAY, "09:30") == 9 * H + 1800
    assert planning.at_seconds(origin, 9 * H) == origin + timedelta(hours=9)
