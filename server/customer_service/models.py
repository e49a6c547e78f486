"""The search box's indexes on orders (migration 0017), declared here beside the
search that uses them, with the same expressions: the
e-mail in lower case, and the phone's last ten digits.

A reply itself has no table of its own: it is an order event (kind
'service_reply', the history) and a notification (kind 'reply', the sending and
its status), written in one transaction (services.send_reply).
"""
from sqlalchemy import Index, func

from ..orders.models import Order

# The characters people write around a phone's digits; what is left are the digits.
_PHONE_NOISE = (" ", "-", "(", ")", ".", "+")


def phone_digits(column):
    expression = column
    for char in _PHONE_NOISE:
        expression = func.replace(expression, char, "")
    return expression


def phone_key(column):
    """The last ten digits of a stored phone (SQLite and PostgreSQL alike):
    "+1 (213) 555-0101" -> "2135550101"."""
    digits = phone_digits(column)
    return func.substr(digits, func.length(digits) - 9)


EMAIL_KEY = func.lower(Order.ship_to_email)
PHONE_KEY = phone_key(Order.ship_to_phone)

Index("ix_orders_email_lower", EMAIL_KEY)
Index("ix_orders_phone_key", PHONE_KEY)
