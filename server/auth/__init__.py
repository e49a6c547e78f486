"""Sellers (the tenants), users and their roles, log-in, API tokens, and scoping.

Seller isolation lives in one place, `scoping.scoped()`: every query of a
tenant-owned or warehouse-owned row goes through it, so no route has to remember.
"""

from flask import request
from flask_login import AnonymousUserMixin

from ..extensions import csrf, db

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class Anonymous(AnonymousUserMixin):
    role = None
    seller_id = None
    warehouse_ids: list[int] = []


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def init_app(app, login_manager):
    from .services import user_for_session, user_for_token

    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "web.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(alternative_id):
        if bearer_token() is not None:
            return None  # a request with a token is that token's, never the cookie's
        # "<id>:<session_version>": a cookie from before a log-out, a password
        # change or a switch-off is stale, whichever device it comes from.
        return user_for_session(db.session, alternative_id)

    @login_manager.request_loader
    def load_user_from_token(_request):
        token = bearer_token()
        return user_for_token(db.session, token) if token else None

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for
        from flask_smorest import abort
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("web.login", next=request.path))

    @app.before_request
    def guard():
        """The one door check: the view's declared roles (auth/doors.py), then CSRF."""
        from flask import redirect, url_for
        from flask_smorest import abort

        from ..errors import Forbidden
        from ..i18n import message
        from .doors import enter
        from .scoping import principal
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is None:
            return None  # no such route: Flask answers 404 or 405
        verdict = enter(view, principal())
        api = request.path.startswith("/api/")
        if verdict == "unauthenticated":
            if api:
                abort(401, message="Log in, or send Authorization: Bearer <token>")
            return redirect(url_for("web.login", next=request.path))
        if verdict == "forbidden":
            if not api:
                return redirect(url_for("web.home"))
            raise Forbidden(message("The %(role)s role may not do this", role=principal().role))
        if verdict == "undeclared":
            # Fails safe: a view that names no roles is closed to everybody.
            raise Forbidden(message("This door declares no roles"))
        # CSRF applies to cookie sessions only: a browser never attaches a bearer
        # header on its own, so a request that carries one cannot be forged cross-site.
        if request.method in UNSAFE_METHODS and bearer_token() is None \
                and not getattr(view, "_signed", False):
            csrf.protect()
