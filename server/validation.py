"""Input that cannot be stored is refused, with a 4xx naming the field, before the
database sees it (issue #9). The rules that hold for every route live here, once:

- Body size: MAX_CONTENT_LENGTH (bytes, Flask's own setting): a larger body is
  never read and is answered 413 with the limit (server/api.py).
- Every JSON body is read once, before the view (`check_request`): nested at most
  MAX_JSON_DEPTH deep; no string (nor key) with a NUL or an unpaired surrogate,
  which PostgreSQL cannot store; no number that is not finite or does not fit in
  64 bits. Query strings and forms get the same string rule. The first problem is
  answered 422, naming the field by its dotted path (`lines.0.sku_id`).
  A view may leave parts of its body to its own checks (`checked_by_view`): the
  sync push does, so a bad mutation is rejected alone, not the whole batch.
- Integers in the API's schemas are bounded by the columns they go to: every
  marshmallow Integer refuses (and the OpenAPI document states) values outside
  32 bits, unless its metadata says `"format": "int64"` (`Integer` below). Path
  ids are 32-bit too: `<int:order_id>` above 2**31-1 is a 404 (`Int32Converter`).
- The last line, for every write whatever its source (API, sync, CLI, jobs): a
  flush that would store a string longer than its column, with a NUL or an
  unpaired surrogate, or an integer outside its column's range, raises
  InvalidInput naming the attribute (`guard_flush`), so nothing reaches the
  database that it would refuse with an error the API cannot explain.
"""
import json
import math

import marshmallow as ma
from flask import current_app, request
from sqlalchemy import BigInteger, Integer as SaInteger, SmallInteger, String, event, inspect
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

INT32 = (-2**31, 2**31 - 1)
INT64 = (-2**63, 2**63 - 1)
INT16 = (-2**15, 2**15 - 1)

DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # bytes
DEFAULT_MAX_JSON_DEPTH = 32
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# -- strings and numbers ------------------------------------------------------------

def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (PostgreSQL refuses NUL, and UTF-8 has no
    unpaired surrogates), or None."""
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain unpaired surrogates (\\ud800-\\udfff)"
    return None


def printable_key(key) -> str:
    """A key as it can be named in an error (and stored): escaped if it needs it."""
    key = str(key)
    if text_problem(key):
        key = json.dumps(key)[1:-1]
    return key if len(key) <= 64 else key[:61] + "..."


def _join(path: tuple) -> str:
    return ".".join(printable_key(p) for p in path)


def first_problem(value, *, max_depth: int, int_range=INT64, lenient=()):
    """(dotted path, problem) of the first value inside a parsed JSON document that
    cannot be stored, or None. Iterative, so a deep document cannot exhaust the
    stack. Paths matching a `lenient` pattern (tuples of keys, "*" for any) are only
    checked for depth: what is inside is for their view to judge."""
    stack = [(value, (), False)]
    while stack:
        item, path, loose = stack.pop()
        if isinstance(item, (dict, list)):
            if len(path) >= max_depth:
                return (_join(path) or "_body",
                        f"nests deeper than {max_depth} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                child_path = path + (key,)
                if not loose and isinstance(key, str) and text_problem(key):
                    return _join(child_path), "its name " + text_problem(key)
                stack.append((child, child_path,
                              loose or any(_matches(child_path, p) for p in lenient)))
        elif loose:
            continue
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return _join(path) or "_body", problem
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not int_range[0] <= item <= int_range[1]:
                return _join(path) or "_body", (f"must be between {int_range[0]} and "
                                                f"{int_range[1]}")
        elif isinstance(item, float) and not math.isfinite(item):
            return _join(path) or "_body", "must be a finite number"
    return None


def _matches(path: tuple, pattern: tuple) -> bool:
    return len(path) == len(pattern) and all(
        p == "*" or str(p) == str(k) for p, k in zip(pattern, path))


def checked_by_view(*patterns: str):
    """Declare parts of a view's JSON body ("mutations.*.args") that the view checks
    itself, string by string: the request check then only limits their depth."""
    parsed = tuple(tuple(p.split(".")) for p in patterns)

    def declare(view):
        view._lenient = parsed
        return view
    return declare


# -- the request check ----------------------------------------------------------------

def _refuse(location: str, field: str, problem: str):
    from flask_smorest import abort
    if request.path.startswith("/api/"):
        abort(422, messages={location: {field: [problem]}})
    raise BadRequest(f"{field}: {problem}")


def check_request():
    """Run before every view (after the door check): refuse what no view may see."""
    if request.routing_exception is not None or request.endpoint is None:
        return None  # Flask answers 404 or 405 on its own
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return None
    for key, value in request.args.items(multi=True):
        problem = text_problem(key) or text_problem(value)
        if problem:
            _refuse("query", printable_key(key), problem)
    if getattr(view, "_signed", False):
        return None  # a platform's webhook: the view verifies the raw body itself
    if request.mimetype in FORM_TYPES:
        for key, value in request.form.items(multi=True):
            problem = text_problem(key) or text_problem(value)
            if problem:
                _refuse("form", printable_key(key), problem)
        return None
    if not request.is_json:
        return None
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH, unread
    if not raw:
        return None
    max_depth = current_app.config.get("MAX_JSON_DEPTH") or DEFAULT_MAX_JSON_DEPTH
    try:
        document = json.loads(raw)
    except RecursionError:
        _refuse("json", "_body", f"nests deeper than {max_depth} levels")
    except ValueError:
        return None  # not JSON: the view's parser answers that, naming the position
    found = first_problem(document, max_depth=max_depth, lenient=getattr(view, "_lenient", ()))
    if found:
        _refuse("json", *found)
    return None


# -- integers that fit their columns ---------------------------------------------------

class Integer(ma.fields.Integer):
    """marshmallow's Integer, bounded by the column it is stored in: 32 bits, or 64
    with metadata={"format": "int64"}. The bound is a Range validator, so the
    OpenAPI document states it and a value outside it is a 422 naming the field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        low, high = INT64 if self.metadata.get("format") == "int64" else INT32
        ranges = [v for v in self.validators if isinstance(v, ma.validate.Range)]
        has_min = any(r.min is not None and r.min >= low for r in ranges)
        has_max = any(r.max is not None and r.max <= high for r in ranges)
        if not (has_min and has_max):
            self.validators = [*self.validators, ma.validate.Range(
                None if has_min else low, None if has_max else high)]


def install_integer_bounds() -> None:
    """Make every `fields.Integer` / `fields.Int` of the app's schemas bounded. Runs
    when the `server` package is imported, before any schema is defined."""
    if ma.fields.Integer is not Integer:
        ma.fields.Integer = ma.fields.Int = Integer


class Int32Converter(IntegerConverter):
    """`<int:...>` in a URL: a row id, so at most 2**31-1 (else 404, as for an id
    that does not exist). The OpenAPI document says so (maximum)."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT32[1], signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


# -- the last line: what a flush would write ---------------------------------------------

def column_problem(column_type, value) -> str | None:
    if isinstance(column_type, String) and isinstance(value, str):
        if column_type.length is not None and len(value) > column_type.length:
            return f"must be at most {column_type.length} characters"
        return text_problem(value)
    if isinstance(column_type, SaInteger) and isinstance(value, int) \
            and not isinstance(value, bool):
        low, high = (INT64 if isinstance(column_type, BigInteger) else
                     INT16 if isinstance(column_type, SmallInteger) else INT32)
        if not low <= value <= high:
            return f"must be between {low} and {high}"
    return None


def guard_flush(session, _flush_context, _instances) -> None:
    from .errors import InvalidInput
    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            value = state.dict.get(attr.key)
            if value is None:
                continue
            problem = column_problem(attr.columns[0].type, value)
            if problem:
                raise InvalidInput(attr.key, problem)


event.listen(Session, "before_flush", guard_flush)


def init_app(app) -> None:
    """Before any route is added: 32-bit path ids. Then the request check, which runs
    after the door check (server/auth), so an unknown caller learns nothing."""
    app.url_map.converters["int"] = Int32Converter
    app.config.setdefault("MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH)
    app.before_request(check_request)
