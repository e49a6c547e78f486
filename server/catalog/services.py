"""Creating and editing SKUs."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict
from ..i18n import message
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
        raise Conflict(message("Barcode %(barcode)s already belongs to SKU %(sku)s", barcode=taken[0], sku=taken[1]),
                       fields={"barcodes": [message("%(barcode)s is used by %(sku)s",
                                                     barcode=taken[0], sku=taken[1])]})
    keep = {row.barcode: row for row in sku.barcode_rows}
    sku.barcode_rows = [keep.get(b) or SkuBarcode(barcode=b, seller_id=sku.seller_id)
                        for b in barcodes]


def create_sku(session: Session, *, seller_id: int, code: str, barcodes=(), **attrs) -> Sku:
    code = code.strip()
    if session.scalar(select(Sku.id).where(Sku.seller_id == seller_id, Sku.code == code)):
        raise Conflict(message("SKU %(code)s exists", code=code),
                       fields={"code": [message("already exists")]})
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


def set_kit_components(session: Session, kit: Sku, components: list[tuple[int, int]]) -> Sku:
    """Make `kit` a bundle of (component_sku_id, quantity) pairs of the same seller;
    an empty list makes it a plain SKU again. A kit may not contain a kit: the floor
    picks components, so they must be real shelf items."""
    from ..errors import InvalidInput, NotFound
    from .models import KitComponent
    rows = []
    seen = set()
    for i, (component_id, quantity) in enumerate(components):
        if component_id in seen:
            raise InvalidInput(f"components.{i}.sku_id", message("is listed twice: give each SKU once, with all its units"))
        seen.add(component_id)
        component = session.get(Sku, component_id)
        if component is None or component.seller_id != kit.seller_id:
            raise NotFound(message("No SKU %(id)s", id=component_id),
                           fields={f"components.{i}.sku_id": ["not found"]})
        if component.id == kit.id or component.components:
            raise InvalidInput(f"components.{i}.sku_id", message("must be a plain SKU, not a kit"))
        if not isinstance(quantity, int) or quantity <= 0:
            raise InvalidInput(f"components.{i}.quantity", message("must be greater than 0"))
        rows.append(KitComponent(seller_id=kit.seller_id, component_sku_id=component.id,
                                 quantity=quantity))
    kit.components = rows
    session.flush()
    return kit
