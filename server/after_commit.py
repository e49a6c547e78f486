"""Work that must wait for the transaction to commit: Socket.IO events and jobs.

Items are queued on the session and released only when the outermost transaction
commits. A savepoint that rolls back drops what was queued inside it (and inside
the savepoints it contained); a savepoint that is released keeps its items for the
outer transaction to decide. SQLAlchemy 2.1 also sends `after_commit` when a
savepoint is released; that one is recognised by the savepoint still being the
session's current (nested) transaction while the event runs.
"""
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

_QUEUE = "haicang_after_commit"
_HANDLERS: dict = {}


def on_release(kind: str):
    """Register `handler(session, items)` for the items of `kind` once committed."""
    def register(handler):
        _HANDLERS[kind] = handler
        return handler
    return register


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


@event.listens_for(Session, "after_commit")
def _release(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released: the outer transaction decides
    queued = session.info.pop(_QUEUE, [])
    by_kind: dict = {}
    for kind, item, _transaction in queued:
        by_kind.setdefault(kind, []).append(item)
    for kind, items in by_kind.items():
        _HANDLERS[kind](session, items)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session, previous_transaction):
    queued = session.info.get(_QUEUE)
    if queued:
        session.info[_QUEUE] = [entry for entry in queued
                                if not _inside(entry[2], previous_transaction)]
