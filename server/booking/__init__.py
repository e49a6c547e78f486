"""Self-service booking of a large-item delivery (issue #12, item 3).

- pricing.py: the own fleet's price (a documented formula) and its radius.
- services.py: quote(item, pickup, destination) -> every way to carry it (own fleet
  with its next free days, each carrier service of the gateway's rate cards,
  freight included), each possible or not and why; book(option) -> order +
  shipment the rest of the system follows.
- models.py: Booking. api.py: /api/bookings[/quote|/<id>] (admin, seller).
"""
