"""Haicang's Flask application: `create_app()` builds it and calls each subsystem's
init_app. `flask --app server ...` finds the factory here."""
from pathlib import Path

from flask import Flask

from . import config as config_module
from . import validation
from .extensions import csrf, db, limiter, login_manager, migrate, socketio

# Before any schema module is imported: every marshmallow Integer fits its column.
validation.install_integer_bounds()

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"),
                static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config.from_mapping(config_module.load(app.instance_path, overrides))
    app.json.sort_keys = False

    db.init_app(app)
    from . import i18n
    i18n.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    # Our own client manager (on SOCKETIO_MESSAGE_QUEUE and SOCKETIO_CHANNEL, or in
    # memory): closing a room there also disconnects its members, in every process,
    # which is how a revoked token or an ended session loses its sockets.
    from .realtime import client_manager
    socketio.init_app(app, client_manager=client_manager(app.config), async_mode="threading")

    from . import models  # noqa: F401  every table, for Alembic and the mappers
    from . import auth, jobs, realtime, web
    from .api import Api
    from .catalog.api import blp as catalog_blp
    from .inventory.api import blp as inventory_blp
    from .inventory.api import warehouses_blp

    auth.init_app(app, login_manager)
    # 32-bit path ids before any route exists; body, depth and string checks after
    # the door check (server/validation.py).
    validation.init_app(app)
    api = Api(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer",
                   "description": "`flask --app server tokens create EMAIL`"})
    api.spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "session",
                    "description": "PWA log-in; state-changing calls need X-CSRFToken"})
    from .auth.api import blp as auth_blp
    from .carriers.api import blp as carriers_blp
    from .orders.api import blp as orders_blp
    from .channels.api import blp as channels_blp
    from .warehouse.api import blp as floor_blp
    from .delivery.api import blp as delivery_blp
    for blp in (auth_blp, warehouses_blp, catalog_blp, inventory_blp, orders_blp,
                carriers_blp, floor_blp, delivery_blp):
        api.register_blueprint(blp)
    api.register_blueprint(channels_blp)
    from .booking.api import blp as booking_blp  # self-service booking (issue #12)
    api.register_blueprint(booking_blp)
    from . import notifications
    notifications.init_app(app, api)  # /api/notifications, the unsubscribe link
    from . import customer_service; customer_service.init_app(app, api)  # /api/service
    from . import reports; reports.init_app(app, api)  # /api/reports (issue #13)
    api.spec.options["security"] = [{"bearer": []}, {"session": []}]
    from .auth.doors import declare_builtin, public
    declare_builtin(app, "static", public)  # the shell's bundles and icons
    declare_builtin(app, "api-docs.openapi_json", public)  # the API's description
    jobs.init_app(app)
    realtime.init_app(app)
    web.init_app(app)
    from . import tracking_page
    tracking_page.init_app(app)  # the public tracking page: /t/<token>, /track
    from .cli import register as register_cli
    register_cli(app)
    from .channels.cli import channels as channels_cli
    app.cli.add_command(channels_cli)
    return app
