"""Events and jobs wait for the real commit: a savepoint that rolls back takes its
events with it, and one that is released leaves them to the outer transaction."""
from server.after_commit import on_release, queue

SENT: list = []


@on_release("probe")
def _record(_session, items):
    SENT.extend(items)


def test_nothing_is_released_before_the_outer_commit(db_session):
    """Are items queued in released savepoints held until the outer commit, and
    those of a rolled-back savepoint (and its inner savepoints) dropped?"""
    SENT.clear()
    s = db_session
    s.connection()  # begin
    queue(s, "probe", "outer")
    kept = s.begin_nested()
    queue(s, "probe", "kept")
    kept.commit()
    dropped = s.begin_nested()
    queue(s, "probe", "dropped")
    inner = s.begin_nested()
    queue(s, "probe", "inner of dropped")
    inner.commit()
    dropped.rollback()
    assert SENT == []  # nothing yet: savepoints are not commits
    s.commit()
    assert SENT == ["outer", "kept"]


def test_a_rolled_back_transaction_releases_nothing(db_session):
    """Does a rollback of the whole transaction drop everything queued in it?"""
    SENT.clear()
    s = db_session
    s.connection()
    queue(s, "probe", "never")
    s.rollback()
    s.connection()
    s.commit()
    assert SENT == []
