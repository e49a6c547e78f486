"""The clock: the one mechanism that runs recurring work.

Every worker process (`python -m server.worker`) runs a clock thread, and one of
them at a time holds the clock's lock in Redis (redis-py's Lock, renewed every
tick, CLOCK_LOCK_SECONDS long): when that worker is killed, its lock lapses and
another worker's clock (or the same worker, restarted) takes over within that
time. The embedded default (`flask serve`, no Redis) runs one clock in-process.

What it does is decided each tick from the database, never from a job finishing:
a poll is started for every account whose last poll is old enough, a stock flush
when a push waits past its window, a backorder sweep every BACKORDER_SWEEP_SECONDS, a poll of the aggregator's
trackers every TRACKER_POLL_SECONDS when a shipment is due (carriers/tracking.py),
the customers of late parcels told so every NOTIFY_DELAYED_SECONDS (notifications),
and every tick the outbox's unsent messages are handed over. It also does what
RQ's own scheduler and maintenance would (retries that wait their interval, jobs
abandoned by a killed worker tried again), on the same tick, so no second lock
has to be won back after a crash.
"""
import logging
import threading
import time

from flask import Flask

from ..extensions import db
from . import outbox, policy_for, queue, resolve

log = logging.getLogger(__name__)
ACTIVE = ("queued", "started", "scheduled", "deferred")


class Clock:
    def __init__(self, app: Flask, name: str = "clock"):
        self.app = app
        self.name = name
        self._lock = None
        self._last: dict[str, float] = {}
        self.ticks = 0

    # -- who runs it ----------------------------------------------------------------

    def _connection(self):
        q = queue()
        return q.connection if q is not None else None

    def leading(self) -> bool:
        """Hold (or take) the clock's lock. Inline there is one clock: always."""
        connection = self._connection()
        if connection is None:
            return True
        from redis.exceptions import LockError
        seconds = self.app.config["CLOCK_LOCK_SECONDS"]
        if self._lock is None:
            self._lock = connection.lock(f"haicang:clock:{self.app.config['RQ_QUEUE']}",
                                         timeout=seconds, blocking=False)
        try:
            if self._lock.owned():
                self._lock.reacquire()
                return True
            return bool(self._lock.acquire(blocking=False))
        except LockError:
            return False

    def _every(self, name: str, seconds: float) -> bool:
        """Due once per `seconds`, across clocks (a new leader keeps the rhythm)."""
        connection = self._connection()
        if connection is not None:
            key = f"haicang:clock:{self.app.config['RQ_QUEUE']}:{name}"
            return bool(connection.set(key, "1", nx=True, px=int(seconds * 1000)))
        now = time.monotonic()
        if now - self._last.get(name, -1e18) >= seconds:
            self._last[name] = now
            return True
        return False

    def submit(self, func, *args, job_id: str) -> bool:
        """Start `func(*args)` unless the job `job_id` is still waiting or running.
        Inline, run it now, here."""
        path = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
        q = queue()
        if q is None:
            try:
                resolve(path)(*args)
            except Exception:  # noqa: BLE001 - the next tick decides again
                db.session.rollback()
                log.exception("clock: %s failed", path)
            outbox.relay_fresh()
            return True
        from rq.job import Job
        from rq.exceptions import NoSuchJobError
        try:
            if Job.fetch(job_id, connection=q.connection).get_status() in ACTIVE:
                return False
        except NoSuchJobError:
            pass
        q.enqueue(path, *args, job_id=job_id, **policy_for(path).rq_options())
        return True

    # -- what it does ---------------------------------------------------------------

    def tick(self) -> dict:
        """One beat, when this clock leads. Returns what it did (tests, logs)."""
        from ..allocation import jobs as allocation_jobs
        from ..channels import jobs as channel_jobs
        did: dict = {}
        if not self.leading():
            return {"leading": False}
        did["relayed"] = outbox.relay_due()
        q = queue()
        if q is not None:
            did["retries"] = self._move_scheduled(q)
            if self._every("maintenance", 5):
                did["abandoned"] = self._clean(q)
        polls = [a for a in channel_jobs.accounts_due_for_a_poll(db.session)
                 if self.submit(channel_jobs.poll_account, a, job_id=f"poll-{a}")]
        db.session.rollback()
        did["polls"] = polls
        if channel_jobs.stock_pushes_due(db.session):
            db.session.rollback()
            did["stock_flush"] = self.submit(channel_jobs.flush_stock_pushes,
                                             job_id="flush-stock-pushes")
        db.session.rollback()
        if self._every("backorder-sweep", self.app.config["BACKORDER_SWEEP_SECONDS"]):
            did["sweep"] = self.submit(allocation_jobs.sweep, job_id="backorder-sweep")
        if self._every("tracker-poll", self.app.config.get("TRACKER_POLL_SECONDS", 3600)):
            from ..carriers import tracking
            if tracking.trackers_due(db.session):
                db.session.rollback()
                did["trackers"] = self.submit(tracking.poll_trackers, job_id="poll-trackers")
            db.session.rollback()
        if self._every("notify-delayed", self.app.config.get("NOTIFY_DELAYED_SECONDS", 900)):
            from ..notifications import services as notifications
            if notifications.delayed_due(db.session):
                db.session.rollback()
                did["delayed"] = self.submit("server.notifications.jobs.notify_delayed",
                                             job_id="notify-delayed")
            db.session.rollback()
        if self._every("outbox-prune", 600):
            did["pruned"] = outbox.prune()
        self.ticks += 1
        return did

    @staticmethod
    def _move_scheduled(q) -> int:
        """Retries whose wait is over go back on the queue (what RQ's scheduler does,
        without its separate lock)."""
        from rq.job import Job
        from rq.registry import ScheduledJobRegistry
        from rq.utils import current_timestamp
        registry = ScheduledJobRegistry(queue=q)
        job_ids = registry.get_jobs_to_schedule(current_timestamp())
        if not job_ids:
            return 0
        with q.connection.pipeline() as pipeline:
            for job in Job.fetch_many(job_ids, connection=q.connection):
                if job is not None:
                    q._enqueue_job(job, pipeline=pipeline)
            for job_id in job_ids:
                registry.remove(job_id, pipeline=pipeline)
            pipeline.execute()
        return len(job_ids)

    @staticmethod
    def _clean(q) -> int:
        """A job whose worker stopped beating is abandoned: RQ's cleanup tries it
        again while it has retries left (every job declares some)."""
        from rq.registry import StartedJobRegistry
        registry = StartedJobRegistry(queue=q)
        expired = registry.get_expired_job_ids()
        if expired:
            log.warning("clock: jobs abandoned by a dead worker, tried again: %s", expired)
            registry.cleanup()
        return len(expired)

    # -- the loop -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        tick = self.app.config["CLOCK_TICK_SECONDS"]
        while not stop.is_set():
            try:
                with self.app.app_context():
                    try:
                        self.tick()
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 - Redis or the database away: next tick
                log.exception("clock tick failed")
            stop.wait(tick)

    def start(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop,), name=self.name, daemon=True).start()
        return stop
