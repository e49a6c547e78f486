"""The notifications' doors.

- `GET /api/notifications` (admin: every one; a seller: its own orders'): the
  outbox, newest first, by status, kind, channel, order. In the embedded default
  (no SMTP_URL, no SMS provider) this is where the 'held' ones are read.
- `POST /api/notifications/opt-outs`: stop an order's notifications (admin, or
  the order's seller), or every notification to an address (admin).
- `GET /n/unsubscribe/<token>` and `POST` (public): the link in every e-mail.
  The token is signed (itsdangerous); anything else is the same 404 page. The
  GET shows one button (a link scanner that follows links changes nothing); the
  POST records the opt-out, from that button or from a mail client's RFC 8058
  one-click unsubscribe (which sends no CSRF token: the signed token is the
  check, as a webhook's signature is).
"""
import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import make_response, render_template, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..i18n import message
from ..api import PageArgs, keyset_page, page_schema, roles_required
from ..auth.doors import public, signed_webhook
from ..auth.scoping import get_scoped, principal, scoped
from ..errors import Forbidden, InvalidInput
from ..extensions import db
from . import services
from .models import CHANNELS, KINDS, STATUSES, Notification

blp = Blueprint("notifications", __name__, url_prefix="/api",
                description="Notifications to customers: the outbox and opt-outs")
pages = FlaskBlueprint("notification_pages", __name__, template_folder="templates")


class NotificationQueryArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    order_id = fields.Integer(load_default=None, strict=False)


class NotificationSchema(ma.Schema):
    id = fields.Integer()
    seller_id = fields.Integer()
    order_id = fields.Integer()
    shipment_id = fields.Integer()
    kind = fields.String()
    channel = fields.String()
    recipient = fields.String()
    locale = fields.String()
    subject = fields.String()
    body = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    provider_message_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class OptOutArgs(ma.Schema):
    order_id = fields.Integer(strict=True, load_default=None,
                              metadata={"description": "stop every notice about this order"})
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    address = fields.String(load_default=None, validate=validate.Length(1, 254), metadata={
        "description": "with channel (admins): stop every notice to this e-mail or phone"})


class OptOutSchema(ma.Schema):
    scope = fields.String()
    order_id = fields.Integer(allow_none=True)
    channel = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    new = fields.Boolean()


@blp.route("/notifications")
@roles_required("admin", "seller")
@blp.arguments(NotificationQueryArgs, location="query")
@blp.response(200, page_schema(NotificationSchema, "NotificationPage"))
def list_notifications(args):
    """The notifications the caller may see (a seller: about its own orders), newest
    first: what was sent, what failed and why, what is held or suppressed."""
    stmt = scoped(Notification)
    for name in ("status", "kind", "channel", "order_id"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Notification, name) == args[name])
    return keyset_page(stmt, Notification.id, args, descending=True)


@blp.route("/notifications/opt-outs", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(OptOutArgs)
@blp.response(201, OptOutSchema)
def create_opt_out(args):
    """Stop notifications: about one order (`order_id`), or, for an admin, to one
    address on a channel (`channel` and `address`). Asking twice changes nothing."""
    from ..orders.models import Order
    if args["order_id"] is not None:
        order = get_scoped(Order, args["order_id"], what="order")
        new = services.opt_out(db.session, scope="order", order_id=order.id, source="api")
        db.session.commit()
        return {"scope": "order", "order_id": order.id, "new": new}
    if args["channel"] is None or args["address"] is None:
        raise InvalidInput("order_id", message("name an order, or a channel and an address"))
    if principal().role != "admin":
        raise Forbidden(message("Only an admin stops every notice to an address"))
    address = services.normal_email(args["address"]) if args["channel"] == "email" else \
        services.normal_phone(args["address"])
    if address is None:
        raise InvalidInput("address", message("is not a valid %(channel)s address",
                                              channel=args['channel']))
    new = services.opt_out(db.session, scope="address", channel=args["channel"],
                           address=address, source="api")
    db.session.commit()
    return {"scope": "address", "channel": args["channel"], "address": address, "new": new}


# -- the unsubscribe link (public) ------------------------------------------------------

def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(f"notifications/{template}", **context), status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _token(token: str):
    from ..orders.models import Order
    data = services.read_opt_out_token(token)
    if data is None:
        return None, None
    return data, db.session.get(Order, data["o"])


@pages.route("/n/unsubscribe/<token>")
@public
def unsubscribe(token):
    """One button: stop these messages (to this address, or about this order only)."""
    data, order = _token(token)
    if data is None or order is None:
        return _page("unsubscribe.html", 404, state="invalid")
    return _page("unsubscribe.html", state="ask", address=data["a"], channel=data["c"],
                 order_number=order.external_id, token=token)


@pages.route("/n/unsubscribe/<token>", methods=["POST"])
@signed_webhook
def unsubscribe_confirm(token):
    """Record the opt-out: every message to the address (the default, and what a
    mail client's one-click POST asks), or `scope=order` for this order's only."""
    data, order = _token(token)
    if data is None or order is None:
        return _page("unsubscribe.html", 404, state="invalid")
    scope = "order" if request.form.get("scope") == "order" else "address"
    if scope == "order":
        services.opt_out(db.session, scope="order", order_id=order.id, source="link")
    else:
        services.opt_out(db.session, scope="address", channel=data["c"], address=data["a"],
                         source="link")
    db.session.commit()
    return _page("unsubscribe.html", state="done", scope=scope, address=data["a"],
                 channel=data["c"], order_number=order.external_id, token=token)


def init_app(app, api) -> None:
    api.register_blueprint(blp)
    app.register_blueprint(pages)
