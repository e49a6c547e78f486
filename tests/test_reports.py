"""The seller's reports (issue #13, item 1) on a small hand-made world, against
numbers worked out by hand below."""
import csv
import io
from datetime import UTC, datetime

from server.auth.services import create_user
from server.inventory.services import ReserveLine, occurred_at, pick, receive, reserve
from server.orders.services import cancel_order, create_order

from .helpers import PASSWORD, make_seller, make_sku, make_warehouse, token_headers

MARCH = {"from": "2026-03-01", "to": "2026-03-10"}  # 10 days


def _at(day, hour=12):
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def _picked(s, sku, bin_, units, picks, day):
    """`units` reserved and picked from `bin_` in `picks` equal picks on `day`."""
    ref = f"hand-{sku.code}"
    reserve(s, [ReserveLine(sku.id, bin_.warehouse_id, units)], reference=ref)
    with occurred_at(s, _at(day)):
        for _ in range(picks):
            pick(s, reference=ref, sku_id=sku.id, quantity=units // picks)


def _world(s):
    a, b = make_seller(s, "Seller A"), make_seller(s, "Seller B")
    w1, (a1, a2, _b1) = make_warehouse(s, code="RPW1")
    w2, (c1, *_rest) = make_warehouse(s, code="RPW2", bins=("C-01-1",))
    x = make_sku(s, a, code="A-X", price_cents=1000)
    y = make_sku(s, a, code="A-Y", price_cents=100)
    z = make_sku(s, a, code="A-Z", price_cents=5000)
    q = make_sku(s, b, code="B-Q", price_cents=700)
    receive(s, sku_id=x.id, bin_id=a1.id, quantity=105)
    receive(s, sku_id=y.id, bin_id=a2.id, quantity=51)
    receive(s, sku_id=z.id, bin_id=c1.id, quantity=10)
    receive(s, sku_id=q.id, bin_id=a1.id, quantity=30)
    _picked(s, x, a1, 60, 3, day=2)     # X: 60 units in 3 picks, 45 left, 5 of them held
    reserve(s, [ReserveLine(x.id, w1.id, 5)], reference="hand-x-held")
    _picked(s, y, a2, 30, 1, day=5)     # Y: 30 in 1 pick, 21 left
    _picked(s, z, c1, 10, 2, day=9)     # Z: 10 in 2 picks, none left
    _picked(s, q, a1, 5, 1, day=3)      # B's: never in A's numbers
    with occurred_at(s, _at(20)):       # after the range: not counted
        receive(s, sku_id=x.id, bin_id=a1.id, quantity=1)
        reserve(s, [ReserveLine(x.id, w1.id, 1)], reference="late")
        pick(s, reference="late", sku_id=x.id, quantity=1)
    to = {"name": "Ann", "address1": "1 Main St", "city": "Ontario", "state": "CA",
          "zip": "91761"}

    def order(seller, sku, n, channel, day, ext):
        return create_order(s, seller_id=seller.id, external_id=ext, channel=channel,
                            placed_at=_at(day), ship_to=to,
                            lines=[{"sku_id": sku.id, "quantity": n, "unit_price_cents": 1}])
    order(a, x, 2, "shopify", 2, "A-1")
    order(a, y, 3, "shopify", 2, "A-2")
    order(a, x, 1, "ebay", 2, "A-3")
    order(a, z, 4, "ebay", 9, "A-4")
    gone = order(a, y, 9, "ebay", 9, "A-5")
    cancel_order(s, gone)                # fully cancelled: not counted
    order(a, x, 7, "shopify", 11, "A-6")  # after the range
    order(b, q, 5, "shopify", 2, "B-1")
    users = {"a": create_user(s, email="rep-a@example.com", password=PASSWORD, role="seller",
                              seller=a),
             "b": create_user(s, email="rep-b@example.com", password=PASSWORD, role="seller",
                              seller=b),
             "admin": create_user(s, email="rep-admin@example.com", password=PASSWORD,
                                  role="admin")}
    s.commit()
    return {"a": a, "b": b, "headers": {k: token_headers(s, u) for k, u in users.items()}}


def _get(client, headers, path, **query):
    response = client.get(path, headers=headers, query_string={**MARCH, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_orders_per_day_and_channel_and_per_week(client, db_session):
    """Are orders and open units counted per UTC day and channel, cancelled and
    out-of-range ones left out, and the same per week (Monday) and in total?"""
    w = _world(db_session)
    got = _get(client, w["headers"]["a"], "/api/reports/orders")
    assert got["rows"] == [
        {"period": "2026-03-02", "channel": "ebay", "orders": 1, "units": 1},
        {"period": "2026-03-02", "channel": "shopify", "orders": 2, "units": 5},
        {"period": "2026-03-09", "channel": "ebay", "orders": 1, "units": 4}]
    assert got["totals"] == {"orders": 4, "units": 10}
    weekly = _get(client, w["headers"]["a"], "/api/reports/orders", by="week", split="none")
    # 2026-03-02 and 03-09 are Mondays.
    assert weekly["rows"] == [{"period": "2026-03-02", "orders": 3, "units": 6},
                              {"period": "2026-03-09", "orders": 1, "units": 4}]


def test_velocity_ranks_skus_with_abc_classes(client, db_session):
    """Units picked in the range per SKU, with picks, units per day, value at list
    price and ABC classes: by units X 60 (60 % of 100: A), Y 30 (90 %: B), Z 10 (C);
    by value X 60,000 (53 %: A), Z 50,000 (97 %: C), Y 3,000 (C)."""
    w = _world(db_session)
    got = _get(client, w["headers"]["a"], "/api/reports/velocity")
    assert [(r["sku"], r["units"], r["picks"], r["per_day"], r["value_cents"], r["abc_units"],
             r["abc_value"]) for r in got["rows"]] == [
        ("A-X", 60, 3, 6.0, 60_000, "A", "A"),
        ("A-Y", 30, 1, 3.0, 3_000, "B", "C"),
        ("A-Z", 10, 2, 1.0, 50_000, "C", "C")]


def test_supply_says_how_many_days_the_stock_lasts(client, db_session):
    """Per SKU and warehouse: on hand, available (less what is held), picked and per
    day in the range, days of supply = available / per day, turnover = picked / on
    hand; the shortest supply first: Z 0 days, X 40/6 = 6.7, Y 21/3 = 7.0."""
    w = _world(db_session)
    got = _get(client, w["headers"]["a"], "/api/reports/supply")
    assert [(r["sku"], r["warehouse"], r["on_hand"], r["available"], r["picked"],
             r["per_day"], r["days_of_supply"], r["turnover"]) for r in got["rows"]] == [
        ("A-Z", "RPW2", 0, 0, 10, 1.0, 0.0, None),
        ("A-X", "RPW1", 45, 40, 60, 6.0, 6.7, 1.33),
        ("A-Y", "RPW1", 21, 21, 30, 3.0, 7.0, 1.43)]


def test_every_report_and_csv_keeps_to_the_sellers_own(client, db_session):
    """Does seller B see only B-Q in every report and CSV, even naming seller A's id;
    does an admin see both, or one seller when asked?"""
    w = _world(db_session)
    b, admin = w["headers"]["b"], w["headers"]["admin"]
    for name in ("orders", "velocity", "supply"):
        mine = _get(client, b, f"/api/reports/{name}", seller_id=w["a"].id)
        text = client.get(f"/api/reports/{name}.csv", headers=b,
                          query_string={**MARCH, "seller_id": w["a"].id}).get_data(as_text=True)
        assert "A-X" not in str(mine) and "A-X" not in text
        if name != "orders":
            assert [r["sku"] for r in mine["rows"]] == ["B-Q"]
            everyone = {r["sku"] for r in _get(client, admin, f"/api/reports/{name}")["rows"]}
            assert everyone == {"A-X", "A-Y", "A-Z", "B-Q"}
            one = {r["sku"] for r in _get(client, admin, f"/api/reports/{name}",
                                          seller_id=w["a"].id)["rows"]}
            assert one == {"A-X", "A-Y", "A-Z"}
    assert _get(client, b, "/api/reports/orders")["totals"] == {"orders": 1, "units": 5}


def test_the_csv_is_the_same_rows(client, db_session):
    """Is the CSV a header line and the JSON's rows, in order, for a spreadsheet?"""
    w = _world(db_session)
    h = w["headers"]["a"]
    response = client.get("/api/reports/supply.csv", headers=h, query_string=MARCH)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "supply-2026-03-01-2026-03-10.csv" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    got = _get(client, h, "/api/reports/supply")
    assert table[0] == got["columns"]
    assert [row[0] for row in table[1:]] == [r["sku"] for r in got["rows"]]
    assert table[1][-2:] == ["0.0", ""]  # Z: no stock left, no turnover


def test_bad_ranges_and_names_are_refused_by_the_field(client, db_session):
    """A range the wrong way round, too long, a bad date or an unknown report: a 4xx
    naming the field."""
    w = _world(db_session)
    h = w["headers"]["a"]
    backwards = client.get("/api/reports/orders", headers=h,
                           query_string={"from": "2026-03-10", "to": "2026-03-01"})
    assert backwards.status_code == 422 and "from" in backwards.get_json()["fields"]
    long = client.get("/api/reports/orders", headers=h,
                      query_string={"from": "2020-01-01", "to": "2026-03-01"})
    assert long.status_code == 422 and "from" in long.get_json()["fields"]
    bad = client.get("/api/reports/orders", headers=h, query_string={"from": "March"})
    assert bad.status_code == 422 and "from" in bad.get_json()["fields"]
    assert client.get("/api/reports/nope", headers=h).status_code == 404
    picker = client.get("/api/reports/orders")
    assert picker.status_code == 401
