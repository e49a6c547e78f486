"""What is wrong with a field, in the reader's language.

A 422 names each field and its problems (`fields` in every error body, server/api.py).
The problems come from marshmallow, which formats its messages in English before we
see them, and from the request check (server/validation.py). Each known template is
listed here once, as a message id; a problem that matches one is rendered from the
catalogue with the values it carried (the limit, the choices), so a Chinese or Spanish
screen shows it beside the field in its own language. A problem matching no template
(a view's own text) is left as it is.
"""
import re

from . import i18n
from .i18n import N_

TEMPLATES = (
    # marshmallow's fields
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid input type."),
    N_("Invalid type."),
    N_("Invalid value."),
    N_("Unknown field."),
    N_("Not a valid string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Not a valid boolean."),
    N_("Not a valid list."),
    N_("Not a valid mapping type."),
    N_("Not a valid tuple."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid aware datetime."),
    N_("Not a valid naive datetime."),
    N_("Not a valid time."),
    N_("Not a valid email address."),
    N_("Not a valid e-mail address."),
    N_("Not a valid URL."),
    N_("Not a valid UUID."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid period of time."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    # marshmallow's validators
    N_("Length must be between %(min)s and %(max)s."),
    N_("Length must be %(equal)s."),
    N_("Longer than maximum length %(max)s."),
    N_("Shorter than minimum length %(min)s."),
    N_("Must be one of: %(choices)s."),
    N_("String does not match expected pattern."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s and less than %(max)s."),
    N_("Must be greater than %(min)s and less than %(max)s."),
    N_("Must be greater than or equal to %(min)s."),
    N_("Must be greater than %(min)s."),
    N_("Must be less than or equal to %(max)s."),
    N_("Must be less than %(max)s."),
    # the request check (server/validation.py) and our schemas' own
    N_("must not contain NUL characters (\\u0000)"),
    N_("must not contain unpaired surrogates (\\ud800-\\udfff)"),
    N_("its name must not contain NUL characters (\\u0000)"),
    N_("its name must not contain unpaired surrogates (\\ud800-\\udfff)"),
    N_("nests deeper than %(depth)s levels"),
    N_("must be between %(min)s and %(max)s"),
    N_("must be a finite number"),
    N_("must be at most %(limit)s bytes"),
    N_("must be a US ZIP code: 12345 or 12345-6789"),
    N_("must be a time HH:MM"),
)

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


def _pattern(template: str) -> re.Pattern:
    return re.compile(_PLACEHOLDER.sub(r"(?P<\1>.+?)", re.escape(template)) + r"\Z",
                      re.DOTALL)


_MATCHERS = tuple((_pattern(t), t) for t in TEMPLATES)


def as_message(problem):
    """The stored message a problem's text was formatted from, or the text itself."""
    if not isinstance(problem, str):
        return problem
    for pattern, template in _MATCHERS:
        found = pattern.match(problem)
        if found:
            return i18n.message(template, **found.groupdict())
    return problem


def localized_fields(fields: dict) -> dict:
    """{field: [problem, ...]} with every known problem in the reader's language."""
    return {name: [i18n.render(as_message(p)) if isinstance(p, str) else p
                   for p in problems]
            for name, problems in fields.items()}
