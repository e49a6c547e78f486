import marshmallow as ma
from marshmallow import fields, validate

from ..api import PageArgs

Int = fields.Integer
_nonneg = validate.Range(min=0, max=2_000_000_000)


class SkuSchema(ma.Schema):
    id = Int(dump_only=True)
    seller_id = Int(strict=True, metadata={"description": "admins only; a seller's own id "
                                                          "is implied"})
    code = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, validate=validate.Length(1, 300))
    barcodes = fields.List(fields.String(validate=validate.Length(1, 64)),
                           validate=validate.Length(max=20), load_default=list)
    length_mm = Int(strict=True, load_default=0, validate=_nonneg)
    width_mm = Int(strict=True, load_default=0, validate=_nonneg)
    height_mm = Int(strict=True, load_default=0, validate=_nonneg)
    weight_g = Int(strict=True, load_default=0, validate=_nonneg)
    cost_cents = Int(strict=True, load_default=0, validate=_nonneg)
    price_cents = Int(strict=True, load_default=0, validate=_nonneg)
    currency = fields.String(load_default="USD", validate=validate.Regexp(r"^[A-Z]{3}$"))
    active = fields.Boolean(load_default=True)
    components = fields.Method("_components", dump_only=True, metadata={
        "description": "for a kit or bundle: the SKUs one unit is made of"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _components(self, sku):
        return [{"sku_id": c.component_sku_id, "quantity": c.quantity}
                for c in sku.components]


class ComponentArgs(ma.Schema):
    sku_id = Int(required=True, strict=True, validate=validate.Range(min=1))
    quantity = Int(required=True, strict=True, validate=validate.Range(1, 1000))


class ComponentsArgs(ma.Schema):
    components = fields.List(fields.Nested(ComponentArgs), required=True,
                             validate=validate.Length(0, 50))


class SkuUpdateSchema(SkuSchema):
    class Meta:
        exclude = ("code", "seller_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class SkuQueryArgs(PageArgs):
    seller_id = Int(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(1, 100),
                      metadata={"description": "code or name contains"})
    barcode = fields.String(load_default=None, validate=validate.Length(1, 64))
    active = fields.Boolean(load_default=None)
