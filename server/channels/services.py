"""Channel rules: accounts and SKU mappings, resolving channel lines to SKUs
(bundles and multipacks included), the idempotent upsert of a channel order,
holding and releasing orders with unmapped SKUs, dead letters.

Like every service here these work in the caller's transaction and never commit,
except `ingest`, which is the unit of work of a job or an import: one order, one
transaction (a failure leaves a dead letter, never a lost payload)."""
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..allocation.services import allocate_order, lock_stock_for
from ..catalog.models import Sku
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..i18n import message
from ..models_base import utcnow
from ..orders import services as orders
from ..orders.models import Order, status_word
from ..orders.services import CANCELLABLE, record
from .adapters import adapter
from .models import ChannelAccount, ChannelSkuMapping, DeadLetter
from .normalise import CANCELLED, DELIVERED, PENDING, SHIPPED, NormalisedOrder, UnreadablePayload

log = logging.getLogger(__name__)
EDITABLE = ("held", "received", "backordered", "allocated", "exception")


@dataclass
class Result:
    order_id: int | None
    action: str          # created | updated | unchanged | stale | ignored
    external_id: str = ""
    detail: str = ""

    def to_dict(self) -> dict:
        return {"order_id": self.order_id, "action": self.action,
                "external_id": self.external_id, "detail": self.detail}


# -- accounts and mappings ----------------------------------------------------------

def create_account(session: Session, *, seller_id: int, channel: str, account_key: str,
                   name: str = "", credentials: dict | None = None, base_url: str = "",
                   buffer: int = 0, cap: int | None = None, active: bool = True
                   ) -> ChannelAccount:
    if channel not in ("amazon", "ebay", "shopify", "temu"):
        raise InvalidInput("channel", message("must be one of amazon, ebay, shopify, temu"))
    account_key = (account_key or "").strip()
    if not account_key:
        raise InvalidInput("account_key", message("is required"))
    if session.scalar(select(ChannelAccount.id).where(ChannelAccount.channel == channel,
                                                      ChannelAccount.account_key == account_key)):
        raise Conflict(message("A %(channel)s account %(account)s exists", channel=channel, account=account_key),
                       fields={"account_key": [message("already exists")]})
    account = ChannelAccount(seller_id=seller_id, channel=channel, account_key=account_key,
                             name=name or account_key, credentials=credentials or {},
                             base_url=(base_url or "").rstrip("/"), buffer=buffer, cap=cap,
                             active=active)
    session.add(account)
    session.flush()
    return account


def set_mapping(session: Session, account: ChannelAccount, channel_sku: str,
                components: list[tuple[int, int]]) -> list[ChannelSkuMapping]:
    """channel_sku -> [(sku_id, units per channel unit)], replacing any earlier one."""
    channel_sku = (channel_sku or "").strip()
    if not channel_sku:
        raise InvalidInput("channel_sku", message("is required"))
    if not components:
        raise InvalidInput("components", message("map to at least one SKU"))
    seen = set()
    for i, (sku_id, units) in enumerate(components):
        if sku_id in seen:
            raise InvalidInput(f"components.{i}.sku_id", message("is listed twice: give each SKU once, with all its units"))
        seen.add(sku_id)
        sku = session.get(Sku, sku_id)
        if sku is None or sku.seller_id != account.seller_id:
            raise NotFound(message("No SKU %(id)s", id=sku_id),
                           fields={f"components.{i}.sku_id": ["not found"]})
        if units <= 0:
            raise InvalidInput(f"components.{i}.quantity", message("must be greater than 0"))
    for old in [m for m in account.mappings if m.channel_sku == channel_sku]:
        account.mappings.remove(old)
    session.flush()
    rows = [ChannelSkuMapping(account_id=account.id, seller_id=account.seller_id,
                              channel_sku=channel_sku, sku_id=sku_id, quantity=units)
            for sku_id, units in components]
    account.mappings.extend(rows)
    session.flush()
    return rows


def components_for(session: Session, account: ChannelAccount) -> dict[str, list[tuple]]:
    found: dict[str, list[tuple]] = {}
    for m in session.scalars(select(ChannelSkuMapping).where(
            ChannelSkuMapping.account_id == account.id).order_by(ChannelSkuMapping.id)):
        found.setdefault(m.channel_sku, []).append((m.sku_id, m.quantity))
    return found


class Catalogue:
    """What resolving channel lines reads, read once for a batch of one account's
    orders: the account's mappings, the seller's active SKUs by the codes the
    orders name, and the list prices that share a bundle's price."""

    def __init__(self, session: Session, account: ChannelAccount, norms):
        self.mapped = components_for(session, account)
        codes = {l.channel_sku for n in norms for l in n.lines}
        self.codes = {s.code: s.id for s in session.scalars(select(Sku).where(
            Sku.seller_id == account.seller_id, Sku.code.in_(codes),
            Sku.active.is_(True)))} if codes else {}
        parts = {c for code in codes for c, _q in self.mapped.get(code, ())}
        self.prices = dict(session.execute(select(Sku.id, Sku.price_cents)
                                           .where(Sku.id.in_(parts))).all()) if parts else {}

    def sku_ids(self, norms) -> set[int]:
        """The SKUs these orders' lines resolve to (what allocating them may take)."""
        found = set()
        for norm in norms:
            for line in norm.lines:
                found.update(c for c, _q in self.mapped.get(line.channel_sku, ()))
                if line.channel_sku in self.codes:
                    found.add(self.codes[line.channel_sku])
        return found


def resolve_lines(session: Session, account: ChannelAccount, norm: NormalisedOrder,
                  catalogue: Catalogue | None = None) -> list[dict]:
    """Channel lines -> order lines. A mapped channel SKU becomes one line per
    component (quantity x units per channel unit, the unit price shared by the
    components' list prices); an unmapped one falls back to the seller's SKU of the
    same code; otherwise the line stays unresolved (sku_id None)."""
    catalogue = catalogue or Catalogue(session, account, [norm])
    lines = []
    for nl in norm.lines:
        base = {"external_line_id": nl.external_line_id, "channel_sku": nl.channel_sku,
                "title": nl.title}
        components = catalogue.mapped.get(nl.channel_sku) or (
            [(catalogue.codes[nl.channel_sku], 1)] if nl.channel_sku in catalogue.codes
            else None)
        if not components:
            lines.append({**base, "sku_id": None, "quantity": nl.quantity,
                          "quantity_cancelled": nl.quantity_cancelled,
                          "unit_price_cents": nl.unit_price_cents})
            continue
        weights = {c: max(catalogue.prices[c], 1) for c, _q in components
                   if c in catalogue.prices}
        whole = sum(weights.get(c, 1) * q for c, q in components)
        for sku_id, per in components:
            share = nl.unit_price_cents * weights.get(sku_id, 1) * per / whole
            lines.append({**base, "sku_id": sku_id, "quantity": nl.quantity * per,
                          "quantity_cancelled": nl.quantity_cancelled * per,
                          "unit_price_cents": round(share / per)})
    return lines


# -- the upsert ---------------------------------------------------------------------

def _find(session: Session, account: ChannelAccount, external_id: str) -> Order | None:
    return session.execute(
        select(Order).where(Order.channel == account.channel,
                            Order.account_key == account.account_key,
                            Order.external_id == external_id)
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def _ship_to(norm: NormalisedOrder) -> dict:
    return norm.ship_to or {"name": "", "address1": "", "address2": "", "city": "",
                            "state": "", "zip": "", "country": "US", "phone": "", "email": ""}


_LOOK = object()  # upsert_order: look the order up (no batch looked it up before)


def upsert_order(session: Session, account: ChannelAccount, norm: NormalisedOrder, *,
                 user_id: int | None = None, existing=_LOOK,
                 catalogue: Catalogue | None = None, alone: bool = True) -> Result:
    """Make Haicang's order match what the channel says, exactly once per (channel,
    account, external id), whatever the order and number of deliveries: an older
    update than the one applied is ignored; a replay changes nothing.

    A batch (ingest_many) passes the order it found (`existing`: the locked Order
    or None), its `catalogue`, and `alone=False`: then a concurrent insert of the
    same order is not caught here but fails the batch, which is then ingested one
    order at a time."""
    if norm.skip:
        return Result(None, "ignored", norm.external_id, norm.skip)
    order = _find(session, account, norm.external_id) if existing is _LOOK else existing
    if order is not None:
        return _update(session, account, order, norm, user_id)
    if norm.status == PENDING:
        return Result(None, "ignored", norm.external_id,
                      f"{norm.channel_status}: not ready to ship yet; imported once it is")
    lines = resolve_lines(session, account, norm, catalogue)
    if not lines:
        return Result(None, "ignored", norm.external_id, "no units to ship")
    if not alone:
        order = _create(session, account, norm, lines, user_id)
        _after_change(session, order, norm, user_id, created=True)
        return Result(order.id, "created", norm.external_id, order.status)
    savepoint = session.begin_nested()
    try:
        order = _create(session, account, norm, lines, user_id)
        savepoint.commit()
    except (IntegrityError, orders.DuplicateOrder):
        # Another worker created it between our look and our insert: update it.
        savepoint.rollback()
        order = _find(session, account, norm.external_id)
        if order is None:
            raise
        return _update(session, account, order, norm, user_id)
    _after_change(session, order, norm, user_id, created=True)
    return Result(order.id, "created", norm.external_id, order.status)


def _create(session: Session, account: ChannelAccount, norm: NormalisedOrder, lines,
            user_id) -> Order:
    return orders.create_channel_order(
        session, seller_id=account.seller_id, channel=account.channel,
        account_key=account.account_key, external_id=norm.external_id, lines=lines,
        ship_to=_ship_to(norm), placed_at=norm.placed_at, ship_by=norm.ship_by,
        promised_by=norm.promised_by, currency=norm.currency,
        fulfilled_by_channel=norm.fulfilled_by_channel, raw_payload=norm.raw,
        channel_status=norm.channel_status, channel_updated_at=norm.updated_at,
        customer_locale=norm.locale, user_id=user_id)


def _after_change(session: Session, order: Order, norm: NormalisedOrder, user_id, *,
                  created: bool = False) -> None:
    if order.fulfilled_by_channel:
        if norm.status == CANCELLED and order.status != "cancelled":
            orders.cancel_order(session, order, reason=message("cancelled on the channel"),
                                user_id=user_id)
        return
    if norm.status == CANCELLED:
        if order.status == "cancelled":
            return
        if order.status in CANCELLABLE:
            orders.cancel_order(session, order, reason=message("cancelled on the channel"),
                                user_id=user_id)
        else:
            record(session, order, "channel_cancel_too_late",
                   message("The channel cancelled the order, but it is already "
                           "%(status)s: intercept the parcel",
                           status=status_word(order.status)), user_id=user_id)
        return
    if created and norm.status in (SHIPPED, DELIVERED):
        orders.transition(session, order, "exception", message(
            "the channel says it is already %(status)s: not shipped by Haicang",
            status=norm.channel_status), user_id=user_id)
        return
    if norm.hold and order.status in ("received",):
        order.hold_because(norm.hold)
        orders.transition(session, order, "held", norm.hold, user_id=user_id)
        return
    if order.status == "held" and not norm.hold and not orders.hold_problems(order):
        orders.release_held(session, order, user_id=user_id)
    if order.status in ("received", "backordered") or (
            order.status == "allocated" and any(
                l.open_quantity > sum(a.quantity for a in order.allocations
                                      if a.order_line_id == l.id) for l in order.lines)):
        allocate_order(session, order.id, user_id=user_id)


def _previous(order: Order, channel: str) -> NormalisedOrder | None:
    try:
        return adapter(channel).parse(order.raw_payload) if order.raw_payload else None
    except (UnreadablePayload, KeyError, TypeError, ValueError):
        return None


def _update(session: Session, account: ChannelAccount, order: Order, norm: NormalisedOrder,
            user_id) -> Result:
    if order.channel_updated_at is not None and norm.updated_at is not None:
        if norm.updated_at < order.channel_updated_at:
            return Result(order.id, "stale", norm.external_id,
                          f"update of {norm.updated_at.isoformat()} is older than the one "
                          f"applied ({order.channel_updated_at.isoformat()})")
        if norm.updated_at == order.channel_updated_at and norm.raw == order.raw_payload:
            return Result(order.id, "unchanged", norm.external_id, "a replay")
    previous = _previous(order, account.channel)
    order.raw_payload = norm.raw
    order.channel_status = norm.channel_status[:32]
    order.channel_updated_at = norm.updated_at
    if norm.locale:
        order.customer_locale = norm.locale[:16]
    order.ship_by, order.promised_by = norm.ship_by or order.ship_by, \
        norm.promised_by or order.promised_by
    if norm.ship_to and order.status in EDITABLE:
        for key, value in norm.ship_to.items():
            setattr(order, f"ship_to_{key}", value or "")
    if norm.status != CANCELLED and order.status in EDITABLE + ("released",):
        _apply_lines(session, account, order, previous, norm, user_id)
    elif norm.status != CANCELLED and previous is not None and _lines_key(previous) != \
            _lines_key(norm):
        record(session, order, "channel_edit_too_late", message(
            "The channel changed the lines, but the order is already %(status)s",
            status=status_word(order.status)), user_id=user_id)
    _after_change(session, order, norm, user_id)
    record(session, order, "channel_update", f"{account.channel}: {norm.channel_status}",
           data={"updated_at": norm.updated_at.isoformat() if norm.updated_at else None},
           user_id=user_id)
    return Result(order.id, "updated", norm.external_id, order.status)


def _lines_key(norm: NormalisedOrder) -> dict:
    return {l.external_line_id: (l.channel_sku, l.quantity, l.quantity_cancelled)
            for l in norm.lines}


def _apply_lines(session: Session, account: ChannelAccount, order: Order,
                 previous: NormalisedOrder | None, norm: NormalisedOrder, user_id) -> None:
    """Fewer open units on the same lines: cancel exactly those (their stock is
    released). Anything else that changed (lines added, a SKU swapped, more units):
    an edit, the lines replaced and allocated afresh."""
    old = _lines_key(previous) if previous else None
    new = _lines_key(norm)
    if old == new:
        if order.status == "held":  # a mapping may have been added since
            _rebuild_if_resolvable(session, account, order, norm, user_id)
        return
    same_shape = old is not None and old.keys() == new.keys() and all(
        old[k][0] == new[k][0] and old[k][1] - old[k][2] >= new[k][1] - new[k][2]
        for k in new)
    if same_shape and order.status != "held":
        for line_id, (_sku, ordered, cancelled) in new.items():
            delta = (old[line_id][1] - old[line_id][2]) - (ordered - cancelled)
            if delta <= 0:
                continue
            channel_ordered = old[line_id][1]
            for line in [l for l in order.lines if l.external_line_id == line_id]:
                if order.status not in CANCELLABLE:
                    break
                per = max(1, line.quantity // max(channel_ordered, 1))
                units = min(delta * per, line.open_quantity)
                if units > 0:
                    orders.cancel_quantity(session, order, line, units,
                                           reason=message(
                                               "%(n)s x %(sku)s cancelled on the channel",
                                               n=units, sku=line.channel_sku),
                                           user_id=user_id)
        return
    if order.status == "released":
        record(session, order, "channel_edit_too_late", message(
            "The channel changed the lines after the order was released to the floor"),
            user_id=user_id)
        return
    orders.replace_lines(session, order, resolve_lines(session, account, norm),
                         user_id=user_id, text=message("lines changed on the channel"))


def _rebuild_if_resolvable(session, account, order, norm, user_id) -> None:
    lines = resolve_lines(session, account, norm)
    if any(l["sku_id"] for l in lines) and [l["sku_id"] for l in lines] != \
            [l.sku_id for l in order.lines]:
        orders.replace_lines(session, order, lines, user_id=user_id,
                             text=message("channel SKUs re-resolved"))


def release_order(session: Session, order: Order, *, ship_to: dict | None = None,
                  user_id: int | None = None) -> Order:
    """The seller fixed what held the order (added the mapping, corrected the
    address): resolve its lines again, release it, and allocate it. Refused, with
    what is still wrong, if a problem remains."""
    if order.status != "held":
        raise Conflict(message("Order %(id)s is %(status)s, not held", id=order.id,
                               status=status_word(order.status)),
                       fields={"status": [message("only a held order can be released")]})
    if ship_to:
        for key, value in ship_to.items():
            setattr(order, f"ship_to_{key}", value or "")
    account = session.scalar(select(ChannelAccount).where(
        ChannelAccount.channel == order.channel,
        ChannelAccount.account_key == order.account_key))
    if account is not None and any(l.sku_id is None for l in order.lines):
        norm = adapter(order.channel).parse(order.raw_payload)
        orders.replace_lines(session, order, resolve_lines(session, account, norm),
                             user_id=user_id, text=message("channel SKUs re-resolved"))
    if order.status == "held":
        orders.release_held(session, order, user_id=user_id)
    if order.status == "received":
        allocate_order(session, order.id, user_id=user_id)
    return order


# -- ingest: read, upsert, commit; or a dead letter ---------------------------------

def dead_letter(session: Session, account: ChannelAccount, payload, reason: str,
                source: str) -> DeadLetter:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    letter = DeadLetter(account_id=account.id, seller_id=account.seller_id, source=source[:64],
                        payload=text, reason=reason[:4000], created_at=utcnow())
    session.add(letter)
    session.flush()
    return letter


def ingest(session: Session, account_id: int, raw, *, source: str,
           user_id: int | None = None) -> Result:
    """Read one raw order and upsert it, in its own transaction. A payload that
    cannot be read, or an order the rules refuse, becomes a dead letter with the
    reason (committed), never an exception that loses it."""
    account = session.get(ChannelAccount, account_id)
    try:
        if isinstance(raw, (str, bytes)):
            raw = json.loads(raw)
        norm = adapter(account.channel).parse(raw)
        result = upsert_order(session, account, norm, user_id=user_id)
        session.commit()
        return result
    except (UnreadablePayload, DomainError, ValueError, KeyError, TypeError) as error:
        session.rollback()
        account = session.get(ChannelAccount, account_id)
        reason = getattr(error, "message", None) or f"{error.__class__.__name__}: {error}"
        letter = dead_letter(session, account, raw, reason, source)
        session.commit()
        log.warning("dead letter %s for account %s: %s", letter.id, account_id, reason)
        return Result(None, "dead_letter", "", f"dead letter {letter.id}: {reason}")


def ingest_many(session: Session, account_id: int, raws: list, *, source: str,
                user_id: int | None = None) -> list[Result]:
    """Many raw orders of one account (a poll's page, a burst of webhooks) in one
    transaction: parsed first, the orders they name found and locked in one
    statement, the account's mappings and SKUs read once, then each upserted and
    allocated as `ingest` would, and one commit (one outbox and change-log write)
    for all of them.

    The stock rows the batch may take are locked first, in key order
    (allocation.lock_stock_for): allocating order after order would otherwise take
    locks out of order, and two workers' batches could wait on each other.

    All or nothing, then one by one: if any of them cannot be read or is refused,
    or another worker created one of them meanwhile (or the database broke a lock
    cycle the up-front lock did not foresee, such as a cancellation's release),
    the batch is rolled back and each raw order goes through `ingest` alone, so
    that a bad one becomes its own dead letter and costs the others nothing but
    the second try."""
    if len(raws) <= 1:
        return [ingest(session, account_id, raw, source=source, user_id=user_id)
                for raw in raws]
    try:
        account = session.get(ChannelAccount, account_id)
        reader = adapter(account.channel)
        norms = [reader.parse(json.loads(raw) if isinstance(raw, (str, bytes)) else raw)
                 for raw in raws]
        ids = sorted({n.external_id for n in norms if not n.skip})
        found = {o.external_id: o for o in session.scalars(
            select(Order).where(Order.channel == account.channel,
                                Order.account_key == account.account_key,
                                Order.external_id.in_(ids))
            .order_by(Order.id).with_for_update()
            .execution_options(populate_existing=True))} if ids else {}
        catalogue = Catalogue(session, account, norms)
        lock_stock_for(session, catalogue.sku_ids(norms))
        results = []
        for norm in norms:
            result = upsert_order(session, account, norm, user_id=user_id,
                                  existing=found.get(norm.external_id),
                                  catalogue=catalogue, alone=False)
            if result.action == "created":  # the same order again later in the batch
                found[norm.external_id] = session.get(Order, result.order_id)
            results.append(result)
        session.commit()
        return results
    except (UnreadablePayload, DomainError, ValueError, KeyError, TypeError,
            IntegrityError, OperationalError) as error:
        session.rollback()
        if isinstance(error, OperationalError) and getattr(
                error.orig, "sqlstate", None) not in ("40P01", "40001"):
            raise  # not a deadlock or a serialization failure: the job's retry decides
        log.info("account %s: a batch of %d orders is ingested one by one (%s)",
                 account_id, len(raws), error.__class__.__name__)
        return [ingest(session, account_id, raw, source=source, user_id=user_id)
                for raw in raws]


def import_document(session: Session, account: ChannelAccount, document, *,
                    source: str = "import", user_id: int | None = None) -> list[Result]:
    """A file of the platform's response bodies: every order in it, each ingested
    (created, updated, or dead-lettered)."""
    account_id = account.id
    try:
        raws = adapter(account.channel).split(document)
    except (UnreadablePayload, AttributeError, TypeError) as error:
        letter = dead_letter(session, account, document, f"cannot split the file: {error}",
                             source)
        session.commit()
        return [Result(None, "dead_letter", "", f"dead letter {letter.id}: {error}")]
    return [ingest(session, account_id, raw, source=source, user_id=user_id) for raw in raws]


def replay_dead_letter(session: Session, letter: DeadLetter, *,
                       user_id: int | None = None) -> Result:
    """Try a dead letter again (its cause fixed). Success marks it replayed; a new
    failure keeps it, with the new reason."""
    if letter.replayed_at is not None:
        raise Conflict(message("Dead letter %(id)s was replayed already", id=letter.id),
                       fields={"dead_letter_id": [message("already replayed")]})
    letter_id, account_id, payload = letter.id, letter.account_id, letter.payload
    account = session.get(ChannelAccount, account_id)
    try:
        document = json.loads(payload)
        norm = adapter(account.channel).parse(document)
        result = upsert_order(session, account, norm, user_id=user_id)
    except (UnreadablePayload, DomainError, ValueError, KeyError, TypeError) as error:
        session.rollback()
        letter = session.get(DeadLetter, letter_id)
        letter.attempts += 1
        letter.reason = getattr(error, "message", None) or f"{error.__class__.__name__}: " \
                                                           f"{error}"
        session.commit()
        raise Conflict(message("Dead letter %(id)s still cannot be read: %(reason)s", id=letter_id, reason=letter.reason),
                       fields={"payload": [letter.reason]}, dead_letter_id=letter_id) from None
    letter = session.get(DeadLetter, letter_id)
    letter.replayed_at = utcnow()
    letter.result = result.to_dict()
    session.commit()
    return result
