"""Why a job: checking that every stock row equals the sum of its ledger reads
every movement, which is too slow for a request on a big warehouse. A worker runs
it on a schedule (or on demand from the CLI) and logs what it finds."""
import logging

from ..extensions import db
from ..inventory.services import verify_ledger
from . import job

log = logging.getLogger(__name__)


@job(timeout=1800, retries=1)
def check_ledger() -> list[dict]:
    problems = verify_ledger(db.session)
    db.session.rollback()
    if problems:
        log.error("stock ledger mismatch in %d rows: %s", len(problems), problems[:20])
    return problems
