"""The outbox relay: what a commit stored is handed to RQ and Socket.IO after it.

Two paths hand a message over, and both mark it sent only once it is handed:

- the fresh path: right after the commit, in the thread that committed (after the
  request, at the end of a command or a job), from memory, with one UPDATE to mark
  what went out;
- the due path (`relay_due`, run by the clock, server/jobs/clock.py): every row
  still unsent (Redis was down, the process died after its commit, a delay
  passed), claimed with a lease so two relays never take the same row.

Inline (no Redis), "handing a job over" is running it: a job that fails is tried
again by the clock after its policy's interval, until its retries are spent.
Events are hints (clients catch up through the API), so a duplicate is harmless;
jobs are written to be idempotent, and a job handed to RQ twice (a relay that died
between the hand-over and its UPDATE) is recognised by its id, `outbox-<id>`.
"""
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import insert, or_, select, update

from ..after_commit import on_commit, on_committed
from ..extensions import db
from ..models_base import utcnow
from . import policy_for, queue, resolve
from .models import OutboxMessage

log = logging.getLogger(__name__)
# The due path leaves a message this long to the thread that committed it.
FRESH_GRACE = timedelta(seconds=5)
HANDOVER_LEASE = timedelta(seconds=60)
STALE_EVENTS = timedelta(hours=1)  # a hint this old helps nobody
_local = threading.local()


@dataclass
class Message:
    id: int
    kind: str
    payload: dict
    available_at: datetime
    attempts: int = 0


# -- writing (inside the commit) ----------------------------------------------------

@on_commit
def write(session, entries) -> list[Message]:
    """Turn what a transaction queued into outbox rows, inserted by its commit: one
    row per job (a coalesced job's items in one sorted list), one for all its events,
    one for the rooms it closes."""
    now = utcnow()
    rows: list[dict] = []
    coalesced: dict[str, set] = {}
    events: list = []
    rooms: list = []
    for kind, item in entries:
        if kind == "job_items":
            coalesced.setdefault(item[0], set()).add(item[1])
        elif kind == "job":
            path, args, delay = item
            rows.append({"kind": "job", "payload": {"func": path, "args": list(args)},
                         "available_at": now + timedelta(seconds=delay or 0)})
        elif kind == "event":
            name, payload, to = item
            events.append([name, payload, list(dict.fromkeys(to))])
        elif kind == "close_rooms":
            rooms.extend(item)
        else:
            raise ValueError(f"unknown side effect {kind!r}")
    events = _latest_only(events)
    for path, items in coalesced.items():
        rows.append({"kind": "job", "payload": {"func": path, "args": [sorted(items)]},
                     "available_at": now})
    if events:
        rows.append({"kind": "events", "payload": {"events": events}, "available_at": now})
    if rooms:
        rows.append({"kind": "close_rooms", "payload": {"rooms": list(dict.fromkeys(rooms))},
                     "available_at": now})
    for row in rows:
        row.update(created_at=now, attempts=0)
    # Core on the transaction's own connection: one multi-row INSERT, no ORM work.
    table = OutboxMessage.__table__
    ids = session.connection().execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    return [Message(i, r["kind"], r["payload"], r["available_at"]) for i, r in zip(ids, rows)]


def _latest_only(events: list) -> list:
    """Events are hints of a row's state (ARCHITECTURE.md): of several about the
    same row in one transaction (same name, same leading `*_id`), the last says it
    all. An order allocated in one transaction is one order.updated, not three."""
    latest: dict = {}
    for position, (name, payload, rooms) in enumerate(events):
        first = next(iter(payload.items()), (None, None)) if isinstance(payload, dict) \
            else (None, None)
        key = (name, first) if str(first[0]).endswith("_id") else (name, position)
        earlier = latest.pop(key, None)
        # Everyone who would have heard an earlier one hears the last one.
        rooms = list(dict.fromkeys((earlier[2] if earlier else []) + rooms))
        latest[key] = [name, payload, rooms]
    return list(latest.values())


@on_committed
def _committed(written: list[Message]) -> None:
    if not hasattr(_local, "fresh"):
        _local.fresh = []
    _local.fresh.extend(written)


# -- handing over -------------------------------------------------------------------

class NotHandedOver(Exception):
    """Redis (RQ or the Socket.IO message queue) did not take a message."""


def _dispatch(message: Message, dedupe: bool = False) -> None:
    payload = message.payload
    if message.kind == "job":
        path, args = payload["func"], payload["args"]
        q = queue()
        if q is None:
            resolve(path)(*args)  # inline: handing over is running it
            return
        job_id = f"outbox-{message.id}"
        if dedupe:
            from rq.job import Job
            if Job.exists(job_id, connection=q.connection):
                return
        q.enqueue(path, *args, job_id=job_id, **policy_for(path).rq_options())
    elif message.kind == "events":
        from ..extensions import socketio
        for name, data, rooms in payload["events"]:
            for room in rooms:
                socketio.emit(name, data, to=room)
    elif message.kind == "close_rooms":
        from ..extensions import socketio
        for room in payload["rooms"]:
            socketio.close_room(room)
    else:
        raise ValueError(f"unknown outbox message kind {message.kind!r}")


def _inline_job(message: Message) -> bool:
    return message.kind == "job" and queue() is None


def _handover(messages: list[Message], dedupe: bool) -> int:
    """Hand each message over, then record in one statement what went and, one by
    one, when to try again what did not."""
    now = utcnow()
    sent, failed = [], []
    for message in messages:
        try:
            _dispatch(message, dedupe=dedupe)
            sent.append(message.id)
        except Exception as error:  # noqa: BLE001 - the row stays; it is tried again
            db.session.rollback()
            failed.append((message, error))
    if sent:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(sent)).values(
            sent_at=now, claimed_until=None, last_error=None))
    for message, error in failed:
        attempts = message.attempts + 1
        values = {"attempts": attempts, "claimed_until": None,
                  "last_error": f"{type(error).__name__}: {error}"[:2000]}
        if _inline_job(message):
            policy = policy_for(message.payload["func"])
            log.exception("job %s failed (try %s of %s)", message.payload["func"], attempts,
                          policy.retries + 1, exc_info=error)
            if attempts > policy.retries:
                values["failed_at"] = now
            else:
                values["available_at"] = now + timedelta(seconds=policy.interval(attempts))
        else:
            log.warning("outbox %s (%s) not handed over yet: %s", message.id, message.kind, error)
            values["available_at"] = now + timedelta(seconds=min(2 ** attempts, 60))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                           .values(**values))
    db.session.commit()
    return len(sent)


def relay_fresh() -> int:
    """Hand over what this thread's commits wrote (and, inline, what the jobs that
    ran write in turn). Delayed messages are left to the clock. Never raises: a
    message not handed over stays in the outbox."""
    if not has_app_context() or not getattr(_local, "fresh", None) or \
            getattr(_local, "busy", False):
        return 0
    _local.busy = True
    handed = 0
    try:
        # Whatever the session holds uncommitted now is not to be kept: a relay
        # runs after a commit, at the end of a request, a command or a job.
        db.session.rollback()
        while _local.fresh:
            now = utcnow()
            due = [m for m in _local.fresh if m.available_at <= now]
            _local.fresh = []
            if due:
                handed += _handover(due, dedupe=False)
    except Exception:  # noqa: BLE001 - the rows are still there for the clock
        log.exception("outbox relay failed; the clock will try again")
        _local.fresh = []
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001
            pass
    finally:
        _local.busy = False
    return handed


def relay_due(limit: int = 200, now: datetime | None = None) -> int:
    """Claim and hand over unsent messages that are due. Returns how many went."""
    now = now or utcnow()
    inline = queue() is None
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
               OutboxMessage.available_at <= now,
               OutboxMessage.created_at <= now - FRESH_GRACE,
               or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .order_by(OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if not ids:
        db.session.commit()
        return 0
    rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.kind,
                                     OutboxMessage.payload, OutboxMessage.available_at,
                                     OutboxMessage.attempts, OutboxMessage.created_at)
                              .where(OutboxMessage.id.in_(ids))
                              .order_by(OutboxMessage.id)).all()
    messages, stale = [], []
    for row in rows:
        message = Message(row.id, row.kind, row.payload, row.available_at, row.attempts)
        if row.kind == "events" and row.created_at < now - STALE_EVENTS:
            stale.append(row.id)
            continue
        messages.append(message)
        lease = HANDOVER_LEASE
        if inline and row.kind == "job":
            lease = timedelta(seconds=policy_for(row.payload["func"]).timeout + 60)
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                           .values(claimed_until=now + lease))
    if stale:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(stale)).values(
            failed_at=now, last_error="stale event: clients caught up through the API"))
    db.session.commit()
    handed = _handover(messages, dedupe=True) if messages else 0
    handed += relay_fresh()  # inline jobs that ran may have written more
    return handed


def prune(keep: timedelta | None = None) -> int:
    """Delete messages handed over longer ago than `keep` (OUTBOX_KEEP_HOURS)."""
    from sqlalchemy import delete
    keep = keep or timedelta(hours=current_app.config.get("OUTBOX_KEEP_HOURS", 24))
    result = db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < utcnow() - keep))
    db.session.commit()
    return result.rowcount or 0


def pending(session=None) -> int:
    """How many messages still wait to be handed over (health, tests)."""
    from sqlalchemy import func
    session = session or db.session
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))) or 0
