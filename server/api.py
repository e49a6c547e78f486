"""The JSON API's shared parts: the flask-smorest Api (OpenAPI at /api/openapi.json),
one error shape for every 4xx, keyset pagination, and the role check."""
import base64
import binascii
import json

import marshmallow as ma
from flask import jsonify, request
from flask_smorest import Api as SmorestApi
from flask_smorest import abort as flask_abort
from flask_wtf.csrf import CSRFError
from sqlalchemy import Select
from werkzeug.exceptions import HTTPException

from . import i18n
from .auth.doors import (ANY_ROLE, public, roles_required,  # noqa: F401  (re-exported)
                         signed_webhook)
from .auth.scoping import principal
from .errors import DomainError, localized
from .field_problems import localized_fields
from .extensions import db

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large",
          415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}


def _flatten(messages, prefix="") -> dict:
    """webargs nests errors by location ({"json": {"qty": [...]}}); name the field."""
    fields = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "form", "path", "headers", "files"):
                fields.update(_flatten(value, ""))
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
                if isinstance(value, dict):
                    fields.update(_flatten(value, name))
                else:
                    fields[name] = value if isinstance(value, list) else [value]
    elif isinstance(messages, list):
        fields[prefix or "_schema"] = messages
    return fields


class ShortageSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    sku_id = ma.fields.Integer()
    warehouse_id = ma.fields.Integer()
    requested = ma.fields.Integer()
    available = ma.fields.Integer()


class ErrorSchema(ma.Schema):
    """What every error answer holds: `error`, `message` and `fields`, always. Some
    errors carry more of their data beside them (named below, each with the error
    that sends it); any other key is data of the same kind."""
    class Meta:
        unknown = ma.INCLUDE  # documented as additionalProperties: true

    error = ma.fields.String(required=True,
                             metadata={"description": "machine-readable error code"})
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            required=True,
                            metadata={"description": "what is wrong, per field (may be "
                                      "empty)"})
    shortages = ma.fields.List(ma.fields.Nested(ShortageSchema), metadata={
        "description": "insufficient_stock: each line short, asked and available"})
    reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), metadata={
        "description": "cannot_ship: why each carrier service cannot carry the parcels"})
    problems = ma.fields.List(ma.fields.String(), metadata={
        "description": "conflict on releasing a held order: what still holds it"})
    order_id = ma.fields.Integer(metadata={"description": "the order concerned"})
    held = ma.fields.Integer(metadata={"description": "conflict on a release: the units "
                                       "the reference holds"})
    dead_letter_id = ma.fields.Integer(metadata={"description": "a dead letter that still "
                                                 "cannot be read"})
    provider = ma.fields.String(metadata={
        "description": "carrier_unavailable (503) / carrier_rejected (502): the carrier "
                       "gateway provider that failed"})
    upstream_status = ma.fields.Integer(metadata={
        "description": "carrier_unavailable / carrier_rejected: the provider's HTTP status"})
    limit = ma.fields.Integer(metadata={"description": "too_large (413): the most that is "
                                        "accepted (bytes of body, or mutations per push)"})


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        app = self._app
        app.register_error_handler(HTTPException, self.handle_http_exception)
        app.register_error_handler(DomainError, handle_domain_error)

    def handle_http_exception(self, error):
        if isinstance(error, CSRFError):
            body = {"error": "csrf_failed", "message": i18n.render(i18n.message(
                    "The CSRF token is missing or invalid: reload the page")),
                    "fields": {"X-CSRFToken": [i18n.render(i18n.message("missing or invalid"))]}}
            return _error_response(body, 400)
        if not request.path.startswith("/api/"):
            return error
        data = getattr(error, "data", None) or {}
        # The fields keep their names (machine-readable); their problems are in the
        # reader's language (field_problems.py), as is the message.
        fields = localized_fields(_flatten(data.get("messages") or data.get("errors") or {}))
        message = data.get("message") or error.description
        if fields and error.code == 422:
            message = i18n.render(i18n.message("Invalid input: %(fields)s",
                                               fields=", ".join(sorted(fields))))
        body = {"error": _CODES.get(error.code, error.name.lower().replace(" ", "_")),
                "message": message, "fields": fields}
        if error.code == 413 and not fields:
            # A body past MAX_CONTENT_LENGTH, refused unread: say what the limit is.
            limit = request.max_content_length
            body.update(message=i18n.render(i18n.message(
                "The body is larger than %(limit)s bytes", limit=limit)), limit=limit,
                fields={"body": [i18n.render(i18n.message("must be at most %(limit)s bytes",
                                                          limit=limit))]})
        headers = dict(data.get("headers") or {})
        for key, value in error.get_headers():
            # A 405's Allow (RFC 9110), a 401's WWW-Authenticate: what the error says.
            if key.lower() != "content-type":
                headers.setdefault(key, value)
        return _error_response(body, error.code, headers)


def _error_response(body, status, headers=None):
    db.session.rollback()  # an error changes nothing
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_domain_error(error: DomainError):
    db.session.rollback()  # first: the reader's language may have to be read
    return _error_response(localized(error.to_dict()), error.status)


# -- keyset pagination -------------------------------------------------------------

class PageArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200),
                              metadata={"description": "rows per page, 1-200"})
    after = ma.fields.String(load_default=None,
                             metadata={"description": "next_cursor of the previous page"})


def encode_cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        flask_abort(422, messages={"query": {"after": ["not a cursor from this API"]}})


def keyset_page(stmt: Select, key_column, args: dict, *, descending: bool = False) -> dict:
    """One page of `stmt`, ordered by the unique `key_column`, after the cursor.

    Keyset, not OFFSET: page 1,000 costs what page 1 costs, and rows inserted
    meanwhile do not shift the pages.
    """
    limit = args.get("limit") or 50
    after = args.get("after")
    if after:
        last = decode_cursor(after)
        if not isinstance(last, int) or isinstance(last, bool) \
                or not -2**63 <= last < 2**63:
            flask_abort(422, messages={"query": {"after": ["not a cursor from this API"]}})
        stmt = stmt.where(key_column < last if descending else key_column > last)
    stmt = stmt.order_by(key_column.desc() if descending else key_column).limit(limit + 1)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows,
            "next_cursor": encode_cursor(getattr(rows[-1], key_column.key)) if more else None}


def page_schema(item_schema_cls, name: str):
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema_cls)),
        "next_cursor": ma.fields.String(allow_none=True,
                                        metadata={"description": "pass as ?after= for the "
                                                  "next page; null on the last page"}),
    }, name=name)
