"""`flask --app server channels ...`: add accounts, import a platform payload file,
poll now, push stock now, start the polling schedule."""
import json
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db

channels = AppGroup("channels", help="Marketplace accounts, imports, polling, pushes.")


def _seller(name_or_code: str):
    from ..auth.models import Seller
    seller = db.session.scalar(select(Seller).where(
        (Seller.name == name_or_code) | (Seller.code == name_or_code)))
    if seller is None:
        click.echo(f"Error: no seller {name_or_code}", err=True)
        sys.exit(1)
    return seller


@channels.command("add")
@click.option("--channel", required=True, type=click.Choice(["amazon", "ebay", "shopify",
                                                              "temu"]))
@click.option("--seller", "seller_name", required=True)
@click.option("--key", "account_key", required=True,
              help="shop domain, marketplace id, seller id or mall id")
@click.option("--base-url", default="", help="the platform's API root (or a fake one)")
@click.option("--credentials", default="{}", help="JSON: tokens and secrets")
@click.option("--name", default="")
def add_command(channel, seller_name, account_key, base_url, credentials, name):
    """Add a channel account; prints its id."""
    from ..cli import ensure_schema
    from .services import create_account
    ensure_schema()
    seller = _seller(seller_name)
    try:
        account = create_account(db.session, seller_id=seller.id, channel=channel,
                                 account_key=account_key, name=name, base_url=base_url,
                                 credentials=json.loads(credentials))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(1)
    click.echo(account.id)


@channels.command("import")
@click.option("--channel", required=True, type=click.Choice(["amazon", "ebay", "shopify",
                                                              "temu"]))
@click.option("--seller", "seller_name", required=True, help="the seller's name or code")
@click.option("--account", "account_id", type=int, default=None,
              help="which of the seller's accounts on that channel (default: the only one)")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def import_command(channel, seller_name, account_id, file):
    """Import FILE (the platform's response bodies; for Amazon and Temu an object with
    each call's response under its endpoint or API name) and print the Haicang order
    ids created or updated."""
    from ..cli import ensure_schema
    from .models import ChannelAccount
    from .services import create_account, import_document
    ensure_schema()
    seller = _seller(seller_name)
    stmt = select(ChannelAccount).where(ChannelAccount.seller_id == seller.id,
                                        ChannelAccount.channel == channel)
    if account_id:
        stmt = stmt.where(ChannelAccount.id == account_id)
    accounts = db.session.scalars(stmt).all()
    if len(accounts) > 1:
        click.echo(f"Error: {seller.name} has {len(accounts)} {channel} accounts; pick one "
                   f"with --account ({', '.join(str(a.id) for a in accounts)})", err=True)
        sys.exit(1)
    if not accounts:
        if account_id:
            click.echo(f"Error: no {channel} account {account_id} of {seller.name}", err=True)
            sys.exit(1)
        account = create_account(db.session, seller_id=seller.id, channel=channel,
                                 account_key=f"{seller.code}-import", name="imports",
                                 active=False)
        db.session.commit()
        click.echo(f"Created {channel} account {account.id} ({account.account_key}) for "
                   "imports", err=True)
        accounts = [account]
    try:
        document = json.load(file)
    except ValueError as error:
        click.echo(f"Error: {file.name} is not JSON: {error}", err=True)
        sys.exit(1)
    results = import_document(db.session, accounts[0], document, source="cli-import")
    failed = 0
    for result in results:
        if result.order_id is not None:
            click.echo(f"{result.order_id}\t{result.action}\t{result.external_id}\t"
                       f"{result.detail}")
        else:
            failed += result.action == "dead_letter"
            click.echo(f"-\t{result.action}\t{result.external_id}\t{result.detail}", err=True)
    sys.exit(1 if failed and failed == len(results) else 0)


@channels.command("poll")
@click.option("--account", "account_id", type=int, default=None)
def poll_command(account_id):
    """Poll one account (or every active one) now, then push pending stock."""
    from ..cli import ensure_schema
    from .jobs import flush_stock_pushes, poll_account, poll_all
    ensure_schema()
    summaries = [poll_account(account_id)] if account_id else poll_all()
    for summary in summaries:
        orders = summary.get("orders", [])
        click.echo(f"account {summary['account_id']}: {len(orders)} orders"
                   + (f", error: {summary['error']}" if summary.get("error") else "")
                   + (f" ({summary['skipped']})" if summary.get("skipped") else ""))
        for o in orders:
            click.echo(f"  {o['order_id'] if o['order_id'] is not None else '-'}\t"
                       f"{o['action']}\t{o['external_id']}")
    pushed = flush_stock_pushes()
    click.echo(f"stock pushes: {pushed['pushed']} sent, {pushed['waiting']} waiting")
    sys.exit(1 if any(s.get("error") for s in summaries) else 0)


@channels.command("push")
def push_command():
    """Push pending stock quantities to the channels now."""
    from ..cli import ensure_schema
    from .jobs import flush_stock_pushes
    ensure_schema()
    click.echo(flush_stock_pushes())


@channels.command("schedule")
def schedule_command():
    """Show the polling schedule: the worker's clock polls every account whose last
    poll is older than CHANNEL_POLL_INTERVAL (no job to start, none to lose)."""
    from flask import current_app

    from ..cli import ensure_schema
    from .jobs import accounts_due_for_a_poll
    ensure_schema()
    interval = current_app.config.get("CHANNEL_POLL_INTERVAL", 300)
    due = accounts_due_for_a_poll(db.session)
    click.echo(f"Every account is polled every {interval} s by the clock of "
               "`python -m server.worker` (inline, of `flask serve`).")
    click.echo(f"Due now: {', '.join(map(str, due)) or 'none'}")
