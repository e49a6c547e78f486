"""Socket.IO events, sent only after the transaction that caused them commits.

Events are hints that something changed (ARCHITECTURE.md): a client that misses one
catches up through the API or the sync pull. Sending them after commit means no
client ever hears of a change that was rolled back; storing them with the commit
(the outbox, server/jobs/outbox.py) means a Redis outage delays them, never loses
them.
"""
from sqlalchemy.orm import Session

from .after_commit import queue


def room_for_seller(seller_id: int) -> str:
    return f"seller:{seller_id}"


def room_for_warehouse(warehouse_id: int) -> str:
    return f"warehouse:{warehouse_id}"


def room_for_user(user_id: int) -> str:
    return f"user:{user_id}"


def emit_after_commit(session: Session, name: str, payload: dict, rooms: list[str]) -> None:
    """Queue event `name` (domain.event) for `rooms`, sent when `session` commits."""
    queue(session, "event", (name, payload, tuple(rooms)))
