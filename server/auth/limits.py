"""Password guesses are counted in two buckets, shared by every door that checks a
password (POST /login, POST /api/auth/login, POST /api/auth/password):

- one per account (the normalised e-mail; LOGIN_ACCOUNT_RATE_LIMIT): guesses at
  one account spread over many addresses are stopped;
- one per client address (LOGIN_RATE_LIMIT): one address trying many accounts is
  stopped.

Only refused passwords count (a door calls `password_refused()`): thirty pickers
logging in at the start of a shift behind one warehouse address are not locked
out, while a guesser is. Once a bucket is full, every attempt it covers is
answered 429 (the API in its JSON error shape, the form with the log-in page),
the right password included, until the window passes. With Redis
(RATELIMIT_STORAGE_URI) the buckets are shared by every web process.
"""
from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from .services import normalise_email

MESSAGE = "Too many log-in attempts. Wait a minute, then try again."
_REFUSED = "haicang_password_refused"


def password_refused() -> None:
    """Count this request's attempt: the password it gave was wrong."""
    setattr(g, _REFUSED, True)


def _was_refused(_response) -> bool:
    return getattr(g, _REFUSED, False)


def account_in_request() -> str:
    """The account a log-in names, from the JSON body (API) or the form."""
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if hasattr(data, "get") else None
    # Never empty: Flask-Limiter skips a limit whose key is empty.
    return "account:" + (normalise_email(email if isinstance(email, str) else "") or "-")


def account_logged_in() -> str:
    """The account of whoever is logged in (a password change)."""
    from .scoping import principal
    user = principal()
    return "account:" + (user.email if user is not None else "-")


def password_limits(account_key=account_in_request, on_breach=None):
    """Decorate a view that checks a password with both shared buckets.
    `on_breach(request_limit)` may return the response for a full bucket (the form
    answers with its page); by default the API's JSON error (429 rate_limited)."""
    def decorate(view):
        view = limiter.shared_limit(
            lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], scope="login-account",
            key_func=account_key, deduct_when=_was_refused, error_message=MESSAGE,
            on_breach=on_breach)(view)
        view = limiter.shared_limit(
            lambda: current_app.config["LOGIN_RATE_LIMIT"], scope="login-address",
            key_func=get_remote_address, deduct_when=_was_refused, error_message=MESSAGE,
            on_breach=on_breach)(view)
        return view
    return decorate
