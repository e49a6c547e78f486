"""Seller and warehouse isolation, in one place (invariants 5 and 8).

Each model declares who may read its rows, and `scoped(Model)` is the only way the
API, the sync pull and the Socket.IO rooms read such rows: it adds the filters the
current user's role calls for, so a route cannot forget them.

- `__seller_scope__`: the seller column (or a function of a seller id returning a
  condition); a seller reads only its own rows.
- `__warehouse_scope__`: the warehouse column (or a function of a list of warehouse
  ids returning a condition); floor staff (pickers, drivers) read only the rows of
  their warehouses.
- `__seller_reads__ = True`: sellers read every row (warehouses and bins: to see
  where their stock is). `__floor_reads__ = True`: floor staff read every row (the
  catalog: SKUs and sellers, to know what they scan).

Whatever a model does not declare is closed: a seller reads nothing of a model
without a seller scope (channel data of others, pick lists that mix sellers), floor
staff nothing of a model without a warehouse scope (channel accounts, mappings,
dead letters). Admins read everything. A model with no declaration at all (users,
tokens) is for admins alone.
"""
from flask_login import current_user
from sqlalchemy import Select, false, select

from ..errors import NotFound
from ..extensions import db
from ..i18n import N_, message


def principal():
    """The authenticated user of this request, or None."""
    user = current_user._get_current_object() if current_user else None
    if user is None or not user.is_authenticated:
        return None
    return user


def _condition(model, declared, value):
    if callable(declared):
        return declared(value)
    column = getattr(model, declared)
    return column.in_(value) if isinstance(value, (list, tuple, set)) else column == value


def scope_condition(model, user):
    """The condition that limits `model` to what `user` may read; None for all rows."""
    if user is None:
        return false()
    if user.role == "admin":
        return None
    if user.role == "seller":
        declared = getattr(model, "__seller_scope__", None)
        if declared is not None:
            return _condition(model, declared, user.seller_id)
        return None if getattr(model, "__seller_reads__", False) else false()
    # Floor staff: their warehouses only.
    declared = getattr(model, "__warehouse_scope__", None)
    if declared is not None:
        return _condition(model, declared, list(user.warehouse_ids))
    return None if getattr(model, "__floor_reads__", False) else false()


def apply_scope(stmt: Select, model, user) -> Select:
    condition = scope_condition(model, user)
    return stmt if condition is None else stmt.where(condition)


def scoped(model, user=None) -> Select:
    """SELECT model, filtered to what `user` (default: the current user) may see."""
    return apply_scope(select(model), model, user if user is not None else principal())


def get_scoped(model, id_, user=None, what: str | None = None):
    """The row with this id if the user may see it; otherwise 404, the same answer
    as for an id that does not exist, so guessing ids tells nothing."""
    row = db.session.scalars(scoped(model, user).where(model.id == id_)).first()
    if row is None:
        name = what or model.__name__.lower()
        text = message(_NOT_FOUND[name], id=id_) if name in _NOT_FOUND else f"No {name} {id_}"
        raise NotFound(text, fields={f"{name}_id": [message("not found")]})
    return row


# "No order 7" for each kind of row get_scoped is asked for, in the reader's language.
_NOT_FOUND = {"account": N_("No account %(id)s"), "bin": N_("No bin %(id)s"),
              "dead_letter": N_("No dead letter %(id)s"),
              "inbound": N_("No inbound shipment %(id)s"), "order": N_("No order %(id)s"),
              "seller": N_("No seller %(id)s"), "sku": N_("No SKU %(id)s"),
              "task": N_("No task %(id)s"), "vehicle": N_("No vehicle %(id)s"),
              "warehouse": N_("No warehouse %(id)s")}


def owning_seller_id(requested: int | None, user=None) -> int:
    """The seller a new row (SKU, order, channel account) belongs to. A seller
    always writes as itself (naming another seller is a 404, as if it did not
    exist); an admin must name an existing seller."""
    from ..errors import InvalidInput
    from .models import Seller
    user = user if user is not None else principal()
    if user.role == "seller":
        if requested not in (None, user.seller_id):
            raise NotFound(message("No such seller"), fields={"seller_id": [message("not found")]})
        return user.seller_id
    if requested is None:
        raise InvalidInput("seller_id", message("is required for an admin"))
    if db.session.get(Seller, requested) is None:
        raise NotFound(message("No such seller"), fields={"seller_id": [message("not found")]})
    return requested
