import marshmallow as ma
from marshmallow import fields, validate

from ..geo import ZIP_RE
from ..i18n import render

Int = fields.Integer


class ServiceSchema(ma.Schema):
    """A service with its limits (mm, g), surcharges (cents) and cut-off; the rate
    table itself is left out (it is large)."""
    id = Int()
    code = fields.String()
    name = fields.String()
    active = fields.Boolean()
    pricing = fields.String()
    transit_days_by_zone = fields.Dict(keys=fields.String(), values=Int())
    cutoff_local_time = fields.String(metadata={"description": "HH:MM, origin warehouse's "
                                                "local time"})
    dim_divisor = Int(allow_none=True, metadata={"description": "cubic inches per lb"})
    dim_min_cubic_in = Int()
    max_weight_g = Int(allow_none=True)
    max_length_mm = Int(allow_none=True)
    max_length_girth_mm = Int(allow_none=True, metadata={"description": "L + 2W + 2H"})
    large_length_mm = Int(allow_none=True)
    large_length_girth_mm = Int(allow_none=True)
    large_surcharge_cents = Int()
    large_min_billable_g = Int(allow_none=True)
    handling_length_mm = Int(allow_none=True)
    handling_width_mm = Int(allow_none=True)
    handling_weight_g = Int(allow_none=True)
    handling_surcharge_cents = Int()
    fuel_surcharge_pct = fields.Float()
    minimum_charge_cents = Int()


class CarrierSchema(ma.Schema):
    id = Int()
    code = fields.String()
    name = fields.String()
    tracking_url = fields.String()
    active = fields.Boolean()
    services = fields.List(fields.Nested(ServiceSchema))


class ParcelArgs(ma.Schema):
    weight_g = Int(required=True, strict=True, validate=validate.Range(1, 1_000_000))
    length_mm = Int(load_default=0, strict=True, validate=validate.Range(0, 10_000))
    width_mm = Int(load_default=0, strict=True, validate=validate.Range(0, 10_000))
    height_mm = Int(load_default=0, strict=True, validate=validate.Range(0, 10_000))


class ShopArgs(ma.Schema):
    warehouse_id = Int(required=True, strict=True, validate=validate.Range(min=1))
    to_zip = fields.String(required=True, validate=validate.Regexp(
        ZIP_RE, error="must be a US ZIP code: 12345 or 12345-6789"))
    parcels = fields.List(fields.Nested(ParcelArgs), required=True,
                          validate=validate.Length(1, 99))
    promised_by = fields.AwareDateTime(load_default=None, metadata={
        "description": "deliver by this time (ISO 8601 with offset); its date in the "
                       "destination's time zone counts"})
    ship_at = fields.AwareDateTime(load_default=None, metadata={
        "description": "when the parcels are handed over; default now"})
    services = fields.List(fields.String(validate=validate.Length(1, 32)), load_default=None,
                           validate=validate.Length(1, 50),
                           metadata={"description": "only these service codes"})


class ParcelRateSchema(ma.Schema):
    weight_g = Int()
    actual_lb = Int()
    dim_lb = Int(allow_none=True)
    dim_weight_used = fields.Boolean()
    billable_lb = Int()
    billable_weight_g = Int()
    large_item = fields.Boolean()
    additional_handling = fields.Boolean()
    base_cents = Int()
    surcharges = fields.Dict(keys=fields.String(), values=Int())
    fuel_cents = Int()
    cost_cents = Int()


class QuoteSchema(ma.Schema):
    service_id = Int()
    service_code = fields.String()
    service_name = fields.String()
    carrier_code = fields.String()
    carrier_name = fields.String()
    zone = Int()
    can_ship = fields.Boolean()
    reason = fields.Function(lambda q: render(q.why_not) if q.why_not else q.reason,
                             allow_none=True)
    cost_cents = Int(allow_none=True)
    base_cents = Int(allow_none=True)
    surcharges = fields.Dict(keys=fields.String(), values=Int())
    fuel_cents = Int(allow_none=True)
    transit_days = Int(allow_none=True)
    ship_date = fields.Date(allow_none=True)
    delivery_date = fields.Date(allow_none=True)
    meets_promise = fields.Boolean(allow_none=True)
    parcels = fields.List(fields.Nested(ParcelRateSchema))


class ShopResultSchema(ma.Schema):
    zone = Int()
    promised_by = fields.Date(allow_none=True)
    meets_promise = fields.Boolean()
    chosen = fields.Nested(QuoteSchema)
    runners_up = fields.List(fields.Nested(QuoteSchema))
    cannot_ship = fields.List(fields.Nested(QuoteSchema))


class ParcelSchema(ma.Schema):
    id = Int()
    number = Int()
    tracking_number = fields.String()
    weight_g = Int()
    length_mm = Int()
    width_mm = Int()
    height_mm = Int()
    billable_weight_g = Int()
    cost_cents = Int()


class ShipmentEventSchema(ma.Schema):
    """One line of the shipment's timeline, as the carrier reported it."""
    id = Int()
    status = fields.String()
    carrier_status = fields.String(metadata={"description": "the carrier's own word"})
    message = fields.String()
    location = fields.String()
    occurred_at = fields.DateTime(metadata={"description": "the carrier's time"})
    received_at = fields.DateTime()
    source = fields.String(metadata={"description": "webhook or poll"})
    est_delivery_date = fields.Date(allow_none=True)


class ShipmentSchema(ma.Schema):
    id = Int()
    order_id = Int(allow_none=True)
    seller_id = Int()
    warehouse_id = Int()
    service_id = Int()
    service_code = fields.Function(lambda s: s.service.code)
    service_name = fields.Function(lambda s: s.service.name)
    tracking_number = fields.String()
    status = fields.String()
    reference = fields.String()
    zone = Int()
    cost_cents = Int()
    ship_date = fields.Date()
    delivery_date = fields.Date(allow_none=True)
    ship_to = fields.Dict()
    created_at = fields.DateTime()
    parcels = fields.List(fields.Nested(ParcelSchema))
    label_url = fields.Function(lambda s: f"/api/shipments/{s.id}/label.pdf")
    provider = fields.String(allow_none=True, metadata={
        "description": "who bought the label: builtin or easypost"})
    provider_shipment_id = fields.String(allow_none=True)
    events = fields.List(fields.Nested(ShipmentEventSchema), metadata={
        "description": "the tracking timeline, oldest first (by the carrier's time)"})


class CarrierAccountArgs(ma.Schema):
    """A warehouse's label aggregator account. Write-only: the key and the webhook
    secret are never returned."""
    provider = fields.String(load_default="easypost", validate=validate.OneOf(["easypost"]))
    api_key = fields.String(required=True, load_only=True,
                            validate=validate.Length(min=1, max=200))
    api_base = fields.String(load_default=None, allow_none=True,
                             validate=validate.Length(max=300),
                             metadata={"description": "another endpoint (a sandbox, the "
                                       "fake aggregator)"})
    webhook_secret = fields.String(load_default=None, allow_none=True, load_only=True,
                                   validate=validate.Length(max=200))


class CarrierAccountSchema(ma.Schema):
    warehouse_id = Int()
    provider = fields.String(metadata={"description": "easypost, or builtin when the "
                                       "warehouse has no aggregator account"})
    api_base = fields.String(allow_none=True)
    has_api_key = fields.Function(lambda a: bool(a.api_key))
    has_webhook_secret = fields.Function(lambda a: bool(a.webhook_secret))
    updated_at = fields.DateTime(allow_none=True)


class ManifestArgs(ma.Schema):
    warehouse_id = Int(required=True)
    carrier = fields.String(required=True, validate=validate.Length(min=2, max=16))
    shipment_ids = fields.List(Int(), load_default=None, allow_none=True)


class ManifestSchema(ma.Schema):
    provider = fields.String()
    provider_id = fields.String()
    carrier = fields.String()
    tracking_numbers = fields.List(fields.String())
    url = fields.String(allow_none=True)
    has_document = fields.Function(lambda m: m.document is not None)
