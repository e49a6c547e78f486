"""Configuration from the environment.

Every setting has a default that makes `make run` work on a bare machine: SQLite in
instance/, jobs inline, Socket.IO in-process. Set DATABASE_URL and REDIS_URL for
PostgreSQL and RQ/Redis.
"""
import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """A secret key kept in instance/ so sessions survive restarts without setup."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _normalise_database_url(url: str) -> str:
    # Heroku-style and bare postgresql:// URLs get the psycopg 3 driver we install.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load(instance_path: str, overrides: dict | None = None) -> dict:
    instance = Path(instance_path)
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'haicang.db'}"
    redis_url = env.get("REDIS_URL") or None
    config = {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url),
        "REDIS_URL": redis_url,
        # Jobs run inline unless there is a Redis to queue them on.
        "RQ_INLINE": env.get("RQ_INLINE", "" if redis_url else "1") == "1",
        "RQ_QUEUE": env.get("RQ_QUEUE", "haicang"),
        # Several web processes and the RQ workers reach the same Socket.IO clients
        # through Redis; alone, one process keeps them in memory.
        "SOCKETIO_MESSAGE_QUEUE": env.get("SOCKETIO_MESSAGE_QUEUE") or redis_url,
        # Redis pub/sub ignores the database number, and room names (seller:1) repeat
        # in every database: each deployment gets its own channel (see below).
        "SOCKETIO_CHANNEL": env.get("SOCKETIO_CHANNEL") or None,
        "AUTO_MIGRATE": env.get("AUTO_MIGRATE", "1") == "1",
        # The session cookie and Flask-Login's remember-me cookie alike: never read by
        # script, not sent on cross-site subrequests, and, behind https
        # (SESSION_COOKIE_SECURE=1, which sets REMEMBER_COOKIE_SECURE too, below),
        # never sent over plain http.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # "Remember me" lasts two weeks (Flask-Login's default is a year), counted
        # from the log-in, not renewed by use; log-out ends it at once.
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("REMEMBER_COOKIE_DAYS", "14"))),
        "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": False,
        # CSRF is checked by our own before_request so bearer-token calls can skip it.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down must not stop log-in: the buckets fall back to this process's
        # memory until Redis answers again (Flask-Limiter checks it periodically).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # The clock (server/jobs/clock.py): recurring work, run by one worker at a time.
        "CLOCK_TICK_SECONDS": float(env.get("CLOCK_TICK_SECONDS", "1")),
        # A clock that stops renewing its lock (its worker was killed) is replaced
        # by another worker's within this time.
        "CLOCK_LOCK_SECONDS": int(env.get("CLOCK_LOCK_SECONDS", "15")),
        # A job whose worker stops beating for this long was abandoned: it is tried
        # again (its policy's retries), not parked.
        "JOB_HEARTBEAT_SECONDS": int(env.get("JOB_HEARTBEAT_SECONDS", "30")),
        "CHANNEL_POLL_INTERVAL": int(env.get("CHANNEL_POLL_INTERVAL", "300")),
        "CHANNEL_PUSH_DEBOUNCE_SECONDS": int(env.get("CHANNEL_PUSH_DEBOUNCE_SECONDS", "60")),
        "BACKORDER_SWEEP_SECONDS": int(env.get("BACKORDER_SWEEP_SECONDS", "300")),
        # How often the clock polls aggregator trackers, and how long a moving
        # shipment may go without a tracking event before it is polled.
        "TRACKER_POLL_SECONDS": int(env.get("TRACKER_POLL_SECONDS", "3600")),
        "OUTBOX_KEEP_HOURS": int(env.get("OUTBOX_KEEP_HOURS", "24")),
        # Notifications to customers (server/notifications). Without SMTP_URL (and an
        # SMS provider) they are held in the outbox, visible at GET /api/notifications.
        "SMTP_URL": env.get("SMTP_URL") or None,  # smtp://host:port, smtps://user:pass@host
        "SMTP_FROM": env.get("SMTP_FROM", "Haicang <notifications@localhost>"),
        "SMTP_TIMEOUT_SECONDS": float(env.get("SMTP_TIMEOUT_SECONDS", "10")),
        "SMS_PROVIDER": env.get("SMS_PROVIDER") or None,  # twilio | log
        "SMS_FROM": env.get("SMS_FROM", ""),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or None,
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or None,
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE") or None,  # another endpoint (a fake)
        "NOTIFY_CHANNELS": env.get("NOTIFY_CHANNELS", "email,sms"),
        "NOTIFY_DELAYED_SECONDS": int(env.get("NOTIFY_DELAYED_SECONDS", "900")),
        # Where customers open the links in messages (/t/<token>, /n/unsubscribe/...).
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # Refused passwords, per client address and per account (server/auth/limits.py).
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;100 per hour"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT",
                                            "10 per minute;50 per hour"),
        "API_TITLE": "Haicang API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        # The docs page is served from our own static bundle, never from a CDN.
        "OPENAPI_SWAGGER_UI_PATH": None,
        "PAGE_SIZE_DEFAULT": 50,
        "PAGE_SIZE_MAX": 200,
        # Request limits (server/validation.py): a larger body is answered 413 with
        # the limit, unread; JSON nested deeper is refused 422.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(2 * 1024 * 1024))),
        "MAX_JSON_DEPTH": int(env.get("MAX_JSON_DEPTH", "32")),
    }
    if overrides:
        config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides:
            config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(
                overrides["SQLALCHEMY_DATABASE_URI"])
    if not (overrides and "REMEMBER_COOKIE_SECURE" in overrides):
        # One switch for both cookies: a deployment behind https that said so for the
        # session cookie must not send the longer-lived remember-me cookie over http.
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if overrides and "REDIS_URL" in overrides and "SOCKETIO_MESSAGE_QUEUE" not in overrides:
        config["SOCKETIO_MESSAGE_QUEUE"] = overrides["REDIS_URL"]
    if not config["SOCKETIO_CHANNEL"]:
        # Derived from the database, so two deployments (or a test run beside a
        # benchmark) sharing one Redis never hear each other's tenants.
        digest = hashlib.sha256(config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()[:12]
        config["SOCKETIO_CHANNEL"] = f"haicang-socketio-{digest}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(instance)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Writers queue on SQLite's lock instead of failing at once.
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True, "pool_size": 10,
                                                         "max_overflow": 20})
    return config
