"""The seller's order screens: the first paint of /orders (status chips with their
counts, the filters and the first page of cards) and the counts the chips need.

The list itself comes from GET /api/orders (server/orders/api.py); the filters here
are the same ones, read from the page's own URL (?status=&channel=&warehouse_id=
&from=YYYY-MM-DD&to=YYYY-MM-DD&q=), so a reload or a shared link paints the same
list the script then keeps fresh.

GET /api/orders/counts (orders per status under the other filters) lives here
because only these screens need it; it is a documented API route like the others
(registered on the same flask-smorest Api), scoped by the same rules.
"""
from datetime import UTC, date, datetime, time, timedelta

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..api import roles_required
from ..auth.scoping import apply_scope, principal, scoped
from ..extensions import db
from ..orders.models import CHANNELS, STATUSES, Order, OrderAllocation, OrderLine

# The chips: what needs a person first (UX.md: "exceptions first"), then the rest.
EXCEPTIONS = ("backordered", "exception", "held")
PAGE_SIZE = 20

blp = Blueprint("order_counts", __name__, url_prefix="/api",
                description="Order counts per status, for the order screens' chips")


# -- filters ---------------------------------------------------------------------------

def _day(text):
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def page_filters(query) -> dict:
    """The list filters from the page URL; anything malformed is simply dropped
    (this is a first paint, the API answers the script with the field that is wrong)."""
    out = {}
    if query.get("status") in STATUSES:
        out["status"] = query["status"]
    if query.get("channel") in CHANNELS:
        out["channel"] = query["channel"]
    if (query.get("warehouse_id") or "").isdigit():
        out["warehouse_id"] = int(query["warehouse_id"])
    if (query.get("seller_id") or "").isdigit():
        out["seller_id"] = int(query["seller_id"])
    q = (query.get("q") or "").strip()
    if 0 < len(q) <= 64:
        out["q"] = q
    for key in ("from", "to"):
        day = _day(query.get(key))
        if day:
            out[key] = day
    return out


def orders_url(filters: dict, **changes) -> str:
    """/orders with these filters, some changed (None or "" drops one)."""
    from urllib.parse import urlencode
    merged = {**filters, **changes}
    keys = ("status", "channel", "warehouse_id", "seller_id", "from", "to", "q")
    query = {k: (v.isoformat() if isinstance(v, date) else v) for k in keys
             if (v := merged.get(k)) not in (None, "")}
    return "/orders" + (f"?{urlencode(query)}" if query else "")


def plural(locale: str, n: int) -> str:
    """The CLDR plural category of n for our languages (Intl.PluralRules in the script)."""
    return "other" if locale == "zh-CN" or n != 1 else "one"


def _filtered(stmt, args: dict, *, with_status: bool = True):
    """The filters of GET /api/orders, on any SELECT over orders."""
    for key in ("status", "channel", "seller_id") if with_status else ("channel", "seller_id"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(Order, key) == args[key])
    if args.get("warehouse_id") is not None:
        stmt = stmt.where(Order.id.in_(select(OrderAllocation.order_id).where(
            OrderAllocation.warehouse_id == args["warehouse_id"],
            OrderAllocation.quantity > 0)))
    if args.get("placed_from") is not None:
        stmt = stmt.where(Order.placed_at >= args["placed_from"])
    if args.get("placed_to") is not None:
        stmt = stmt.where(Order.placed_at < args["placed_to"])
    if args.get("q"):
        stmt = stmt.where(or_(Order.external_id == args["q"],
                              Order.ship_to_name.ilike(f"%{args['q']}%")))
    return stmt


def api_args(filters: dict) -> dict:
    """Page filters -> API arguments: days become [from 00:00, to+1 00:00) in UTC (the
    script uses the phone's own midnight; the difference lasts one paint)."""
    args = {k: v for k, v in filters.items() if k not in ("from", "to")}
    if filters.get("from"):
        args["placed_from"] = datetime.combine(filters["from"], time(), UTC)
    if filters.get("to"):
        args["placed_to"] = datetime.combine(filters["to"] + timedelta(days=1), time(), UTC)
    return args


def status_counts(args: dict, user=None) -> dict:
    """{status: orders} for every status, under every filter but the status."""
    stmt = apply_scope(select(Order.status, func.count(Order.id)), Order,
                       user if user is not None else principal())
    stmt = _filtered(stmt, args, with_status=False).group_by(Order.status)
    found = dict(db.session.execute(stmt).all())
    return {status: int(found.get(status, 0)) for status in STATUSES}


def chip_order(counts: dict, selected: str | None = None) -> list[str]:
    """The statuses to show as chips: exceptions first, then by count (most first),
    ties in the order's own life order; a status with no orders only if selected."""
    rest = sorted((s for s in STATUSES if s not in EXCEPTIONS),
                  key=lambda s: (-counts.get(s, 0), STATUSES.index(s)))
    return [s for s in (*EXCEPTIONS, *rest) if counts.get(s, 0) > 0 or s == selected]


def first_page(filters: dict) -> dict:
    """The first page of GET /api/orders for these filters, as the API dumps it."""
    from ..orders.schemas import OrderSummarySchema
    stmt = _filtered(scoped(Order), api_args(filters)).options(
        selectinload(Order.lines).selectinload(OrderLine.sku),
        selectinload(Order.allocations).selectinload(OrderAllocation.warehouse))
    rows = list(db.session.scalars(stmt.order_by(Order.id.desc()).limit(PAGE_SIZE + 1)))
    items = OrderSummarySchema(many=True).dump(rows[:PAGE_SIZE])
    from ..api import encode_cursor
    cursor = encode_cursor(rows[PAGE_SIZE - 1].id) if len(rows) > PAGE_SIZE else None
    return {"items": items, "next_cursor": cursor}


# -- the counts API ----------------------------------------------------------------------

class CountArgs(ma.Schema):
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    warehouse_id = fields.Integer(load_default=None)
    seller_id = fields.Integer(load_default=None)
    placed_from = fields.AwareDateTime(load_default=None)
    placed_to = fields.AwareDateTime(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(1, 64),
                      metadata={"description": "external order id or ship-to name"})


class CountsSchema(ma.Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "orders per status (every status)"})
    total = fields.Integer()
    exceptions = fields.List(fields.String(), metadata={
        "description": "the statuses that need a person, in the order to show them"})


@blp.route("/orders/counts")
@roles_required()
@blp.arguments(CountArgs, location="query")
@blp.response(200, CountsSchema)
def order_counts(args):
    """How many orders the caller may see are in each status, under the same
    filters as GET /api/orders (all but the status): the order screens' chips."""
    counts = status_counts(args)
    return {"counts": counts, "total": sum(counts.values()), "exceptions": list(EXCEPTIONS)}


def register_api(app):
    """Add the counts route to the app's flask-smorest Api (made in create_app)."""
    apis = app.extensions.get("flask-smorest", {}).get("apis", {})
    api = next((entry["ext_obj"] for entry in apis.values()), None)
    if api is None:  # pragma: no cover - create_app always makes the Api first
        current_app.logger.warning("no flask-smorest Api: /api/orders/counts not served")
        return
    api.register_blueprint(blp)


# -- formats for the first paint (the script re-renders with Intl) ---------------------

_CURRENCY_SIGN = {"USD": "$"}


def money(cents: int, currency: str = "USD", locale: str = "en") -> str:
    """Close to Intl.NumberFormat(locale, {style: 'currency'}) for en, zh-CN and es."""
    value = (cents or 0) / 100
    sign = _CURRENCY_SIGN.get(currency, currency + " ")
    grouped = f"{abs(value):,.2f}"
    minus = "-" if value < 0 else ""
    if locale == "es":
        whole, frac = f"{abs(value):.2f}".split(".")
        if len(whole) > 4:  # Spanish groups from five digits: 1234,56 but 12.345,67
            whole = f"{int(whole):,}".replace(",", ".")
        return f"{minus}{whole},{frac}\u00a0{'US$' if currency == 'USD' else currency}"
    if locale == "zh-CN" and currency == "USD":
        sign = "US$"
    return f"{minus}{sign}{grouped}"
