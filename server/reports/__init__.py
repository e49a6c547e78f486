"""The seller's numbers (issue #13): reports computed by the database.

- services.py: the reports, each one SQL statement of aggregates
- api.py: GET /api/reports/<name> (JSON) and /api/reports/<name>.csv
- the /reports screen of the PWA: static/src/reports.js
"""


def init_app(app, api) -> None:
    from .api import blp
    api.register_blueprint(blp)
