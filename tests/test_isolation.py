"""Seller isolation and warehouse scope (invariant 5), through the API as a token
holder would try it: by listing and by guessing ids."""
import pytest

from .helpers import snapshot


def ids(response):
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_a_seller_lists_only_its_own_skus_stock_and_ledger(client, world):
    """Does listing SKUs, stock or the ledger show a seller anything of another?"""
    h = world.headers["seller_a"]
    assert ids(client.get("/api/skus", headers=h)) == {world.sku_a.id}
    stock = client.get("/api/stock", headers=h).get_json()["items"]
    assert stock and {row["seller_id"] for row in stock} == {world.seller_a.id}
    ledger = client.get("/api/ledger", headers=h).get_json()["items"]
    assert ledger and {row["seller_id"] for row in ledger} == {world.seller_a.id}
    # Filtering by the other seller's ids yields nothing rather than their rows.
    assert ids(client.get(f"/api/stock?sku_id={world.sku_b.id}", headers=h)) == set()
    assert ids(client.get(f"/api/skus?seller_id={world.seller_b.id}", headers=h)) == set()
    assert ids(client.get(f"/api/ledger?sku_id={world.sku_b.id}", headers=h)) == set()


def test_a_seller_cannot_read_or_change_another_sellers_sku_by_id(client, world, db_session):
    """Can seller A read, edit or take stock of seller B's SKU by guessing its id?"""
    h = world.headers["seller_a"]
    before = snapshot(db_session)
    for method, url, body in [
        ("get", f"/api/skus/{world.sku_b.id}", None),
        ("patch", f"/api/skus/{world.sku_b.id}", {"name": "mine now"}),
    ]:
        response = getattr(client, method)(url, headers=h, json=body)
        assert response.status_code == 404, (url, response.get_json())
        assert response.get_json()["error"] == "not_found"
    # The same answer as for an id that does not exist at all: nothing leaks.
    assert client.get("/api/skus/999999", headers=h).get_json()["error"] == "not_found"
    assert snapshot(db_session) == before


def test_a_seller_cannot_create_a_sku_for_another_seller(client, world, db_session):
    """Does naming another seller's id in a new SKU get refused?"""
    response = client.post("/api/skus", headers=world.headers["seller_a"],
                           json={"code": "X-1", "name": "x", "seller_id": world.seller_b.id})
    assert response.status_code == 404
    assert "seller_id" in response.get_json()["fields"]
    own = client.post("/api/skus", headers=world.headers["seller_a"],
                      json={"code": "X-1", "name": "x"})
    assert own.status_code == 201 and own.get_json()["seller_id"] == world.seller_a.id


@pytest.mark.parametrize("path", ["/api/stock/receive", "/api/stock/adjust",
                                  "/api/stock/reserve", "/api/stock/release"])
def test_a_seller_cannot_change_stock(client, world, db_session, path):
    """Can a seller's token move physical stock? (No: that is the floor's work.)"""
    before = snapshot(db_session)
    body = {"sku_id": world.sku_a.id, "bin_id": world.bins1[0].id, "quantity": 1,
            "delta": 1, "reason": "x", "reference": "r",
            "lines": [{"sku_id": world.sku_a.id, "warehouse_id": world.wh1.id, "quantity": 1}]}
    response = client.post(path, headers=world.headers["seller_a"], json=body)
    assert response.status_code in (403, 422)
    assert snapshot(db_session) == before


def test_a_picker_sees_and_touches_only_its_warehouse(client, world, db_session):
    """Can a picker of warehouse 1 read or change warehouse 2's stock, bins or
    warehouse record?"""
    h = world.headers["picker1"]
    stock = client.get("/api/stock", headers=h).get_json()["items"]
    assert stock and {row["warehouse_id"] for row in stock} == {world.wh1.id}
    assert ids(client.get("/api/warehouses", headers=h)) == {world.wh1.id}
    assert client.get(f"/api/warehouses/{world.wh2.id}", headers=h).status_code == 404
    assert client.get(f"/api/warehouses/{world.wh2.id}/bins", headers=h).status_code == 404
    before = snapshot(db_session)
    for path, body in [
        ("/api/stock/receive", {"sku_id": world.sku_a.id, "bin_id": world.bins2[0].id,
                                "quantity": 1}),
        ("/api/stock/adjust", {"sku_id": world.sku_a.id, "bin_id": world.bins2[0].id,
                               "delta": -1, "reason": "theft"}),
        ("/api/stock/move", {"sku_id": world.sku_a.id, "from_bin_id": world.bins2[0].id,
                             "to_bin_id": world.bins2[1].id, "quantity": 1}),
    ]:
        response = client.post(path, headers=h, json=body)
        assert response.status_code == 404, (path, response.get_json())
        assert set(response.get_json()["fields"]) & {"bin_id"}
    assert snapshot(db_session) == before
    # ...while its own warehouse works.
    ok = client.post("/api/stock/receive", headers=h,
                     json={"sku_id": world.sku_a.id, "bin_id": world.bins1[1].id,
                           "quantity": 2})
    assert ok.status_code == 200 and ok.get_json()["on_hand"] == 2


def test_floor_staff_and_sellers_cannot_administer(client, world):
    """Can anyone but an admin create warehouses, bins, users or sellers?"""
    for who in ("seller_a", "picker1", "driver1"):
        h = world.headers[who]
        assert client.post("/api/warehouses", headers=h, json={}).status_code in (403, 422)
        assert client.post(f"/api/warehouses/{world.wh1.id}/bins", headers=h,
                           json={"codes": ["Z-1"]}).status_code == 403
        assert client.get("/api/users", headers=h).status_code == 403
        assert client.post("/api/sellers", headers=h, json={"name": "x"}).status_code == 403


def test_a_driver_cannot_change_stock(client, world, db_session):
    """Is the driver role kept away from stock operations, even in its warehouse?"""
    before = snapshot(db_session)
    response = client.post("/api/stock/receive", headers=world.headers["driver1"],
                           json={"sku_id": world.sku_a.id, "bin_id": world.bins1[0].id,
                                 "quantity": 1})
    assert response.status_code == 403
    assert snapshot(db_session) == before


def test_an_admin_sees_everything(client, world):
    """Does an admin see both sellers' SKUs and both warehouses?"""
    h = world.headers["admin"]
    assert {world.sku_a.id, world.sku_b.id} <= ids(client.get("/api/skus?limit=200",
                                                              headers=h))
    assert {world.wh1.id, world.wh2.id} <= ids(client.get("/api/warehouses?limit=200",
                                                          headers=h))
