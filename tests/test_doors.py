"""Every door is declared and holds (invariants 5 and 8), tried from the URL map
itself: for every route and method, every role and nobody at all, with the caller's
own ids and with the other side's. A route added without a declaration fails here
before anyone can call it."""
import re

import pytest

from server.auth.doors import ANY_ROLE, PUBLIC, declared_roles

from . import authz_world
from .helpers import snapshot

CALLERS = ("anonymous", "admin", "seller_a", "picker1", "driver1")
ROLE = {"anonymous": None, "admin": "admin", "seller_a": "seller", "picker1": "picker",
        "driver1": "driver"}
PARAM = re.compile(r"<(?:([^:>]+):)?(\w+)>")
# What each kind of caller may read of the other side by declaration (scoping.py):
# sellers see every warehouse (where their stock can be); floor staff the catalog.
READABLE_ACROSS = {"seller_a": {"warehouse_id"}, "picker1": {"sku_id", "seller_id"},
                   "driver1": {"sku_id", "seller_id"}}


def routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_its_roles(app):
    """Does every view of the URL map name the roles that may open it?"""
    undeclared = [f"{m} {r.rule} ({r.endpoint})" for r, m in routes(app)
                  if declared_roles(app.view_functions[r.endpoint]) is None]
    assert undeclared == []
    for rule, _method in routes(app):
        roles = declared_roles(app.view_functions[rule.endpoint])
        assert roles == PUBLIC or set(roles) <= set(ANY_ROLE), (rule.rule, roles)


def test_an_undeclared_view_is_closed(app):
    """Would a view added without a declaration answer anyone? (No: 403 for all.)"""
    from flask import Flask

    from server.auth.doors import enter
    probe = Flask(__name__)

    @probe.route("/forgotten")
    def forgotten():
        return "open"
    admin = type("U", (), {"role": "admin"})()
    assert enter(probe.view_functions["forgotten"], admin) == "undeclared"
    assert enter(probe.view_functions["forgotten"], None) == "undeclared"


def _ids(world, sides, caller, mine: bool) -> dict:
    """Values for each path parameter: the caller's own side, or the other one."""
    a, b = sides
    side = a if mine else b
    # A spare token (never the one the caller is using): revoking it is harmless.
    token_of = world.users[caller] if mine else (
        world.users["admin"] if caller != "admin" else world.users["seller_b"])
    return {
        "order_id": side.order.id, "line_id": side.order.lines[0].id, "sku_id": side.sku.id,
        "seller_id": side.seller.id, "warehouse_id": side.wh.id, "task_id": side.task.id,
        "inbound_id": side.inbound.id, "account_id": side.account.id,
        "letter_id": side.letter.id, "shipment_id": side.shipment_id,
        "token_id": world.spare_tokens[token_of.id],
        "task": side.pick_task.id, "screen": "receive", "filename": "icons/icon-192.png",
        "route_id": side.route.id, "stop_id": side.stop.id, "vehicle_id": side.vehicle.id,
        "route_day": authz_world.ROUTE_DAY.isoformat(),
        "booking_id": side.booking.id, "sha256": side.proof.sha256,
        "name": "orders",  # a report (the same for every caller: its rows are scoped)
    }


# Query arguments a route requires, per endpoint.
QUERY = {"floor.suggest": "?warehouse_id={warehouse_id}&sku_id={sku_id}",
         "delivery.list_routes": "?warehouse_id={warehouse_id}&date={route_day}",
         "service.search": "?q=Ann"}


def _url(rule, values) -> str:
    def fill(match):
        return str(values.get(match.group(2), 1))
    return PARAM.sub(fill, rule.rule) + QUERY.get(rule.endpoint, "").format(**values)


@pytest.fixture
def doors(client, world, db_session):
    from server.auth.services import create_token
    world.session = db_session
    world.spare_tokens = {user.id: create_token(db_session, user, "spare")[0].id
                          for user in world.users.values()}
    sides = authz_world.build(db_session, world)
    for side in sides:
        authz_world.pack(client, world, side)
    return sides


def _call(client, world, caller, method, url):
    headers = {} if caller == "anonymous" else dict(world.headers[caller])
    body = None if method == "GET" else {}
    return client.open(url, method=method, headers=headers, json=body)


def test_every_door_answers_each_role_as_declared(app, client, world, doors, db_session):
    """For every route and method, and every caller: does nobody get in without a
    log-in, does a role outside the declaration get 403 (or, on a page, sent home),
    and does a declared role get past the door? Nothing answers 5xx."""
    problems = []
    for rule, method in routes(app):
        roles = declared_roles(app.view_functions[rule.endpoint])
        if rule.endpoint == "auth.logout":
            continue  # it would end the token-less caller's session mid-test: see test_auth
        for caller in CALLERS:
            url = _url(rule, _ids(world, doors, caller if caller != "anonymous" else "admin",
                                  mine=True))
            response = _call(client, world, caller, method, url)
            page = not rule.rule.startswith("/api/")
            status = response.status_code
            where = f"{caller} {method} {url}: {status}"
            if status >= 500:
                problems.append(where + " (server error)")
            elif roles == PUBLIC:
                continue
            elif caller == "anonymous":
                expected = 302 if page else 401
                if status != expected or (page and "/login" not in response.location):
                    problems.append(where + f" (expected {expected})")
            elif ROLE[caller] not in roles:
                if page and not (status == 302 and "/login" not in response.location):
                    problems.append(where + " (expected a redirect home)")
                elif not page and status != 403:
                    problems.append(where + " (expected 403)")
            elif status in (401, 403) or (page and status == 302):
                problems.append(where + f" (declared {roles}: expected to get in)")
            elif method == "GET" and status != 200:
                problems.append(where + " (own row: expected 200)")
    assert problems == [], "\n".join(problems)


def test_nobody_reaches_the_other_sides_rows_by_id(app, client, world, doors, db_session):
    """With the other seller's (or warehouse's) ids in the path, does every door a
    caller may open answer 404 to a read, and refuse a write with nothing changed?"""
    problems = []
    for rule, method in routes(app):
        roles = declared_roles(app.view_functions[rule.endpoint])
        # A report's name is no row: what a report reads is scoped (test_reports.py
        # proves a seller's report and CSV hold only its own).
        params = {m.group(2) for m in PARAM.finditer(rule.rule)} - {"screen", "filename",
                                                                     "name"}
        if roles == PUBLIC or not params or rule.endpoint == "auth.logout":
            continue
        for caller in ("seller_a", "picker1", "driver1"):
            if ROLE[caller] not in roles or params <= READABLE_ACROSS.get(caller, set()):
                continue
            before = snapshot(db_session)
            url = _url(rule, _ids(world, doors, caller, mine=False))
            response = _call(client, world, caller, method, url)
            status = response.status_code
            where = f"{caller} {method} {url}: {status}"
            if not rule.rule.startswith("/api/"):
                # A page paints its shell; the data behind it is the API's, tried above.
                if status >= 500:
                    problems.append(where)
                continue
            if method == "GET" and status != 404:
                problems.append(where + " (expected 404)")
            elif method != "GET" and (status < 400 or status >= 500):
                problems.append(where + " (expected a refusal)")
            elif snapshot(db_session) != before:
                problems.append(where + " (something changed)")
    assert problems == [], "\n".join(problems)


def test_floor_staff_see_only_what_the_work_needs_of_the_customer(client, world, doors):
    """Does a picker read its own warehouse's order without the customer's street
    and phone, and not the other warehouse's order at all, while the seller sees
    the whole address?"""
    a, b = doors
    mine = client.get(f"/api/orders/{a.order.id}", headers=world.headers["picker1"])
    assert mine.status_code == 200
    ship_to = mine.get_json()["ship_to"]
    assert ship_to["name"] == "Ann Lee" and "phone" not in ship_to and "address1" not in ship_to
    assert client.get(f"/api/orders/{b.order.id}",
                      headers=world.headers["picker1"]).status_code == 404
    listed = client.get("/api/orders?limit=200", headers=world.headers["picker1"]).get_json()
    assert {o["id"] for o in listed["items"]} >= {a.order.id, a.packed.id}
    assert not {o["id"] for o in listed["items"]} & {b.order.id, b.packed.id}
    full = client.get(f"/api/orders/{a.order.id}", headers=world.headers["seller_a"])
    assert full.get_json()["ship_to"]["phone"] == "+1 213 555 0101"


def test_a_seller_reads_no_pick_list_and_only_exceptions_about_its_goods(client, world,
                                                                         doors):
    """Do a seller's task list, task detail and sync pull show only exceptions
    about its own goods: no pick list (they mix sellers), nothing of seller B?"""
    a, b = doors
    h = world.headers["seller_a"]
    tasks = client.get("/api/tasks?limit=200", headers=h).get_json()["items"]
    assert {t["id"] for t in tasks} == {a.task.id}
    assert client.get(f"/api/tasks/{a.pick_task.id}", headers=h).status_code == 404
    pulled = client.get("/api/sync/pull", headers=h).get_json()["changes"]
    assert {t["id"] for t in pulled["tasks"]} == {a.task.id}
    assert {o["seller_id"] for o in pulled["orders"]} == {world.seller_a.id}
    assert {r["seller_id"] for r in pulled["stock"]} == {world.seller_a.id}


def test_floor_staff_read_no_channel_data(client, world, doors):
    """Can a picker list channel accounts, mappings, held orders or dead letters
    (raw payloads carry customers' e-mails)? (No: 403 at the door.)"""
    a, _b = doors
    for url in ("/api/channels/accounts", f"/api/channels/accounts/{a.account.id}/mappings",
                "/api/channels/exceptions", "/api/channels/dead-letters"):
        for caller in ("picker1", "driver1"):
            assert client.get(url, headers=world.headers[caller]).status_code == 403, url
