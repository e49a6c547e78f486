"""Sellers (the tenants), users and their roles, log-in, API tokens, and scoping.

Seller isolation lives in one place, `scoping.scoped()`: every query of a
tenant-owned or warehouse-owned row goes through it, so no route has to remember.
"""

import re

from flask import request
from flask_login import AnonymousUserMixin

from ..extensions import csrf, db

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# API paths that answer without a log-in.
PUBLIC_API = ("/api/auth/login", "/api/auth/csrf", "/api/openapi.json", "/api/docs")
# Platform webhooks authenticate by their own signature (checked by the view), not by
# a log-in or a CSRF token.
WEBHOOK_PATH = re.compile(r"^/api/channels/[a-z]+/\d+/webhook$")


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
    from .models import User
    from .services import user_for_token

    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "web.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id):
        if bearer_token() is not None:
            return None  # a request with a token is that token's, never the cookie's
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

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
        from flask_login import current_user
        from flask_smorest import abort
        if WEBHOOK_PATH.match(request.path):
            return None
        if request.path.startswith("/api/") and not request.path.startswith(PUBLIC_API):
            if not current_user.is_authenticated:
                abort(401, message="Log in, or send Authorization: Bearer <token>")
        # CSRF applies to cookie sessions only: a browser never attaches a bearer
        # header on its own, so a request that carries one cannot be forged cross-site.
        if request.method in UNSAFE_METHODS and bearer_token() is None:
            csrf.protect()
