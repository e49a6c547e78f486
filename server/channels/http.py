"""HTTP to the platforms, with retry and backoff.

A 429 is retried after its Retry-After (seconds or an HTTP date); a 5xx, a timeout
or a dropped connection after an exponential backoff with jitter. A wait longer
than CHANNEL_HTTP_MAX_WAIT is not slept through in a worker: it raises RateLimited
with the wait, and the poll job is queued again for then (nothing is lost: the
account's cursor only moves after a complete poll)."""
import random
import time
from email.utils import parsedate_to_datetime

import requests
from flask import current_app, has_app_context

from ..models_base import utcnow

DEFAULTS = {"CHANNEL_HTTP_ATTEMPTS": 4, "CHANNEL_HTTP_MAX_WAIT": 5.0,
            "CHANNEL_HTTP_TIMEOUT": 15.0, "CHANNEL_HTTP_BACKOFF": 0.25}


def setting(name: str):
    if has_app_context():
        return current_app.config.get(name, DEFAULTS[name])
    return DEFAULTS[name]


class ChannelHTTPError(Exception):
    def __init__(self, message: str, *, status: int | None = None, body: str = "",
                 retry_after: float | None = None):
        super().__init__(message)
        self.status, self.body, self.retry_after = status, body, retry_after


class RateLimited(ChannelHTTPError):
    """The platform said 429 for longer than we wait in place."""


def retry_after_seconds(response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
        except (TypeError, ValueError):
            return None


def call(method: str, url: str, *, sleep=time.sleep, **kwargs) -> requests.Response:
    """One API call with retries. Returns the response of a 2xx-4xx (not 429);
    raises RateLimited or ChannelHTTPError when retries run out."""
    attempts = int(setting("CHANNEL_HTTP_ATTEMPTS"))
    max_wait = float(setting("CHANNEL_HTTP_MAX_WAIT"))
    backoff = float(setting("CHANNEL_HTTP_BACKOFF"))
    kwargs.setdefault("timeout", float(setting("CHANNEL_HTTP_TIMEOUT")))
    for attempt in range(1, attempts + 1):
        wait, error = None, None
        try:
            response = requests.request(method, url, **kwargs)
        except requests.RequestException as exc:  # timeout, refused, reset
            error = ChannelHTTPError(f"{method} {url}: {exc.__class__.__name__}: {exc}")
        else:
            if response.status_code == 429:
                wait = retry_after_seconds(response)
                error = RateLimited(f"{method} {url}: 429 rate limited", status=429,
                                    body=response.text[:500], retry_after=wait)
            elif response.status_code >= 500:
                error = ChannelHTTPError(f"{method} {url}: {response.status_code}",
                                         status=response.status_code,
                                         body=response.text[:500])
            else:
                return response
        if wait is None:
            wait = backoff * (2 ** (attempt - 1)) * (1 + random.random() / 2)
        if attempt == attempts or wait > max_wait:
            if isinstance(error, RateLimited) and error.retry_after is None:
                error.retry_after = wait
            raise error
        sleep(wait)
    raise AssertionError("unreachable")


def expect_ok(response: requests.Response, what: str) -> requests.Response:
    if response.status_code >= 400:
        raise ChannelHTTPError(f"{what}: {response.status_code} {response.text[:300]}",
                               status=response.status_code, body=response.text[:500])
    return response
