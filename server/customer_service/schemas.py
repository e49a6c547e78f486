"""The customer service doors' arguments and answers."""
import marshmallow as ma
from marshmallow import fields, validate

from .content import TEMPLATES


class SearchArgs(ma.Schema):
    q = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "description": "order number, channel order id, tracking number, e-mail, phone "
                       "or name"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 50))


class HitSchema(ma.Schema):
    id = fields.Integer()
    order_number = fields.String()
    channel = fields.String()
    status = fields.String()
    status_text = fields.String()
    customer = fields.String()
    email = fields.String()
    placed_at = fields.DateTime()
    seller_id = fields.Integer()
    matched = fields.String()
    tracking_numbers = fields.List(fields.String())


class SearchSchema(ma.Schema):
    q = fields.String()
    items = fields.List(fields.Nested(HitSchema))


class ItemSchema(ma.Schema):
    at = fields.DateTime(allow_none=True)
    source = fields.String()
    kind = fields.String()
    text = fields.String()
    status = fields.String(allow_none=True)
    status_text = fields.String(allow_none=True)


class CaseSchema(ma.Schema):
    order = fields.Dict()
    timeline = fields.List(fields.Nested(ItemSchema))
    templates = fields.List(fields.Dict())


class ReplyArgs(ma.Schema):
    template = fields.String(required=True, validate=validate.OneOf(TEMPLATES))
    channel = fields.String(required=True, validate=validate.OneOf(("email", "sms")))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    client_ref = fields.String(load_default=None, validate=validate.Length(min=8, max=64),
                               metadata={"description": "one press of Send: a retry with "
                                         "the same ref answers the reply already sent"})


class ReplySchema(ma.Schema):
    template = fields.String()
    channel = fields.String()
    recipient = fields.String()
    locale = fields.String()
    subject = fields.String()
    body = fields.String()
    body_html = fields.String(allow_none=True)
    opted_out = fields.Boolean()
    notification_id = fields.Integer()
    status = fields.String()
    already_sent = fields.Boolean(metadata={"description": "true: this client_ref was "
                                            "sent before; nothing new was sent"})
