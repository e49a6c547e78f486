"""Customer service (issue #11, item 6): find an order by anything the customer
quotes (order number, channel order id, tracking number, e-mail, phone, name),
read its whole timeline, and send the customer a templated reply in the
customer's language, recorded on the order.

- services.py: the rules (search, timeline, replies)
- content.py and templates/: what the replies say, from this package's catalogue
- schemas.py, api.py: the doors under /api/service (admins and sellers)
- pages.py: the /service screen of the PWA (static/src/service.js)
"""


def init_app(app, api) -> None:
    from . import api as doors
    doors.init_app(app, api)
