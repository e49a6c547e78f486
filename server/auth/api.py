"""Log-in, log-out, who am I, API tokens; sellers and users for admins."""
from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from flask_smorest import Blueprint
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from ..api import PageArgs, keyset_page, page_schema, public, roles_required
from ..errors import DomainError, NotFound
from ..i18n import message
from ..extensions import db
from ..inventory.models import Warehouse
from . import bearer_token, services
from .limits import account_logged_in, password_limits, password_refused
from .models import ApiToken, Seller, User
from .schemas import (LocaleArgs, LoginArgs, MeSchema, NewTokenSchema, PasswordChangeArgs,
                      SellerSchema, TokenCreateArgs, TokenSchema, UserCreateArgs,
                      UserSchema, UserUpdateArgs)
from .scoping import principal

blp = Blueprint("auth", __name__, url_prefix="/api", description="Log-in, tokens, users")


class BadCredentials(DomainError):
    status = 401
    code = "bad_credentials"


def _log_this_browser_in(user, remember: bool) -> None:
    session.clear()  # a fresh session at log-in: no session fixation...
    g.pop("csrf_token", None)  # ...and so a fresh CSRF token, not the cached old one
    login_user(user, remember=remember)


def _me():
    user = principal()
    user.csrf_token = generate_csrf()  # a plain attribute for MeSchema, not a column
    return user


@blp.route("/auth/csrf")
@public
@blp.response(200)
def csrf_token():
    """A CSRF token for the session cookie (send it as X-CSRFToken)."""
    return {"csrf_token": generate_csrf()}


@blp.route("/auth/login", methods=["POST"])
@public
@password_limits()
@blp.arguments(LoginArgs)
@blp.response(200, MeSchema)
def login(args):
    """Log in with e-mail and password; sets the session cookie (and, with
    `remember`, a remember-me cookie for REMEMBER_COOKIE_DAYS, default 14).

    Wrong passwords are counted per account and per client address, in the same
    buckets as the log-in form's (LOGIN_ACCOUNT_RATE_LIMIT, LOGIN_RATE_LIMIT:
    default 10 a minute each); past either, 429 until the window passes.
    """
    user = services.authenticate(db.session, args["email"], args["password"])
    if user is None:
        password_refused()
        raise BadCredentials(message("Wrong e-mail or password"),
                             fields={"password": [message("wrong e-mail or password")]})
    db.session.commit()
    _log_this_browser_in(user, remember=args["remember"])
    return _me()


@blp.route("/auth/logout", methods=["POST"])
@roles_required()
@blp.response(204)
def logout():
    """Log out: ends every session and remember-me cookie of yours, on every device,
    and closes their live connections. Bearer tokens stay (DELETE /api/tokens/<id>)."""
    services.log_out(db.session, principal())
    db.session.commit()
    logout_user()
    session.clear()


@blp.route("/auth/password", methods=["POST"])
@roles_required()
@password_limits(account_logged_in)
@blp.arguments(PasswordChangeArgs)
@blp.response(200, MeSchema)
def change_password(args):
    """Change your own password: the current one, and a new one that is not too easy
    to guess (else 422 on `password`).

    Every session and remember-me cookie of yours ends on every device, and their
    live connections close; this browser stays logged in with a fresh session.
    Bearer tokens stay unless `revoke_tokens` is true (see
    auth.services.set_password for why). A wrong current password counts against
    the log-in rate limits of your account and address.
    """
    user = principal()
    try:
        services.change_password(db.session, user, args["current_password"],
                                 args["password"], revoke_tokens=args["revoke_tokens"])
    except services.WrongPassword:
        password_refused()
        raise
    db.session.commit()
    if bearer_token() is None:
        remembered = current_app.config.get("REMEMBER_COOKIE_NAME",
                                            "remember_token") in request.cookies
        _log_this_browser_in(user, remember=remembered)
    return _me()


@blp.route("/auth/me")
@roles_required()
@blp.response(200, MeSchema)
def me():
    """The logged-in user, its role, seller and warehouses, and a CSRF token."""
    return _me()


@blp.route("/auth/me", methods=["PATCH"])
@roles_required()
@blp.arguments(LocaleArgs)
@blp.response(200, MeSchema)
def set_locale(args):
    """Change the user's language (en, zh-CN, es)."""
    principal().locale = args["locale"]
    db.session.commit()
    return _me()


@blp.route("/tokens")
@roles_required()
@blp.response(200, TokenSchema(many=True))
def list_tokens():
    """The current user's API tokens (never the tokens themselves)."""
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == principal().id)
                              .order_by(ApiToken.id)).all()


@blp.route("/tokens", methods=["POST"])
@roles_required()
@blp.arguments(TokenCreateArgs)
@blp.response(201, NewTokenSchema)
def create_token(args):
    """A new bearer token for the current user, for a device or an integration."""
    row, token = services.create_token(db.session, principal(), args["name"])
    db.session.commit()
    row.token = token  # shown this once; only its hash is stored
    return row


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@roles_required()
@blp.response(204)
def revoke_token(token_id):
    services.revoke_token(db.session, principal(), token_id)
    db.session.commit()


@blp.route("/sellers")
@roles_required("admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(SellerSchema, "SellerPage"))
def list_sellers(args):
    return keyset_page(select(Seller), Seller.id, args)


@blp.route("/sellers", methods=["POST"])
@roles_required("admin")
@blp.arguments(SellerSchema)
@blp.response(201, SellerSchema)
def create_seller(args):
    seller = services.create_seller(db.session, name=args["name"], code=args.get("code"))
    db.session.commit()
    return seller


@blp.route("/users")
@roles_required("admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(UserSchema, "UserPage"))
def list_users(args):
    return keyset_page(select(User), User.id, args)


@blp.route("/users", methods=["POST"])
@roles_required("admin")
@blp.arguments(UserCreateArgs)
@blp.response(201, UserSchema)
def create_user(args):
    seller = None
    if args["seller_id"] is not None:
        seller = db.session.get(Seller, args["seller_id"])
        if seller is None:
            raise NotFound(message("No such seller"), fields={"seller_id": [message("not found")]})
    warehouses = []
    for wid in args["warehouse_ids"]:
        warehouse = db.session.get(Warehouse, wid)
        if warehouse is None:
            raise NotFound(message("No such warehouse"),
                           fields={"warehouse_ids": [message("%(id)s not found", id=wid)]})
        warehouses.append(warehouse)
    user = services.create_user(db.session, email=args["email"], password=args["password"],
                                role=args["role"], seller=seller, warehouses=warehouses,
                                name=args["name"], locale=args["locale"])
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@roles_required("admin")
@blp.arguments(UserUpdateArgs)
@blp.response(200, UserSchema)
def update_user(args, user_id):
    """Set another user's password (a reset: the same strength check as always), or
    switch the user off or on. A new password ends all of its sessions; switching off
    also revokes its tokens; either closes its live connections."""
    user = services.update_user(db.session, user_id, by=principal(), **args)
    db.session.commit()
    return user
