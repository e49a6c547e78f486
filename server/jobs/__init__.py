"""Background jobs on RQ.

With REDIS_URL set, `enqueue()` puts a job on the RQ queue and a worker
(`Procfile` worker: `python -m server.worker`) runs it inside an app context.
Without Redis (the embedded default), the job runs inline, at once, in the
caller's process, so a bare machine needs nothing more. Jobs live in this
package, one module per concern, each with a docstring that says why it is a job.
"""
import importlib
import logging
import threading

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue
from sqlalchemy.orm import Session

from ..after_commit import on_release
from ..after_commit import queue as queue_after_commit

log = logging.getLogger(__name__)
# Inline jobs that waited for a commit, run by run_deferred() in the same thread.
_deferred = threading.local()


def init_app(app):
    if app.config["RQ_INLINE"]:
        app.extensions["rq_queue"] = None
    else:
        connection = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["rq_queue"] = Queue(app.config["RQ_QUEUE"], connection=connection)

    @app.after_request
    def _run_deferred_jobs(response):
        # Embedded default: jobs that a request's commit queued run before the
        # response leaves (no worker exists to run them later).
        run_deferred()
        return response

    @app.teardown_appcontext
    def _run_deferred_at_teardown(_exc):
        run_deferred()  # CLI commands and scripts: before their session goes away


def queue() -> Queue | None:
    return current_app.extensions.get("rq_queue")


def enqueue(func, *args, **kwargs):
    """Run `func(*args, **kwargs)` in the background (RQ), or now when inline.

    Call it after commit: a job must never see a transaction that may still roll
    back. Returns the RQ job, or the function's result when run inline.
    """
    q = queue()
    if q is None:
        return func(*args, **kwargs)
    return q.enqueue(func, *args, **kwargs)


def enqueue_after_commit(session: Session, func_path: str, *items) -> None:
    """Queue the job at `func_path` (a dotted path, so a lower layer can name a job
    of a higher one without importing it) to run once `session` commits, with the
    `items` of every call in the transaction coalesced into one sorted list: a
    hundred stock changes in one transaction make one job, not a hundred."""
    for item in items:
        queue_after_commit(session, "job", (func_path, item))


@on_release("job")
def _release_jobs(_session, entries):
    pending: dict[str, set] = {}
    for func_path, item in entries:
        pending.setdefault(func_path, set()).add(item)
    q = queue() if has_app_context() else None
    for func_path, items in pending.items():
        if q is not None:
            q.enqueue(func_path, sorted(items))
        else:
            # No SQL may run inside after_commit: keep it for run_deferred().
            if not hasattr(_deferred, "jobs"):
                _deferred.jobs = []
            _deferred.jobs.append((func_path, sorted(items)))


def _resolve(func_path: str):
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_deferred() -> int:
    """Run the inline jobs that commits have queued in this thread, including any
    that those jobs queue in turn. Returns how many ran. A failing job is logged
    and does not stop the others (nothing it did was committed)."""
    ran = 0
    while getattr(_deferred, "jobs", None):
        func_path, items = _deferred.jobs.pop(0)
        try:
            _resolve(func_path)(items)
        except Exception:  # noqa: BLE001 - a background job must not fail the request
            log.exception("inline job %s(%s) failed", func_path, items)
            from ..extensions import db
            db.session.rollback()
        ran += 1
    return ran
