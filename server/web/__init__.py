"""The PWA shell: server-rendered first paint of the log-in page and the home of
each role, the web app manifest, the service worker (served from / so its scope
is the whole app), and the API docs page from our own static bundle.

The first paint is rendered in the user's language from the same dictionaries the
JavaScript uses (static/src/i18n/*.json), so a page shows whole and translated
before any script runs, and the script only takes over.
"""
import json
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user, login_user
from sqlalchemy import select

from .. import i18n
from ..auth.doors import public, roles_required
from ..auth.limits import password_limits, password_refused

bp = Blueprint("web", __name__)

LOCALES = ("en", "zh-CN", "es")
ROLES = ("admin", "seller", "picker", "driver")
LOCALE_COOKIE = "hc_locale"  # set by the language buttons (static/src/i18n.js)


# -- translations for the first paint ------------------------------------------------

def _static_path(*parts) -> Path:
    return Path(current_app.static_folder, *parts)


@lru_cache(maxsize=16)
def _dictionary(path: str, mtime: float) -> dict:
    # Keyed by mtime so an edited dictionary is picked up without a restart.
    return json.loads(Path(path).read_text(encoding="utf-8"))


def translations(locale: str) -> dict:
    path = _static_path("src", "i18n", f"{locale}.json")
    fallback = _static_path("src", "i18n", "en.json")
    english = _dictionary(str(fallback), fallback.stat().st_mtime)
    if locale == "en" or not path.exists():
        return english
    return {**english, **_dictionary(str(path), path.stat().st_mtime)}


def match_locale(tag: str | None) -> str | None:
    """The PWA's dictionary for a tag (server/i18n.py matches; the PWA reads
    Traditional Chinese in Simplified until it has its own dictionary)."""
    found = i18n.match_locale(tag)
    return i18n.pwa_locale(found) if found else None


def page_locale() -> str:
    """The same choice as the server's text (server/i18n.select_locale): ?lang=, the
    user's setting, this device's earlier choice, the browser's, English."""
    return i18n.pwa_locale(i18n.select_locale())


# -- hashed asset names from the build ------------------------------------------------

@lru_cache(maxsize=4)
def _assets(path: str, mtime: float) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def asset_url(name: str) -> str:
    """URL of a bundle by its logical name (app.js -> /static/dist/app-<hash>.js).

    build.mjs writes static/dist/assets.json; before a build the plain name is used,
    so a page still renders (unstyled) instead of failing.
    """
    manifest = _static_path("dist", "assets.json")
    if manifest.exists():
        mapped = _assets(str(manifest), manifest.stat().st_mtime).get(name)
        if mapped:
            return url_for("static", filename=mapped)
    else:
        current_app.logger.warning("static/dist/assets.json missing: run `npm run build`")
    return url_for("static", filename=f"dist/{name}")


@bp.app_context_processor
def shell_context():
    # Also runs for templates rendered outside a request (an e-mail in a job).
    locale = page_locale() if has_request_context() else "en"
    strings = translations(locale)
    return {
        "locale": locale,
        "asset_url": asset_url,
        "t": lambda key, **kw: strings.get(key, key).format(**kw) if kw else strings.get(key, key),
    }


# -- pages ----------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    """A path on this site only: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.home")


# Screens by role: every page below renders the same app shell (templates/app.html)
# with all of the role's screens in it, the one the URL names shown and painted by
# the server; the script then switches screens with the history API, so a reload
# and the back button both land where they should, online or from the saved shell.
FLOOR = ("tasks", "pick", "receive", "move", "count", "ship", "pack", "exceptions")
# Marketplace accounts, held orders to fix, dead letters (static/src/channels.js).
CHANNEL_SCREENS = ("channels", "held", "deadletters")
# Customer service and large-item booking (static/src/service.js, booking.js).
DESK_SCREENS = ("service", "booking")
SCREENS = {"admin": ("home", "orders", "order", "stock", *CHANNEL_SCREENS, *DESK_SCREENS,
                     "dispatch", *FLOOR),
           "seller": ("home", "orders", "order", *CHANNEL_SCREENS, *DESK_SCREENS),
           "picker": ("home", *FLOOR), "driver": ("home",)}


def _role() -> str:
    return current_user.role if current_user.role in ROLES else "driver"


def _shell(screen: str, status: int = 200, **context):
    from ..auth.models import Seller
    from ..inventory.models import Warehouse
    from .orders import CHANNELS, EXCEPTIONS, STATUSES

    role = _role()
    boot = {"id": current_user.id, "role": role, "locale": current_user.locale,
            "screen": screen, "screens": list(SCREENS[role]),
            "seller_id": current_user.seller_id,
            "camera_js": asset_url("camera.js"),
            "warehouses": [{"id": w.id, "code": w.code, "name": w.name}
                           for w in current_user.warehouses]}
    if "dispatch" in SCREENS[role]:
        from ..auth.models import User
        from ..extensions import db
        # The dispatcher gives routes to the drivers of the route's warehouse.
        boot["drivers"] = [{"id": u.id, "name": u.name or u.email,
                            "warehouse_ids": [w.id for w in u.warehouses]}
                           for u in db.session.scalars(select(User).where(
                               User.role == "driver").order_by(User.id))]
    if "orders" in SCREENS[role]:
        from ..extensions import db
        # The warehouse filter's options and, for an admin, whose order a card is.
        context.setdefault("all_warehouses", [
            {"id": w.id, "code": w.code, "name": w.name, "timezone": w.timezone}
            for w in db.session.scalars(select(Warehouse).order_by(Warehouse.code))])
        boot["all_warehouses"] = context["all_warehouses"]
        if role == "admin":
            boot["sellers"] = {s.id: s.code for s in db.session.scalars(select(Seller))}
        # The orders screens are in every page of the role, painted empty when the
        # URL names another screen.
        from . import orders as view
        for key, value in (("filters", {}), ("counts", None), ("chips", []), ("attention", []),
                           ("orders_page", None), ("order", None), ("order_id", None)):
            context.setdefault(key, value)
        context.update(money=view.money, orders_url=view.orders_url, plural=view.plural,
                       sellers=boot.get("sellers", {}))
    title_key = {"home": f"{role}.title", "orders": "orders.title", "order": "order.title",
                 "stock": "stock.title", "tasks": "floor.tasks_title",
                 "channels": "channels.title", "held": "held.title",
                 "deadletters": "dead.title", "service": "service.title",
                 "booking": "booking.title", "dispatch": "dispatch.title"}.get(
        screen, f"floor.{screen}_title")
    context.setdefault("task_id", None)
    page = render_template("app.html", user=current_user, role=role, boot=boot,
                           screen=screen, screens=SCREENS[role], title_key=title_key,
                           statuses=STATUSES, channels=CHANNELS, exceptions=EXCEPTIONS,
                           **context)
    return page, status


def _orders_allowed() -> bool:
    return "orders" in SCREENS[_role()]


@bp.route("/")
@roles_required()
def home():
    if not _orders_allowed():
        return _shell("home")
    from . import orders as view
    counts = view.status_counts({})
    return _shell("home", attention=[(s, counts[s]) for s in view.EXCEPTIONS if counts[s]])


@bp.route("/orders")
@roles_required("admin", "seller")
def orders():
    """The order list: chips, filters and the first page, painted by the server."""
    if not _orders_allowed():
        return redirect(url_for("web.home"))
    from . import orders as view
    filters = view.page_filters(request.args)
    counts = view.status_counts(view.api_args(filters))
    return _shell("orders", filters=filters, counts=counts,
                  chips=view.chip_order(counts, filters.get("status")),
                  orders_page=view.first_page(filters))


@bp.route("/orders/<int:order_id>")
@roles_required("admin", "seller")
def order(order_id):
    """One order; the script fills it in from GET /api/orders/<id>. An order the user
    may not see is a 404, the same as one that does not exist."""
    if not _orders_allowed():
        return redirect(url_for("web.home"))
    from ..auth.scoping import scoped
    from ..extensions import db
    from ..orders.models import Order
    found = db.session.scalars(scoped(Order).where(Order.id == order_id)).first()
    return _shell("order", status=200 if found else 404, order_id=order_id, order=found)


@bp.route("/stock")
@roles_required("admin")  # a seller's home is its stock
def stock():
    """Stock rows (an admin's; a seller's home already is its stock)."""
    if "stock" not in SCREENS[_role()]:
        return redirect(url_for("web.home"))
    return _shell("stock")


# -- channels (sellers and admins): painted empty, filled by static/src/channels.js
#    from the API (the service worker's saved answers when offline).

_CHANNEL_PATHS = {"": "channels", "/exceptions": "held", "/dead-letters": "deadletters"}


@bp.route("/channels", defaults={"sub": ""})
@bp.route("/channels/exceptions", defaults={"sub": "/exceptions"})
@bp.route("/channels/dead-letters", defaults={"sub": "/dead-letters"})
@roles_required("admin", "seller")
def channels(sub):
    """Channel accounts and their health; held orders to fix; dead letters."""
    screen = _CHANNEL_PATHS[sub]
    if screen not in SCREENS[_role()]:
        return redirect(url_for("web.home"))
    return _shell(screen)


# -- customer service and booking (sellers and admins): painted empty, filled by
#    static/src/service.js and static/src/booking.js from the API.

@bp.route("/service")
@roles_required("admin", "seller")
def service():
    """Customer service: search an order, its timeline, reply to the customer."""
    if "service" not in SCREENS[_role()]:
        return redirect(url_for("web.home"))
    return _shell("service")


@bp.route("/dispatch")
@roles_required("admin")
def dispatch():
    """The dispatcher's day: plan the vans' routes, move stops, send them out."""
    return _shell("dispatch")


@bp.route("/booking")
@roles_required("admin", "seller")
def booking():
    """Book a large-item delivery: compare every option, book one."""
    if "booking" not in SCREENS[_role()]:
        return redirect(url_for("web.home"))
    return _shell("booking")


# -- the floor (pickers and admins): one shell, each screen painted empty and filled
#    by static/src/floor.js from the data kept on the device (so also offline).

def _floor(screen: str, **context):
    if screen not in SCREENS[_role()]:
        return redirect(url_for("web.home"))
    return _shell(screen, **context)


@bp.route("/floor")
@roles_required("admin", "picker")
def floor_tasks():
    """My tasks: open pick tasks and exceptions of my warehouse."""
    return _floor("tasks")


@bp.route("/floor/pick/<int:task_id>")
@roles_required("admin", "picker")
def floor_pick(task_id):
    """One pick list, in walking order: scan the bin, then the item."""
    return _floor("pick", task_id=task_id)


@bp.route("/floor/<any(receive, move, count, ship, pack, exceptions):screen>")
@roles_required("admin", "picker")
def floor_screen(screen):
    return _floor(screen)


@bp.route("/login")
@public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", errors={}, email="")


def _too_many_attempts(_limit):
    """The log-in page again, its message by the password field, for a full bucket."""
    from flask import make_response
    strings = translations(page_locale())
    return make_response(render_template(
        "login.html", errors={"password": strings["err.rate_limited"]},
        email=(request.form.get("email") or "").strip()), 429)


@bp.route("/login", methods=["POST"])
@public
@password_limits(on_breach=_too_many_attempts)
def login_form():
    """The log-in form without JavaScript: the same checks as POST /api/auth/login,
    and the same rate-limit buckets (auth/limits.py: a wrong password here counts
    against the API too, per account and per address), answered with the page and
    its errors next to the fields."""
    from ..auth import services
    from ..extensions import db

    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    strings = translations(page_locale())
    errors = {}
    if not email:
        errors["email"] = strings["err.required"]
    if not password:
        errors["password"] = strings["err.required"]
    if not errors:
        user = services.authenticate(db.session, email, password)
        if user is not None:
            db.session.commit()
            session.clear()  # a new session at log-in: no session fixation
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
        password_refused()
        errors["password"] = strings["err.bad_credentials"]
        return render_template("login.html", errors=errors, email=email), 401
    return render_template("login.html", errors=errors, email=email), 422


@bp.route("/sw.js")
@public
def service_worker():
    response = send_from_directory(current_app.static_folder, "dist/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    return send_from_directory(current_app.static_folder, "manifest.webmanifest",
                               mimetype="application/manifest+json")


@bp.route("/api/docs")
@public
def api_docs():
    return render_template("api_docs.html")


def init_app(app):
    from . import delivery, security
    from .orders import register_api
    app.register_blueprint(bp)
    register_api(app)
    # Security headers and compression on every response (pages, /api/, errors,
    # static files): server/web/security.py, server/web/delivery.py.
    delivery.init_app(app)
    security.init_app(app)
