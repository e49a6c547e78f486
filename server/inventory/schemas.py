import marshmallow as ma
from marshmallow import fields, validate

from ..api import PageArgs

Int = fields.Integer
_qty = validate.Range(min=1, max=1_000_000)
_id = validate.Range(min=1)


class WarehouseSchema(ma.Schema):
    id = Int(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]{2,16}$"))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address1 = fields.String(load_default="", validate=validate.Length(0, 200))
    address2 = fields.String(load_default="", validate=validate.Length(0, 200))
    city = fields.String(load_default="", validate=validate.Length(0, 100))
    state = fields.String(load_default="", validate=validate.Regexp(r"^([A-Z]{2})?$"))
    zip = fields.String(required=True)
    country = fields.String(load_default="US", validate=validate.OneOf(["US"]))
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    timezone = fields.String(required=True, metadata={"example": "America/Los_Angeles"})
    active = fields.Boolean(load_default=True)


class WarehouseUpdateSchema(WarehouseSchema):
    class Meta:
        exclude = ("code",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class BinSchema(ma.Schema):
    id = Int(dump_only=True)
    warehouse_id = Int(dump_only=True)
    code = fields.String()
    sort_key = fields.String(dump_only=True)
    kind = fields.String()
    active = fields.Boolean()


class BinCreateArgs(ma.Schema):
    codes = fields.List(fields.String(), required=True, validate=validate.Length(1, 5000))
    kind = fields.String(load_default="storage", validate=validate.OneOf(
        ["storage", "receiving", "staging", "shipping", "damaged"]))


class BinQueryArgs(PageArgs):
    prefix = fields.String(load_default=None, validate=validate.Length(1, 32))


class StockSchema(ma.Schema):
    id = Int()
    sku_id = Int()
    sku_code = fields.Function(lambda s: s.sku.code)
    seller_id = Int()
    warehouse_id = Int()
    bin_id = Int()
    bin_code = fields.Function(lambda s: s.bin.code)
    bin_kind = fields.Function(lambda s: s.bin.kind)
    on_hand = Int(metadata={"description": "every unit in the bin, the dock and damaged "
                                           "bins included"})
    reserved = Int()
    available = Int(metadata={"description": "units that may still be sold: unreserved "
                                             "units of a storage bin; 0 in the dock or a "
                                             "damaged bin until they are put away"})
    sellable = fields.Boolean(metadata={"description": "whether this bin's units may be "
                                                       "sold (a storage bin)"})
    updated_at = fields.DateTime()


class StockQueryArgs(PageArgs):
    sku_id = Int(load_default=None)
    warehouse_id = Int(load_default=None)
    bin_id = Int(load_default=None)
    seller_id = Int(load_default=None)
    in_stock = fields.Boolean(load_default=None, metadata={"description": "on_hand > 0"})


class ReceiveArgs(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=_id)
    bin_id = Int(required=True, strict=True, validate=_id)
    quantity = Int(required=True, strict=True, validate=_qty)
    reason = fields.String(load_default="", validate=validate.Length(0, 500))
    reference = fields.String(load_default="", validate=validate.Length(0, 128))


class MoveArgs(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=_id)
    from_bin_id = Int(required=True, strict=True, validate=_id)
    to_bin_id = Int(required=True, strict=True, validate=_id)
    quantity = Int(required=True, strict=True, validate=_qty)
    reason = fields.String(load_default="", validate=validate.Length(0, 500))
    reference = fields.String(load_default="", validate=validate.Length(0, 128))


class AdjustArgs(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=_id)
    bin_id = Int(required=True, strict=True, validate=_id)
    delta = Int(required=True, strict=True, validate=validate.Range(-1_000_000, 1_000_000))
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    reference = fields.String(load_default="", validate=validate.Length(0, 128))


class ReserveLineArgs(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=_id)
    warehouse_id = Int(required=True, strict=True, validate=_id)
    quantity = Int(required=True, strict=True, validate=_qty)


class ReserveArgs(ma.Schema):
    reference = fields.String(required=True, validate=validate.Length(1, 128))
    lines = fields.List(fields.Nested(ReserveLineArgs), required=True,
                        validate=validate.Length(1, 500))


class ReleaseArgs(ma.Schema):
    reference = fields.String(required=True, validate=validate.Length(1, 128))
    sku_id = Int(strict=True, load_default=None, validate=_id)
    quantity = Int(strict=True, load_default=None, validate=_qty)


class ReservationSchema(ma.Schema):
    id = Int()
    stock_id = Int()
    sku_id = Int()
    warehouse_id = Int()
    bin_id = Int()
    reference = fields.String()
    quantity = Int()
    created_at = fields.DateTime()


class ReleaseResultSchema(ma.Schema):
    reference = fields.String()
    released = Int()


class MovementSchema(ma.Schema):
    id = Int(metadata={"format": "int64"})  # stock_movements.id is a BIGINT
    stock_id = Int()
    sku_id = Int()
    seller_id = Int()
    warehouse_id = Int()
    bin_id = Int()
    kind = fields.String()
    delta_on_hand = Int()
    delta_reserved = Int()
    on_hand_after = Int()
    reserved_after = Int()
    reason = fields.String()
    reference = fields.String()
    user_id = Int(allow_none=True)
    created_at = fields.DateTime()


class LedgerQueryArgs(PageArgs):
    sku_id = Int(load_default=None)
    warehouse_id = Int(load_default=None)
    bin_id = Int(load_default=None)
    reference = fields.String(load_default=None)
    kind = fields.String(load_default=None, validate=validate.OneOf(
        ["receive", "move_out", "move_in", "adjust", "reserve", "release", "rebase",
         "pick"]))
