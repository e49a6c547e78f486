"""The RQ worker (`Procfile` worker): runs queued jobs inside an app context, so a
job uses the same configuration, database and Socket.IO message queue as the web;
and runs the clock (server/jobs/clock.py), which one worker at a time leads."""
import logging
import sys
import threading

from redis import Redis
from rq import SimpleWorker

from . import create_app

log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """Each job runs inside the Flask app context, and leaves no session behind.

    In this process, not a fork per job: a forked child would configure the
    mappers, compile every statement and connect again for each job (seconds,
    measured in bench/ingest.py), where this process has them warm.

    While a job runs, a thread beats its heartbeat every third of
    JOB_HEARTBEAT_SECONDS. RQ's SimpleWorker beats only between jobs and so gives a
    job its whole timeout before anyone may call it abandoned; here a worker killed
    mid-job (kill -9, a lost machine) leaves a job that is found abandoned within
    JOB_HEARTBEAT_SECONDS and tried again."""

    app = None

    def get_heartbeat_ttl(self, job) -> int:
        return int(self.app.config["JOB_HEARTBEAT_SECONDS"])

    def execute_job(self, job, queue):
        stop = threading.Event()
        every = max(1.0, self.get_heartbeat_ttl(job) / 3)

        def beat():
            while not stop.wait(every):
                try:
                    self.maintain_heartbeats(job)
                except Exception:  # noqa: BLE001 - the next beat tries again
                    log.exception("heartbeat for job %s failed", job.id)

        beating = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
        beating.start()
        try:
            return super().execute_job(job, queue)
        finally:
            stop.set()
            beating.join(timeout=5)

    def perform_job(self, job, queue):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                from .extensions import db
                db.session.remove()


def make_worker(app, connection=None) -> AppWorker:
    connection = connection or Redis.from_url(app.config["REDIS_URL"])
    worker = AppWorker([app.config["RQ_QUEUE"]], connection=connection,
                       # Idle workers wake every 15 s, so their own housekeeping
                       # (and a shutdown) never waits minutes on a blocking pop.
                       worker_ttl=35, maintenance_interval=30)
    worker.app = app
    return worker


def main(argv=None) -> int:
    app = create_app()
    if not app.config["REDIS_URL"]:
        print("REDIS_URL is not set: without Redis, jobs run inline in the web process "
              "and no worker is needed.", file=sys.stderr)
        return 2
    args = argv if argv is not None else sys.argv[1:]
    worker = make_worker(app)
    burst = "--burst" in args
    if not burst and "--no-clock" not in args:
        from .jobs.clock import Clock
        Clock(app, name=f"clock-{worker.name}").start()
    # RQ's own scheduler is not started: the clock moves due retries itself.
    worker.work(burst=burst, with_scheduler=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
