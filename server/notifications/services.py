"""Deciding and queueing the customer's notifications (issue #11, item 4).

When a shipment's status changes (the floor's ship step, an order advanced by a
person, a tracker event: carriers/tracking.py), a flush watcher here sees it in
the transaction that makes the change, and in that same transaction writes one
Notification row per channel the customer can be reached on, and an outbox job
to send it (server/jobs: "a side effect is data until the transaction commits").
Nothing is sent inside the request; a change that rolls back notifies nobody.
The carriers, orders and warehouse packages know nothing of this one: the
dependency goes notifications -> carriers, orders.

- Who: the order's e-mail (orders.ship_to_email, as the channel gave it) and its
  phone in E.164 (a US number without a country code is +1). No address, no row.
- Language: the order's customer_locale (the shop's customer locale, the
  marketplace's language), else its ship-to country's, else English.
- Once: (shipment, kind, channel) is unique and the row is written with
  INSERT .. ON CONFLICT DO NOTHING, so a repeated trigger (a tracker event twice, a
  second out-for-delivery after a failed attempt) is no second message, and two
  workers racing never fail each other's transaction.
- Opted out (the address on that channel, or the order): the row is written
  'suppressed' and nothing is sent.
- No transport for the channel (the embedded default has no SMTP_URL and no SMS
  provider): the row is written 'held', visible at GET /api/notifications.
- Delayed: the clock finds shipments whose ETA (delivery_date) has passed without
  delivery (delayed_due) and notifies once.
"""
from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app, has_app_context
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event as sa_event
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, attributes

from .. import i18n
from ..carriers.models import Shipment
from ..jobs import later
from ..models_base import utcnow
from . import content
from .models import Notification, NotificationOptOut

log = logging.getLogger(__name__)

# The shipment statuses that tell the customer something, and what.
TRIGGERS = {"shipped": "shipped", "out_for_delivery": "out_for_delivery",
            "delivered": "delivered", "failed_attempt": "failed_attempt"}
MOVING = ("shipped", "in_transit", "out_for_delivery", "failed_attempt")
# The ETA day is over everywhere in the US (Hawaii is UTC-10) this long after it
# ends in UTC: only then is a parcel late.
ETA_DAY_END = timedelta(hours=10)
# A country's language, when the channel said nothing better.
COUNTRY_LOCALE = {"CN": "zh_Hans", "SG": "zh_Hans", "TW": "zh_Hant", "HK": "zh_Hant",
                  "MO": "zh_Hant", "MX": "es", "ES": "es", "AR": "es", "CO": "es", "CL": "es",
                  "PE": "es", "VE": "es", "EC": "es", "GT": "es", "CU": "es", "DO": "es",
                  "PR": "es", "UY": "es", "PY": "es", "BO": "es", "CR": "es", "PA": "es",
                  "SV": "es", "HN": "es", "NI": "es"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# -- who and in what language ---------------------------------------------------------

def normal_email(value: str | None) -> str | None:
    value = (value or "").strip()
    return value.lower() if _EMAIL.match(value) and len(value) <= 254 else None


def normal_phone(value: str | None, country: str = "US") -> str | None:
    """A phone number in E.164, or None when it cannot be one. US numbers (NANP)
    without a country code get +1; other countries' need their own +code."""
    raw = (value or "").strip()
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw.split("x")[0].split("ext")[0])
    if raw.startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if raw.startswith("00"):
        digits = digits[2:]
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if (country or "US") in ("US", "PR", "CA"):
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        return f"+1{digits}" if len(digits) == 10 and digits[0] not in "01" else None
    return None


def locale_for(order) -> str:
    found = i18n.match_locale(getattr(order, "customer_locale", None))
    if found:
        return found
    return COUNTRY_LOCALE.get((order.ship_to_country or "US").upper(), i18n.DEFAULT)


def recipients(order) -> list[tuple[str, str]]:
    """(channel, address) the order's customer can be reached on, as configured
    (NOTIFY_CHANNELS, default "email,sms")."""
    wanted = _config("NOTIFY_CHANNELS", "email,sms")
    wanted = {c.strip() for c in str(wanted).split(",") if c.strip()}
    out = []
    email = normal_email(getattr(order, "ship_to_email", None))
    if email and "email" in wanted:
        out.append(("email", email))
    phone = normal_phone(order.ship_to_phone, order.ship_to_country)
    if phone and "sms" in wanted:
        out.append(("sms", phone))
    return out


def _config(name: str, default=None):
    return current_app.config.get(name, default) if has_app_context() else default


# -- links ----------------------------------------------------------------------------

def public_base() -> str:
    return str(_config("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def tracking_link(order) -> str | None:
    """The order's public tracking page (server/tracking_page: /t/<tracking_token>)."""
    from ..tracking_page.services import tracking_path
    token = getattr(order, "tracking_token", None)
    return f"{public_base()}{tracking_path(token)}" if token else None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="notifications.opt-out")


def opt_out_token(channel: str, address: str, order_id: int) -> str:
    """The secret of an unsubscribe link: who (channel, address) and which order,
    signed with the app's key (itsdangerous, HMAC-SHA1 over the payload). No expiry:
    an old message's link still works."""
    return _serializer().dumps({"c": channel, "a": address, "o": order_id})


def read_opt_out_token(token: str) -> dict | None:
    """The token's content, or None when it is not one of ours (tampered, made up)."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") not in ("email", "sms") or \
            not isinstance(data.get("a"), str) or not isinstance(data.get("o"), int):
        return None
    return data


def unsubscribe_url(channel: str, address: str, order_id: int) -> str:
    return f"{public_base()}/n/unsubscribe/{opt_out_token(channel, address, order_id)}"


# -- opting out -----------------------------------------------------------------------

def _insert(session: Session, table, values: dict, conflict: list[str]):
    """INSERT .. ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict) \
        .returning(table.c.id)
    return session.connection().execute(stmt).scalar()


def opt_out(session: Session, *, scope: str, channel: str | None = None,
            address: str | None = None, order_id: int | None = None,
            source: str = "link") -> bool:
    """Record an opt-out (once: a second click changes nothing). Returns whether it
    is new. Queued notifications it covers are suppressed at once."""
    if scope == "address":
        if channel not in ("email", "sms") or not address:
            raise ValueError("an address opt-out needs a channel and an address")
        key = f"address:{channel}:{address}"
    elif scope == "order":
        if not order_id:
            raise ValueError("an order opt-out needs an order")
        key = f"order:{order_id}"
        channel = address = None
    else:
        raise ValueError(f"unknown scope {scope!r}")
    new = _insert(session, NotificationOptOut.__table__,
                  {"key": key, "scope": scope, "channel": channel, "address": address,
                   "order_id": order_id if scope == "order" else None, "source": source,
                   "created_at": utcnow()}, ["key"]) is not None
    pending = select(Notification).where(Notification.status.in_(("queued", "held")))
    pending = pending.where(Notification.channel == channel,
                            Notification.recipient == address) if scope == "address" else \
        pending.where(Notification.order_id == order_id)
    for notification in session.scalars(pending):
        notification.status = "suppressed"
        notification.last_error = "opted out"
    return new


def opted_out(session: Session, channel: str, address: str, order_id: int) -> bool:
    keys = [f"address:{channel}:{address}", f"order:{order_id}"]
    return session.scalar(select(exists().where(NotificationOptOut.key.in_(keys)))) or False


# -- deciding -------------------------------------------------------------------------

def _facts(session: Session, shipment: Shipment, order, kind: str) -> content.Facts:
    from ..auth.models import Seller
    seller = session.get(Seller, shipment.seller_id)
    carrier = shipment.service.carrier.name if shipment.service is not None and \
        shipment.service.carrier is not None else ""
    where = ""
    if kind in ("out_for_delivery", "failed_attempt", "delivered"):
        events = [e for e in shipment.events if e.status == shipment.status and e.location]
        where = events[-1].location if events else ""
    return content.Facts(kind=kind, order_number=order.external_id,
                         name=(order.ship_to_name or "").split(" ")[0],
                         seller=seller.name if seller is not None else "",
                         carrier=carrier, tracking_number=shipment.tracking_number or "",
                         eta=shipment.delivery_date, tracking_link=tracking_link(order),
                         where=where)


def notify(session: Session, shipment: Shipment, kind: str) -> list[int]:
    """Write the notifications of `kind` about `shipment` (one per channel the
    customer can be reached on) and queue their sending after the commit. In the
    caller's transaction; never commits. Returns the ids of the rows it wrote (none
    for a notification that exists already)."""
    from ..orders.models import Order
    from .senders import sender_for
    if shipment.order_id is None:
        return []
    order = session.get(Order, shipment.order_id)
    if order is None or order.fulfilled_by_channel:
        return []
    config = current_app.config
    locale = locale_for(order)
    written = []
    facts = None
    for channel, address in recipients(order):
        already = session.scalar(select(Notification.id).where(
            Notification.shipment_id == shipment.id, Notification.kind == kind,
            Notification.channel == channel))
        if already is not None:
            continue
        facts = facts or _facts(session, shipment, order, kind)
        if channel == "email":
            facts.unsubscribe_url = unsubscribe_url(channel, address, order.id)
            rendered = content.render_email(facts, locale)
        else:
            facts.unsubscribe_url = None
            rendered = content.render_sms(facts, locale)
        if opted_out(session, channel, address, order.id):
            status, note = "suppressed", "opted out"
        elif sender_for(channel, config) is None:
            status, note = "held", None
        else:
            status, note = "queued", None
        now = utcnow()
        new_id = _insert(session, Notification.__table__, {
            "seller_id": shipment.seller_id, "order_id": order.id, "shipment_id": shipment.id,
            "kind": kind, "channel": channel, "recipient": address, "locale": locale,
            "subject": rendered.subject[:300], "body": rendered.body,
            "body_html": rendered.body_html, "status": status, "attempts": 0,
            "last_error": note, "created_at": now, "updated_at": now},
            ["shipment_id", "kind", "channel"])
        if new_id is None:
            continue  # written meanwhile by another transaction
        written.append(new_id)
        if status == "queued":
            later(session, "server.notifications.jobs.send_notification", new_id)
    return written


# -- the trigger: a shipment's status changed ---------------------------------------

@sa_event.listens_for(Session, "before_flush")
def _watch(session, _flush_context, _instances):
    """Every writer of a shipment's status goes through the ORM (the ship step,
    orders' advance, tracking.record_tracker_update): its change is seen here, in
    its own transaction."""
    if not has_app_context():
        return
    changed = []
    for obj in list(session.dirty) + list(session.new):
        if not isinstance(obj, Shipment):
            continue
        kind = TRIGGERS.get(obj.status)
        if kind is None:
            continue
        if obj in session.new:
            changed.append((obj, kind))
            continue
        history = attributes.get_history(obj, "status")
        if history.added and history.added[-1] != (history.deleted[-1]
                                                   if history.deleted else None):
            changed.append((obj, kind))
    for shipment, kind in changed:
        try:
            notify(session, shipment, kind)
        except Exception:
            log.exception("notifications for shipment %s (%s) were not written",
                          shipment.id, kind)


# -- delayed --------------------------------------------------------------------------

def late_since(eta: date) -> datetime:
    """When a parcel due on `eta` becomes late: the ETA day is over in the US."""
    return datetime.combine(eta + timedelta(days=1), time(0), tzinfo=UTC) + ETA_DAY_END


def delayed_due(session: Session, now: datetime | None = None) -> list[int]:
    """Shipments still moving whose ETA has passed, not yet told they are late."""
    now = now or utcnow()
    latest_eta = (now - ETA_DAY_END).date() - timedelta(days=1)
    told = exists().where(Notification.shipment_id == Shipment.id,
                          Notification.kind == "delayed")
    return list(session.scalars(
        select(Shipment.id).where(Shipment.status.in_(MOVING),
                                  Shipment.delivery_date.is_not(None),
                                  Shipment.delivery_date <= latest_eta,
                                  Shipment.order_id.is_not(None), ~told)
        .order_by(Shipment.id).limit(500)))


def notify_delayed(session: Session, now: datetime | None = None) -> list[int]:
    """Write the 'delayed' notifications due now (in the caller's transaction)."""
    done = []
    for shipment_id in delayed_due(session, now):
        shipment = session.get(Shipment, shipment_id)
        notify(session, shipment, "delayed")
        done.append(shipment_id)
    return done
