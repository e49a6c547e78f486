"""Work that must wait for the transaction to commit: jobs, Socket.IO events, closed
rooms.

Items are queued on the session while the change is made. When the outermost
transaction commits, the items that survived are written to the outbox by that
same COMMIT (the writer registered with `on_commit`, server/jobs/outbox.py), and
once it has committed, what was written is handed to the relay (`on_committed`).
A savepoint that rolls back drops what was queued inside it (and inside the
savepoints it contained); a savepoint that is released keeps its items for the
outer transaction to decide. SQLAlchemy 2.1 also sends `before_commit` and
`after_commit` when a savepoint is released; those are recognised by the savepoint
still being the session's current (nested) transaction while the event runs.
"""
import logging

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)
_QUEUE = "haicang_after_commit"
_WRITTEN = "haicang_outbox_written"
_hooks: dict = {}


def on_commit(writer):
    """Register `writer(session, [(kind, item), ...]) -> written`, called inside the
    commit (its rows commit with the change)."""
    _hooks["write"] = writer
    return writer


def on_committed(handler):
    """Register `handler(written)`, called once the commit succeeded."""
    _hooks["committed"] = handler
    return handler


def queue(session: Session, kind: str, item) -> None:
    """Queue `item` of `kind` until `session`'s transaction commits."""
    if isinstance(session, scoped_session):
        session = session()  # the proxy hides the transaction accessors
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_QUEUE, []).append((kind, item, transaction))


def _inside(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _write(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint is being released: the outer transaction decides
    if session.new or session.dirty or session.deleted:
        # The commit's own last flush may queue items too (a watcher in
        # before_flush): flush now, so they are written with the rest.
        session.flush()
    queued = session.info.pop(_QUEUE, None)
    if queued:
        session.info[_WRITTEN] = _hooks["write"](session, [(k, i) for k, i, _t in queued])


@event.listens_for(Session, "after_commit")
def _release(session):
    if session.get_nested_transaction() is not None:
        return
    written = session.info.pop(_WRITTEN, None)
    if written:
        _hooks["committed"](written)
    leftover = session.info.pop(_QUEUE, None)
    if leftover:  # queued after the writer ran: a bug, say so rather than lose it
        log.error("side effects queued during a commit were not stored: %r",
                  [(k, i) for k, i, _t in leftover])


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session, previous_transaction):
    if previous_transaction.parent is None:
        # The whole transaction: everything queued was part of it (an item queued
        # before the session began one, too), and a commit that wrote failed.
        session.info.pop(_QUEUE, None)
        session.info.pop(_WRITTEN, None)
        return
    queued = session.info.get(_QUEUE)
    if queued:
        session.info[_QUEUE] = [entry for entry in queued
                                if not _inside(entry[2], previous_transaction)]
