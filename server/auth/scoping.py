"""Seller and warehouse isolation, in one place (invariant 5).

Every model that belongs to a seller names its seller column in `__seller_scope__`;
every model that belongs to a warehouse names its warehouse column in
`__warehouse_scope__`. `scoped(Model)` is the only way the API reads such rows: it
adds the filters the current user's role calls for, so a route cannot forget them.

- admin: everything.
- seller: rows of its own seller; warehouses and bins (to see where its stock is).
- picker, driver: rows of their own warehouses; the catalog (SKUs, sellers) to read.
A model with neither attribute (users, tokens) is for admins alone.
"""
from flask_login import current_user
from sqlalchemy import Select, false, select

from ..errors import NotFound
from ..extensions import db


def principal():
    """The authenticated user of this request, or None."""
    user = current_user._get_current_object() if current_user else None
    if user is None or not user.is_authenticated:
        return None
    return user


def apply_scope(stmt: Select, model, user) -> Select:
    if user is None:
        return stmt.where(false())
    if user.role == "admin":
        return stmt
    seller_col = getattr(model, "__seller_scope__", None)
    warehouse_col = getattr(model, "__warehouse_scope__", None)
    if seller_col is None and warehouse_col is None:
        return stmt.where(false())
    if user.role == "seller":
        if seller_col is not None:
            stmt = stmt.where(getattr(model, seller_col) == user.seller_id)
        return stmt
    # Floor staff: their warehouses only.
    if warehouse_col is not None:
        stmt = stmt.where(getattr(model, warehouse_col).in_(user.warehouse_ids))
    return stmt


def scoped(model, user=None) -> Select:
    """SELECT model, filtered to what `user` (default: the current user) may see."""
    return apply_scope(select(model), model, user if user is not None else principal())


def get_scoped(model, id_, user=None, what: str | None = None):
    """The row with this id if the user may see it; otherwise 404, the same answer
    as for an id that does not exist, so guessing ids tells nothing."""
    row = db.session.scalars(scoped(model, user).where(model.id == id_)).first()
    if row is None:
        name = what or model.__name__.lower()
        raise NotFound(f"No {name} {id_}", fields={f"{name}_id": ["not found"]})
    return row


def owning_seller_id(requested: int | None, user=None) -> int:
    """The seller a new row (SKU, order, channel account) belongs to. A seller
    always writes as itself (naming another seller is a 404, as if it did not
    exist); an admin must name an existing seller."""
    from ..errors import InvalidInput
    from .models import Seller
    user = user if user is not None else principal()
    if user.role == "seller":
        if requested not in (None, user.seller_id):
            raise NotFound("No such seller", fields={"seller_id": ["not found"]})
        return user.seller_id
    if requested is None:
        raise InvalidInput("seller_id", "is required for an admin")
    if db.session.get(Seller, requested) is None:
        raise NotFound("No such seller", fields={"seller_id": ["not found"]})
    return requested
