"""Users, passwords and tokens: the rules behind log-in and the CLI.

Sessions end server-side: a session cookie and a remember-me cookie carry the
user's `session_version` they were issued under (User.get_id() is
"<id>:<version>"), and `user_for_session` refuses a stale one. Log-out, a password
change and switching a user off raise the version, which ends every cookie of that
user on every device at once, and (after commit) closes their Socket.IO
connections too (server/realtime.py). Bearer tokens stand apart: each is revoked
on its own, and revoking one closes the sockets opened with it.
"""
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, contains_eager

from ..errors import Conflict, InvalidInput, NotFound
from ..i18n import message
from ..inventory.models import Warehouse
from ..realtime import close_rooms_after_commit, room_for_session, room_for_token, room_for_user
from . import passwords
from .models import LOCALES, ROLES, ApiToken, Seller, User

_hasher = PasswordHasher()  # argon2id with the library's recommended cost
# Verifying against this keeps a log-in for an unknown e-mail as slow as a real one,
# so timing does not tell which e-mails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the hasher (tests use a cheap one; hashes stay argon2id either way)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password")
TOKEN_PREFIX = "hc_"
MIN_PASSWORD = passwords.MIN_LENGTH
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is too short or too easy to guess (server/auth/
    passwords.py): the one check for every role, the API and the CLI."""
    problem = passwords.problem(password, email=email, name=name)
    if problem:
        raise InvalidInput("password", problem)


class WrongPassword(InvalidInput):
    """The current password given to change it is not the user's."""

    def __init__(self):
        super().__init__("current_password", message("is not your current password"))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def create_seller(session: Session, *, name: str, code: str | None = None) -> Seller:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name", message("is required"))
    # A code names the seller on labels, in reports and in the CLI: never empty.
    if code is not None:
        code = code.strip()
        if not code:
            raise InvalidInput("code", message("must not be blank"))
    else:
        code = "".join(ch for ch in name.upper() if ch.isalnum())[:12]
        if not code:
            raise InvalidInput("code", message("is required when the name has no letters or digits"))
    if session.scalar(select(Seller).where(
            (func.lower(Seller.name) == name.lower()) | (Seller.code == code))):
        raise Conflict(message("Seller %(name)s exists", name=repr(name)),
                       fields={"name": [message("already exists")]})
    seller = Seller(name=name, code=code)
    session.add(seller)
    session.flush()
    return seller


def create_user(session: Session, *, email: str, password: str, role: str,
                seller: Seller | None = None, warehouses=(), name: str = "",
                locale: str = "en") -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidInput("email", message("is not an e-mail address"))
    if role not in ROLES:
        raise InvalidInput("role", message("must be one of %(choices)s", choices=", ".join(ROLES)))
    if role == "seller" and seller is None:
        raise InvalidInput("seller_id", message("is required for the seller role"))
    if role in ("picker", "driver") and not warehouses:
        raise InvalidInput("warehouse_ids", message("at least one is required for the %(role)s role", role=role))
    check_new_password(password, email=email, name=name)
    if locale not in LOCALES:
        raise InvalidInput("locale", message("must be one of %(choices)s", choices=", ".join(LOCALES)))
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(message("A user %(email)s exists", email=email),
                       fields={"email": [message("already exists")]})
    user = User(email=email, password_hash=hash_password(password), role=role,
                seller_id=seller.id if seller else None, name=name or email.split("@")[0],
                locale=locale)
    user.warehouses = list(warehouses)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user


def user_for_session(session: Session, alternative_id: str) -> User | None:
    """The user a session or remember-me cookie names ("<id>:<session_version>"), if
    that user is active and the version is still current. A cookie from before
    versions ("<id>" alone) is stale too: its user logs in once more."""
    user_id, _colon, version = (alternative_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def end_sessions(session: Session, user: User) -> None:
    """End every session and remember-me cookie of `user`, on every device, and
    (after commit) close the Socket.IO connections they opened. Bearer tokens are
    not touched."""
    old = user.session_version or 1
    user.session_version = old + 1
    close_rooms_after_commit(session, [room_for_session(user.id, old)])


def log_out(session: Session, user: User) -> None:
    """Log-out ends the user's sessions everywhere, not only this browser's: a
    cookie copied from this device, or the one left on a shared handheld, stops
    working too."""
    end_sessions(session, user)


def revoke_all_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user` (and, after commit, close their sockets)."""
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                  ApiToken.revoked_at.is_(None))).all()
    now = datetime.now(UTC)
    for row in rows:
        row.revoked_at = now
    close_rooms_after_commit(session, [room_for_token(row.id) for row in rows])
    return len(rows)


def set_password(session: Session, user: User, new_password: str, *,
                 revoke_tokens: bool = False) -> None:
    """Give `user` a new password (the same check as at creation) and end all of
    its sessions.

    Bearer tokens stay unless `revoke_tokens` is set, on purpose: a token is a
    credential of its own, issued to one device or integration, listed (with when it
    was last used) at GET /api/tokens and revoked one by one; it is not derived from
    the password, so a routine password change must not stop the floor's scanners.
    After a suspected compromise, when whoever knew the password may also have made
    tokens, `revoke_tokens=True` revokes them all in the same transaction.
    """
    check_new_password(new_password, email=user.email, name=user.name)
    user.password_hash = hash_password(new_password)
    end_sessions(session, user)
    if revoke_tokens:
        revoke_all_tokens(session, user)


def change_password(session: Session, user: User, current_password: str,
                    new_password: str, *, revoke_tokens: bool = False) -> None:
    """The user's own password change: the current password first, so a session
    left open (or stolen) cannot take the account over. Raises WrongPassword, which
    the log-in rate limits count like a failed log-in."""
    try:
        _hasher.verify(user.password_hash, current_password or "")
    except (VerificationError, InvalidHashError):
        raise WrongPassword() from None
    if new_password == current_password:
        raise InvalidInput("password", message("is your current password: choose a new one"))
    set_password(session, user, new_password, revoke_tokens=revoke_tokens)


def set_active(session: Session, user: User, active: bool, *, by: User) -> None:
    """Switch a user on or off. Off ends its sessions, revokes its tokens and closes
    every socket it has open; switching it back on brings none of them back."""
    if user.active == active:
        return
    if not active and user.id == by.id:
        raise InvalidInput("active", message("you cannot switch off your own account"))
    user.active = active
    if not active:
        end_sessions(session, user)
        revoke_all_tokens(session, user)
        close_rooms_after_commit(session, [room_for_user(user.id)])


def update_user(session: Session, user_id: int, *, by: User, active: bool | None = None,
                password: str | None = None, revoke_tokens: bool = False) -> User:
    """An admin's changes to another user: a new password (a reset), and switching
    it off or on."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(message("No user %(id)s", id=user_id),
                       fields={"user_id": [message("not found")]})
    if password is not None:
        if user.id == by.id:
            # Not without the current password, even for an admin: a session left
            # open must not be enough to take the account over.
            raise InvalidInput("password", message("change your own password with your current "
                                           "one (POST /api/auth/password)"))
        set_password(session, user, password, revoke_tokens=revoke_tokens)
    elif revoke_tokens:
        revoke_all_tokens(session, user)
    if active is not None:
        set_active(session, user, active, by=by)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token for `user`. The token itself is returned once and only
    its hash is stored, as for a password."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name or "token", prefix=token[:10],
                   token_hash=_digest(token), created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, token: str) -> User | None:
    row = token_for(session, token)
    return row.user if row is not None else None


_LIVE_TOKEN = None


def _live_token_statement():
    """Built once, on first use (the mappers must be configured): the statement
    object, and so its cache key, is reused by every request."""
    global _LIVE_TOKEN
    if _LIVE_TOKEN is None:
        _LIVE_TOKEN = (
            select(ApiToken)
            .join(ApiToken.user)
            .outerjoin(User.warehouses)
            .where(ApiToken.token_hash == bindparam("token_hash"),
                   ApiToken.revoked_at.is_(None), User.active.is_(True))
            .options(contains_eager(ApiToken.user).contains_eager(User.warehouses))
            .order_by(Warehouse.code))
    return _LIVE_TOKEN


def token_for(session: Session, token: str) -> ApiToken | None:
    """The live token row for `token` (not revoked, its user active), or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    # One statement: the token, its user and the user's warehouses (what scoping
    # reads of floor staff), joined. Nothing is cached between requests, so a
    # revocation or a user switched off is refused on the very next request, in
    # every process.
    row = session.scalars(_live_token_statement(), {"token_hash": _digest(token)}).unique().first()
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY:
        # At most once a minute, so a busy scanner does not write on every request.
        # Committed on its own, before the request does any work of its own.
        row.last_used_at = now
        session.commit()
    return row


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != "admin"):
        raise NotFound(message("No token %(id)s", id=token_id),
                       fields={"token_id": [message("not found")]})
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        # Whatever it opened stops listening too, once the revocation is committed.
        close_rooms_after_commit(session, [room_for_token(row.id)])
    return row
