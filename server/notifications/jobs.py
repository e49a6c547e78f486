"""Sending, after the commit that decided it (RQ; inline without Redis).

`send_notification(id)` is queued through the outbox by services.notify. Each try
is counted on the row: a transport that fails for now (SMTP down, a 4xx, a
timeout) leaves it 'queued' with the error and raises, so the job runner tries
again after its policy's interval (RQ's Retry, or inline the outbox relay on the
clock); the last try that fails makes it 'failed' with the error, and a
permanent refusal (the address does not exist) makes it 'failed' at once. Nothing
is lost: the row stays until it is sent or given up, and a person sees why.

A message is sent at least once: a worker killed between the SMTP server's "250
OK" and its commit sends it again when the job is tried again (the SMTP protocol
has no way to ask whether a message was taken).
"""
import logging

from flask import current_app

from ..extensions import db
from ..jobs import job, policy_for
from ..models_base import utcnow
from .models import Notification
from .senders import OptedOutAtProvider, Outgoing, SendError, sender_for

log = logging.getLogger(__name__)
SEND_PATH = "server.notifications.jobs.send_notification"


class TryAgain(Exception):
    """The transport failed for now; the runner tries the job again."""


def max_attempts() -> int:
    return policy_for(SEND_PATH).retries + 1


@job(timeout=120, retries=5, intervals=(30, 120, 600, 1800, 3600))
def send_notification(notification_id: int) -> str:
    """Send one notification; returns its status."""
    from . import services
    query = db.select(Notification).where(Notification.id == notification_id)
    notification = db.session.scalars(query.with_for_update()).first()
    if notification is None or notification.status != "queued":
        db.session.rollback()
        return notification.status if notification is not None else "gone"
    if services.opted_out(db.session, notification.channel, notification.recipient,
                          notification.order_id):
        notification.status, notification.last_error = "suppressed", "opted out"
        db.session.commit()
        return notification.status
    sender = sender_for(notification.channel, current_app.config)
    if sender is None:  # the transport was taken away since: keep it for a person
        notification.status = "held"
        db.session.commit()
        return notification.status
    from ..auth.models import Seller
    seller = db.session.get(Seller, notification.seller_id)
    outgoing = Outgoing(channel=notification.channel, recipient=notification.recipient,
                        subject=notification.subject, body=notification.body,
                        body_html=notification.body_html, locale=notification.locale,
                        sender_name=seller.name if seller is not None else "",
                        unsubscribe_url=services.unsubscribe_url(
                            notification.channel, notification.recipient,
                            notification.order_id) if notification.channel == "email"
                        else None)
    notification.attempts += 1
    try:
        provider_id = sender.send(outgoing)
    except SendError as error:
        notification.last_error = str(error)[:2000]
        if isinstance(error, OptedOutAtProvider):
            notification.status = "suppressed"
            services.opt_out(db.session, scope="address", channel=notification.channel,
                             address=notification.recipient, source="provider")
        elif error.permanent or notification.attempts >= max_attempts():
            notification.status = "failed"
        db.session.commit()
        if notification.status == "queued":
            log.warning("notification %s not sent (try %s of %s): %s", notification_id,
                        notification.attempts, max_attempts(), error)
            raise TryAgain(str(error)) from error
        log.error("notification %s %s: %s", notification_id, notification.status, error)
        return notification.status
    notification.status = "sent"
    notification.sent_at = utcnow()
    notification.provider_message_id = str(provider_id)[:200]
    notification.last_error = None
    db.session.commit()
    return notification.status


@job(timeout=300, retries=2)
def notify_delayed(now: str | None = None) -> list[int]:
    """The clock's sweep: shipments whose ETA has passed without delivery are told
    so, once (services.delayed_due)."""
    from datetime import datetime

    from . import services
    moment = datetime.fromisoformat(now) if now else None
    done = services.notify_delayed(db.session, moment)
    db.session.commit()
    return done
