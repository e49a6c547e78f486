"""The offline reconciliation engine (../shared/design/SYNC.md): the push/pull
protocol, the per-device mutation log, the apply rules and conflicts.

Plain Python over the same SQLAlchemy session as the server, with no Flask request
objects inside, so it can be tested alone. It applies device mutations by calling
the same service functions as the API (server/inventory/services.py). The
protocol itself is built by the floor issue (#5); this package is where it goes.
"""
