"""Test fixtures, after PyPI's Warehouse: one database per backend, migrated to head
once per session; each test runs in a transaction that is rolled back.

Backends: SQLite always, PostgreSQL as well (HAICANG_TEST_BACKENDS, default
"sqlite,postgresql"). Tests that take an `app`, `db_session` or `client` run once
per backend. PostgreSQL and Redis are required: when they do not answer, the tests
that need them fail; they never skip. To run without them, say so explicitly with
HAICANG_TEST_BACKENDS=sqlite and `-m "not postgresql"` (`make test-sqlite`).
"""
import tempfile
import os

import psycopg
from flask import g, request_started
import pytest
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker

from argon2 import PasswordHasher

from server import create_app
from server.auth.services import use_password_hasher
from server.extensions import db, limiter

from .helpers import make_seller, make_sku, make_user, make_warehouse, token_headers

BACKENDS = [b.strip() for b in os.environ.get("HAICANG_TEST_BACKENDS",
                                               "sqlite,postgresql").split(",") if b.strip()]
# Real argon2id, at a cost that lets a test make many users (production keeps the
# library's default cost).
use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

PG_ADMIN_URL = os.environ.get("HAICANG_TEST_PG_ADMIN_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HAICANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


# Each test run gets databases of its own, so two runs on one machine (a developer
# and CI, say) never drop each other's.
RUN_SUFFIX = f"_{os.getpid()}"
_created: set[str] = set()


def recreate_pg_database(dbname: str) -> str:
    """Drop and create this run's PostgreSQL database `dbname`; fail loudly if
    PostgreSQL is down."""
    dbname += RUN_SUFFIX
    _created.add(dbname)
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} and did not answer: {error}. "
                    "Start it (make services) or run `make test-sqlite`.", pytrace=False)
    return pg_url(dbname)


def make_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "RQ_INLINE": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SECRET_KEY": "test-secret",
        # Proof-of-delivery photos go to a private folder, never the checkout's instance/.
        "PROOF_STORAGE_DIR": tempfile.mkdtemp(prefix="haicang-proofs-"),
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        from server.cli import ensure_schema
        ensure_schema()
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'haicang_test.db'}"
    else:
        url = recreate_pg_database("haicang_test")
    application = make_app(url)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """A session inside a transaction that is rolled back after the test. Service
    code that commits only releases a SAVEPOINT, so nothing a test does is kept."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain SQLAlchemy session: Flask-SQLAlchemy's own would pick the engine,
        # not this connection, and escape the transaction.
        session = scoped_session(sessionmaker(bind=connection,
                                              join_transaction_mode="create_savepoint"))
        db.session = session
        limiter.reset()
        try:
            yield session
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


def _fresh_g(sender, **_extra):
    # The test keeps one app context open (for db_session), and Flask reuses an open
    # context for each request, so `g` would carry the last request's user and CSRF
    # token into the next. In production every request gets a new context; so here.
    g.__dict__.clear()


@pytest.fixture
def client(app, db_session):
    request_started.connect(_fresh_g, app)
    yield app.test_client()
    request_started.disconnect(_fresh_g, app)


@pytest.fixture
def world(db_session):
    """Two sellers, two warehouses with bins, SKUs with stock, and a user of each
    role: what most API tests start from."""
    from server.inventory import services as stock
    s = db_session
    seller_a, seller_b = make_seller(s), make_seller(s)
    wh1, bins1 = make_warehouse(s)
    wh2, bins2 = make_warehouse(s, zip_="08837", state="NJ", tz="America/New_York",
                                lat=40.52, lon=-74.35)
    sku_a = make_sku(s, seller_a, barcodes=["0001112223334"])
    sku_b = make_sku(s, seller_b)
    for sku in (sku_a, sku_b):
        stock.receive(s, sku_id=sku.id, bin_id=bins1[0].id, quantity=10, reason="test")
        stock.receive(s, sku_id=sku.id, bin_id=bins2[0].id, quantity=4, reason="test")
    users = {
        "admin": make_user(s, "admin"),
        "seller_a": make_user(s, "seller", seller=seller_a),
        "seller_b": make_user(s, "seller", seller=seller_b),
        "picker1": make_user(s, "picker", warehouses=[wh1]),
        "driver1": make_user(s, "driver", warehouses=[wh1]),
    }
    s.commit()
    headers = {name: token_headers(s, user) for name, user in users.items()}

    class World:
        pass
    w = World()
    w.__dict__.update(seller_a=seller_a, seller_b=seller_b, wh1=wh1, wh2=wh2, bins1=bins1,
                      bins2=bins2, sku_a=sku_a, sku_b=sku_b, users=users, headers=headers)
    return w


@pytest.fixture
def sql_counter(app):
    """Counts statements, to keep an eye on N+1 queries."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        yield statements
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def committed_app(backend, tmp_path):
    """An app on a database of its own whose writes really commit: for tests where
    threads or processes race, each with its own connection."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        url = recreate_pg_database("haicang_test_race")
    application = make_app(url)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def pg_app(tmp_path):
    """A committed PostgreSQL app, for the concurrency proofs that the design asks
    for on PostgreSQL specifically."""
    application = make_app(recreate_pg_database("haicang_test_race"))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


# -- in CI, a skipped test is a failed run ------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def _drop_run_databases():
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            for dbname in _created:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass


def pytest_sessionfinish(session, exitstatus):
    _drop_run_databases()
    if os.environ.get("CI") and _skipped:
        print(f"\nCI: {len(_skipped)} tests skipped; in CI nothing may skip:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1
