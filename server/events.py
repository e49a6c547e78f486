"""Socket.IO events, sent only after the transaction that caused them commits.

Events are hints that something changed (ARCHITECTURE.md): a client that misses one
catches up through the API or the sync pull. Sending them after commit means no
client ever hears of a change that was rolled back.
"""
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .extensions import socketio

_PENDING = "haicang_pending_events"


def room_for_seller(seller_id: int) -> str:
    return f"seller:{seller_id}"


def room_for_warehouse(warehouse_id: int) -> str:
    return f"warehouse:{warehouse_id}"


def room_for_user(user_id: int) -> str:
    return f"user:{user_id}"


def emit_after_commit(session: Session, name: str, payload: dict, rooms: list[str]) -> None:
    """Queue event `name` (domain.event) for `rooms`, sent when `session` commits."""
    session.info.setdefault(_PENDING, []).append((name, payload, tuple(rooms)))


@sa_event.listens_for(Session, "after_commit")
def _send_pending(session):
    pending = session.info.pop(_PENDING, [])
    for name, payload, rooms in pending:
        for room in dict.fromkeys(rooms):
            socketio.emit(name, payload, to=room)


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_PENDING, None)
