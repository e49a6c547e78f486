"""Events and jobs wait for the real commit: a savepoint that rolls back takes its
events with it, and one that is released leaves them to the outer transaction;
what survives is stored in the outbox by the commit itself."""
from sqlalchemy import select

from server.after_commit import queue
from server.jobs.models import OutboxMessage


def _stored_events(s) -> list:
    s.rollback()
    return [e[1]["probe"] for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "events").order_by(OutboxMessage.id))
            for e in m.payload["events"]]


def _event(s, label):
    queue(s, "event", ("probe.event", {"probe": label}, ("room:probe",)))


def test_nothing_is_released_before_the_outer_commit(db_session):
    """Are items queued in released savepoints held until the outer commit, and
    those of a rolled-back savepoint (and its inner savepoints) dropped?"""
    s = db_session
    s.connection()  # begin
    _event(s, "outer")
    kept = s.begin_nested()
    _event(s, "kept")
    kept.commit()
    dropped = s.begin_nested()
    _event(s, "dropped")
    inner = s.begin_nested()
    _event(s, "inner of dropped")
    inner.commit()
    dropped.rollback()
    assert s.scalar(select(OutboxMessage.id).limit(1)) is None  # savepoints are not commits
    s.commit()
    assert _stored_events(s) == ["outer", "kept"]


def test_a_rolled_back_transaction_releases_nothing(db_session):
    """Does a rollback of the whole transaction drop everything queued in it?"""
    s = db_session
    s.connection()
    _event(s, "never")
    s.rollback()
    s.connection()
    s.commit()
    assert _stored_events(s) == []


def test_the_outbox_row_commits_with_the_change_or_not_at_all(db_session):
    """A commit that fails (a constraint broken in its last flush) stores neither
    the change nor its side effects; the next commit stores only its own."""
    from server.catalog.models import Sku
    s = db_session
    _event(s, "with a broken change")
    s.add(Sku(code=None))  # NOT NULL: the commit's flush fails
    try:
        s.commit()
    except Exception:  # noqa: BLE001
        s.rollback()
    else:
        raise AssertionError("the broken change committed")
    _event(s, "alone")
    s.commit()
    assert _stored_events(s) == ["alone"]
