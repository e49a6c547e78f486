"""The RQ worker (`Procfile` worker): runs queued jobs inside an app context, so a
job uses the same configuration, database and Socket.IO message queue as the web."""
import sys

from redis import Redis
from rq import SimpleWorker

from . import create_app


class AppWorker(SimpleWorker):
    """Each job runs inside the Flask app context, and leaves no session behind.

    In this process, not a fork per job: a forked child would configure the
    mappers, compile every statement and connect again for each job (seconds,
    measured in bench/ingest.py), where this process has them warm."""

    def perform_job(self, job, queue):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                from .extensions import db
                db.session.remove()


def main(argv=None) -> int:
    app = create_app()
    if not app.config["REDIS_URL"]:
        print("REDIS_URL is not set: without Redis, jobs run inline in the web process "
              "and no worker is needed.", file=sys.stderr)
        return 2
    connection = Redis.from_url(app.config["REDIS_URL"])
    worker = AppWorker([app.config["RQ_QUEUE"]], connection=connection)
    worker.app = app
    burst = "--burst" in (argv if argv is not None else sys.argv[1:])
    worker.work(burst=burst, with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
