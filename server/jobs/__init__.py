"""Background jobs on RQ, handed over through the outbox.

A job that a change causes is data until the change commits: `later()` and
`enqueue_after_commit()` queue it on the session, the commit writes it to the
outbox table with the change (outbox.py), and the relay hands it to RQ after the
commit (at once, and again from the worker's clock until Redis takes it). So a
Redis outage, or a process killed between the commit and the hand-over, loses no
job, and a request whose change committed never fails because Redis did.

With REDIS_URL set, a worker (`Procfile` worker: `python -m server.worker`) runs
the jobs. Without Redis (the embedded default) the relay runs them inline, in the
process that committed, so a bare machine needs nothing more.

Every job declares its policy where it is defined (`@job(timeout=..., retries=...)`):
how long it may run, how often it is tried again after a failure or a worker that
died under it. A job without a declared policy cannot be queued.
"""
import importlib
import logging
from dataclasses import dataclass

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, Retry
from sqlalchemy.orm import Session

from ..after_commit import queue as queue_after_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """How a job runs: `timeout` seconds at most per try, then `retries` more tries
    `intervals` seconds apart (the last interval repeats)."""
    timeout: int
    retries: int
    intervals: tuple[int, ...] = (10, 60, 300)

    def interval(self, attempt: int) -> int:
        """Seconds to wait before try `attempt + 1` (attempt counts from 1)."""
        return self.intervals[min(attempt, len(self.intervals)) - 1]

    def rq_options(self) -> dict:
        return {"job_timeout": self.timeout,
                "retry": Retry(max=self.retries, interval=list(self.intervals)),
                "failure_ttl": 7 * 24 * 3600, "result_ttl": 3600}


POLICIES: dict[str, Policy] = {}


def job(timeout: int, retries: int = 3, intervals: tuple[int, ...] = (10, 60, 300)):
    """Declare `func` a job with its policy (see Policy)."""
    if timeout <= 0 or retries < 1:
        raise ValueError("a job needs a positive timeout and at least one retry")

    def register(func):
        POLICIES[f"{func.__module__}.{func.__qualname__}"] = Policy(timeout, retries,
                                                                      tuple(intervals))
        return func
    return register


def func_path(func) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


def policy_for(path: str) -> Policy:
    """The declared policy of the job at `path` (importing its module declares it)."""
    if path not in POLICIES:
        resolve(path)
    try:
        return POLICIES[path]
    except KeyError:
        raise LookupError(f"{path} is not a declared job (@job)") from None


def resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def init_app(app):
    if app.config["RQ_INLINE"]:
        app.extensions["rq_queue"] = None
    else:
        # Short timeouts: a web process asks Redis after the commit and must not
        # hang when Redis does; what it could not hand over stays in the outbox.
        connection = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2,
                                    socket_timeout=5, health_check_interval=30)
        app.extensions["rq_queue"] = Queue(app.config["RQ_QUEUE"], connection=connection)

    from . import outbox

    @app.after_request
    def _relay_after_request(response):
        # What this request's commits wrote goes out before the response leaves:
        # inline, that runs its jobs; with Redis, it hands them to RQ (a failure
        # stays in the outbox and never turns a committed write into an error).
        outbox.relay_fresh()
        return response

    @app.teardown_appcontext
    def _relay_at_teardown(_exc):
        outbox.relay_fresh()  # CLI commands, scripts and jobs: before the session goes


def queue() -> Queue | None:
    return current_app.extensions.get("rq_queue") if has_app_context() else None


def later(session: Session, func, *args, delay: float | None = None) -> None:
    """Run `func(*args)` once `session` commits (after `delay` seconds, if given).
    `func` may be a dotted path, so a lower layer can name a job of a higher one
    without importing it. The arguments must be JSON (ids, not objects)."""
    path = func_path(func)
    policy_for(path)  # refuse an undeclared job here, not in the relay
    queue_after_commit(session, "job", (path, tuple(args), delay))


def enqueue_after_commit(session: Session, func, *items) -> None:
    """Queue the job `func(items)` to run once `session` commits, with the `items`
    of every call in the transaction coalesced into one sorted list: a hundred
    stock changes in one transaction make one job, not a hundred."""
    path = func_path(func)
    policy_for(path)
    for item in items:
        queue_after_commit(session, "job_items", (path, item))


def enqueue(func, *args):
    """Hand `func(*args)` over now, outside any change: to RQ (returns the job), or
    run it at once when inline (returns its result). For commands and tests; a
    change's jobs go through `later()`, so they are stored with the change."""
    path = func_path(func)
    q = queue()
    if q is None:
        return resolve(path)(*args)
    return q.enqueue(path, *args, **policy_for(path).rq_options())


def run_deferred() -> int:
    """Hand over (inline: run) what the commits of this thread wrote to the outbox,
    and what those jobs write in turn. Returns how many messages went out."""
    from .outbox import relay_fresh
    return relay_fresh()


__all__ = ["POLICIES", "Policy", "enqueue", "enqueue_after_commit", "job", "later",
           "policy_for", "queue", "run_deferred"]

