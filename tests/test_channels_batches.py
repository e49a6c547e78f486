"""Channel orders ingested in batches: a poll's page or a burst of webhooks is one
transaction, and a bad order in it costs only itself."""
import copy
import json

import pytest

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.channels import services as channels
from server.channels.fake_marketplace import sample_orders
from server.channels.jobs import process_webhook
from server.channels.models import DeadLetter, WebhookReceipt
from server.extensions import db
from server.inventory.services import verify_ledger
from server.models_base import utcnow
from server.orders.models import Order, OrderEvent

from .channel_helpers import make_shop, reserved


def _shopify_orders(n: int, first: int = 1) -> list[dict]:
    return [sample_orders(first + i, ["MUG-BLUE"])["shopify"] for i in range(n)]


class _Commits:
    """Counts the transactions sessions commit while it is open (a savepoint
    released is not one: SQLAlchemy announces it with the savepoint still the
    session's nested transaction)."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        event.listen(Session, "after_commit", self._commit)
        return self

    def __exit__(self, *_exc):
        event.remove(Session, "after_commit", self._commit)

    def _commit(self, session):
        if session.get_nested_transaction() is None:
            self.count += 1


def test_a_page_of_orders_is_stored_in_one_transaction(db_session):
    """Twelve new orders of one account ingested together: are they twelve orders,
    each allocated with its unit reserved, written by a single commit?"""
    shop = make_shop(db_session, units=50)
    account = shop.accounts["shopify"]
    raws = _shopify_orders(12)
    with _Commits() as commits:
        results = channels.ingest_many(db_session, account.id, raws, source="poll")
    assert [r.action for r in results] == ["created"] * 12
    assert commits.count == 1
    statuses = db_session.scalars(select(Order.status).where(
        Order.account_key == account.account_key)).all()
    assert statuses == ["allocated"] * 12
    assert reserved(db_session, shop.skus["MUG"]) == 12
    assert verify_ledger(db_session) == []


def test_one_bad_order_in_a_batch_costs_only_itself(db_session):
    """Five orders, one of them unreadable and one for a SKU the seller deactivated:
    are the three good ones stored and allocated, and each bad one a dead letter of
    its own with its reason, with nothing of the failed batch left behind?"""
    shop = make_shop(db_session, units=50)
    account = shop.accounts["shopify"]
    raws = _shopify_orders(3)
    inactive = copy.deepcopy(raws[0])
    inactive["id"] += 1000
    inactive["line_items"][0]["sku"] = "TAPE-SHOP"
    channels.set_mapping(db_session, account, "TAPE-SHOP", [(shop.skus["TAPE"].id, 1)])
    shop.skus["TAPE"].active = False
    db_session.commit()
    batch = [raws[0], '{"id": 7, "line_items": "not a list"', raws[1], inactive, raws[2]]
    results = channels.ingest_many(db_session, account.id, batch, source="webhook")
    assert [r.action for r in results] == ["created", "dead_letter", "created",
                                           "dead_letter", "created"]
    letters = db_session.scalars(select(DeadLetter).where(
        DeadLetter.account_id == account.id).order_by(DeadLetter.id)).all()
    assert len(letters) == 2 and "inactive" in letters[1].reason
    assert db_session.scalar(select(func.count()).select_from(Order).where(
        Order.account_key == account.account_key)) == 3
    assert reserved(db_session, shop.skus["MUG"]) == 3
    assert verify_ledger(db_session) == []


def test_the_same_order_twice_in_one_batch_is_one_order_in_its_latest_state(db_session):
    """An order and, later in the same batch, its update with one of two units
    cancelled: is there one order, with one unit open and one reserved?"""
    shop = make_shop(db_session, units=50)
    account = shop.accounts["shopify"]
    (first,) = _shopify_orders(1)
    first["line_items"][0].update(quantity=2, current_quantity=2)
    first["updated_at"] = "2026-12-01T10:00:00Z"
    later = copy.deepcopy(first)
    later["line_items"][0]["current_quantity"] = 1
    later["updated_at"] = "2026-12-01T10:05:00Z"
    results = channels.ingest_many(db_session, account.id, [first, later], source="poll")
    assert [r.action for r in results] == ["created", "updated"]
    (order,) = db_session.scalars(select(Order).where(
        Order.account_key == account.account_key)).all()
    assert [(l.quantity, l.quantity_cancelled) for l in order.lines] == [(2, 1)]
    assert reserved(db_session, shop.skus["MUG"]) == 1
    assert verify_ledger(db_session) == []


def test_one_webhook_job_drains_the_accounts_waiting_receipts(db_session):
    """Thirty receipts waiting for the same account: does the job of the first one
    ingest all thirty, mark them processed, and leave the other jobs nothing to do
    (no order twice)?"""
    shop = make_shop(db_session, units=50)
    account = shop.accounts["shopify"]
    receipts = [WebhookReceipt(account_id=account.id, webhook_id=f"burst-{i}",
                               topic="orders/create", body=json.dumps(raw),
                               received_at=utcnow())
                for i, raw in enumerate(_shopify_orders(30))]
    db_session.add_all(receipts)
    db_session.commit()
    ids = [r.id for r in receipts]
    done = process_webhook(ids[0])
    assert done["batch"] == 30 and done["actions"] == {"created": 30}
    assert process_webhook(ids[7])["action"] == "already processed"
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(WebhookReceipt).where(
        WebhookReceipt.id.in_(ids), WebhookReceipt.processed_at.is_(None))) == 0
    assert db_session.scalar(select(func.count()).select_from(Order).where(
        Order.account_key == account.account_key)) == 30
    # Each order's history says once that it was created.
    created = db_session.scalars(select(func.count()).select_from(OrderEvent).where(
        OrderEvent.kind == "created", OrderEvent.order_id.in_(select(Order.id).where(
            Order.account_key == account.account_key)))).one()
    assert created == 30
    assert reserved(db_session, shop.skus["MUG"]) == 30


def test_stock_written_set_based_is_pushed_to_the_channels(db_session):
    """A receipt scanned through sync (a set-based batch) and an order allocated
    (on PostgreSQL one statement, no ORM objects): is the listing of each SKU
    marked for a push to its channel all the same?"""
    from server.allocation.services import allocate_order
    from server.channels.models import ChannelStockPush
    from server.jobs import run_deferred
    from server.orders.services import create_order
    from sync.engine import push_and_commit

    from .helpers import make_user
    shop = make_shop(db_session, units=50)
    amazon = shop.accounts["amazon"]
    db_session.commit()
    run_deferred()
    db_session.execute(ChannelStockPush.__table__.update().values(dirty=False))
    db_session.commit()

    def dirty() -> set[str]:
        db_session.expire_all()
        return set(db_session.scalars(select(ChannelStockPush.channel_sku).where(
            ChannelStockPush.account_id == amazon.id, ChannelStockPush.dirty.is_(True))))

    picker = make_user(db_session, "picker", warehouses=[shop.wh])
    push_and_commit(db_session, picker, "batch-push-1", [
        {"id": 1, "name": "receive.scan",
         "args": {"bin": shop.bins[0].code, "sku": shop.skus["WIDGET"].code, "qty": 3}}])
    run_deferred()
    assert dirty() == {"WIDGET-RED"}
    order = create_order(db_session, seller_id=shop.seller.id, external_id="set-based-1",
                         ship_to={"zip": "90001"},
                         lines=[{"sku_id": shop.skus["GADGET"].id, "quantity": 2,
                                 "unit_price_cents": 1250}])
    assert allocate_order(db_session, order.id).status == "allocated"
    db_session.commit()
    run_deferred()
    assert dirty() == {"WIDGET-RED", "GADGET-BLK"}


@pytest.mark.postgresql
def test_batches_over_the_same_skus_never_wait_on_each_other_in_a_cycle(pg_app):
    """Four threads ingest batches of orders for the same four SKUs, in crossing
    orders, at the same time, on PostgreSQL: does every batch
    go through as a batch (no deadlock broken by the database, no fallback to one
    order at a time), every order stored once, and the ledger intact?"""
    import threading

    from server.catalog.models import Sku
    from server.inventory import services as stock

    from .helpers import make_warehouse
    with pg_app.app_context():
        s = db.session
        shop = make_shop(s, units=200)
        _wh2, (bin2,) = make_warehouse(s, bins=("B-01-1",))
        account_id = shop.accounts["shopify"].id
        codes = []
        for name in ("WIDGET", "GADGET", "LED", "TAPE"):
            sku = shop.skus[name]
            stock.receive(s, sku_id=sku.id, bin_id=bin2.id, quantity=200)
            channels.set_mapping(s, shop.accounts["shopify"], f"{name}-SHOP",
                                 [(sku.id, 1)])
            codes.append(f"{name}-SHOP")
        s.commit()
        sku_ids = [s.scalar(select(Sku.id).where(Sku.code == shop.skus[n].code))
                   for n in ("WIDGET", "GADGET", "LED", "TAPE")]
        s.remove()

    def batch(worker: int) -> list[dict]:
        """Twelve one-line orders: SKU 1, 2, 3, 4, 1, ... for even workers and the
        reverse for odd ones, so that order after order their locks cross."""
        order_codes = codes if worker % 2 == 0 else codes[::-1]
        return [sample_orders(1000 * worker + n + 1, [order_codes[n % 4]])["shopify"]
                for n in range(12)]

    outcome, fallbacks = {}, []
    barrier = threading.Barrier(4)
    original = channels.ingest

    def counting_ingest(*args, **kwargs):  # the one-by-one fallback
        fallbacks.append(1)
        return original(*args, **kwargs)

    def run(worker: int):
        with pg_app.app_context():
            barrier.wait()
            try:
                outcome[worker] = channels.ingest_many(db.session, account_id,
                                                       batch(worker), source="poll")
            except Exception as error:  # noqa: BLE001  reported below
                outcome[worker] = error
            finally:
                db.session.remove()
    channels.ingest = counting_ingest
    try:
        threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        channels.ingest = original
    assert not any(t.is_alive() for t in threads)
    assert not [r for r in outcome.values() if isinstance(r, Exception)], outcome
    assert fallbacks == []  # every batch went through whole
    assert all([r.action for r in results] == ["created"] * 12 for results in
               outcome.values())
    with pg_app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(Order).where(
            Order.channel == "shopify")) == 48
        assert verify_ledger(s) == []
        from server.inventory.models import Stock
        reserved_units = s.scalar(select(func.sum(Stock.reserved)).where(
            Stock.sku_id.in_(sku_ids)))
        assert reserved_units == 48
