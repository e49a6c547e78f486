"""Last-mile delivery with the warehouse's own vans (issue #12).

- models.py: vans (Vehicle), a day's routes (Route) and their stops (RouteStop).
- planning.py: the vehicle routing solver over plain data (OR-Tools), and the
  service that plans a warehouse's day from its own-fleet shipments and stores it.
- services.py: vans, moving a stop and re-timing its routes, route status.
- manifest.py: the printable manifest of a route, a Code 128 barcode per stop.
- api.py, schemas.py: the JSON API under /api (admin = the dispatcher).
"""
