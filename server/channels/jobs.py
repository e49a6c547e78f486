"""Channel jobs (RQ; inline without Redis).

Why jobs: a webhook must be answered within seconds whatever the database is
doing, so the request only stores the delivery and queues `process_webhook`;
polling talks to slow, rate-limited APIs and must never hold a web request; pushes
to the channels (stock, tracking) happen after the commit that caused them and are
retried without blocking the floor's scans. A webhook burst or a poll's page is
ingested as one transaction (channels.services.ingest_many), falling back to one
transaction per order when one of them is refused.

Nothing here schedules itself: the clock (server/jobs/clock.py) starts polls that
are due and flushes pushes that are due, from what the database says, so a job
killed half-way never stops the ones after it."""
import logging
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..catalog.models import KitComponent
from ..extensions import db
from ..inventory.services import on_stock_moved
from ..jobs import enqueue_after_commit, job, later
from ..models_base import utcnow
from .adapters import adapter
from .http import ChannelHTTPError, RateLimited
from .models import ChannelAccount, ChannelSkuMapping, ChannelStockPush, WebhookReceipt
from .services import components_for, dead_letter, ingest, ingest_many

log = logging.getLogger(__name__)
from .paging import POLL_OVERLAP  # noqa: F401  (kept importable here)


def _config(name: str, default):
    return current_app.config.get(name, default)


# -- webhooks -----------------------------------------------------------------------

WEBHOOK_BATCH = 100  # receipts of one account ingested in one transaction


@job(timeout=300, retries=5)
def process_webhook(receipt_id: int) -> dict:
    """Ingest the webhook `receipt_id`, together with the account's other receipts
    still waiting (up to WEBHOOK_BATCH, oldest first): in a flood, one job and one
    transaction carry a hundred orders (channels.services.ingest_many). The
    receipts are locked in id order, so two workers draining the same account
    wait for each other instead of ingesting a receipt twice; once the first
    commits, the second finds them processed. Every receipt has a job of its own,
    so none waits for long: a job whose receipt was taken by another still drains
    what is left."""
    receipt = db.session.get(WebhookReceipt, receipt_id)
    if receipt is None:
        return {"receipt_id": receipt_id, "action": "already processed"}
    account_id = receipt.account_id
    waiting = db.session.scalars(
        select(WebhookReceipt).where(WebhookReceipt.account_id == account_id,
                                     WebhookReceipt.processed_at.is_(None))
        .order_by(WebhookReceipt.id).limit(_config("WEBHOOK_BATCH", WEBHOOK_BATCH))
        .with_for_update().execution_options(populate_existing=True)).all()
    if not waiting:
        db.session.rollback()
        return {"receipt_id": receipt_id, "action": "already processed"}
    ids = [r.id for r in waiting]
    bodies = [r.body for r in waiting]
    topics = {r.topic for r in waiting}
    source = f"webhook:{topics.pop()}"[:64] if len(topics) == 1 else "webhook"
    # The receipts stay locked through the batch (ingest_many commits once); when
    # it falls back to one order at a time, each of those commits ends the lock,
    # and the receipts are marked below all the same, in a transaction of their own.
    results = ingest_many(db.session, account_id, bodies, source=source)
    db.session.execute(update(WebhookReceipt).where(WebhookReceipt.id.in_(ids),
                                                   WebhookReceipt.processed_at.is_(None))
                       .values(processed_at=utcnow()))
    db.session.commit()
    mine = next((r for i, r in zip(ids, results) if i == receipt_id), None)
    return {"receipt_id": receipt_id, "batch": len(ids),
            "actions": dict(Counter(r.action for r in results)),
            **({"result": mine.to_dict()} if mine else {})}


# -- polling ------------------------------------------------------------------------

@job(timeout=900, retries=5, intervals=(10, 30, 60, 120, 300))
def poll_account(account_id: int) -> dict:
    """Fetch every order updated since the account's cursor, page by page as the
    platform serves them, storing each page's orders before the cursor moves past
    them (channels/paging.py): a worker killed mid-poll resumes from the last page
    stored; a failure (a 429 past its retries, a 5xx) is tried again later from
    the same point, once the platform lets us (Retry-After, or a backoff)."""
    from .paging import poll
    summary = poll(db.session, account_id)
    if summary.get("error"):
        later(db.session, poll_account, account_id,
              delay=max(summary.get("retry_after") or 0, 30))
        db.session.commit()
    return summary


def poll_all() -> list[dict]:
    ids = db.session.scalars(select(ChannelAccount.id).where(ChannelAccount.active.is_(True))
                             .order_by(ChannelAccount.id)).all()
    return [poll_account(i) for i in ids]


def accounts_due_for_a_poll(session: Session, now=None) -> list[int]:
    """Active accounts whose last poll is older than CHANNEL_POLL_INTERVAL (or
    that were never polled): what the clock starts a poll for."""
    now = now or utcnow()
    interval = timedelta(seconds=_config("CHANNEL_POLL_INTERVAL", 300))
    return list(session.scalars(select(ChannelAccount.id).where(
        ChannelAccount.active.is_(True),
        or_(ChannelAccount.last_poll_at.is_(None),
            ChannelAccount.last_poll_at <= now - interval)).order_by(ChannelAccount.id)))


def stock_pushes_due(session: Session, now=None) -> bool:
    """Is a channel SKU waiting to be told its quantity, past its debounce window?"""
    now = now or utcnow()
    window = timedelta(seconds=_config("CHANNEL_PUSH_DEBOUNCE_SECONDS", 60))
    return session.scalar(select(ChannelStockPush.id).where(
        ChannelStockPush.dirty.is_(True),
        or_(ChannelStockPush.pushed_at.is_(None),
            ChannelStockPush.pushed_at <= now - window)).limit(1)) is not None


# -- stock push-back ----------------------------------------------------------------

def _accounts_and_skus_for(session: Session, sku_ids: list[int]) -> list[tuple[int, str, int]]:
    kits = select(KitComponent.kit_sku_id).where(KitComponent.component_sku_id.in_(sku_ids))
    return session.execute(
        select(ChannelSkuMapping.account_id, ChannelSkuMapping.channel_sku,
               ChannelSkuMapping.seller_id)
        .join(ChannelAccount, ChannelAccount.id == ChannelSkuMapping.account_id)
        .where(ChannelAccount.active.is_(True),
               or_(ChannelSkuMapping.sku_id.in_(sku_ids), ChannelSkuMapping.sku_id.in_(kits)))
        .distinct()).all()


@job(timeout=120, retries=5)
def stock_changed(sku_ids: list[int]) -> int:
    """Mark the channel SKUs that sell these SKUs as needing a push. A SKU already
    marked stays marked: a burst of changes is one pending push. Returns how many
    rows became pending; the clock flushes them once their window has passed."""
    now = utcnow()
    newly = 0
    for account_id, channel_sku, seller_id in _accounts_and_skus_for(db.session, sku_ids):
        row = db.session.scalar(select(ChannelStockPush).where(
            ChannelStockPush.account_id == account_id,
            ChannelStockPush.channel_sku == channel_sku).with_for_update())
        if row is None:
            row = ChannelStockPush(account_id=account_id, seller_id=seller_id,
                                   channel_sku=channel_sku, dirty=False)
            db.session.add(row)
        if not row.dirty:
            row.dirty, row.changed_at = True, now
            newly += 1
    db.session.commit()
    return newly


def sellable(session: Session, account: ChannelAccount, channel_sku: str,
             mapping: dict | None = None) -> int:
    """What the channel may sell: available units (unpromised, in sellable bins:
    never the dock or a damaged bin) over the seller's allowed
    warehouses (all active ones if none is set), as whole channel units (a bundle
    needs every component; a kit component per kit), minus the account's buffer,
    capped, never below zero."""
    from sqlalchemy import func

    from ..auth.models import Seller
    from ..inventory.models import Stock, Warehouse, in_sellable_bin
    components = (mapping or components_for(session, account)).get(channel_sku) or []
    if not components:
        return 0
    seller = session.get(Seller, account.seller_id)
    allowed = {w.id for w in seller.allowed_warehouses} or set(session.scalars(
        select(Warehouse.id).where(Warehouse.active.is_(True))))

    def free(sku_id: int) -> dict[int, int]:
        rows = session.execute(select(Stock.warehouse_id, func.sum(Stock.on_hand - Stock.reserved))
                               .where(Stock.sku_id == sku_id, Stock.warehouse_id.in_(allowed),
                                      in_sellable_bin())
                               .group_by(Stock.warehouse_id)).all()
        return {w: max(0, int(n)) for w, n in rows}

    def units(sku_id: int) -> int:
        parts = session.execute(select(KitComponent.component_sku_id, KitComponent.quantity)
                                .where(KitComponent.kit_sku_id == sku_id)).all()
        if not parts:
            return sum(free(sku_id).values())
        per_part = {c: (free(c), q) for c, q in parts}  # a kit ships from one warehouse
        return sum(min(f.get(w, 0) // q for f, q in per_part.values()) for w in allowed)

    whole = min(units(sku_id) // per for sku_id, per in components)
    whole -= account.buffer or 0
    if account.cap is not None:
        whole = min(whole, account.cap)
    return max(0, whole)


@job(timeout=300, retries=3)
def flush_stock_pushes(now=None) -> dict:
    """Push every pending channel SKU whose last push is older than the debounce
    window: at most one call per channel SKU per window, with the quantity of now."""
    now = now or utcnow()
    window = timedelta(seconds=_config("CHANNEL_PUSH_DEBOUNCE_SECONDS", 60))
    rows = db.session.scalars(select(ChannelStockPush).where(ChannelStockPush.dirty.is_(True))
                              .order_by(ChannelStockPush.account_id, ChannelStockPush.id)).all()
    due: dict[int, list[ChannelStockPush]] = {}
    waiting = 0
    for row in rows:
        if row.pushed_at is not None and row.pushed_at > now - window:
            waiting += 1
            continue
        due.setdefault(row.account_id, []).append(row)
    pushed = 0
    for account_id, account_rows in due.items():
        account = db.session.get(ChannelAccount, account_id)
        mapping = components_for(db.session, account)
        quantities = {r.channel_sku: sellable(db.session, account, r.channel_sku, mapping)
                      for r in account_rows}
        try:
            adapter(account.channel).push_quantities(account, quantities)
        except ChannelHTTPError as error:
            for r in account_rows:
                r.last_error = str(error)[:2000]
            continue
        for r in account_rows:
            r.dirty, r.pushed_at, r.quantity, r.last_error = False, now, quantities[
                r.channel_sku], None
            pushed += 1
    db.session.commit()
    return {"pushed": pushed, "waiting": waiting}


# -- tracking push ------------------------------------------------------------------

@job(timeout=300, retries=5)
def push_tracking(order_ids: list[int]) -> list[dict]:
    """Tell each order's channel its carrier and tracking numbers."""
    from ..orders.models import Order
    done = []
    for order_id in order_ids:
        order = db.session.get(Order, order_id)
        if order is None or order.channel not in ("amazon", "ebay", "shopify", "temu"):
            continue
        account = db.session.scalar(select(ChannelAccount).where(
            ChannelAccount.channel == order.channel,
            ChannelAccount.account_key == order.account_key))
        shipments = [s for s in order.shipments if s.tracking_number]
        if account is None or not shipments or order.fulfilled_by_channel:
            continue
        try:
            sent = adapter(order.channel).push_tracking(account, order, shipments)
        except (ChannelHTTPError, KeyError) as error:
            from ..orders.services import record
            record(db.session, order, "tracking_push_failed", str(error)[:500])
            if isinstance(error, RateLimited):
                later(db.session, push_tracking, [order_id],
                      delay=max(error.retry_after or 0, 30))
            db.session.commit()
            continue
        from ..i18n import message
        from ..orders.services import record
        record(db.session, order, "tracking_pushed",
               message("tracking sent to %(channel)s: %(numbers)s", channel=order.channel,
                       numbers=", ".join(s.tracking_number for s in shipments)),
               data={"sent": sent})
        db.session.commit()
        done.append({"order_id": order_id, "sent": len(sent)})
    return done


# -- what triggers the pushes (no change to the inventory or orders packages) -------

@on_stock_moved
def _stock_moved(session, sku_ids) -> None:
    """Ledger rows written set-based (allocation, a sync batch): as _watch below."""
    enqueue_after_commit(session, "server.channels.jobs.stock_changed", *sku_ids)


@sa_event.listens_for(Session, "before_flush")
def _watch(session, _flush_context, _instances):
    from ..inventory.models import StockMovement
    from ..orders.models import OrderEvent
    for obj in session.new:
        if isinstance(obj, StockMovement) and (obj.delta_on_hand or obj.delta_reserved):
            enqueue_after_commit(session, "server.channels.jobs.stock_changed", obj.sku_id)
        elif isinstance(obj, OrderEvent) and obj.to_status == "shipped":
            enqueue_after_commit(session, "server.channels.jobs.push_tracking", obj.order_id)


def receive_webhook(account: ChannelAccount, webhook_id: str, topic: str, body: str):
    """Store a verified delivery once. Returns the receipt, or None for a
    duplicate (the platform retried a delivery we already have)."""
    from sqlalchemy.exc import IntegrityError
    savepoint = db.session.begin_nested()
    try:
        receipt = WebhookReceipt(account_id=account.id, webhook_id=webhook_id[:128],
                                 topic=topic[:64], body=body, received_at=utcnow())
        db.session.add(receipt)
        db.session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        return None
    return receipt


__all__ = ["dead_letter", "flush_stock_pushes", "poll_account", "process_webhook",
           "push_tracking", "stock_changed"]
