"""Channel API schemas. Credentials are load_only: written, never read back."""
import marshmallow as ma
from marshmallow import fields, validate

from ..api import PageArgs
from ..orders.schemas import held_because

Int = fields.Integer


class AccountSchema(ma.Schema):
    id = Int(dump_only=True)
    seller_id = Int()
    channel = fields.String(required=True,
                            validate=validate.OneOf(("amazon", "ebay", "shopify", "temu")))
    name = fields.String(load_default="", validate=validate.Length(max=100))
    account_key = fields.String(required=True, validate=validate.Length(1, 64),
                                metadata={"description": "shop domain (Shopify), marketplace "
                                          "id (Amazon), seller id (eBay), mall id (Temu)"})
    credentials = fields.Dict(load_only=True, load_default=dict,
                              metadata={"description": "tokens and secrets; never returned"})
    has_credentials = fields.Function(lambda a: bool(a.credentials), dump_only=True)
    base_url = fields.String(load_default="", validate=validate.Length(max=300))
    buffer = Int(load_default=0, validate=validate.Range(min=0))
    cap = Int(load_default=None, allow_none=True, validate=validate.Range(min=0))
    active = fields.Boolean(load_default=True)
    last_updated_after = fields.DateTime(dump_only=True, allow_none=True)
    last_poll_at = fields.DateTime(dump_only=True, allow_none=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    dead_letters = fields.Method("_dead_letters", dump_only=True)

    def _dead_letters(self, account):
        from sqlalchemy import func, select

        from ..extensions import db
        from .models import DeadLetter
        return db.session.scalar(select(func.count()).select_from(DeadLetter).where(
            DeadLetter.account_id == account.id, DeadLetter.replayed_at.is_(None)))


class AccountUpdateSchema(ma.Schema):
    name = fields.String(validate=validate.Length(max=100))
    credentials = fields.Dict(load_only=True)
    base_url = fields.String(validate=validate.Length(max=300))
    buffer = Int(validate=validate.Range(min=0))
    cap = Int(allow_none=True, validate=validate.Range(min=0))
    active = fields.Boolean()


class ComponentSchema(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=validate.Range(min=1))
    quantity = Int(load_default=1, strict=True, validate=validate.Range(min=1))


class MappingArgs(ma.Schema):
    channel_sku = fields.String(required=True, validate=validate.Length(1, 128))
    components = fields.List(fields.Nested(ComponentSchema), required=True,
                             validate=validate.Length(min=1))


class MappingSchema(ma.Schema):
    channel_sku = fields.String()
    components = fields.List(fields.Dict())


class DeadLetterSchema(ma.Schema):
    id = Int()
    account_id = Int()
    seller_id = Int()
    source = fields.String()
    reason = fields.String()
    payload = fields.String()
    attempts = Int()
    created_at = fields.DateTime()
    replayed_at = fields.DateTime(allow_none=True)
    result = fields.Dict(allow_none=True)


class DeadLetterQueryArgs(PageArgs):
    account_id = Int(load_default=None)
    open = fields.Boolean(load_default=None, metadata={"description": "only not replayed"})


class ImportArgs(ma.Schema):
    account_id = Int(required=True)
    document = fields.Raw(required=True, metadata={"description": "the platform's response "
                                                   "bodies, as in the CLI's FILE"})


class ResultSchema(ma.Schema):
    order_id = Int(allow_none=True)
    action = fields.String()
    external_id = fields.String()
    detail = fields.String()


class ReleaseHeldArgs(ma.Schema):
    ship_to = fields.Dict(load_default=None, keys=fields.String(validate=validate.OneOf(
        ("name", "address1", "address2", "city", "state", "zip", "country", "phone"))),
        values=fields.String())


class ExceptionSchema(ma.Schema):
    order_id = Int(attribute="id")
    seller_id = Int()
    channel = fields.String()
    account_key = fields.String()
    external_id = fields.String()
    hold_reason = fields.Function(lambda o: held_because(o), allow_none=True)
    unmapped = fields.Function(lambda o: sorted({l.channel_sku for l in o.lines
                                                 if l.sku_id is None}))
    placed_at = fields.DateTime()
