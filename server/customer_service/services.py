"""Customer service's rules: the one search box, an order's whole timeline, and a
templated reply to the customer. Plain arguments and a session; never commits.

Search (`search(session, q, user)`): one statement over the orders the user may
see (auth.scoping), each match ranked: 0 the order number / channel order id or
tracking number exactly, 1 the e-mail (case-insensitive), 2 the phone (its last
ten digits), 3 the name (case-insensitive, contains); then newest first. A second
statement reads the shown orders' tracking numbers.
"""
from __future__ import annotations

import re

from sqlalchemy import case, false, func, literal, or_, select
from sqlalchemy.orm import Session

from ..auth.scoping import apply_scope
from ..carriers.models import Parcel, Shipment, ShipmentEvent
from ..errors import Conflict, InvalidInput, NotFound
from ..i18n import N_, message, render
from ..jobs import later
from ..models_base import utcnow
from ..notifications import services as notify
from ..notifications.models import Notification
from ..notifications.senders import sender_for
from ..orders.models import Order, OrderEvent, status_word
from ..orders.services import record
from . import content
from .models import EMAIL_KEY, PHONE_KEY

MIN_QUERY = 2
LIMIT = 20
RANKS = ("number", "email", "phone", "name")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(session: Session, q: str | None, user, limit: int = LIMIT) -> list[dict]:
    q = (q or "").strip()
    if len(q) < MIN_QUERY:
        raise InvalidInput("q", message(N_("must have at least %(n)s characters"),
                                        n=MIN_QUERY))
    numbers = {q, q.upper(), q.lstrip("#")}
    tracked = select(Shipment.order_id).where(or_(
        Shipment.tracking_number.in_(numbers),
        Shipment.id.in_(select(Parcel.shipment_id).where(Parcel.tracking_number.in_(numbers)))))
    exact = or_(Order.external_id.in_(numbers), Order.id.in_(tracked))
    email = EMAIL_KEY == q.lower() if "@" in q else false()
    digits = re.sub(r"\D", "", q)
    phone = PHONE_KEY == digits[-10:] if len(digits) >= 7 and \
        re.fullmatch(r"[\d\s()+.\-]+", q) else false()
    name = func.lower(Order.ship_to_name).like(_like(q.lower()), escape="\\") \
        if re.search(r"[^\W\d_]", q) else false()
    rank = case((exact, 0), (email, 1), (phone, 2), else_=3)
    stmt = select(Order.id, Order.external_id, Order.channel, Order.status,
                  Order.ship_to_name, Order.ship_to_email, Order.placed_at,
                  Order.seller_id, rank.label("rank")) \
        .where(or_(exact, email, phone, name)) \
        .order_by(rank, Order.placed_at.desc(), Order.id.desc()).limit(limit)
    rows = session.execute(apply_scope(stmt, Order, user)).all()
    tracking: dict[int, list[str]] = {}
    if rows:
        for order_id, number in session.execute(
                select(Shipment.order_id, Shipment.tracking_number)
                .where(Shipment.order_id.in_([r.id for r in rows]))
                .order_by(Shipment.id)):
            if number:
                tracking.setdefault(order_id, []).append(number)
    return [{"id": r.id, "order_number": r.external_id, "channel": r.channel,
             "status": r.status, "status_text": render(status_word(r.status)),
             "customer": r.ship_to_name, "email": r.ship_to_email,
             "placed_at": r.placed_at, "seller_id": r.seller_id,
             "matched": RANKS[r.rank], "tracking_numbers": tracking.get(r.id, [])}
            for r in rows]


# -- the timeline ---------------------------------------------------------------------

TRACKING_STATUS = {
    "labelled": N_("Label created"), "shipped": N_("Shipped"), "in_transit": N_("In transit"),
    "out_for_delivery": N_("Out for delivery"), "delivered": N_("Delivered"),
    "failed_attempt": N_("Delivery attempted"), "returned": N_("Returned to sender"),
    "cancelled": N_("Cancelled")}
CHANNEL_WORDS = {"email": N_("E-mail"), "sms": N_("SMS")}
NOTIFICATION_STATUS = {"queued": N_("queued"), "sent": N_("sent"), "failed": N_("failed"),
                       "suppressed": N_("suppressed (opted out)"),
                       "held": N_("held (no transport)")}


def timeline(session: Session, order: Order) -> list[dict]:
    """Order events, carrier tracking events, notifications and replies, oldest
    first, each rendered in the reader's language. Four statements."""
    items = []
    notes = {n.id: n for n in session.scalars(
        select(Notification).where(Notification.order_id == order.id))}
    for e in session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)):
        item = {"at": e.created_at, "source": "order", "kind": e.kind, "text": e.text,
                "status": None}
        if e.kind == "service_reply" and e.data:
            n = notes.get(e.data.get("notification_id"))
            if n is not None:
                item["status"] = n.status
                item["status_text"] = render(NOTIFICATION_STATUS[n.status])
        items.append(item)
    for ev, number in session.execute(
            select(ShipmentEvent, Shipment.tracking_number).join(
                Shipment, Shipment.id == ShipmentEvent.shipment_id)
            .where(Shipment.order_id == order.id)):
        words = render(message(TRACKING_STATUS[ev.status])) if ev.status in TRACKING_STATUS \
            else ev.status
        text = " · ".join(p for p in (words, ev.location, ev.message, number) if p)
        items.append({"at": ev.occurred_at, "source": "tracking", "kind": ev.status,
                      "text": text, "status": None})
    for n in notes.values():
        if n.kind == "reply":
            continue  # shown as its order event, with this status
        items.append({"at": n.created_at, "source": "notification", "kind": n.kind,
                      "text": render(message(N_("%(channel)s to %(recipient)s: %(subject)s"),
                                             channel=message(CHANNEL_WORDS[n.channel]),
                                             recipient=n.recipient, subject=n.subject)),
                      "status": n.status,
                      "status_text": render(NOTIFICATION_STATUS[n.status])})
    items.sort(key=lambda i: (i["at"] is None, i["at"]))
    return items


# -- replies --------------------------------------------------------------------------

def _address(order: Order, channel: str) -> str:
    if channel == "email":
        address = notify.normal_email(order.ship_to_email)
        problem = N_("the order has no valid e-mail address")
    else:
        address = notify.normal_phone(order.ship_to_phone, order.ship_to_country)
        problem = N_("the order has no valid phone number for SMS")
    if address is None:
        raise InvalidInput("channel", message(problem))
    return address


def _facts(session: Session, order: Order, template: str, note: str) -> content.Facts:
    from ..auth.models import Seller
    from ..inventory.models import Warehouse
    from ..tracking_page.services import load
    seller = session.get(Seller, order.seller_id)
    view = load(session, order.tracking_token) if order.tracking_token else None
    shipments = view.shipments if view else []
    moving = [s for s in shipments if s.status not in ("cancelled",)]
    first = moving[0] if moving else None
    return_address = ""
    if template == "return_instructions":
        wh_id = session.scalar(select(Shipment.warehouse_id).where(
            Shipment.order_id == order.id).order_by(Shipment.id).limit(1))
        wh = session.get(Warehouse, wh_id) if wh_id else None
        if wh is not None:
            return_address = "\n".join(p for p in (
                seller.name if seller else "", wh.address1, wh.address2,
                " ".join(p for p in (wh.city + ",", wh.state, wh.zip) if p)) if p)
    return content.Facts(
        template=template, order_number=order.external_id,
        name=(order.ship_to_name or "").split(" ")[0], seller=seller.name if seller else "",
        carrier=first.carrier_label if first else "",
        tracking_number=first.tracking_number or "" if first else "",
        eta=view.eta if view else None, shipped=first is not None,
        tracking_link=notify.tracking_link(order), return_address=return_address,
        note=(note or "").strip())


def preview(session: Session, order: Order, template: str, channel: str,
            note: str = "") -> dict:
    """The reply as the customer will read it, in the customer's language."""
    address = _address(order, channel)
    locale = notify.locale_for(order)
    rendered = content.render(_facts(session, order, template, note), channel, locale)
    return {"template": template, "channel": channel, "recipient": address,
            "locale": locale, "subject": rendered.subject, "body": rendered.body,
            "body_html": rendered.body_html,
            "opted_out": notify.opted_out(session, channel, address, order.id)}


def _sent_before(session: Session, order: Order, client_ref: str) -> dict | None:
    """The reply already recorded for this order under `client_ref`, as it was sent."""
    for data in session.scalars(select(OrderEvent.data).where(
            OrderEvent.order_id == order.id, OrderEvent.kind == "service_reply")):
        if (data or {}).get("client_ref") == client_ref:
            row = session.get(Notification, data["notification_id"])
            return {"template": data["template"], "channel": row.channel,
                    "recipient": row.recipient, "locale": row.locale,
                    "subject": row.subject, "body": row.body, "body_html": row.body_html,
                    "opted_out": False, "notification_id": row.id, "status": row.status,
                    "already_sent": True}
    return None


def send_reply(session: Session, order: Order, template: str, channel: str,
               note: str = "", user_id: int | None = None,
               client_ref: str | None = None) -> dict:
    """Write the reply (a notification of kind 'reply' and the order event "Reply
    sent: ...") and queue its sending after the commit, through the notifications'
    job (retry, opt-out checked again when it is sent). Refuses an opted-out
    customer with 409. `client_ref` (the screen's id for one press of Send) makes
    a retried request answer with the reply already sent instead of a second one:
    the order row is locked while it is looked for."""
    from flask import current_app
    if client_ref:
        session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
        earlier = _sent_before(session, order, client_ref)
        if earlier is not None:
            return earlier
    shown = preview(session, order, template, channel, note)
    if shown["opted_out"]:
        raise Conflict(message(N_("The customer opted out of %(channel)s messages"),
                               channel=message(CHANNEL_WORDS[channel])),
                       fields={"channel": [message("opted out")]})
    status = "queued" if sender_for(channel, current_app.config) is not None else "held"
    now = utcnow()
    row = Notification(seller_id=order.seller_id, order_id=order.id, shipment_id=None,
                       kind="reply", channel=channel, recipient=shown["recipient"],
                       locale=shown["locale"], subject=shown["subject"][:300],
                       body=shown["body"], body_html=shown["body_html"], status=status,
                       attempts=0, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    record(session, order, "service_reply",
           message(N_("Reply sent: %(template)s by %(channel)s to %(recipient)s"),
                   template=message(content.NAMES[template]),
                   channel=message(CHANNEL_WORDS[channel]), recipient=shown["recipient"]),
           data={"template": template, "channel": channel, "notification_id": row.id,
                 "locale": shown["locale"], "note": (note or "").strip() or None,
                 "client_ref": client_ref},
           user_id=user_id)
    if status == "queued":
        later(session, "server.notifications.jobs.send_notification", row.id)
    return {**shown, "notification_id": row.id, "status": status}
