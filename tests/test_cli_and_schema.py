"""The CLI a new user types, the migrations, the OpenAPI document, background jobs,
and the Socket.IO rooms."""
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from server.auth.models import Seller, User
from server.demo import DEMO_PASSWORD
from server.catalog.models import Sku
from server.extensions import db, socketio
from server.inventory.models import Warehouse

from .conftest import REDIS_URL, make_app
from .helpers import login


@pytest.fixture
def cli_app(backend, tmp_path):
    """A database of the CLI's own: commands commit, as they do for a user."""
    from .conftest import recreate_pg_database
    url = (f"sqlite:///{tmp_path / 'cli.db'}" if backend == "sqlite"
           else recreate_pg_database("haicang_test_cli"))
    application = make_app(url)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_migrations_build_exactly_the_models(app):
    """Does `alembic upgrade head` produce the schema the models describe (nothing
    missing, nothing extra)?"""
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_seed_demo_makes_a_world_a_new_user_can_log_in_to(cli_app):
    """Does seed-demo create 2 sellers, 3 warehouses in 3 states with bins, about 50
    SKUs with stock, one user of each role, print the log-ins, and run twice safely?"""
    runner = cli_app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already present" in second.output
    with cli_app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(Seller)) == 2
        states = s.scalars(select(Warehouse.state)).all()
        assert len(states) == 3 and len(set(states)) == 3
        assert 45 <= s.scalar(select(func.count()).select_from(Sku)) <= 60
        roles = set(s.scalars(select(User.role)))
        assert roles == {"admin", "seller", "picker", "driver"}
        from server.inventory.services import verify_ledger
        assert verify_ledger(s) == []
        emails = s.scalars(select(User.email)).all()
    for email in emails:
        assert email in first.output
    client = cli_app.test_client()
    assert login(client, "picker@demo.haicang", DEMO_PASSWORD).status_code == 200


def test_users_and_tokens_from_the_cli(cli_app):
    """Can an operator create a seller user and a picker, and get a token printed
    alone that the API accepts?"""
    runner = cli_app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "ops@example.com", "--role", "admin",
                               "--password", "long enough pw"])
    assert made.exit_code == 0, made.output
    seller = runner.invoke(args=["users", "create", "li@example.com", "--role", "seller",
                                 "--seller", "Acme Trading", "--password", "long enough pw"])
    assert seller.exit_code == 0, seller.output
    missing = runner.invoke(args=["users", "create", "p@example.com", "--role", "picker",
                                  "--warehouse", "NOPE", "--password", "long enough pw"])
    assert missing.exit_code == 1 and "no warehouse NOPE" in missing.output
    short = runner.invoke(args=["users", "create", "q@example.com", "--role", "admin",
                                "--password", "short"])
    assert short.exit_code == 1 and "password" in short.output
    out = runner.invoke(args=["tokens", "create", "li@example.com"], catch_exceptions=False)
    assert out.exit_code == 0
    token = out.stdout.strip()
    assert re.fullmatch(r"hc_[A-Za-z0-9_-]{40,}", token), out.stdout
    response = cli_app.test_client().get("/api/auth/me",
                                         headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["seller_name"] == "Acme Trading"
    assert runner.invoke(args=["tokens", "create", "ghost@example.com"]).exit_code == 1
    assert runner.invoke(args=["inventory", "verify"]).exit_code == 0


def test_the_openapi_document_describes_the_api(client):
    """Is /api/openapi.json a usable OpenAPI 3 document with our paths, schemas and
    the error shape, and is the docs page served?"""
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/skus", "/api/skus/{sku_id}", "/api/stock", "/api/stock/receive",
                 "/api/stock/move", "/api/stock/adjust", "/api/stock/reserve",
                 "/api/stock/release", "/api/ledger", "/api/warehouses",
                 "/api/warehouses/{warehouse_id}/bins", "/api/auth/login", "/api/tokens"):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert {"Receive", "Sku", "Error"} <= set(schemas) or "ReceiveArgs" in schemas
    receive = spec["paths"]["/api/stock/receive"]["post"]
    assert "422" in receive["responses"]
    assert "bearer" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.data


def test_jobs_run_inline_without_redis(app, db_session):
    """With no REDIS_URL, does a job run at once in the caller (the embedded default)?"""
    from server.jobs import enqueue
    from server.jobs.ledger import check_ledger
    with app.app_context():
        assert enqueue(check_ledger) == []


def test_jobs_run_on_rq_with_redis(backend, tmp_path):
    """With REDIS_URL, does a job go onto the RQ queue and get run by a worker?"""
    import redis as redis_lib
    try:
        redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis_lib.exceptions.ConnectionError as error:
        pytest.fail(f"Redis is required at {REDIS_URL}: {error}", pytrace=False)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    # (Socket.IO stays in-process: its test client refuses a message queue.)
    app = make_app(url, REDIS_URL=REDIS_URL, RQ_INLINE=False, RQ_QUEUE="haicang-test",
                   SOCKETIO_MESSAGE_QUEUE=None)
    from server.jobs import enqueue, queue
    from server.jobs.ledger import check_ledger
    from server.worker import AppWorker
    with app.app_context():
        queue().empty()
        job = enqueue(check_ledger)
        assert job.get_status() == "queued"
        worker = AppWorker([queue()], connection=queue().connection)
        worker.app = app
        worker.work(burst=True)
        job.refresh()
        assert job.get_status() == "finished" and job.return_value() == []


def test_socketio_rooms_and_stock_events(app, client, world, db_session):
    """Does a logged-in seller's socket hear stock.changed for its own stock only,
    and is a socket without a log-in refused?"""
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()

    login(client, world.users["seller_a"].email)
    seller_a = socketio.test_client(app, flask_test_client=client)
    assert seller_a.is_connected()
    ready = [m for m in seller_a.get_received() if m["name"] == "session.ready"]
    assert f"seller:{world.seller_a.id}" in ready[0]["args"][0]["rooms"]

    other = app.test_client()
    login(other, world.users["seller_b"].email)
    seller_b = socketio.test_client(app, flask_test_client=other)
    seller_b.get_received()

    picker = socketio.test_client(app, auth={"token": world.headers["picker1"][
        "Authorization"].split()[1]})
    assert picker.is_connected()
    picker.get_received()

    response = client.application.test_client().post(
        "/api/stock/receive", headers=world.headers["admin"],
        json={"sku_id": world.sku_a.id, "bin_id": world.bins1[0].id, "quantity": 2})
    assert response.status_code == 200
    events = [m for m in seller_a.get_received() if m["name"] == "stock.changed"]
    assert [e["args"][0]["on_hand"] for e in events] == [12]
    assert [m for m in seller_b.get_received() if m["name"] == "stock.changed"] == []
    assert [m["name"] for m in picker.get_received()] == ["stock.changed"]


def test_no_event_for_a_change_that_rolled_back(app, client, world):
    """Is an event sent only after commit, never for refused input?"""
    login(client, world.users["seller_a"].email)
    watcher = socketio.test_client(app, flask_test_client=client)
    watcher.get_received()
    refused = client.application.test_client().post(
        "/api/stock/reserve", headers=world.headers["admin"],
        json={"reference": "x", "lines": [
            {"sku_id": world.sku_a.id, "warehouse_id": world.wh1.id, "quantity": 1},
            {"sku_id": world.sku_a.id, "warehouse_id": world.wh2.id, "quantity": 99}]})
    assert refused.status_code == 409
    assert watcher.get_received() == []


def test_the_demo_streams_marketplace_orders_in(cli_app):
    """Does `serve --demo`'s stream bring new Amazon, eBay, Shopify and Temu orders
    in from the fake marketplace, allocated like any other?"""
    import time

    from server.channels.demo import start_stream
    from server.orders.models import Order
    assert cli_app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    stream = start_stream(cli_app, "SZHOME", 0.2)
    try:
        deadline, arrived = time.time() + 60, []
        while time.time() < deadline and len({o.channel for o in arrived}) < 4:
            time.sleep(0.5)
            with cli_app.app_context():
                arrived = db.session.scalars(select(Order).where(
                    Order.account_key.like("demo-%"))).all()
                db.session.expunge_all()
                db.session.remove()
        assert {o.channel for o in arrived} == {"amazon", "ebay", "shopify", "temu"}
        assert {o.status for o in arrived} <= {"allocated", "backordered"}
    finally:
        stream.stop()  # joined: the thread must not outlive this test's database
