"""The reports' doors (admins, and sellers for their own numbers):

- `GET /api/reports/<name>?from=&to=&seller_id=`: JSON, {columns, rows, ...}
- `GET /api/reports/<name>.csv?...`: the same rows as CSV, for a spreadsheet
"""
import csv
import io

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..api import roles_required
from ..auth.scoping import principal
from ..errors import NotFound
from ..extensions import db
from ..i18n import message
from ..validation import Integer
from . import services

blp = Blueprint("reports", __name__, url_prefix="/api/reports",
                description="The seller's numbers: orders, SKU velocity (ABC), days of supply")

NAMES = tuple(services.REPORTS)


class ReportArgs(ma.Schema):
    start = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day, UTC (default: 27 days before `to`)"})
    end = fields.Date(data_key="to", load_default=None,
                      metadata={"description": "last day, included (default: today, UTC)"})
    seller_id = Integer(load_default=None, metadata={
        "description": "admins: one seller's numbers (default: every seller's)"})
    by = fields.String(load_default="day", validate=validate.OneOf(["day", "week"]),
                       metadata={"description": "orders: a row per day or per week"})
    split = fields.String(load_default="channel", validate=validate.OneOf(["channel", "none"]),
                          metadata={"description": "orders: per channel, or all together"})


class ReportSchema(ma.Schema):
    report = fields.String()
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    days = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    by = fields.String()
    split = fields.String(allow_none=True)
    columns = fields.List(fields.String())
    rows = fields.List(fields.Dict(), metadata={"description": "one object per row, "
                                                "keyed by the columns (and ids)"})
    totals = fields.Dict()


def _run(name: str, args: dict) -> dict:
    if name not in services.REPORTS:
        raise NotFound(message("No report %(name)s", name=name),
                       fields={"name": [message("must be one of %(choices)s",
                                                choices=", ".join(NAMES))]})
    user = principal()
    seller_id = user.seller_id if user.role == "seller" else args["seller_id"]
    days = services.day_range(args["start"], args["end"])
    extra = {"by": args["by"], "split": None if args["split"] == "none" else args["split"]} \
        if name == "orders" else {}
    result = services.REPORTS[name](db.session, user, days, seller_id=seller_id, **extra)
    result.update(start=days.start, end=days.end, days=days.days, seller_id=seller_id)
    return result


@blp.route("/<name>")
@roles_required("admin", "seller")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportSchema)
def report(args, name):
    """One report over a range of days: `orders`, `velocity` or `supply`."""
    return _run(name, args)


@blp.route("/<name>.csv")
@roles_required("admin", "seller")
@blp.arguments(ReportArgs, location="query")
@blp.doc(responses={"200": {"description": "the report's rows, a header line first",
                            "content": {"text/csv": {"schema": {"type": "string"}}}}})
def report_csv(args, name):
    """The same report as CSV (UTF-8 with a byte-order mark, which spreadsheets read)."""
    result = _run(name, args)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(result["columns"])
    for row in result["rows"]:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in result["columns"]])
    filename = f"{name}-{result['start'].isoformat()}-{result['end'].isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store"})
