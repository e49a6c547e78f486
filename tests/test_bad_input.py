"""Bad input gets a clear 4xx naming the field, and changes nothing (invariant 6)."""
import pytest

from .helpers import snapshot


def cases(w):
    sku, b0, b1 = w.sku_a.id, w.bins1[0].id, w.bins1[1].id
    ok_line = {"sku_id": sku, "warehouse_id": w.wh1.id, "quantity": 1}
    return [
        # path, body, expected status, field that must be named
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0}, 422, "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": 0}, 422, "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": -5}, 422, "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": 10**12}, 422,
         "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": "3"}, 422,
         "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": 1.5}, 422,
         "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": True}, 422,
         "quantity"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": "A-01-1", "quantity": 1}, 422,
         "bin_id"),
        ("/api/stock/receive", {"sku_id": 987654, "bin_id": b0, "quantity": 1}, 404,
         "sku_id"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": 987654, "quantity": 1}, 404,
         "bin_id"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": 1, "colour": "red"},
         422, "colour"),
        ("/api/stock/receive", {"sku_id": sku, "bin_id": b0, "quantity": 1,
                                "reference": "x" * 129}, 422, "reference"),
        ("/api/stock/move", {"sku_id": sku, "from_bin_id": b0, "to_bin_id": b0,
                             "quantity": 1}, 422, "to_bin_id"),
        ("/api/stock/move", {"sku_id": sku, "from_bin_id": b0, "to_bin_id": w.bins2[1].id,
                             "quantity": 1}, 422, "to_bin_id"),
        ("/api/stock/move", {"sku_id": sku, "from_bin_id": b1, "to_bin_id": b0,
                             "quantity": 1}, 409, "shortages"),
        ("/api/stock/adjust", {"sku_id": sku, "bin_id": b0, "delta": -1}, 422, "reason"),
        ("/api/stock/adjust", {"sku_id": sku, "bin_id": b0, "delta": 0, "reason": "x"}, 422,
         "delta"),
        ("/api/stock/adjust", {"sku_id": sku, "bin_id": b0, "delta": -11, "reason": "x"},
         409, "shortages"),
        ("/api/stock/reserve", {"reference": "r", "lines": []}, 422, "lines"),
        ("/api/stock/reserve", {"reference": "r", "lines": "all of it"}, 422, "lines"),
        ("/api/stock/reserve", {"reference": "r", "lines": [ok_line, {**ok_line,
                                                                      "quantity": -1}]},
         422, "lines.1.quantity"),
        ("/api/stock/reserve", {"lines": [ok_line]}, 422, "reference"),
        ("/api/stock/reserve", {"reference": "r", "lines": [ok_line, {**ok_line,
                                                                      "quantity": 99}]},
         409, "shortages"),
        ("/api/stock/release", {"reference": "never-reserved"}, 404, "reference"),
        ("/api/stock/release", {"reference": "r", "quantity": 1}, 422, "sku_id"),
        ("/api/skus", {"code": "", "name": "x", "seller_id": w.seller_a.id}, 422, "code"),
        ("/api/skus", {"code": "N-1", "name": "x", "seller_id": w.seller_a.id,
                       "weight_g": -1}, 422, "weight_g"),
        ("/api/skus", {"code": "N-1", "name": "x", "seller_id": w.seller_a.id,
                       "currency": "dollars"}, 422, "currency"),
        ("/api/skus", {"code": "N-1", "name": "x"}, 422, "seller_id"),
        ("/api/skus", {"code": "N-1", "name": "x", "seller_id": w.seller_a.id,
                       "barcodes": ["0001112223334"]}, 409, "barcodes"),
        ("/api/skus", {"code": w.sku_a.code, "name": "x", "seller_id": w.seller_a.id},
         409, "code"),
        ("/api/warehouses", {"code": "NEW1", "name": "n", "zip": "9176", "latitude": 34.0,
                             "longitude": -117.0, "timezone": "America/Los_Angeles"}, 422,
         "zip"),
        ("/api/warehouses", {"code": "NEW1", "name": "n", "zip": "91761", "latitude": 95.0,
                             "longitude": -117.0, "timezone": "America/Los_Angeles"}, 422,
         "latitude"),
        ("/api/warehouses", {"code": "NEW1", "name": "n", "zip": "91761", "latitude": 34.0,
                             "longitude": -117.0, "timezone": "Pacific/Nowhere"}, 422,
         "timezone"),
        (f"/api/warehouses/{w.wh1.id}/bins", {"codes": ["A-01-1"]}, 409, "codes"),
        (f"/api/warehouses/{w.wh1.id}/bins", {"codes": ["ok-1", "no spaces"]}, 422,
         "codes.1"),
        ("/api/users", {"email": "x@example.com", "password": "short", "role": "picker"}, 422,
         "password"),
        ("/api/users", {"email": "not-an-email", "password": "long enough", "role": "admin"},
         422, "email"),
        ("/api/users", {"email": "p@example.com", "password": "long enough", "role": "picker"}, 422,
         "warehouse_ids"),
        ("/api/users", {"email": "p@example.com", "password": "long enough", "role": "boss"}, 422,
         "role"),
    ]


def test_every_bad_payload_is_refused_by_field_and_changes_nothing(client, world,
                                                                   db_session):
    """For each malformed or out-of-range payload: the right 4xx, the JSON error shape,
    the field named, and the database exactly as before."""
    # Something reserved, so a release that names no SKU has something to refuse on.
    reserved = client.post("/api/stock/reserve", headers=world.headers["admin"],
                           json={"reference": "r", "lines": [
                               {"sku_id": world.sku_a.id, "warehouse_id": world.wh1.id,
                                "quantity": 1}]})
    assert reserved.status_code == 201
    for path, body, status, field in cases(world):
        before = snapshot(db_session)
        response = client.post(path, headers=world.headers["admin"], json=body)
        payload = response.get_json()
        assert response.status_code == status, (path, body, payload)
        assert set(payload) >= {"error", "message", "fields"}, payload
        named = set(payload["fields"]) | set(payload) - {"error", "message", "fields"}
        assert field in named, (path, body, payload)
        assert snapshot(db_session) == before, (path, body)


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("[1, 2, 3]", "application/json"),
    ("quantity=3", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_a_json_object_is_refused(client, world, db_session, data,
                                                     content_type):
    """Is a broken or non-object body a 4xx with the JSON error shape?"""
    before = snapshot(db_session)
    response = client.post("/api/stock/receive", headers=world.headers["admin"], data=data,
                           content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"] in ("bad_request", "validation_error",
                                            "unsupported_media_type")
    assert snapshot(db_session) == before


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=201", "limit"),
                                          ("limit=ten", "limit"), ("after=%%%", "after"),
                                          ("sku_id=abc", "sku_id")])
def test_bad_query_parameters_name_the_parameter(client, world, query, field):
    """Do list endpoints refuse bad paging and filters, naming the parameter?"""
    response = client.get(f"/api/stock?{query}", headers=world.headers["admin"])
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_keyset_pages_cover_every_row_once(client, world, db_session):
    """Does walking next_cursor visit every SKU exactly once, in order?"""
    from .helpers import make_sku
    for _ in range(7):
        make_sku(db_session, world.seller_a)
    db_session.commit()
    seen, after = [], None
    while True:
        url = "/api/skus?limit=3" + (f"&after={after}" if after else "")
        page = client.get(url, headers=world.headers["seller_a"]).get_json()
        seen.extend(item["id"] for item in page["items"])
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8
