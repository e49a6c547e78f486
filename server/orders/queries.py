"""List pages built by one statement each (issue #10, item 5).

A list page reads only the columns it shows, in one SQLAlchemy Core statement, and
turns the rows into plain dicts: no ORM objects, no relationship loads, and no JSON
column the page does not show (an order's `allocation_reason` and `raw_payload`)
parsed on the way. Row scoping is still `scoped()`'s (server/auth/scoping.py): each
statement starts from `scoped(Model)` and only narrows its columns.

The dicts are exactly what the page's marshmallow schema dumps of the same rows
(tests/test_list_pages.py holds them side by side), so the OpenAPI document keeps
describing the answer; the view returns a ready Response, which flask-smorest
passes through untouched.

`?q=` on orders is an exact match on `external_id` (a b-tree index) or a substring
of `ship_to_name` (ILIKE, served on PostgreSQL by a pg_trgm GIN index), both from
migration 0009_list_speed.
"""
import threading
from collections import OrderedDict
from datetime import date, datetime

from flask import jsonify
from flask_smorest import abort as flask_abort
from sqlalchemy import Index, Integer, bindparam, func, or_, select

from ..api import decode_cursor, encode_cursor
from ..auth.scoping import principal, scoped
from ..extensions import db
from ..inventory.models import Warehouse
from .models import Order, OrderAllocation, OrderLine

# The indexes `?q=` needs, created by migrations/versions/0009_list_speed.py and
# declared here, beside the query they serve, so the models and the migrations
# still describe the same schema. On SQLite the trigram index is a plain one.
ORDER_SEARCH_INDEXES = (
    Index("ix_orders_external_id", Order.external_id),
    Index("ix_orders_ship_to_name_trgm", Order.ship_to_name, postgresql_using="gin",
          postgresql_ops={"ship_to_name": "gin_trgm_ops"}),
)


# -- statements built once per shape ------------------------------------------------

_STATEMENTS: "OrderedDict[tuple, object]" = OrderedDict()
_STATEMENTS_MAX = 512
_lock = threading.Lock()


def scope_key(user) -> tuple:
    """What `scoped()` builds its condition of, for this user: a statement built for
    one key holds the same rows for every user with that key. The warehouse ids are
    read afresh on every request (auth/services.token_for), so a user given other
    warehouses gets another key, never a stale statement."""
    if user is None:
        return (None,)
    if user.role == "admin":
        return ("admin",)
    if user.role == "seller":
        return ("seller", user.seller_id)
    return (user.role, tuple(sorted(user.warehouse_ids)))


def cached_statement(key: tuple, build):
    """The statement for `key`, built by `build()` the first time. Building a select
    and its cache key costs more CPU than running it; a statement object is reused
    with new bound values (named bindparams), so both are paid once per shape."""
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = build()
        with _lock:
            _STATEMENTS[key] = stmt
            while len(_STATEMENTS) > _STATEMENTS_MAX:
                _STATEMENTS.popitem(last=False)
    return stmt


# -- keyset pagination over Core rows ---------------------------------------------

def cursor_value(args: dict):
    """The key after which the page starts (None for the first page): the same
    cursor and the same 422 as server.api.keyset_page."""
    after = args.get("after")
    if not after:
        return None
    last = decode_cursor(after)
    if not isinstance(last, int) or isinstance(last, bool) or not -2**63 <= last < 2**63:
        flask_abort(422, messages={"query": {"after": ["not a cursor from this API"]}})
    return last


def keyset_window(stmt, key_column, *, after: bool, descending: bool = False):
    """`stmt` narrowed to one page after :after (when `after`), ordered by the
    unique `key_column`, LIMIT :limit (the page size plus one, to know whether there
    is more)."""
    if after:
        mark = bindparam("after", type_=key_column.type)
        stmt = stmt.where(key_column < mark if descending else key_column > mark)
    return (stmt.order_by(key_column.desc() if descending else key_column)
            .limit(bindparam("limit", type_=Integer)))


def page_params(args: dict, **params) -> dict:
    params["limit"] = (args.get("limit") or 50) + 1
    after = cursor_value(args)
    if after is not None:
        params["after"] = after
    return params


def page_response(rows, limit: int, to_item, key="id"):
    """The page as a JSON response: {"items": [...], "next_cursor": ...}."""
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify({"items": [to_item(row) for row in rows],
                    "next_cursor": encode_cursor(getattr(rows[-1], key)) if more else None})


def iso(value):
    """A date or time as marshmallow's DateTime/Date fields dump it."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def core_page(name: str, args: dict, filters: dict, build, key_column, to_item, *,
              descending: bool = False):
    """One page of a list, in one statement, answered as plain dicts.

    `filters` maps each filter given to its value; `build(names)` returns the scoped
    select of the shown columns with a `bindparam(name)` condition for each of those
    names. The statement is built once per (list, scope, filters given, cursor or
    not) and run with the values bound."""
    params = page_params(args, **filters)
    names = tuple(sorted(filters))
    key = (name, scope_key(principal()), names, "after" in params)
    stmt = cached_statement(key, lambda: keyset_window(
        build(names), key_column, after="after" in params, descending=descending))
    rows = db.session.execute(stmt, params).all()
    return page_response(rows, params["limit"] - 1, to_item)


def given(args: dict, keys) -> dict:
    """The filters of `keys` that the query string gives (None: not given)."""
    return {k: args[k] for k in keys if args.get(k) is not None}


# -- orders -------------------------------------------------------------------------

_ORDER_COLUMNS = (Order.id, Order.seller_id, Order.channel, Order.external_id, Order.status,
                  Order.placed_at, Order.ship_by, Order.promised_by, Order.ship_to_name,
                  Order.ship_to_city, Order.ship_to_state, Order.ship_to_zip,
                  Order.currency)
ORDER_FILTERS = ("status", "channel", "seller_id", "warehouse_id", "placed_from",
                 "placed_to", "q")


def order_filters(stmt, names):
    """The conditions of the filters `names`, each on its bindparam."""
    for key in ("status", "channel", "seller_id"):
        if key in names:
            stmt = stmt.where(getattr(Order, key) == bindparam(key))
    if "warehouse_id" in names:
        stmt = stmt.where(Order.id.in_(select(OrderAllocation.order_id).where(
            OrderAllocation.warehouse_id == bindparam("warehouse_id"),
            OrderAllocation.quantity > 0)))
    if "placed_from" in names:
        stmt = stmt.where(Order.placed_at >= bindparam("placed_from"))
    if "placed_to" in names:
        stmt = stmt.where(Order.placed_at < bindparam("placed_to"))
    if "q" in names:
        stmt = stmt.where(or_(Order.external_id == bindparam("q"),
                              Order.ship_to_name.ilike(bindparam("q_like"))))
    return stmt


def order_page_statement(names, *, after: bool):
    """The page of orders the caller may see, newest first, with what
    OrderSummarySchema shows of their lines and allocations.

    The page is chosen first (scoped, filtered, keyset, LIMIT) in a subquery; only
    its rows get the correlated aggregates, so their cost is per row shown."""
    inner = order_filters(scoped(Order).with_only_columns(*_ORDER_COLUMNS), names)
    page = keyset_window(inner, Order.id, after=after, descending=True).subquery("page")
    open_qty = OrderLine.quantity - OrderLine.quantity_cancelled
    units = (select(func.coalesce(func.sum(open_qty), 0))
             .where(OrderLine.order_id == page.c.id).scalar_subquery())
    total = (select(func.coalesce(func.sum(OrderLine.unit_price_cents * open_qty), 0))
             .where(OrderLine.order_id == page.c.id).scalar_subquery())
    # Warehouse codes never hold a comma (WarehouseSchema: [A-Za-z0-9-]).
    codes = (select(func.aggregate_strings(Warehouse.code, ","))
             .select_from(OrderAllocation)
             .join(Warehouse, Warehouse.id == OrderAllocation.warehouse_id)
             .where(OrderAllocation.order_id == page.c.id, OrderAllocation.quantity > 0)
             .scalar_subquery())
    return (select(page, units.label("units"), total.label("total_cents"),
                   codes.label("warehouse_codes"))
            .order_by(page.c.id.desc()))


def order_item(row) -> dict:
    """One order as OrderSummarySchema dumps it."""
    return {
        "id": row.id,
        "seller_id": row.seller_id,
        "channel": row.channel,
        "external_id": row.external_id,
        "status": row.status,
        "placed_at": iso(row.placed_at),
        "ship_by": iso(row.ship_by),
        "promised_by": iso(row.promised_by),
        "ship_to_name": row.ship_to_name,
        "ship_to_city": row.ship_to_city,
        "ship_to_state": row.ship_to_state,
        "ship_to_zip": row.ship_to_zip,
        "total_cents": int(row.total_cents),
        "currency": row.currency,
        "units": int(row.units),
        "warehouses": sorted(set(row.warehouse_codes.split(","))) if row.warehouse_codes
        else [],
    }


def order_page(args: dict):
    filters = given(args, ORDER_FILTERS)
    if "q" in filters:
        if not filters["q"]:
            del filters["q"]  # an empty q filters nothing, as before
        else:
            filters["q_like"] = f"%{filters['q']}%"
    params = page_params(args, **filters)
    names = tuple(sorted(filters))
    after = "after" in params
    key = ("orders", scope_key(principal()), names, after)
    stmt = cached_statement(key, lambda: order_page_statement(names, after=after))
    rows = db.session.execute(stmt, params).all()
    return page_response(rows, params["limit"] - 1, order_item)
