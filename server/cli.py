"""`flask --app server ...` commands: users, tokens, demo data, serving, the ledger."""
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from .errors import DomainError
from .extensions import db


def ensure_schema() -> None:
    """Apply every Alembic migration (the schema is migrated on start)."""
    from flask_migrate import upgrade
    upgrade(directory=current_app.extensions["migrate"].directory)


def _fail(error: DomainError):
    db.session.rollback()
    click.echo(f"Error: {error.message}", err=True)
    sys.exit(1)


users = AppGroup("users", help="Create and list users.")
tokens = AppGroup("tokens", help="Bearer tokens for devices and integrations.")
inventory = AppGroup("inventory", help="Check or rebuild stock from the ledger.")


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "seller", "picker",
                                                          "driver"]))
@click.option("--seller", "seller_name", help="the seller's name or code (seller role); "
              "created if it does not exist")
@click.option("--warehouse", "warehouse_codes", multiple=True,
              help="warehouse code; repeat for several (picker, driver)")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
@click.option("--locale", default="en", type=click.Choice(["en", "zh-CN", "es"]))
def create_user_command(email, role, seller_name, warehouse_codes, password, name, locale):
    """Create a user with a role."""
    from .auth.models import Seller
    from .auth.services import create_seller, create_user
    from .inventory.models import Warehouse
    ensure_schema()
    try:
        seller = None
        if seller_name:
            seller = db.session.scalar(select(Seller).where(
                (Seller.name == seller_name) | (Seller.code == seller_name)))
            if seller is None:
                seller = create_seller(db.session, name=seller_name)
                click.echo(f"Created seller {seller.name} ({seller.code})", err=True)
        warehouses = []
        for code in warehouse_codes:
            warehouse = db.session.scalar(select(Warehouse).where(
                Warehouse.code == code.upper()))
            if warehouse is None:
                known = ", ".join(db.session.scalars(select(Warehouse.code))) or "none yet"
                click.echo(f"Error: no warehouse {code} (known: {known})", err=True)
                sys.exit(1)
            warehouses.append(warehouse)
        user = create_user(db.session, email=email, password=password, role=role,
                           seller=seller, warehouses=warehouses, name=name, locale=locale)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.role} {user.email} (id {user.id})")


@users.command("list")
def list_users_command():
    from .auth.models import User
    ensure_schema()
    for user in db.session.scalars(select(User).order_by(User.id)):
        where = ",".join(w.code for w in user.warehouses)
        click.echo(f"{user.id}\t{user.role}\t{user.email}\t"
                   f"{user.seller.name if user.seller else ''}\t{where}")


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", help="what the token is for")
def create_token_command(email, name):
    """Create a bearer token for EMAIL and print the token alone."""
    from .auth.models import User
    from .auth.services import create_token, normalise_email
    ensure_schema()
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        click.echo(f"Error: no user {email}", err=True)
        sys.exit(1)
    _row, token = create_token(db.session, user, name)
    db.session.commit()
    click.echo(token)


@inventory.command("verify")
def verify_command():
    """Exit 1 if any stock row differs from the sum of its ledger rows."""
    from .inventory.services import verify_ledger
    ensure_schema()
    problems = verify_ledger(db.session)
    for problem in problems:
        click.echo(problem)
    click.echo(f"{len(problems)} stock rows differ from the ledger")
    # Not a ledger error (they balance), but worth a supervisor's look: units
    # promised from the dock or a damaged bin, before only sellable bins sold.
    from .inventory.services import promised_outside_sellable_bins
    for row in promised_outside_sellable_bins(db.session):
        click.echo(f"note: {row['reserved']} reserved in {row['bin_kind']} bin "
                   f"{row['bin_code']} (stock row {row['stock_id']}): release or pick them")
    sys.exit(1 if problems else 0)


@inventory.command("rebuild")
def rebuild_command():
    """Rewrite stock rows from the ledger."""
    from .inventory.services import rebuild_stock_from_ledger
    ensure_schema()
    changed = rebuild_stock_from_ledger(db.session)
    db.session.commit()
    click.echo(f"{changed} stock rows rewritten from the ledger")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load demo data (idempotent) and print the demo log-ins."""
    from . import demo
    ensure_schema()
    created = demo.seed()
    click.echo("Demo data created." if created else "Demo data already present.")
    click.echo("Log in with:")
    for role, email, password in demo.logins():
        click.echo(f"  {role:<7} {email:<24} {password}")


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--demo/--no-demo", default=False, help="load demo data first")
@click.option("--stream-every", default=30.0, show_default=True,
              help="with --demo: a new marketplace order every N seconds (0: none)")
def serve_command(host, port, demo, stream_every):
    """Migrate, then serve HTTP and Socket.IO (threading mode, one process)."""
    from . import demo as demo_module
    from .extensions import socketio
    ensure_schema()
    if demo:
        demo_module.seed()
    url = f"http://{host}:{port}/"
    click.echo(f"Haicang is running at {url}")
    click.echo(f"API docs: {url}api/docs")
    if demo:
        click.echo("Demo log-ins:")
        for role, email, password in demo_module.logins():
            click.echo(f"  {role:<7} {email:<24} {password}")
        # Give back this command's connection first: on SQLite an open transaction
        # here would hold the lock that the stream and every request wait for.
        db.session.remove()
        if stream_every > 0:
            from .channels.demo import start_stream
            fake_url = start_stream(current_app._get_current_object(),
                                    demo_module.SELLERS[0][1], stream_every).url
            click.echo(f"Orders stream in from a fake marketplace at {fake_url} "
                       f"every {stream_every:g} s (Amazon, eBay, Shopify, Temu)")
    sys.stdout.flush()
    # Give back this command's connection: on SQLite an open read here would hold
    # the lock that every request then waits for.
    db.session.remove()
    if current_app.config["RQ_INLINE"]:
        # No worker without Redis: this process runs the clock (polls, stock
        # flushes, backorder sweeps, the outbox's delayed messages).
        from .jobs.clock import Clock
        Clock(current_app._get_current_object()).start()
    # Flask refuses app.run() under its CLI; this command is meant to serve.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio.run(current_app._get_current_object(), host=host, port=port,
                 allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)


def register(app):
    for command in (users, tokens, inventory, seed_demo_command, serve_command):
        app.cli.add_command(command)
