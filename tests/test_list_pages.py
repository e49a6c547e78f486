"""List pages built by one statement each (issue #10, item 5): the same answers as
the schemas dump, in two statements per request (the token, the page), with the
same pagination, filters and scoping, and tokens refused the moment they end."""
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from server.auth.services import revoke_token
from server.carriers.demo import seed_carriers
from server.inventory.models import Stock, StockMovement
from server.inventory.schemas import MovementSchema, StockSchema
from server.orders.models import Order
from server.orders.schemas import OrderSummarySchema
from server.warehouse.api import TaskSchema
from server.warehouse.models import Task

from .helpers import make_sku, make_user, token_headers


def _order(client, w, external_id, qty=1, name="Ann Lee", **extra):
    body = {"external_id": external_id,
            "ship_to": {"name": name, "address1": "1 Main St", "city": "Los Angeles",
                        "state": "CA", "zip": "90001"},
            "lines": [{"sku_id": w.sku_a.id, "quantity": qty, "unit_price_cents": 2599}],
            **extra}
    response = client.post("/api/orders", headers=w.headers["seller_a"], json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _orders(client, w, db_session):
    seed_carriers(db_session)
    made = [_order(client, w, "LP-1", qty=2), _order(client, w, "LP-2", qty=12),
            _order(client, w, "LP-3", name="Zed Quarterfield"),
            _order(client, w, "LP-4", allocate=False)]
    # A partly cancelled line, so open quantities differ from quantities.
    cancelled = client.post(f"/api/orders/{made[1]['id']}/lines/"
                            f"{made[1]['lines'][0]['id']}/cancel",
                            headers=w.headers["seller_a"], json={"quantity": 1})
    assert cancelled.status_code == 200, cancelled.get_json()
    return made


def _exception_task(db_session, w, **extra):
    task = Task(warehouse_id=w.wh1.id, kind="exception", reason="short_pick",
                title="Short pick", data={"expected": 3, "found": 1},
                sku_id=w.sku_a.id, **extra)
    db_session.add(task)
    db_session.commit()
    return task


def _selects(statements):
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_the_order_list_answers_what_the_schema_dumps(client, world, db_session):
    """Is every listed order, for an admin, a seller and a picker, exactly what
    OrderSummarySchema makes of the ORM row (totals, units, warehouses included)?"""
    _orders(client, world, db_session)
    for who in ("admin", "seller_a", "picker1", "seller_b"):
        listed = client.get("/api/orders?limit=200", headers=world.headers[who])
        assert listed.status_code == 200
        items = listed.get_json()["items"]
        db_session.expire_all()
        rows = db_session.scalars(select(Order).where(Order.id.in_(
            [i["id"] for i in items])).order_by(Order.id.desc())).all()
        assert items == OrderSummarySchema(many=True).dump(rows), who
    mine = client.get("/api/orders", headers=world.headers["seller_a"]).get_json()["items"]
    assert len(mine) == 4 and {o["seller_id"] for o in mine} == {world.seller_a.id}
    assert any(o["warehouses"] for o in mine) and any(o["units"] == 11 for o in mine)
    assert client.get("/api/orders", headers=world.headers["seller_b"]).get_json()[
        "items"] == []


def test_tasks_stock_and_ledger_answer_what_their_schemas_dump(client, world, db_session):
    _exception_task(db_session, world)
    _exception_task(db_session, world, resolved_at=datetime.now(UTC), status="done")
    pages = (("/api/tasks?limit=200", Task, TaskSchema, False),
             ("/api/stock?limit=200", Stock, StockSchema, False),
             ("/api/ledger?limit=200", StockMovement, MovementSchema, True))
    for path, model, schema, newest_first in pages:
        for who in ("admin", "seller_a", "picker1"):
            items = client.get(path, headers=world.headers[who]).get_json()["items"]
            db_session.expire_all()
            key = model.id.desc() if newest_first else model.id
            rows = db_session.scalars(select(model).where(model.id.in_(
                [i["id"] for i in items])).order_by(key)).all()
            assert items and items == schema(many=True).dump(rows), (path, who)


def test_each_list_page_is_two_statements(client, world, db_session, sql_counter):
    """The token (with its user and warehouses) in one statement, the page in one:
    no per-row loads, whatever the page holds."""
    _orders(client, world, db_session)
    _exception_task(db_session, world)
    for path in ("/api/orders?limit=50", "/api/orders?limit=50&q=Lee",
                 "/api/orders?limit=50&warehouse_id=1&status=allocated",
                 "/api/tasks?limit=50", "/api/stock?limit=50&in_stock=true",
                 "/api/ledger?limit=50"):
        for who in ("admin", "seller_a", "picker1"):
            headers = world.headers[who]
            client.get(path, headers=headers)  # the token's once-a-minute touch
            sql_counter.clear()
            assert client.get(path, headers=headers).status_code == 200
            assert len(_selects(sql_counter)) == 2, (path, who, sql_counter)


def test_pages_filters_and_search_keep_their_meaning(client, world, db_session):
    made = _orders(client, world, db_session)
    h = world.headers["seller_a"]
    ids = [o["id"] for o in made]
    first = client.get("/api/orders?limit=3", headers=h).get_json()
    assert [o["id"] for o in first["items"]] == sorted(ids, reverse=True)[:3]
    rest = client.get(f"/api/orders?limit=3&after={first['next_cursor']}",
                      headers=h).get_json()
    assert [o["id"] for o in rest["items"]] == [min(ids)] and rest["next_cursor"] is None
    bad = client.get("/api/orders?after=bm90LWEtY3Vyc29y", headers=h)
    assert bad.status_code == 422 and "after" in bad.get_json()["fields"]

    def listed(query):
        response = client.get(f"/api/orders?{query}", headers=h)
        assert response.status_code == 200, response.get_json()
        return {o["external_id"] for o in response.get_json()["items"]}
    assert listed("q=LP-2") == {"LP-2"}  # an exact external id
    assert listed("q=quarter") == {"LP-3"}  # a part of the name, any case
    assert listed("q=LP-") == set()  # external ids match exactly, never in part
    assert listed("status=received") == {"LP-4"}
    now = [client.get(f"/api/orders/{i}", headers=h).get_json() for i in ids]
    in_wh2 = {o["external_id"] for o in now if any(
        a["warehouse_id"] == world.wh2.id for line in o["lines"] for a in line["allocated"])}
    assert in_wh2 and listed(f"warehouse_id={world.wh2.id}") == in_wh2
    placed = datetime.now(UTC) - timedelta(days=1)
    assert listed(f"placed_to={placed.isoformat().replace('+00:00', 'Z')}") == set()
    assert listed("channel=manual&q=Lee") == {"LP-1", "LP-2", "LP-4"}


def test_a_revoked_token_or_a_switched_off_user_is_refused_at_once(client, world,
                                                                   db_session):
    """No token cache outlives a revocation: the very next list request is 401."""
    h = world.headers["picker1"]
    assert client.get("/api/orders", headers=h).status_code == 200
    token_id = db_session.execute(text(
        "SELECT id FROM api_tokens WHERE user_id = :u ORDER BY id DESC"),
        {"u": world.users["picker1"].id}).scalar()
    revoke_token(db_session, world.users["admin"], token_id)
    db_session.commit()
    assert client.get("/api/orders", headers=h).status_code == 401
    seller = world.users["seller_a"]
    assert client.get("/api/tasks", headers=world.headers["seller_a"]).status_code == 200
    off = client.patch(f"/api/users/{seller.id}", headers=world.headers["admin"],
                       json={"active": False})
    assert off.status_code == 200, off.get_json()
    assert client.get("/api/tasks", headers=world.headers["seller_a"]).status_code == 401


def test_a_pickers_new_warehouses_scope_its_next_page(client, world, db_session):
    """The page's statement is reused per scope: a picker given another warehouse
    sees its tasks on the next request, and loses them when it is taken away."""
    picker = make_user(db_session, "picker", warehouses=[world.wh1])
    h = token_headers(db_session, picker)
    other = _exception_task(db_session, world)
    other.warehouse_id = world.wh2.id
    db_session.commit()
    assert other.id not in [t["id"] for t in client.get(
        "/api/tasks", headers=h).get_json()["items"]]
    picker.warehouses = [world.wh1, world.wh2]
    db_session.commit()
    assert other.id in [t["id"] for t in client.get(
        "/api/tasks", headers=h).get_json()["items"]]
    picker.warehouses = [world.wh1]
    db_session.commit()
    assert other.id not in [t["id"] for t in client.get(
        "/api/tasks", headers=h).get_json()["items"]]


def test_a_seller_sees_only_its_own_stock_and_ledger(client, world, db_session):
    make_sku(db_session, world.seller_b)
    for path in ("/api/stock?limit=200", "/api/ledger?limit=200"):
        items = client.get(path, headers=world.headers["seller_a"]).get_json()["items"]
        assert items and {i["seller_id"] for i in items} == {world.seller_a.id}
        wh = client.get(path, headers=world.headers["picker1"]).get_json()["items"]
        assert wh and {i["warehouse_id"] for i in wh} == {world.wh1.id}


def test_order_search_has_its_indexes(app, db_session):
    """`?q=` at 1M orders: a b-tree on external_id and, on PostgreSQL, a trigram
    GIN index on the ship-to name (migration 0009_list_speed)."""
    if db_session.get_bind().dialect.name == "postgresql":
        rows = dict(db_session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders'")).all())
        assert "gin_trgm_ops" in rows["ix_orders_ship_to_name_trgm"]
        assert "(external_id)" in rows["ix_orders_external_id"]
    else:
        rows = {r[1] for r in db_session.execute(text("PRAGMA index_list('orders')"))}
        assert {"ix_orders_ship_to_name_trgm", "ix_orders_external_id"} <= rows
