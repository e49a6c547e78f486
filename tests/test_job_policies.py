"""Every job declares how long it may run and how often it is tried again, and
nothing reaches RQ except through the outbox and the clock (issue #9)."""
import ast
import importlib
import pkgutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import server
from server.jobs import POLICIES, job, later, run_deferred
from server.jobs.models import OutboxMessage
from server.jobs.outbox import relay_due
from server.models_base import utcnow

SERVER = Path(server.__file__).parent
QUEUEING = {"later", "enqueue_after_commit", "enqueue", "submit"}
RQ_DIRECT = {"enqueue", "enqueue_in", "enqueue_at", "enqueue_call", "enqueue_many"}


def _modules():
    for info in pkgutil.walk_packages([str(SERVER)], prefix="server."):
        yield info.name


def _calls():
    """(file, call) for every call in the server package."""
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                yield path, node


def test_every_job_that_is_queued_anywhere_declares_a_policy():
    """Is every job named by later(), enqueue_after_commit(), enqueue() or the
    clock's submit() (by dotted path or by name) declared with @job, with a
    positive timeout and at least one retry?"""
    for name in _modules():
        importlib.import_module(name)
    named = set()
    for path, call in _calls():
        func = call.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if called not in QUEUEING:
            continue
        # later(session, job, ...) and enqueue_after_commit(session, job, ...);
        # enqueue(job, ...) and submit(job, ...)
        position = 1 if called in ("later", "enqueue_after_commit") else 0
        for arg in call.args[position:position + 1]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and \
                    arg.value.startswith("server."):
                named.add(arg.value)
            elif isinstance(arg, ast.Attribute):
                named.add(arg.attr)
            elif isinstance(arg, ast.Name) and arg.id not in ("path", "func"):
                named.add(arg.id)
    declared_names = {p.rsplit(".", 1)[1] for p in POLICIES}
    assert named, "the scan found no queued job at all"
    missing = sorted(n for n in named if n not in POLICIES and n not in declared_names)
    assert missing == [], f"queued without a declared @job policy: {missing}"
    for path, policy in POLICIES.items():
        assert policy.timeout > 0 and policy.retries >= 1 and policy.intervals, path


def test_nothing_outside_the_jobs_package_talks_to_rq_directly():
    """A job enqueued on RQ by hand escapes the outbox (lost when Redis is down,
    sent for a change that rolled back): is every direct enqueue in server/jobs?"""
    offenders = []
    for path, call in _calls():
        if isinstance(call.func, ast.Attribute) and call.func.attr in RQ_DIRECT and \
                SERVER / "jobs" not in path.parents:
            offenders.append(f"{path.relative_to(SERVER.parent)}:{call.lineno}")
    assert offenders == []


def test_an_undeclared_job_is_refused_where_it_is_queued(db_session):
    """Does later() refuse a function that declared no policy, before anything is
    stored?"""
    with pytest.raises(LookupError):
        later(db_session, "server.jobs.ledger.verify_ledger")


ATTEMPTS: list = []


@job(timeout=5, retries=2, intervals=(1, 1))
def flaky(label: str) -> None:
    """A job that fails until its third try (a platform down, then up)."""
    ATTEMPTS.append(label)
    if len(ATTEMPTS) < 3:
        raise RuntimeError(f"try {len(ATTEMPTS)} fails")


@job(timeout=5, retries=1, intervals=(1,))
def hopeless(label: str) -> None:
    ATTEMPTS.append(label)
    raise RuntimeError("always fails")


def _message(session, label):
    return session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "job")
                           .order_by(OutboxMessage.id.desc())).first()


def test_an_inline_job_that_fails_is_tried_again_until_it_succeeds(db_session):
    """Inline (no Redis), a job that fails stays in the outbox with its error and
    is tried again after its interval by the clock's relay: does it succeed on the
    third try, and is it then marked sent?"""
    ATTEMPTS.clear()
    later(db_session, flaky, "probe")
    db_session.commit()
    run_deferred()  # the first try, right after the commit
    message = _message(db_session, "probe")
    assert ATTEMPTS == ["probe"] and message.sent_at is None
    assert "try 1 fails" in message.last_error and message.attempts == 1
    for tries in (2, 3):
        later_than = utcnow() + timedelta(seconds=10)  # past FRESH_GRACE and the interval
        relay_due(now=later_than)
        db_session.expire_all()
        assert len(ATTEMPTS) == tries
    message = _message(db_session, "probe")
    assert message.sent_at is not None and message.failed_at is None


def test_an_inline_job_that_always_fails_is_parked_after_its_retries(db_session):
    """Is a job that fails every try parked (failed_at, its last error kept) after
    1 + retries tries, and never run again?"""
    ATTEMPTS.clear()
    later(db_session, hopeless, "never")
    db_session.commit()
    run_deferred()
    relay_due(now=utcnow() + timedelta(seconds=10))
    relay_due(now=utcnow() + timedelta(seconds=20))
    db_session.expire_all()
    message = _message(db_session, "never")
    assert len(ATTEMPTS) == 2 and message.failed_at is not None
    assert "always fails" in message.last_error
