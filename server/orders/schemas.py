import marshmallow as ma
from marshmallow import fields, validate

from .. import i18n
from ..api import PageArgs
from .models import CHANNELS, STATUSES

Int = fields.Integer


class ShipToSchema(ma.Schema):
    name = fields.String(load_default="", validate=validate.Length(0, 200))
    address1 = fields.String(load_default="", validate=validate.Length(0, 200))
    address2 = fields.String(load_default="", validate=validate.Length(0, 200))
    city = fields.String(load_default="", validate=validate.Length(0, 100))
    state = fields.String(load_default="", validate=validate.Regexp(r"^([A-Z]{2})?$"))
    zip = fields.String(required=True, validate=validate.Regexp(r"^\d{5}(-\d{4})?$"))
    country = fields.String(load_default="US", validate=validate.OneOf(["US"]))
    phone = fields.String(load_default="", validate=validate.Length(0, 32))
    # The shipping notices go here (server/notifications).
    email = fields.String(load_default="", validate=[
        validate.Length(0, 254), validate.Regexp(r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                                 error="Not a valid e-mail address.")])


class LineArgs(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=validate.Range(min=1))
    quantity = Int(required=True, strict=True, validate=validate.Range(1, 100_000))
    unit_price_cents = Int(strict=True, load_default=0, validate=validate.Range(0, 10**9))
    external_line_id = fields.String(load_default="", validate=validate.Length(0, 64))


class OrderCreateArgs(ma.Schema):
    seller_id = Int(strict=True, metadata={"description": "admins only"})
    external_id = fields.String(required=True, validate=validate.Length(1, 64))
    channel = fields.String(load_default="manual", validate=validate.OneOf(CHANNELS))
    account_key = fields.String(load_default="", validate=validate.Length(0, 64))
    ship_to = fields.Nested(ShipToSchema, required=True)
    lines = fields.List(fields.Nested(LineArgs), required=True,
                        validate=validate.Length(1, 500))
    ship_by = fields.AwareDateTime(load_default=None, default_timezone=None)
    promised_by = fields.AwareDateTime(load_default=None)
    placed_at = fields.AwareDateTime(load_default=None)
    fulfilled_by_channel = fields.Boolean(load_default=False)
    customer_locale = fields.String(load_default="", validate=validate.Length(0, 16), metadata={
        "description": "the customer's language for notifications (en, zh-CN, zh-TW, es)"})
    allocate = fields.Boolean(load_default=True, metadata={
        "description": "allocate and reserve at once (default)"})


class LinesArgs(ma.Schema):
    lines = fields.List(fields.Nested(LineArgs), required=True,
                        validate=validate.Length(1, 500))


class CancelArgs(ma.Schema):
    reason = fields.String(load_default="", validate=validate.Length(0, 500))


class CancelLineArgs(CancelArgs):
    quantity = Int(required=True, strict=True, validate=validate.Range(1, 100_000))


class AllocationSchema(ma.Schema):
    warehouse_id = Int()
    warehouse_code = fields.Function(lambda a: a.warehouse.code)
    quantity = Int()


class LineSchema(ma.Schema):
    id = Int()
    sku_id = Int()
    sku_code = fields.Function(lambda l: l.sku.code if l.sku else None)
    sku_name = fields.Function(lambda l: l.sku.name if l.sku else l.title)
    is_kit = fields.Function(lambda l: l.sku.is_kit if l.sku else False)
    external_line_id = fields.String()
    channel_sku = fields.String()
    title = fields.String()
    quantity = Int()
    quantity_cancelled = Int()
    open_quantity = Int()
    unit_price_cents = Int()
    allocated = fields.Method("_allocated")
    backordered = fields.Method("_backordered")

    def _allocated(self, line):
        return [AllocationSchema().dump(a) for a in line.order.allocations
                if a.order_line_id == line.id and a.quantity > 0]

    def _backordered(self, line):
        done = sum(a.quantity for a in line.order.allocations if a.order_line_id == line.id)
        return max(0, line.open_quantity - done)


def text_lang() -> str:
    """The BCP 47 tag of the language server text is rendered in for this request
    (zh-Hans, zh-Hant, es, en): the `lang` a screen gives that text."""
    return i18n.current_locale().replace("_", "-")


def held_because(order) -> str | None:
    """Why a held order waits, in the reader's language (English for an order held
    before its reason was kept as messages)."""
    if order.hold_message:
        return i18n.render(order.hold_message)
    return order.hold_reason


def served_reason(reason: dict | None) -> dict | None:
    """An order's stored allocation reason as it is served: `why` in the reader's
    language (from its stored message; a reason stored before messages keeps its
    English), `why_lang` saying which, and the stored message itself left out."""
    if not reason:
        return reason
    served = dict(reason)
    stored = served.pop("why_i18n", None)
    if stored:
        served["why"] = i18n.render(stored)
        served["why_lang"] = text_lang()
    else:
        served["why_lang"] = "en"
    return served


class EventSchema(ma.Schema):
    id = Int(metadata={"format": "int64"})  # order_events.id is a BIGINT
    kind = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    message = fields.Function(lambda e: e.text, metadata={
        "type": "string", "description": "the line in the reader's language"})
    message_lang = fields.Function(lambda e: text_lang() if e.message_i18n else "en",
                                   metadata={"type": "string", "description":
                                             "BCP 47 tag of the language `message` is in"})
    data = fields.Dict(allow_none=True)
    user_id = Int(allow_none=True)
    created_at = fields.DateTime()


class OrderSummarySchema(ma.Schema):
    id = Int()
    seller_id = Int()
    channel = fields.String()
    external_id = fields.String()
    status = fields.String()
    placed_at = fields.DateTime()
    ship_by = fields.DateTime(allow_none=True)
    promised_by = fields.DateTime(allow_none=True)
    ship_to_name = fields.String()
    ship_to_city = fields.String()
    ship_to_state = fields.String()
    ship_to_zip = fields.String()
    total_cents = Int()
    currency = fields.String()
    units = fields.Function(lambda o: sum(l.open_quantity for l in o.lines))
    warehouses = fields.Function(lambda o: sorted({a.warehouse.code for a in o.allocations
                                                   if a.quantity > 0}))


class OrderSchema(OrderSummarySchema):
    account_key = fields.String()
    ship_to = fields.Method("_ship_to")
    fulfilled_by_channel = fields.Boolean()
    channel_status = fields.String()
    channel_updated_at = fields.DateTime(allow_none=True)
    hold_reason = fields.Function(lambda o: held_because(o), allow_none=True)
    lines = fields.List(fields.Nested(LineSchema))
    allocation_reason = fields.Function(lambda o: served_reason(o.allocation_reason),
                                        allow_none=True, metadata={
                                            "type": "object", "description":
                                            "the last allocation decision; `why` in the "
                                            "reader's language (`why_lang`)"})
    shipments = fields.List(fields.Nested("ShipmentSummarySchema"))
    events = fields.List(fields.Nested(EventSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _ship_to(self, o):
        """The customer's address. A picker packs and labels (the label is printed
        by the server) and needs no street or phone to do it: they are left out."""
        from ..auth.scoping import principal
        user = principal()
        keys = CUSTOMER_FIELDS.get(user.role if user is not None else None, ())
        return {k: getattr(o, f"ship_to_{k}") for k in keys}


# What each role sees of the customer's address on an order.
_FULL_ADDRESS = ("name", "address1", "address2", "city", "state", "zip", "country", "phone",
                 "email")
CUSTOMER_FIELDS = {"admin": _FULL_ADDRESS, "seller": _FULL_ADDRESS, "driver": _FULL_ADDRESS,
                   "picker": ("name", "city", "state", "zip", "country")}


class OrderQueryArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    warehouse_id = Int(load_default=None)
    seller_id = Int(load_default=None)
    placed_from = fields.AwareDateTime(load_default=None)
    placed_to = fields.AwareDateTime(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(1, 64),
                      metadata={"description": "external order id or ship-to name"})


class SellerRulesArgs(ma.Schema):
    preferred_warehouse_id = Int(strict=True, allow_none=True)
    allowed_warehouse_ids = fields.List(Int(strict=True))
    no_split = fields.Boolean()
    split_min_value_cents = Int(strict=True, allow_none=True, validate=validate.Range(0, 10**8))


class SellerRulesSchema(ma.Schema):
    seller_id = fields.Function(lambda s: s.id)
    preferred_warehouse_id = Int(allow_none=True)
    allowed_warehouse_ids = fields.Function(lambda s: [w.id for w in s.allowed_warehouses])
    no_split = fields.Boolean()
    split_min_value_cents = Int(allow_none=True)


class AdvanceArgs(ma.Schema):
    status = fields.String(required=True, validate=validate.OneOf(
        ["released", "picked", "packed", "shipped", "delivered"]))


class ShipmentSummarySchema(ma.Schema):
    id = Int()
    warehouse_id = Int()
    status = fields.String()
    tracking_number = fields.String(allow_none=True)
    carrier = fields.Function(lambda s: s.service.carrier.name)
    service = fields.Function(lambda s: s.service.name)
    cost_cents = Int()
    ship_date = fields.Date()
    delivery_date = fields.Date(allow_none=True)
    parcels = fields.Function(lambda s: len(s.parcels))
    label_url = fields.Function(lambda s: f"/api/shipments/{s.id}/label.pdf")


class RunArgs(ma.Schema):
    limit = Int(load_default=1000, validate=validate.Range(1, 10_000))


class RunResultSchema(ma.Schema):
    allocated = fields.List(Int())
