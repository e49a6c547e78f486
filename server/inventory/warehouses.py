"""Creating warehouses and their bins."""
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput
from ..i18n import message
from .models import Bin, Warehouse

ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
BIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
WAREHOUSE_FIELDS = ("name", "address1", "address2", "city", "state", "zip", "country",
                    "latitude", "longitude", "timezone", "active")


def _check(attrs: dict) -> None:
    if "timezone" in attrs:
        try:
            ZoneInfo(attrs["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("timezone", message("is not an IANA time zone such as "
                                           "America/Los_Angeles")) from None
    if "zip" in attrs and not ZIP_RE.match(attrs["zip"] or ""):
        raise InvalidInput("zip", message("must be a US ZIP code: 12345 or 12345-6789"))


def create_warehouse(session: Session, *, code: str, **attrs) -> Warehouse:
    _check(attrs)
    code = code.strip().upper()
    if session.scalar(select(Warehouse.id).where(Warehouse.code == code)):
        raise Conflict(message("Warehouse %(code)s exists", code=code),
                       fields={"code": [message("already exists")]})
    warehouse = Warehouse(code=code, **{k: v for k, v in attrs.items()
                                        if k in WAREHOUSE_FIELDS})
    session.add(warehouse)
    session.flush()
    return warehouse


def update_warehouse(session: Session, warehouse: Warehouse, **attrs) -> Warehouse:
    _check(attrs)
    for key, value in attrs.items():
        if key in WAREHOUSE_FIELDS:
            setattr(warehouse, key, value)
    session.flush()
    return warehouse


def create_bins(session: Session, warehouse: Warehouse, codes: list[str],
                kind: str = "storage") -> list[Bin]:
    """Create bins by code; all or none. Codes like A-01-02-1 (zone-aisle-bay-level)
    sort in walking order whatever their padding."""
    codes = [c.strip().upper() for c in codes]
    for i, code in enumerate(codes):
        if not BIN_RE.match(code):
            raise InvalidInput(f"codes.{i}", message("letters, digits, '.', '_' and '-' only, "
                                             "1-32 characters"))
    if len(set(codes)) != len(codes):
        raise InvalidInput("codes", message("contains the same code twice"))
    existing = session.scalars(select(Bin.code).where(Bin.warehouse_id == warehouse.id,
                                                      Bin.code.in_(codes))).all()
    if existing:
        raise Conflict(message("Bins exist: %(codes)s", codes=", ".join(sorted(existing))),
                       fields={"codes": [message("%(code)s exists", code=c) for c in sorted(existing)]})
    bins = [Bin(warehouse_id=warehouse.id, code=code, kind=kind) for code in codes]
    session.add_all(bins)
    session.flush()
    return bins
