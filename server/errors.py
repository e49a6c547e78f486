"""Errors that carry data, and the one JSON shape every API error takes:

    {"error": CODE, "message": "...", "fields": {"field": ["what is wrong"]}, ...data}

Service functions raise DomainError subclasses; the API turns them into 4xx answers.
Because services never commit, a raised error leaves the transaction to be rolled
back whole: bad input changes nothing.

The message a person reads is in their language: a raise site may give it as a
stored message (`i18n.message(msgid, **params)`, see server/i18n.py) instead of
English text. `error.message` is then its English, `to_dict()` carries the stored
form beside it under MESSAGE_KEY, and `localized(body)` (the API's error handler,
the sync engine answering a device) renders `message` in the reader's language.
A field's problem given as a stored message is kept the same way (FIELDS_KEY) and
rendered too; the error code and the fields' names stay as they are, machine-readable.
"""
from . import i18n

# Where a body keeps its message's stored form until it is answered (never sent).
MESSAGE_KEY = "message_i18n"
FIELDS_KEY = "fields_i18n"  # the same for the fields' problems


def english(value) -> str:
    """A stored message (or plain text, or a list of them) as English: what is stored
    as text and logged. The msgids are the English, so no catalogue is read (and no
    app context is needed): the same as i18n.render(value, "en"), cheaply."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(english(v) for v in value)
    if i18n.is_message(value):
        params = {k: english(v) if isinstance(v, (dict, list, tuple)) else v
                  for k, v in (value.get("params") or {}).items()}
        return value["msgid"] % params if params else value["msgid"]
    return str(value)


def localized(body: dict, locale: str | None = None) -> dict:
    """`body` as it is answered: its `message` in `locale` (the request's by default)
    when its stored form is kept, without that stored form."""
    if not isinstance(body, dict) or (MESSAGE_KEY not in body and FIELDS_KEY not in body):
        return body
    body = dict(body)
    stored = body.pop(MESSAGE_KEY, None)
    if i18n.is_message(stored):
        body["message"] = i18n.render(stored, locale)
    problems = body.pop(FIELDS_KEY, None)
    if isinstance(problems, dict):
        body["fields"] = {name: [i18n.render(p, locale) for p in texts]
                          for name, texts in problems.items()}
    return body


class DomainError(Exception):
    status = 409
    code = "conflict"

    def __init__(self, message, *, fields: dict | None = None, **data):
        self.text = message  # English, or a stored message
        self.message = english(message)
        super().__init__(self.message)
        self.field_texts = {k: list(v) for k, v in (fields or {}).items()}
        self.fields = {k: [english(p) for p in v] for k, v in self.field_texts.items()}
        self.data = data

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message, "fields": self.fields}
        body.update(self.data)
        if i18n.is_message(self.text):
            body[MESSAGE_KEY] = self.text
        if any(i18n.is_message(p) for texts in self.field_texts.values() for p in texts):
            body[FIELDS_KEY] = self.field_texts
        return body


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


def field_problem(field: str, problem):
    """"<field>: <problem>", kept as a message when the problem is one."""
    if i18n.is_message(problem):
        return i18n.message("%(field)s: %(problem)s", field=field, problem=problem)
    return f"{field}: {problem}"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a business rule about one field."""
    status = 422
    code = "validation_error"

    def __init__(self, field: str, problem, **data):
        super().__init__(field_problem(field, problem), fields={field: [problem]}, **data)


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    """More than may be sent at once (a sync batch past its size): 413, with `limit`."""
    status = 413
    code = "too_large"

    def __init__(self, field: str, problem, *, limit: int):
        super().__init__(field_problem(field, problem), fields={field: [problem]},
                         limit=limit)


class InsufficientStock(DomainError):
    """Not enough available stock. `shortages` says which lines, and by how much."""
    status = 409
    code = "insufficient_stock"

    def __init__(self, shortages: list[dict]):
        parts = [i18n.message("SKU %(sku_id)s: asked %(requested)s, available %(available)s",
                              sku_id=s["sku_id"], requested=s["requested"],
                              available=s["available"]) for s in shortages]
        super().__init__(i18n.message("Not enough stock (%(shortages)s)",
                                      shortages=parts), shortages=shortages)

