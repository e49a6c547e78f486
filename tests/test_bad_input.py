"""Bad input gets a clear 4xx naming the field, and changes nothing (invariant 6)."""
import json

import pytest
from sqlalchemy import func, select

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


# -- input that cannot be stored (issue #9): refused before the database sees it -------

BIG = 2**31  # one past the largest INTEGER column value


def _refused(response, status, field):
    payload = response.get_json()
    assert response.status_code == status, payload
    assert {"error", "message", "fields"} <= set(payload), payload
    assert field in payload["fields"], payload
    return payload


@pytest.mark.parametrize("body, field", [
    ({"quantity": BIG}, "quantity"),
    ({"sku_id": BIG}, "sku_id"),
    ({"bin_id": 2**64}, "bin_id"),
    ({"reason": "dock\x00door"}, "reason"),
    ({"reference": "PO-\ud800"}, "reference"),
    ({"reference": "x" * 129}, "reference"),
])
def test_integers_past_their_column_and_unstorable_strings_are_refused(
        client, world, db_session, body, field):
    """An integer past 2**31-1, a NUL, an unpaired surrogate, a string past its
    column: a 422 naming the field, and nothing changed."""
    payload = {"sku_id": world.sku_a.id, "bin_id": world.bins1[0].id, "quantity": 1}
    payload.update(body)
    before = snapshot(db_session)
    # Sent as text: the surrogate travels as the JSON escape \ud800, as a client sends it.
    response = client.post("/api/stock/receive", headers=world.headers["admin"],
                           data=json.dumps(payload), content_type="application/json")
    _refused(response, 422, field)
    assert snapshot(db_session) == before


def test_a_nul_or_surrogate_in_a_key_or_deep_in_a_free_form_object_is_named(
        client, world, db_session):
    """Strings nested in an object the schema leaves free (credentials) and keys
    themselves obey the same rule, named by their dotted path."""
    from server.channels.models import ChannelAccount
    count = db_session.scalar(select(func.count()).select_from(ChannelAccount))
    for credentials, field in (({"token": {"list": ["ok", "bad\x00"]}}, "credentials.token.list.1"),
                               ({"bad\ud800key": "v"}, "credentials.bad\\ud800key")):
        response = client.post("/api/channels/accounts", headers=world.headers["seller_a"],
                               data=json.dumps({"channel": "shopify", "account_key": "s.example",
                                                "credentials": credentials}),
                               content_type="application/json")
        _refused(response, 422, field)
    assert db_session.scalar(select(func.count()).select_from(ChannelAccount)) == count


@pytest.mark.parametrize("query, field", [(f"sku_id={BIG}", "sku_id"),
                                          ("warehouse_id=-2147483649", "warehouse_id"),
                                          ("reference=a%00b", "reference")])
def test_query_parameters_past_their_column_or_with_a_nul_are_refused(client, world, query,
                                                                       field):
    """Query strings: the same integer ranges and string rule, the parameter named."""
    _refused(client.get(f"/api/ledger?{query}", headers=world.headers["admin"]), 422, field)


@pytest.mark.parametrize("method, path", [
    ("GET", f"/api/orders/{BIG}"),
    ("GET", "/api/skus/99999999999999999999999"),
    ("POST", f"/api/orders/{BIG}/cancel"),
    ("POST", f"/api/channels/shopify/{BIG}/webhook"),  # no log-in on this one
])
def test_a_path_id_past_2_31_is_not_found(client, world, db_session, method, path):
    """<int:...> ids above 2**31-1 are ids that cannot exist: 404, as any unknown id,
    signed-webhook route included."""
    before = snapshot(db_session)
    response = client.open(path, method=method, headers=world.headers["admin"], json={})
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.get_json()["error"] == "not_found"
    assert snapshot(db_session) == before


def test_the_openapi_document_states_the_integer_ranges(client):
    """The ranges are in the document: path ids and schema integers have a maximum."""
    spec = client.get("/api/openapi.json").get_json()
    path = spec["paths"]["/api/orders/{order_id}"]
    order = path.get("parameters", []) + path["get"].get("parameters", [])
    (param,) = [p for p in order if p["name"] == "order_id"]
    assert param["schema"]["maximum"] == 2**31 - 1
    receive = spec["components"]["schemas"]["ReceiveArgs"]["properties"]["sku_id"]
    assert receive["maximum"] == 2**31 - 1
    movement = spec["components"]["schemas"]["Movement"]["properties"]["id"]
    assert movement["maximum"] == 2**63 - 1  # a BIGINT column


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_past_the_limit_is_refused_without_recursing(client, world, db_session,
                                                                  depth):
    """1,000 or 100,000 levels (a RecursionError before): 422, nothing changed."""
    before = snapshot(db_session)
    body = '{"sku_id": 1, "bin_id": 1, "quantity": 1, "reason": ' + "[" * depth + \
        "]" * depth + "}"
    response = client.post("/api/stock/receive", headers=world.headers["admin"], data=body,
                           content_type="application/json")
    payload = response.get_json()
    assert response.status_code == 422, payload
    assert "deeper than 32" in str(payload["fields"]), payload
    assert snapshot(db_session) == before


def test_the_depth_limit_is_configurable(app, client, world):
    app.config["MAX_JSON_DEPTH"] = 4
    try:
        deep = {"a": {"b": {"c": {"d": {}}}}}
        response = client.post("/api/channels/accounts", headers=world.headers["seller_a"],
                               json={"channel": "shopify", "account_key": "s.example",
                                     "credentials": deep})
        _refused(response, 422, "credentials.a.b.c")
    finally:
        app.config["MAX_JSON_DEPTH"] = 32


def test_a_body_past_max_content_length_is_413_with_the_limit_unread(app, client, world,
                                                                      db_session):
    """The default limit (2 MiB) and a configured one: 413, the limit in the body,
    nothing changed; the signed webhook (no log-in) too."""
    before = snapshot(db_session)
    huge = json.dumps({"sku_id": 1, "bin_id": 1, "quantity": 1,
                       "reason": "x" * (2 * 1024 * 1024)})
    response = client.post("/api/stock/receive", headers=world.headers["admin"], data=huge,
                           content_type="application/json")
    payload = _refused(response, 413, "body")
    assert payload["error"] == "too_large" and payload["limit"] == 2 * 1024 * 1024
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = client.post("/api/channels/shopify/1/webhook", data="x" * 1001,
                               content_type="application/json")
        assert response.status_code == 413 and response.get_json()["limit"] == 1000
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    assert snapshot(db_session) == before


def test_a_sync_batch_past_the_limit_is_413_with_the_limit(client, world, db_session):
    """More mutations than one push takes: 413 with `limit`, and the device is not
    even recorded."""
    from sync import engine
    from sync.models import SyncDevice
    mutations = [{"id": i, "name": "receive.scan", "args": {}}
                 for i in range(1, engine.MAX_BATCH + 2)]
    response = client.post("/api/sync/push", headers=world.headers["picker1"],
                           json={"device_id": "device-too-many", "mutations": mutations})
    payload = _refused(response, 413, "mutations")
    assert payload["error"] == "too_large" and payload["limit"] == engine.MAX_BATCH
    assert db_session.get(SyncDevice, "device-too-many") is None


def test_a_bad_mutation_is_rejected_alone_and_a_huge_one_is_stored_summarised(
        client, world, db_session):
    """A NUL, an unpaired surrogate, an integer past its column, a 1 MB argument: each
    of those mutations is rejected, naming its field, and the good ones around them
    apply; what is stored of the huge one is a summary, not the megabyte."""
    from sync.models import SyncMutation
    bin_code, sku_code = world.bins1[0].code, world.sku_a.code

    def scan(i, **args):
        return {"id": i, "name": "receive.scan", "at": "2026-11-24T10:00:00Z",
                "args": {"bin": bin_code, "sku": sku_code, "qty": 1, **args}}
    mutations = [scan(1), scan(2, sku="A\x00B"), scan(3, qty=BIG), scan(4, bin="\udc00"),
                 scan(5, sku="Z" * 1_000_000), {"id": 6, "name": "receive\x00scan", "args": {}},
                 scan(7)]
    before = db_session.scalar(select(func.count()).select_from(SyncMutation))
    response = client.post("/api/sync/push", headers=world.headers["picker1"],
                           data=json.dumps({"device_id": "device-poison-1",
                                            "mutations": mutations}),
                           content_type="application/json")
    answer = response.get_json()
    assert response.status_code == 200, answer
    results = answer["results"]
    assert [r["status"] for r in results] == ["applied"] + ["rejected"] * 5 + ["applied"]
    assert [list(r["detail"]["fields"]) for r in results[1:6]] == [
        ["sku"], ["qty"], ["bin"], ["sku"], ["name"]]
    assert answer["last_mutation_id"] == 7
    db_session.expire_all()
    rows = {r.mutation_id: r for r in db_session.scalars(
        select(SyncMutation).where(SyncMutation.device_id == "device-poison-1"))}
    assert len(rows) == 7 == db_session.scalar(
        select(func.count()).select_from(SyncMutation)) - before
    assert rows[5].args["truncated"] is True and rows[5].args["bytes"] > 1_000_000
    assert len(json.dumps(rows[5].args)) < 5000 and len(json.dumps(rows[5].detail)) < 5000
    assert rows[2].args["truncated"] is True  # a NUL is not kept either
    assert "\x00" not in rows[6].name


def test_a_component_twice_in_a_mapping_or_kit_is_refused_and_changes_nothing(
        client, world, db_session):
    """The same SKU twice in a bundle (a UniqueViolation before): 422 naming the
    second one, and the old mapping stays."""
    from server.catalog.models import KitComponent
    from server.channels.models import ChannelSkuMapping
    h = world.headers["seller_a"]
    account = client.post("/api/channels/accounts", headers=h,
                          json={"channel": "shopify", "account_key": "dup.example"}).get_json()
    url = f"/api/channels/accounts/{account['id']}/mappings"
    sku = world.sku_a.id
    assert client.put(url, headers=h, json={"channel_sku": "BUNDLE", "components": [
        {"sku_id": sku, "quantity": 2}]}).status_code == 200
    mappings = db_session.scalar(select(func.count()).select_from(ChannelSkuMapping))
    response = client.put(url, headers=h, json={"channel_sku": "BUNDLE", "components": [
        {"sku_id": sku, "quantity": 1}, {"sku_id": sku, "quantity": 1}]})
    _refused(response, 422, "components.1.sku_id")
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(ChannelSkuMapping)) == mappings
    assert client.get(url, headers=h).get_json() == [
        {"channel_sku": "BUNDLE", "components": [{"sku_id": sku, "quantity": 2}]}]
    from .helpers import make_sku
    part = make_sku(db_session, world.seller_a)
    db_session.commit()
    before = snapshot(db_session)
    response = client.put(f"/api/skus/{world.sku_a.id}/components", headers=h, json={
        "components": [{"sku_id": part.id, "quantity": 1}, {"sku_id": part.id, "quantity": 3}]})
    _refused(response, 422, "components.1.sku_id")
    assert snapshot(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(KitComponent)) == 0


@pytest.mark.parametrize("body", [{"name": "!!!"}, {"name": "Good Name Ltd", "code": "   "}])
def test_a_seller_with_an_empty_code_is_refused(client, world, db_session, body):
    from server.auth.models import Seller
    count = db_session.scalar(select(func.count()).select_from(Seller))
    _refused(client.post("/api/sellers", headers=world.headers["admin"], json=body), 422,
             "code")
    assert db_session.scalar(select(func.count()).select_from(Seller)) == count


def test_a_value_past_its_column_is_refused_at_the_flush_naming_the_attribute(db_session):
    """The last line, for writes that no API schema bounds (a service called by the
    CLI, a job): a string longer than its column, an integer past its column
    raise InvalidInput naming the attribute, before any SQL is sent."""
    from server.auth.models import Seller
    from server.auth.services import create_seller
    from server.errors import InvalidInput

    from .helpers import make_seller, make_sku
    count = db_session.scalar(select(func.count()).select_from(Seller))
    for name, field in (("N" * 201, "name"),):
        with pytest.raises(InvalidInput) as refused:
            with db_session.begin_nested():
                create_seller(db_session, name=name, code="OKCODE")
        assert field in refused.value.fields
    seller = make_seller(db_session)
    with pytest.raises(InvalidInput) as refused:
        with db_session.begin_nested():
            make_sku(db_session, seller, weight_g=BIG)
    assert "weight_g" in refused.value.fields
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Seller)) == count


def test_a_405_says_which_methods_the_path_has(client, world):
    response = client.delete("/api/stock/receive", headers=world.headers["admin"])
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    assert response.get_json()["error"] == "method_not_allowed"


def test_error_answers_match_the_documented_error_schema(client, world, db_session):
    """A 409 with its shortages, a 413 with its limit, a 422: each validates against
    the Error schema of the OpenAPI document, and its extra keys are documented."""
    import jsonschema_rs
    spec = client.get("/api/openapi.json").get_json()
    error_schema = spec["components"]["schemas"]["Error"]
    validator = jsonschema_rs.validator_for({"$ref": "#/components/schemas/Error",
                                             "components": spec["components"]})
    h = world.headers["admin"]
    short = client.post("/api/stock/reserve", headers=h, json={"reference": "r-short", "lines": [
        {"sku_id": world.sku_a.id, "warehouse_id": world.wh1.id, "quantity": 999}]})
    assert short.status_code == 409
    too_many = client.post("/api/sync/push", headers=h, json={
        "device_id": "device-413x", "mutations": [{"id": i, "name": "x"}
                                                  for i in range(1, 1100)]})
    invalid = client.post("/api/stock/receive", headers=h, json={"quantity": "3"})
    for response, extra in ((short, "shortages"), (too_many, "limit"), (invalid, None)):
        body = response.get_json()
        assert set(error_schema["required"]) <= set(body)
        for key in set(body) - {"error", "message", "fields"}:
            assert key in error_schema["properties"], key
        if extra:
            assert extra in body
        assert validator.is_valid(body), list(validator.iter_errors(body))
