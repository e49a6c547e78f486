"""Users, passwords and tokens: the rules behind log-in and the CLI."""
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, NotFound
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
MIN_PASSWORD = 8
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def create_seller(session: Session, *, name: str, code: str | None = None) -> Seller:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name", "is required")
    code = (code or "".join(ch for ch in name.upper() if ch.isalnum())[:12]).strip()
    if session.scalar(select(Seller).where(
            (func.lower(Seller.name) == name.lower()) | (Seller.code == code))):
        raise Conflict(f"Seller {name!r} exists", fields={"name": ["already exists"]})
    seller = Seller(name=name, code=code)
    session.add(seller)
    session.flush()
    return seller


def create_user(session: Session, *, email: str, password: str, role: str,
                seller: Seller | None = None, warehouses=(), name: str = "",
                locale: str = "en") -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidInput("email", "is not an e-mail address")
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if role == "seller" and seller is None:
        raise InvalidInput("seller_id", "is required for the seller role")
    if role in ("picker", "driver") and not warehouses:
        raise InvalidInput("warehouse_ids", f"at least one is required for the {role} role")
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD} characters")
    if locale not in LOCALES:
        raise InvalidInput("locale", f"must be one of {', '.join(LOCALES)}")
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"A user {email} exists", fields={"email": ["already exists"]})
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
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY:
        # At most once a minute, so a busy scanner does not write on every request.
        # Committed on its own, before the request does any work of its own.
        row.last_used_at = now
        session.commit()
    return row.user


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != "admin"):
        raise NotFound(f"No token {token_id}", fields={"token_id": ["not found"]})
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row
