"""Background jobs on RQ.

With REDIS_URL set, `enqueue()` puts a job on the RQ queue and a worker
(`Procfile` worker: `python -m server.worker`) runs it inside an app context.
Without Redis (the embedded default), the job runs inline, at once, in the
caller's process, so a bare machine needs nothing more. Jobs live in this
package, one module per concern, each with a docstring that says why it is a job.
"""
from flask import current_app
from redis import Redis
from rq import Queue


def init_app(app):
    if app.config["RQ_INLINE"]:
        app.extensions["rq_queue"] = None
    else:
        connection = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["rq_queue"] = Queue(app.config["RQ_QUEUE"], connection=connection)


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
