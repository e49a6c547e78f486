"""Self-service booking of a large-item delivery: thin routes over services.py.
Roles: admin and seller. A seller books for its own account; an admin for a
walk-in customer names the account (`seller_id`, required)."""
import marshmallow as ma
from flask import request
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from ..api import roles_required
from ..auth.scoping import get_scoped, owning_seller_id, principal, scoped
from ..errors import InvalidInput
from ..extensions import db
from ..i18n import message, render
from . import services
from .models import Booking

blp = Blueprint("booking", __name__, url_prefix="/api",
                description="Self-service booking of a large-item delivery")


class BookingOptionSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    kind = fields.String(metadata={"description": "own_fleet, carrier"})
    code = fields.String()
    name = fields.String()
    price_cents = fields.Integer(allow_none=True)
    transit_days = fields.Integer(allow_none=True)
    delivery_date = fields.String(allow_none=True)
    possible = fields.Boolean()
    why = fields.String(allow_none=True, metadata={"description": "translated"})
    windows = fields.List(fields.Dict(), metadata={"description": "own fleet: free days"})


class BookingQuoteSchema(ma.Schema):
    item = fields.Dict()
    warehouse_id = fields.Integer()
    pickup_address = fields.Dict(allow_none=True)
    destination = fields.Dict()
    wanted_date = fields.String()
    needs_two = fields.Boolean()
    options = fields.List(fields.Nested(BookingOptionSchema))
    summary = fields.String(allow_none=True)


class BookingSchema(ma.Schema):
    id = fields.Integer()
    seller_id = fields.Integer()
    warehouse_id = fields.Integer()
    order_id = fields.Integer(allow_none=True)
    shipment_id = fields.Integer(allow_none=True)
    kind = fields.String()
    service_code = fields.String()
    price_cents = fields.Integer(allow_none=True)
    delivery_date = fields.String(allow_none=True)
    item = fields.Dict()
    pickup = fields.Dict(allow_none=True)
    destination = fields.Dict()
    tracking_number = fields.String(allow_none=True)
    tracking_url = fields.String(allow_none=True)
    order_url = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class BookingPageSchema(ma.Schema):
    items = fields.List(fields.Nested(BookingSchema))


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("body", message("must be a JSON object"))
    return body


def _rendered(quoted: dict) -> dict:
    for option in quoted["options"]:
        for key in ("name", "why"):
            if option.get(key) is not None and not isinstance(option[key], str):
                option[key] = render(option[key])
    if quoted.get("summary") is not None:
        quoted["summary"] = render(quoted["summary"])
    return quoted


@blp.route("/bookings/quote", methods=["POST"])
@roles_required("admin", "seller")
@blp.response(200, BookingQuoteSchema)
def quote_booking():
    """Every way to carry an item {item: {length_cm, width_cm, height_cm, weight_kg,
    pieces, description}, pickup: {warehouse_id, address?}, destination: {address
    with zip}, wanted_date?}: own fleet with its free days, each carrier service with
    price and transit days, each possible or not and why. Changes nothing."""
    body = _body()
    quoted = services.quote(db.session, body.get("item"), body.get("pickup"),
                            body.get("destination"), body.get("wanted_date"))
    db.session.rollback()
    return _rendered(quoted)


@blp.route("/bookings", methods=["POST"])
@roles_required("admin", "seller")
@blp.response(201, BookingSchema)
def create_booking():
    """Book one option (`option`: its code) of the quote for the same input: an
    order and a shipment; own fleet on `delivery_date` (one of its free days), a
    carrier with its label bought through the gateway. Admins name `seller_id`."""
    body = _body()
    seller_id = body.get("seller_id")
    if seller_id is not None and (not isinstance(seller_id, int) or isinstance(seller_id, bool)):
        raise InvalidInput("seller_id", message("must be a whole number"))
    owner = owning_seller_id(seller_id)
    booking = services.book(db.session, seller_id=owner, item=body.get("item"),
                            pickup=body.get("pickup"), destination=body.get("destination"),
                            option_code=body.get("option"),
                            wanted_date=body.get("wanted_date"),
                            delivery_date=body.get("delivery_date"),
                            user_id=principal().id)
    db.session.commit()
    return services.booking_view(db.session, booking)


@blp.route("/bookings")
@roles_required("admin", "seller")
@blp.response(200, BookingPageSchema)
def list_bookings():
    """The bookings the caller may see, newest first (a seller: its own)."""
    rows = db.session.scalars(scoped(Booking).order_by(Booking.id.desc()).limit(200)).all()
    return {"items": [services.booking_view(db.session, b) for b in rows]}


@blp.route("/bookings/<int:booking_id>")
@roles_required("admin", "seller")
@blp.response(200, BookingSchema)
def get_booking(booking_id):
    return services.booking_view(db.session, get_scoped(Booking, booking_id,
                                                        what="booking"))
