"""Customer service's doors (admins, and sellers for their own orders):

- `GET /api/service/search?q=`: one box, across channels
- `GET /api/service/orders/<id>`: the order and its whole timeline
- `POST /api/service/orders/<id>/replies/preview`: the reply as the customer reads it
- `POST /api/service/orders/<id>/replies`: send it (recorded on the order)
"""
from flask_smorest import Blueprint

from ..api import roles_required
from ..auth.scoping import get_scoped, principal
from ..extensions import db
from ..i18n import render
from ..orders.models import Order
from . import content, services
from .schemas import CaseSchema, ReplyArgs, ReplySchema, SearchArgs, SearchSchema

blp = Blueprint("service", __name__, url_prefix="/api/service",
                description="Customer service: search, timeline, templated replies")


@blp.route("/search")
@roles_required("admin", "seller")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchSchema)
def search(args):
    """Orders by order number, channel order id or tracking number (exact) first,
    then by e-mail, phone (last ten digits) and name; the caller's own only."""
    return {"q": args["q"], "items": services.search(db.session, args["q"], principal(),
                                                     args["limit"])}


@blp.route("/orders/<int:order_id>")
@roles_required("admin", "seller")
@blp.response(200, CaseSchema)
def case(order_id):
    """An order's customer, and everything that happened to it, oldest first."""
    order = get_scoped(Order, order_id, what="order")
    from ..notifications.services import locale_for
    return {"order": {"id": order.id, "order_number": order.external_id,
                      "channel": order.channel, "status": order.status,
                      "customer": order.ship_to_name, "email": order.ship_to_email,
                      "phone": order.ship_to_phone, "customer_locale": locale_for(order),
                      "tracking_token": order.tracking_token},
            "timeline": services.timeline(db.session, order),
            "templates": [{"id": k, "name": render(v)} for k, v in content.NAMES.items()]}


@blp.route("/orders/<int:order_id>/replies/preview", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(ReplyArgs)
@blp.response(200, ReplySchema)
def preview(args, order_id):
    """The reply in the customer's language, with the tracking link and the ETA."""
    order = get_scoped(Order, order_id, what="order")
    return services.preview(db.session, order, args["template"], args["channel"],
                            args["note"])


@blp.route("/orders/<int:order_id>/replies", methods=["POST"])
@roles_required("admin", "seller")
@blp.arguments(ReplyArgs)
@blp.response(201, ReplySchema)
def send(args, order_id):
    """Send the reply (after the commit, with retry); refused with 409 when the
    customer opted out of the channel."""
    order = get_scoped(Order, order_id, what="order")
    result = services.send_reply(db.session, order, args["template"], args["channel"],
                                 args["note"], user_id=principal().id,
                                 client_ref=args["client_ref"])
    db.session.commit()
    return result


def init_app(app, api) -> None:
    api.register_blueprint(blp)
    from flask import Blueprint as FlaskBlueprint
    app.register_blueprint(FlaskBlueprint("customer_service_templates", __name__,
                                          template_folder="templates"))
