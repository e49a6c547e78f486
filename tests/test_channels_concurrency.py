"""The same channel order delivered by several workers at once, on PostgreSQL."""
import threading

import pytest
from sqlalchemy import func, select

from server.channels import services as channels
from server.extensions import db
from server.inventory.models import Stock
from server.orders.models import Order

from .channel_helpers import amazon_raws, make_shop


@pytest.mark.postgresql
def test_concurrent_deliveries_of_one_order_make_one_order(pg_app):
    """Eight workers ingest the same Amazon order at the same moment: is there one
    order, with its units reserved once?"""
    with pg_app.app_context():
        shop = make_shop(db.session)
        account_id, widget_id = shop.accounts["amazon"].id, shop.skus["WIDGET"].id
        db.session.remove()
    raw = amazon_raws()[0]
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        with pg_app.app_context():
            try:
                barrier.wait()
                results.append(channels.ingest(db.session, account_id, raw, source="race"))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.action for r in results).count("created") == 1
    assert {r.action for r in results} <= {"created", "unchanged", "updated"}
    assert len({r.order_id for r in results}) == 1
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order).where(
            Order.external_id == raw["order"]["AmazonOrderId"])) == 1
        assert db.session.scalar(select(func.sum(Stock.reserved)).where(
            Stock.sku_id == widget_id)) == 2
        db.session.remove()
