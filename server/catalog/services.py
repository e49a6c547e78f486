"""Creating and editing SKUs."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict
from .models import Sku, SkuBarcode

EDITABLE = ("name", "length_mm", "width_mm", "height_mm", "weight_g", "cost_cents",
            "price_cents", "currency", "active")


def _set_barcodes(session: Session, sku: Sku, barcodes: list[str]) -> None:
    barcodes = list(dict.fromkeys(b.strip() for b in barcodes if b.strip()))
    taken = session.execute(
        select(SkuBarcode.barcode, Sku.code).join(Sku)
        .where(SkuBarcode.seller_id == sku.seller_id, SkuBarcode.barcode.in_(barcodes),
               SkuBarcode.sku_id != (sku.id or 0))).first()
    if taken:
        raise Conflict(f"Barcode {taken[0]} already belongs to SKU {taken[1]}",
                       fields={"barcodes": [f"{taken[0]} is used by {taken[1]}"]})
    keep = {row.barcode: row for row in sku.barcode_rows}
    sku.barcode_rows = [keep.get(b) or SkuBarcode(barcode=b, seller_id=sku.seller_id)
                        for b in barcodes]


def create_sku(session: Session, *, seller_id: int, code: str, barcodes=(), **attrs) -> Sku:
    code = code.strip()
    if session.scalar(select(Sku.id).where(Sku.seller_id == seller_id, Sku.code == code)):
        raise Conflict(f"SKU {code} exists", fields={"code": ["already exists"]})
    sku = Sku(seller_id=seller_id, code=code, **{k: v for k, v in attrs.items()
                                                 if k in EDITABLE})
    session.add(sku)
    session.flush()
    _set_barcodes(session, sku, list(barcodes))
    session.flush()
    return sku


def update_sku(session: Session, sku: Sku, *, barcodes=None, **attrs) -> Sku:
    for key, value in attrs.items():
        if key in EDITABLE:
            setattr(sku, key, value)
    if barcodes is not None:
        _set_barcodes(session, sku, list(barcodes))
    session.flush()
    return sku
