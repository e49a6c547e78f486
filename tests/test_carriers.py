"""Carriers: ZIP zones, billable weight, quotes with surcharges, cut-off times,
rate shopping against a promised date, the cheap estimate for allocation, and the
rate-shopping API (issue #4). Expected figures are worked out by hand in the
docstrings and comments."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from server import geo
from server.carriers import rating
from server.carriers.demo import inches, pounds, seed_carriers
from server.carriers.models import CarrierService, Parcel, Shipment
from server.carriers.rating import CannotShip, ParcelSpec, billable_weight
from server.carriers.services import create_carrier, create_service
from server.errors import InvalidInput
from server.extensions import db

from .helpers import make_warehouse, snapshot

LA = ZoneInfo("America/Los_Angeles")
CARRIER_TABLES = {"carriers", "carrier_services", "shipments", "parcels"}


# -- fixtures --------------------------------------------------------------------------

@pytest.fixture
def carriers_api(app):
    """The carriers blueprint on the app. create_app() registers it once
    server/__init__.py names it; until then this registers it for these tests."""
    if "carriers.shop" not in app.view_functions:
        from server.carriers.api import blp
        api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        handled = app._got_first_request
        app._got_first_request = False  # the session-wide app may have served requests
        try:
            api.register_blueprint(blp)
        finally:
            app._got_first_request = handled
    return app


def simple_table(first_cents: int, per_lb_cents: int, max_lb: int = 30) -> dict:
    """Every zone: first_cents for 1 lb, plus per_lb_cents per extra pound."""
    return {z: [first_cents + per_lb_cents * (lb - 1) for lb in range(1, max_lb + 1)]
            for z in range(1, 9)}


@pytest.fixture
def test_services(db_session):
    """Three services of a test carrier, easy to compute by hand: SLOW (5 days,
    $5.00 + $1/lb), MID (3 days, $9.00 + $1/lb), FAST (2 days, $15.00 + $2/lb); cut-off
    17:00, no fuel, no dimensional weight, at most 30 kg."""
    carrier = create_carrier(db_session, code="TST", name="Test carrier")
    made = {}
    for code, days, first, per_lb in (("TST_SLOW", 5, 500, 100), ("TST_MID", 3, 900, 100),
                                      ("TST_FAST", 2, 1500, 200)):
        made[code] = create_service(
            db_session, carrier, code=code, name=code.replace("_", " ").title(),
            transit_days_by_zone={z: days for z in range(1, 9)}, cutoff_local_time="17:00",
            max_weight_g=30_000, rate_table=simple_table(first, per_lb))
    db_session.commit()
    return made


TEST_CODES = ["TST_SLOW", "TST_MID", "TST_FAST"]


def la_time(*args) -> datetime:
    return datetime(*args, tzinfo=LA)


# -- geography -------------------------------------------------------------------------

@pytest.mark.parametrize("origin, dest, zone", [
    ("91761", "90001", 1),   # Ontario CA -> Los Angeles, 36 mi
    ("91761", "91761", 1),   # same ZIP
    ("91761", "92101", 2),   # -> San Diego, 95 mi
    ("91761", "89101", 3),   # -> Las Vegas, 204 mi
    ("91761", "94103", 4),   # -> San Francisco, 373 mi
    ("75062", "60601", 5),   # Irving TX -> Chicago, 808 mi
    ("08837", "33101", 6),   # Edison NJ -> Miami, 1074 mi
    ("91761", "60601", 7),   # Ontario CA -> Chicago, 1712 mi
    ("91761", "10001", 8),   # Ontario CA -> New York, 2414 mi
    ("91761-1234", "96813", 8),  # ZIP+4 -> Honolulu
    ("08837", "10001", 1),   # Edison NJ -> New York, 23 mi
])
def test_zones_from_real_zip_pairs(origin, dest, zone):
    """Do real ZIP pairs fall in the zone their distance band says?"""
    assert geo.zone_for(origin, dest) == zone
    assert geo.zone_for(dest, origin) == zone


def test_points_and_great_circle_distance():
    """Does a ZIP give its latitude, longitude and state, and is the haversine
    distance LAX -> JFK the known ~2,470 statute miles?"""
    lat, lon, state = geo.zip_to_point("10001")
    assert state == "NY" and abs(lat - 40.75) < 0.05 and abs(lon + 74.0) < 0.05
    assert geo.locate("91761").timezone == "America/Los_Angeles"
    assert 2460 < geo.distance_miles(33.9425, -118.4081, 40.6413, -73.7781) < 2480
    assert geo.distance_miles(34.0, -117.0, 34.0, -117.0) == 0


@pytest.mark.parametrize("bad", ["99999", "1234", "123456", "ABCDE", "", None, "09001"])
def test_an_unknown_or_malformed_zip_is_invalid_input_naming_the_field(bad):
    """Is a ZIP that does not exist, is malformed, or has no location (APO 09001)
    refused with InvalidInput naming the field?"""
    with pytest.raises(InvalidInput) as error:
        geo.locate(bad)
    assert "zip" in error.value.fields
    with pytest.raises(InvalidInput) as error:
        geo.zone_for("91761", bad, dest_field="to_zip")
    assert "to_zip" in error.value.fields


# -- billable weight ---------------------------------------------------------------------

@pytest.mark.parametrize("weight_g, dims_in, divisor, min_cubic, expected", [
    # 1 lb box 20x20x20 in: 8000 / 139 = 57.55 -> 58 lb billed
    (453, (20, 20, 20), 139, 0, (58, 1, 58, True)),
    # 454 g is 1.0009 lb: a scale reads 1.00 lb -> 1 lb; 460 g = 1.01 lb -> 2 lb
    (454, (0, 0, 0), 139, 0, (1, 1, None, False)),
    (460, (0, 0, 0), 139, 0, (2, 2, None, False)),
    # 10 kg = 22.05 lb -> 23; 12x10x8 = 960 / 139 = 6.9 -> 7: actual weight wins
    (10_000, (12, 10, 8), 139, 0, (23, 23, 7, False)),
    # USPS: dimensional weight only over one cubic foot (1728 in3), divisor 166
    (1000, (12, 12, 12), 166, 1728, (3, 3, None, False)),
    (1000, (13, 12, 12), 166, 1728, (12, 3, 12, True)),   # 1872 / 166 = 11.3 -> 12
    # no divisor: actual weight only
    (1000, (40, 40, 40), None, 0, (3, 3, None, False)),
    # flat-pack chair 50x30x20 in, 40 lb: 30000 / 139 = 215.8 -> 216
    (pounds(40), (50, 30, 20), 139, 0, (216, 40, 216, True)),
])
def test_billable_weight(weight_g, dims_in, divisor, min_cubic, expected):
    """Is billable weight the greater of actual and dimensional weight, in whole
    pounds rounded up, with dimensions measured in whole inches?"""
    bw = billable_weight(weight_g, [inches(d) for d in dims_in], divisor,
                         min_cubic_in=min_cubic)
    assert (bw.lb, bw.actual_lb, bw.dim_lb, bw.dim_weight_used) == expected
    assert bw.grams == round(bw.lb * 453.59237)


# -- quotes on the demo services -------------------------------------------------------

CHAIR = ParcelSpec(pounds(40), inches(50), inches(30), inches(20))


def test_a_flat_pack_chair_is_a_large_item_and_not_for_usps(db_session):
    """A 50x30x20 in, 40 lb chair from Ontario CA to New York (zone 8): can USPS carry
    it (no: length + girth 150 in > 130), what does UPS Ground charge (216 lb dim
    weight, large-item surcharge, fuel) and what does freight charge (its minimum)?"""
    seed_carriers(db_session)
    wh, _bins = make_warehouse(db_session, zip_="91761")
    at = la_time(2025, 6, 11, 10, 0)

    usps = rating.quote(db_session, "USPS_GROUND_ADVANTAGE", wh, "10001", [CHAIR], ship_at=at)
    assert not usps.can_ship and usps.cost_cents is None
    assert "length + girth 150 in" in usps.reason and "130" in usps.reason

    ups = rating.quote(db_session, "UPS_GROUND", wh, "10001", [CHAIR], ship_at=at)
    assert ups.can_ship and ups.zone == 8
    (parcel,) = ups.parcels
    assert (parcel.billable_lb, parcel.dim_weight_used, parcel.large_item,
            parcel.additional_handling) == (216, True, True, False)
    # zone 8: $14.40 for 1 lb + $1.92 per extra lb -> 30048 at 150 lb, then +192/lb:
    # 30048 + 66 * 192 = 42720; + 24000 large item = 66720; fuel 19% = 12676.8 -> 12677
    assert ups.base_cents == 42720
    assert ups.surcharges == {"large_item": 24000}
    assert (ups.fuel_cents, ups.cost_cents) == (12677, 79397)

    freight = rating.quote(db_session, "LTL_LARGE_ITEM", wh, "10001", [CHAIR], ship_at=at)
    # 40 lb x 230 = 9200 < 9500 minimum: +300; fuel 22% of 9500 = 2090
    assert freight.surcharges == {"minimum_charge": 300}
    assert (freight.base_cents, freight.fuel_cents, freight.cost_cents) == (9200, 2090, 11590)

    result = rating.shop(db_session, wh, "10001", [CHAIR], ship_at=at)
    assert result.chosen.service_code == "LTL_LARGE_ITEM"
    assert [q.service_code for q in result.cannot_ship] == ["USPS_GROUND_ADVANTAGE"]


def test_surcharges_and_limits_of_the_demo_services(db_session):
    """Does a 55 lb box get UPS's additional handling (over 50 lb), does a 75 lb box
    exceed USPS's 70 lb, and does a small 1 lb box go cheapest by USPS?"""
    seed_carriers(db_session)
    wh, _bins = make_warehouse(db_session, zip_="91761")
    heavy = ParcelSpec(pounds(55), inches(20), inches(20), inches(20))
    ups = rating.quote(db_session, "UPS_GROUND", wh, "10001", [heavy])
    assert ups.surcharges == {"additional_handling": 3200}
    assert ups.parcels[0].billable_lb == 58  # dim weight 58 > actual 55

    too_heavy = rating.quote(db_session, "USPS_GROUND_ADVANTAGE", wh, "10001",
                             [ParcelSpec(pounds(75), inches(12), inches(12), inches(12))])
    assert not too_heavy.can_ship and too_heavy.reason.startswith("too heavy")
    too_long = rating.quote(db_session, "UPS_GROUND", wh, "10001",
                            [ParcelSpec(pounds(20), inches(110), inches(6), inches(6))])
    assert not too_long.can_ship and too_long.reason.startswith("too long: 110 in")

    small = rating.shop(db_session, wh, "10001",
                        [ParcelSpec(450, inches(8), inches(6), inches(4))])
    assert small.chosen.service_code == "USPS_GROUND_ADVANTAGE"
    assert small.chosen.cost_cents == 1215  # zone 8, 1 lb, no fuel
    costs = [small.chosen.cost_cents] + [q.cost_cents for q in small.runners_up]
    assert costs == sorted(costs) and len(costs) == 5


def test_the_demo_rate_tables_are_complete_and_plausible(db_session):
    """Does every demo service price zones 1-8 for every pound up to its limit (70 lb
    USPS, 150 lb UPS/FedEx), rising with weight and with distance, at 2025-like
    levels ($7-$16 for 1 lb by ground), and is seeding twice harmless?"""
    services = seed_carriers(db_session)
    assert seed_carriers(db_session) == services
    assert db_session.scalar(select(func.count()).select_from(CarrierService)) == 5
    by_code = {s.code: s for s in services}
    assert set(by_code) == {"USPS_GROUND_ADVANTAGE", "UPS_GROUND", "UPS_2ND_DAY_AIR",
                            "FEDEX_HOME_DELIVERY", "LTL_LARGE_ITEM"}
    for code, max_lb in (("USPS_GROUND_ADVANTAGE", 70), ("UPS_GROUND", 150),
                         ("UPS_2ND_DAY_AIR", 150), ("FEDEX_HOME_DELIVERY", 150)):
        table = by_code[code].rate_table
        assert sorted(table, key=int) == [str(z) for z in range(1, 9)]
        for z in range(1, 9):
            row = table[str(z)]
            assert len(row) == max_lb and row == sorted(row) and len(set(row)) == max_lb
            if z > 1:
                assert all(a >= b for a, b in zip(row, table[str(z - 1)]))
    for code in ("USPS_GROUND_ADVANTAGE", "UPS_GROUND", "FEDEX_HOME_DELIVERY"):
        assert 700 <= by_code[code].rate_table["1"][0] <= by_code[code].rate_table["8"][0] <= 1600
    assert by_code["USPS_GROUND_ADVANTAGE"].max_weight_g == pounds(70)
    assert by_code["LTL_LARGE_ITEM"].max_length_girth_mm is None


# -- dates and cut-offs ------------------------------------------------------------------

@pytest.mark.parametrize("local, ships, delivers", [
    # Wednesday 11 June 2025, cut-off 17:00 in Ontario CA; MID takes 3 business days
    (la_time(2025, 6, 11, 16, 59), date(2025, 6, 11), date(2025, 6, 14)),  # Thu Fri Sat
    (la_time(2025, 6, 11, 17, 0, 30), date(2025, 6, 11), date(2025, 6, 14)),
    (la_time(2025, 6, 11, 17, 1), date(2025, 6, 12), date(2025, 6, 16)),   # Sun skipped
    (la_time(2025, 6, 14, 17, 1), date(2025, 6, 16), date(2025, 6, 19)),   # Sat late: Mon
    (la_time(2025, 6, 15, 9, 0), date(2025, 6, 16), date(2025, 6, 19)),    # Sunday: Mon
    # winter: 16:59 PST on 15 Jan is already 16 Jan in UTC, and still ships the 15th
    (la_time(2025, 1, 15, 16, 59), date(2025, 1, 15), date(2025, 1, 18)),
])
def test_cut_off_in_the_warehouse_time_zone(test_services, local, ships, delivers):
    """Does an order at 16:59 local ship the same day and one at 17:01 the next
    business day, with no Sunday pickups or deliveries, whatever the UTC date?"""
    wh = type("Warehouse", (), {"timezone": "America/Los_Angeles", "zip": "91761"})()
    at_utc = local.astimezone(UTC)
    service = test_services["TST_MID"]
    assert rating.ship_date(service, wh, at_utc) == ships
    assert rating.delivery_date(service, wh, at_utc, zone=8) == delivers


def test_the_cut_off_is_the_warehouse_local_time_not_the_callers(test_services):
    """Is the same instant (16:59 in California, 19:59 in New Jersey) before the
    cut-off in an Ontario CA warehouse and after it in an Edison NJ one?"""
    at = la_time(2025, 6, 11, 16, 59).astimezone(UTC)
    ca = type("W", (), {"timezone": "America/Los_Angeles", "zip": "91761"})()
    nj = type("W", (), {"timezone": "America/New_York", "zip": "08837"})()
    assert rating.ship_date(test_services["TST_MID"], ca, at) == date(2025, 6, 11)
    assert rating.ship_date(test_services["TST_MID"], nj, at) == date(2025, 6, 12)
    with pytest.raises(InvalidInput) as error:
        rating.ship_date(test_services["TST_MID"], ca, datetime(2025, 6, 11, 16, 59))
    assert "ship_at" in error.value.fields


# -- rate shopping -------------------------------------------------------------------------

WEDNESDAY_10AM = la_time(2025, 6, 11, 10, 0)
# Ships Wed 11 June. SLOW (5 days) -> Tue 17, MID (3) -> Sat 14, FAST (2) -> Fri 13.


def test_shop_picks_the_cheapest_service_that_meets_the_promise(db_session, test_services):
    """Promised by Saturday 14 June: is MID ($9.00) chosen over SLOW ($5.00, arrives
    Tuesday) and FAST ($15.00), with the runners-up meeting it first, then by price?"""
    wh, _bins = make_warehouse(db_session, zip_="91761")
    promise = datetime(2025, 6, 14, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    result = rating.shop(db_session, wh, "10001", [{"weight_g": 400}], promised_by=promise,
                         ship_at=WEDNESDAY_10AM, services=TEST_CODES)
    assert (result.zone, result.promised_by, result.meets_promise) == (8, date(2025, 6, 14),
                                                                       True)
    assert (result.chosen.service_code, result.chosen.cost_cents,
            result.chosen.delivery_date) == ("TST_MID", 900, date(2025, 6, 14))
    assert [(q.service_code, q.cost_cents, q.transit_days, q.delivery_date, q.meets_promise)
            for q in result.runners_up] == [
        ("TST_FAST", 1500, 2, date(2025, 6, 13), True),
        ("TST_SLOW", 500, 5, date(2025, 6, 17), False)]


def test_shop_falls_back_to_the_fastest_when_no_service_meets_the_promise(db_session,
                                                                          test_services):
    """Promised by Thursday 12 June (impossible): is FAST chosen, flagged
    meets_promise False, with the others sorted by delivery date?"""
    wh, _bins = make_warehouse(db_session, zip_="91761")
    result = rating.shop(db_session, wh, "10001", [{"weight_g": 400}],
                         promised_by=date(2025, 6, 12), ship_at=WEDNESDAY_10AM,
                         services=TEST_CODES)
    assert result.meets_promise is False
    assert (result.chosen.service_code, result.chosen.meets_promise) == ("TST_FAST", False)
    assert [q.service_code for q in result.runners_up] == ["TST_MID", "TST_SLOW"]


def test_shop_without_a_promise_takes_the_cheapest_and_prices_every_parcel(db_session,
                                                                           test_services):
    """Without a promise, is the cheapest chosen, and do two parcels (1 lb and 3 lb)
    cost the sum of their prices ($5.00 + $7.00)?"""
    wh, _bins = make_warehouse(db_session, zip_="91761")
    result = rating.shop(db_session, wh, "10001", [{"weight_g": 400}, {"weight_g": 1300}],
                         ship_at=WEDNESDAY_10AM, services=TEST_CODES)
    assert result.meets_promise is True and result.chosen.service_code == "TST_SLOW"
    assert [p.cost_cents for p in result.chosen.parcels] == [500, 700]
    assert result.chosen.cost_cents == 1200
    with pytest.raises(CannotShip) as error:
        rating.shop(db_session, wh, "10001", [{"weight_g": 400}, {"weight_g": 31_000}],
                    services=TEST_CODES)
    assert "parcels" in error.value.fields
    assert error.value.data["reasons"]["TST_MID"].startswith("parcel 2: too heavy")


def test_estimate_is_cheap_and_reads_the_services_once(db_session, test_services,
                                                      sql_counter):
    """Does estimate give (cost_cents, transit_days) of the cheapest service, honour
    max_transit_days, and run no SQL after the first call of a session?"""
    wh, _bins = make_warehouse(db_session, zip_="91761")
    db_session.commit()
    assert rating.estimate(db_session, wh, "10001", 1300, services=TEST_CODES) == (700, 5)
    assert rating.estimate(db_session, wh, "10001", 1300, max_transit_days=3,
                           services=TEST_CODES) == (1100, 3)
    assert rating.estimate(db_session, wh, "10001", 1300, max_transit_days=1,
                           services=TEST_CODES) == (1900, 2)  # none in 1 day: fastest
    assert rating.estimate(db_session, wh, "10001", 31_000, services=TEST_CODES) is None
    sql_counter.clear()
    for zip_ in ["10001", "90001", "60601", "33101", "94103"] * 20:
        rating.estimate(db_session, wh, zip_, 2500, (300, 200, 100), services=TEST_CODES)
    assert sql_counter == []


def test_a_changed_service_is_seen_by_the_next_quote(db_session, test_services):
    """After update_service changes SLOW's price, does the session's cache forget the
    old table?"""
    from server.carriers.services import update_service
    wh, _bins = make_warehouse(db_session, zip_="91761")
    assert rating.estimate(db_session, wh, "10001", 400, services=["TST_SLOW"]) == (500, 5)
    update_service(db_session, test_services["TST_SLOW"], rate_table=simple_table(650, 100))
    assert rating.estimate(db_session, wh, "10001", 400, services=["TST_SLOW"]) == (650, 5)


def test_bad_service_definitions_are_refused_naming_the_field(db_session):
    """Are a rate table missing a zone, a bad cut-off and a negative limit refused?"""
    carrier = create_carrier(db_session, code="BAD", name="Bad")
    base = dict(name="x", transit_days_by_zone={z: 2 for z in range(1, 9)},
                rate_table=simple_table(500, 100))
    cases = [({"rate_table": {z: [500] for z in range(1, 8)}}, "rate_table"),
             ({"cutoff_local_time": "5pm"}, "cutoff_local_time"),
             ({"max_weight_g": -1}, "max_weight_g"),
             ({"transit_days_by_zone": {"1": 2}}, "transit_days_by_zone"),
             ({"rate_table": None, "pricing": "table"}, "rate_table"),
             ({"fuel_surcharge_pct": 250}, "fuel_surcharge_pct")]
    for change, field in cases:
        with pytest.raises(InvalidInput) as error:
            create_service(db_session, carrier, code="BAD_ONE", **{**base, **change})
        assert field in error.value.fields, (change, error.value.fields)


# -- the API --------------------------------------------------------------------------------

def shop_body(w, **change):
    body = {"warehouse_id": w.wh1.id, "to_zip": "10001",
            "parcels": [{"weight_g": 400, "length_mm": 200, "width_mm": 150, "height_mm": 100}],
            "ship_at": "2025-06-11T10:00:00-07:00", "services": TEST_CODES}
    body.update(change)
    return body


def test_the_shop_api_answers_any_logged_in_user(client, world, test_services, carriers_api):
    """Does POST /api/rates/shop return the chosen service and the runners-up with
    price, transit days and delivery date, for a seller; and 401 without a log-in?"""
    response = client.post("/api/rates/shop", headers=world.headers["seller_a"],
                           json=shop_body(world, promised_by="2025-06-14T20:00:00-04:00"))
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["chosen"]["service_code"] == "TST_MID" and data["meets_promise"] is True
    assert data["chosen"]["delivery_date"] == "2025-06-14"
    assert [(q["service_code"], q["cost_cents"], q["transit_days"], q["delivery_date"])
            for q in data["runners_up"]] == [("TST_FAST", 1500, 2, "2025-06-13"),
                                             ("TST_SLOW", 500, 5, "2025-06-17")]
    assert client.post("/api/rates/shop", json=shop_body(world)).status_code == 401


def test_a_parcel_no_service_carries_is_refused_in_the_readers_language(
        client, world, test_services, carriers_api):
    """Is a 40 kg parcel, too heavy for every service, refused 422 with the message
    and each service's reason in Chinese or Spanish, its limits carried over?"""
    heavy = [{"weight_g": 40_000, "length_mm": 300, "width_mm": 300, "height_mm": 300}]
    for lang, words, heavy_words in (("zh-CN", "没有服务能承运这些包裹", "太重"),
                                     ("es", "Ningún servicio puede llevar", "demasiado pesado"),
                                     ("en", "No service can carry these parcels", "too heavy")):
        response = client.post(f"/api/rates/shop?lang={lang}", headers=world.headers["seller_a"],
                               json=shop_body(world, parcels=heavy))
        assert response.status_code == 422, response.get_json()
        body = response.get_json()
        assert words in body["message"], body
        problems = body["fields"]["parcels"]
        assert len(problems) == len(TEST_CODES) and all(
            heavy_words in p and "88.2" in p for p in problems), problems
        assert set(body["reasons"]) == set(TEST_CODES)


def test_carriers_api_lists_services_with_their_limits(client, world, test_services,
                                                       carriers_api):
    """Does GET /api/carriers show each service's limits and cut-off to a driver?"""
    response = client.get("/api/carriers", headers=world.headers["driver1"])
    assert response.status_code == 200
    (carrier,) = [c for c in response.get_json() if c["code"] == "TST"]
    fast = next(s for s in carrier["services"] if s["code"] == "TST_FAST")
    assert (fast["max_weight_g"], fast["cutoff_local_time"]) == (30_000, "17:00")
    assert fast["transit_days_by_zone"]["8"] == 2 and "rate_table" not in fast


def bad_shop_cases(w):
    return [
        # body change, expected status, field that must be named
        ({"to_zip": None}, 422, "to_zip"),
        ({"to_zip": "9176"}, 422, "to_zip"),
        ({"to_zip": "99999"}, 422, "to_zip"),          # well formed, does not exist
        ({"parcels": []}, 422, "parcels"),
        ({"parcels": [{"weight_g": 0}]}, 422, "parcels.0.weight_g"),
        ({"parcels": [{"weight_g": "5"}]}, 422, "parcels.0.weight_g"),
        ({"parcels": [{"length_mm": 10}]}, 422, "parcels.0.weight_g"),
        ({"parcels": [{"weight_g": 500}, {"weight_g": 500, "width_mm": -1}]}, 422,
         "parcels.1.width_mm"),
        ({"parcels": [{"weight_g": 40_000}]}, 422, "parcels"),  # no service can carry it
        ({"warehouse_id": "LAX1"}, 422, "warehouse_id"),
        ({"warehouse_id": 987654}, 404, "warehouse_id"),
        ({"promised_by": "next week"}, 422, "promised_by"),
        ({"promised_by": "2025-06-14T12:00:00"}, 422, "promised_by"),  # no time zone
        ({"services": ["NOPE"]}, 422, "services.0"),
        ({"colour": "red"}, 422, "colour"),
    ]


def test_bad_input_to_the_shop_api_names_the_field_and_changes_nothing(
        client, world, test_services, carriers_api, db_session):
    """Does each bad body get a 4xx naming the wrong field, and is nothing written?"""
    def state():
        return (snapshot(db_session),
                db_session.scalar(select(func.count()).select_from(Shipment)),
                db_session.scalar(select(func.count()).select_from(Parcel)),
                sorted(db_session.execute(select(CarrierService.id, CarrierService.updated_at))))
    before = state()
    for change, status, field in bad_shop_cases(world):
        body = {k: v for k, v in shop_body(world, **change).items() if v is not None}
        response = client.post("/api/rates/shop", headers=world.headers["admin"], json=body)
        data = response.get_json()
        assert response.status_code == status, (change, data)
        assert field in data["fields"], (change, data)
        assert data["error"] and data["message"]
    assert state() == before


def test_floor_staff_shop_only_from_their_warehouse(client, world, test_services,
                                                    carriers_api):
    """Is a picker of warehouse 1 refused (404) rates from warehouse 2?"""
    mine = client.post("/api/rates/shop", headers=world.headers["picker1"],
                       json=shop_body(world))
    other = client.post("/api/rates/shop", headers=world.headers["picker1"],
                        json=shop_body(world, warehouse_id=world.wh2.id))
    assert mine.status_code == 200
    assert other.status_code == 404 and "warehouse_id" in other.get_json()["fields"]


# -- schema -----------------------------------------------------------------------------------

def test_the_migration_builds_exactly_the_carrier_models(app):
    """Does migration 0002_carriers create the carrier, service, shipment and parcel
    tables exactly as the models describe them?"""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)

    def table_of(entry):
        entry = entry[0] if isinstance(entry, list) else entry  # modify_* come in lists
        kind = entry[0]
        if kind in ("add_table", "remove_table"):
            return entry[1].name
        if kind in ("add_column", "remove_column") or kind.startswith("modify_"):
            return entry[2]
        return entry[1].table.name  # indexes, constraints, foreign keys
    ours = [d for d in diff if table_of(d) in CARRIER_TABLES]
    assert ours == []
    assert CARRIER_TABLES <= set(db.metadata.tables)


@pytest.mark.usefixtures("carriers_api")
def test_the_openapi_document_describes_the_carrier_routes(client):
    """Are the carrier routes in /api/openapi.json, the label as application/pdf?"""
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/carriers", "/api/rates/shop", "/api/shipments/{shipment_id}",
                 "/api/shipments/{shipment_id}/label.pdf"):
        assert path in spec["paths"], path
    assert "422" in spec["paths"]["/api/rates/shop"]["post"]["responses"]
    label = spec["paths"]["/api/shipments/{shipment_id}/label.pdf"]["get"]["responses"]["200"]
    assert "application/pdf" in label["content"]
