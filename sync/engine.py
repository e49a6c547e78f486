"""Push and pull, as ../shared/design/SYNC.md specifies.

Push: each mutation of a device applies at most once, in ascending id. The scans
the domain can plan (registry.batch: receipts and moves that apply as asked) are
written together in a few multi-row statements; every other mutation runs its
handler in a savepoint of its own, so a rejection undoes only itself. Results go
in one multi-row INSERT, the device row is updated once, and the whole batch
commits once (the caller commits): effects, results and last_mutation_id commit
together, so a crash leaves a clean prefix. A gap stops the batch; a rejected
mutation still advances the device, so one bad scan never blocks the queue behind
it.

Pull: what changed in the user's scope since the cursor, rows as they are now.
"""
import base64
import hashlib
import json
import logging
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, insert, or_, select, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, scoped_session

from server.errors import DomainError, Forbidden, InvalidInput, TooLarge, localized
from server.i18n import message
from server.inventory.services import lock_stock_rows, occurred_at
from server.validation import (
    DEFAULT_MAX_JSON_DEPTH,
    INT32,
    first_problem,
    printable_key,
    text_problem,
)

from .bulk import insert_rows
from .models import SyncChange, SyncDevice, SyncMutation
from .registry import BATCH, HANDLERS, LOCKS, PLANS, Context, Planned, Rejected, authorize
from .registry import Forbidden as NotAllowed

MAX_BATCH = 1000
# Device clocks further off than this are not trusted to correct `at`.
MAX_CLOCK_SKEW = timedelta(days=2)
# What is kept of a mutation, as JSON: larger args (and results) are stored as a
# summary (size, sha256, the start), so no device can fill the table.
MAX_STORED_JSON = 4096

log = logging.getLogger(__name__)


def _parse_time(value, field):
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(field, message("is not an ISO 8601 time")) from None
    if moment.tzinfo is None:
        raise Rejected(field, message("needs a time zone (Z or +hh:mm)"))
    return moment.astimezone(UTC)


def _device(session: Session, device_id: str, user) -> SyncDevice:
    """The device row, locked for this push: two pushes of one device (a retry that
    overtakes its original) apply one after the other, never interleaved."""
    if not isinstance(device_id, str) or not 8 <= len(device_id) <= 64:
        raise InvalidInput("device_id", message("must be the device's id, 8-64 characters"))
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    session.execute(upsert(SyncDevice).values(
        id=device_id, user_id=user.id, last_mutation_id=0, clock_offset_ms=0,
        created_at=datetime.now(UTC), last_seen_at=datetime.now(UTC)
    ).on_conflict_do_nothing(index_elements=["id"]))
    device = session.execute(select(SyncDevice).where(SyncDevice.id == device_id)
                             .with_for_update().execution_options(populate_existing=True)
                             ).scalar_one()
    if device.user_id != user.id:
        raise Forbidden(message("This device belongs to another user; log in again to "
                                "reset it"),
                        fields={"device_id": [message("belongs to another user")]})
    return device


def _result(row: SyncMutation, replayed: bool = False) -> dict:
    result = {"id": row.mutation_id, "status": row.status,
              "detail": localized(row.detail or {})}
    if replayed:
        result["replayed"] = True
    return result


def push(session: Session, user, device_id: str, mutations: list[dict],
         sent_at=None) -> dict:
    """Apply a device's mutations. Returns {"last_mutation_id", "results"}. Works in
    the caller's transaction and never commits.

    Set-based where the domain knows how (registry.batch): the codes of the whole
    push are resolved once, its stock rows locked once in key order, the mutations
    that plan cleanly are written together; the others run their handler in a
    savepoint of their own, after what was planned before them is written. The
    results are stored in one multi-row INSERT and the device row is updated once,
    all in this transaction: effects, results and last_mutation_id commit together
    (a crash leaves a clean prefix: the batch before it, whole)."""
    if not isinstance(mutations, list):
        raise InvalidInput("mutations", message("must be a list"))
    if len(mutations) > MAX_BATCH:
        raise TooLarge("mutations", message("at most %(n)s per push: send the rest in the "
                                            "next", n=MAX_BATCH), limit=MAX_BATCH)
    device = _device(session, device_id, user)
    now = datetime.now(UTC)
    sent = None
    try:
        sent = _parse_time(sent_at, "sent_at")
    except Rejected as error:
        raise InvalidInput("sent_at", error.text) from None
    clock_offset_ms = device.clock_offset_ms
    if sent is not None and abs(now - sent) < MAX_CLOCK_SKEW:
        clock_offset_ms = int((now - sent).total_seconds() * 1000)
    offset = timedelta(milliseconds=clock_offset_ms)

    for i, m in enumerate(mutations):
        if not isinstance(m, dict) or not isinstance(m.get("id"), int) \
                or isinstance(m.get("id"), bool) or m["id"] < 1:
            raise InvalidInput(f"mutations.{i}.id", message("must be a whole number from 1"))
    results = []
    stored = {}
    first_last = device.last_mutation_id
    ids = sorted({m["id"] for m in mutations})
    old = [n for n in ids if n <= first_last]
    if old:
        stored = {r.mutation_id: r for r in session.scalars(select(SyncMutation).where(
            SyncMutation.device_id == device.id, SyncMutation.mutation_id.in_(old)))}
    # In order, once each, up to the first gap: what this push applies.
    replays, to_apply, seen, last = [], [], set(), first_last
    for m in sorted(mutations, key=lambda m: m["id"]):
        if m["id"] in seen:
            continue  # the same mutation twice in one batch: once is enough
        seen.add(m["id"])
        if m["id"] <= first_last:
            if m["id"] in stored:
                replays.append(_result(stored[m["id"]], replayed=True))
            continue
        if m["id"] > last + 1:
            break  # a gap: the device resends from last_mutation_id + 1
        to_apply.append(m)
        last = m["id"]
    results.extend(replays)
    # Checked once, before anything reads them: a mutation the database could not
    # even be asked about (a NUL, a number past its column) is rejected alone.
    unreadable = {id(m): _unreadable(m) for m in to_apply}
    factory = BATCH.get("factory")
    batch = factory(session, user, device.id, [m for m in to_apply
                                               if unreadable[id(m)] is None]) \
        if factory is not None and to_apply else None
    lookups = batch.lookups if batch is not None else None
    _lock_batch(session, user, device, to_apply, unreadable, batch)
    outcomes = []  # (mutation, at, Planned or (status, detail))
    for m in to_apply:
        planned = at = None
        if batch is not None and unreadable[id(m)] is None:
            planned, at = _plan_one(session, user, device, m, offset, batch)
        if planned is not None:
            outcomes.append((m, at, planned))
            continue
        if batch is not None:
            batch.flush()  # its handler sees what was planned before it
        status, detail, at = _apply_one(session, user, device, m, offset,
                                        unreadable.get(id(m)), lookups)
        outcomes.append((m, at, (status, detail)))
    if batch is not None:
        batch.flush()
    rows = []
    for m, at, outcome in outcomes:
        status, detail = outcome.result() if isinstance(outcome, Planned) else outcome
        rows.append(_stored_row(device, user, m, at, status, detail, now,
                                checked=unreadable.get(id(m)) is None))
        # Stored with its messages' stored form; answered in the sender's language.
        results.append({"id": m["id"], "status": status,
                        "detail": localized(rows[-1]["detail"] or {})})
    insert_rows(session, SyncMutation.__table__, rows)
    # The device row, once: the new last id, the clock, when it was last seen.
    device.last_mutation_id = last
    device.clock_offset_ms = clock_offset_ms
    device.last_seen_at = now
    session.flush()
    return {"last_mutation_id": device.last_mutation_id, "results": results}


def _at(m, offset):
    at = _parse_time(m.get("at"), "at")
    # Without a time, it happened now: after everything applied before it.
    moment = datetime.now(UTC)
    return min(at + offset, moment) if at is not None else moment


def _plan_one(session, user, device, m, offset, batch):
    """The mutation's Planned outcome and time, or (None, None) when it must go
    through its handler (no plan, or anything the plan cannot vouch for: the
    handler then decides, in its savepoint, and raises what it raises)."""
    name, args = m.get("name"), m.get("args")
    plan = PLANS.get(name)
    if plan is None or not isinstance(args, dict) or name not in HANDLERS:
        return None, None
    try:
        at = _at(m, offset)
        ctx = Context(session, user, device.id, m["id"], at, batch=batch.lookups)
        authorize(ctx, name, args)  # the declared rule first, as for a handler
        return plan(ctx, args, batch), at
    except (Rejected, NotAllowed, DomainError):
        return None, None  # rejected by its handler's path, which says why


def _stored_row(device, user, m, at, status, detail, now, checked=False) -> dict:
    name = m.get("name")
    args = m.get("args") if isinstance(m.get("args"), dict) else None
    detail = _stored_detail(detail)
    warehouse_id = (detail or {}).get("warehouse_id")
    return {"device_id": device.id, "mutation_id": m["id"], "user_id": user.id,
            "warehouse_id": warehouse_id if isinstance(warehouse_id, int) else None,
            "name": printable_key(name)[:64],
            "args": _summary(args, checked) if args is not None
            else {"raw": repr(m.get("args"))[:500]},
            "at": at, "status": status, "detail": detail, "applied_at": now}


def _unreadable(m: dict) -> Rejected | None:
    """Why a mutation cannot be read at all (its name, or a value inside its args
    that no column could hold), or None."""
    name = m.get("name")
    if not isinstance(name, str) or not name:
        return Rejected("name", message("must be a mutation's name"))
    problem = text_problem(name)
    if problem:
        return Rejected("name", problem)
    args = m.get("args")
    if isinstance(args, dict):
        found = first_problem(args, max_depth=DEFAULT_MAX_JSON_DEPTH, int_range=INT32)
        if found:
            return Rejected(*found)
    return None


def _summary(value, checked: bool = False) -> dict | None:
    """`value` as it may be stored: itself, or a summary if its JSON is too large
    or holds what a JSON column cannot (a NUL, an unpaired surrogate). `checked`:
    _unreadable already found nothing wrong inside it (a stricter check)."""
    text = json.dumps(value, default=repr)  # ASCII: NUL and surrogates escaped
    if len(text) <= MAX_STORED_JSON and (checked or first_problem(
            value, max_depth=DEFAULT_MAX_JSON_DEPTH) is None):
        return value
    return {"truncated": True, "bytes": len(text),
            "sha256": hashlib.sha256(text.encode()).hexdigest(), "start": text[:500]}


def _stored_detail(detail: dict) -> dict:
    """A result as it is stored and answered: the whole of it if small, else its
    error and the start of its message (a rejection may quote a huge argument)."""
    if len(json.dumps(detail, default=repr)) <= MAX_STORED_JSON:
        return detail
    return {"error": detail.get("error"), "message": str(detail.get("message"))[:500],
            "fields": {printable_key(k): [str(p)[:200] for p in v][:5]
                       for k, v in list((detail.get("fields") or {}).items())[:10]},
            "truncated": True}


def _lock_batch(session, user, device, mutations, unreadable, batch=None) -> None:
    """Lock, in primary-key order, every stock row the batch's new mutations will
    change (as far as their handlers can tell beforehand)."""
    pairs = set()
    lookups = batch.lookups if batch is not None else None
    for m in mutations:
        if unreadable.get(id(m)) is not None:
            continue  # it will be rejected when it applies
        locks = LOCKS.get(m.get("name"))
        if locks is None or m["id"] <= device.last_mutation_id \
                or not isinstance(m.get("args"), dict):
            continue
        ctx = Context(session, user, device.id, m["id"], None, batch=lookups)
        try:
            # Never lock for a mutation the sender may not send: its rows stay free.
            authorize(ctx, m["name"], m["args"])
            pairs.update(locks(ctx, m["args"]))
        except (Rejected, NotAllowed, DomainError):
            continue  # it will be rejected when it applies
    if batch is not None:
        batch.lock(sorted(pairs))
    elif pairs:
        lock_stock_rows(session, sorted(pairs))


def push_and_commit(session: Session, user, device_id: str, mutations: list[dict],
                    sent_at=None, attempts: int = 5) -> dict:
    """push() and commit the batch: the entry point for a caller that owns the
    transaction (the HTTP endpoint, a test, a benchmark).

    One transaction per batch takes locks in the order of the batch's mutations,
    so two devices' batches can deadlock on PostgreSQL; the database then aborts
    one, and it is retried from the start: a push is idempotent (mutations already
    applied are replayed), so a retry is always safe."""
    from sqlalchemy.exc import OperationalError
    for attempt in range(1, attempts + 1):
        try:
            result = push(session, user, device_id, mutations, sent_at)
            session.commit()
            return result
        except OperationalError as error:
            session.rollback()
            code = getattr(error.orig, "sqlstate", None)
            if code not in ("40P01", "40001") or attempt == attempts:  # deadlock, serialization
                raise
            time.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def _apply_one(session, user, device, m, offset, unreadable=None, lookups=None):
    """One mutation through its handler, in a savepoint of its own: (status,
    detail, at). A rejection rolls back what it did, and only that."""
    name = m.get("name")
    args = m.get("args") if isinstance(m.get("args"), dict) else None
    status, detail, at = "rejected", {}, None
    savepoint = session.begin_nested()
    try:
        if unreadable is not None:
            raise unreadable
        at = _at(m, offset)
        handler = HANDLERS.get(name)
        if handler is None:
            raise Rejected("name", message("unknown mutation %(name)s", name=repr(name)))
        if args is None:
            raise Rejected("args", message("must be an object"))
        ctx = Context(session, user, device.id, m["id"], at, batch=lookups)
        # The mutation's declared rule, before its handler runs (invariant 8).
        authorize(ctx, name, args)
        with occurred_at(session, at):
            status, detail = handler(ctx, args)
        savepoint.commit()
    except NotAllowed as error:
        savepoint.rollback()
        detail = error.to_dict()
    except Rejected as error:
        savepoint.rollback()
        detail = error.to_dict()
    except DomainError as error:
        savepoint.rollback()
        detail = error.to_dict()
    except (DataError, TypeError, ValueError, ArithmeticError, LookupError,
            AttributeError) as error:
        # Input its handler could not take (a bug to fix, logged): this mutation is
        # rejected, and the queue behind it goes on.
        savepoint.rollback()
        log.exception("sync: mutation %s of device %s could not be applied",
                      m["id"], device.id)
        detail = Rejected("args", message("could not be applied (%(error)s)",
                                          error=type(error).__name__)).to_dict()
        detail["fields"] = {"args": ["could not be applied"]}
    return status, detail, at


# -- the change log ---------------------------------------------------------------
#
# A flush listener notes every tracked row the flush wrote, so no writer can forget
# it; a writer that bypasses the ORM (a set-based sync batch) notes its rows with
# `log_change`. The notes wait on the session, tagged with the (sub)transaction
# they were made in: a savepoint that rolls back drops its own. When the outermost
# transaction commits, the survivors are written by that commit, one row per entity
# row (the last state: changed or deleted), in one multi-row INSERT whose `tx` is
# the transaction's id computed by the statement itself (no round trip to ask).

# entity name -> (model class, function(row) -> (warehouse_id, seller_id))
TRACKED: dict = {}
_CHANGES = "haicang_sync_changes"
_WRITING = "haicang_sync_changes_writing"
_CHANGE_CHUNK = 1000  # rows per INSERT (SQLite allows 32,766 bound parameters)


def track(entity: str, model, scope):
    TRACKED[entity] = (model, scope)


_PG_CHANGES = text(
    "INSERT INTO sync_changes (entity, entity_id, warehouse_id, seller_id, deleted, tx, "
    "created_at) SELECT u.entity, u.entity_id, u.warehouse_id, u.seller_id, u.deleted, "
    "pg_current_xact_id()::text::bigint, :created_at FROM unnest(CAST(:entity AS TEXT[]), "
    "CAST(:entity_id AS INTEGER[]), CAST(:warehouse_id AS INTEGER[]), "
    "CAST(:seller_id AS INTEGER[]), CAST(:deleted AS BOOLEAN[])) "
    "AS u(entity, entity_id, warehouse_id, seller_id, deleted)")


def _write_changes(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    now = datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        # One statement of fixed text: the rows as arrays, the transaction's id
        # computed by the statement itself.
        session.connection().execute(_PG_CHANGES, {
            "entity": [r["entity"] for r in rows],
            "entity_id": [r["entity_id"] for r in rows],
            "warehouse_id": [r["warehouse_id"] for r in rows],
            "seller_id": [r["seller_id"] for r in rows],
            "deleted": [bool(r["deleted"]) for r in rows], "created_at": now})
        return
    connection = session.connection()
    for start in range(0, len(rows), _CHANGE_CHUNK):
        chunk = rows[start:start + _CHANGE_CHUNK]
        connection.execute(insert(SyncChange).values(
            [dict(r, tx=None, created_at=now) for r in chunk]))


def log_change(session: Session, entity: str, entity_id: int, warehouse_id=None,
               seller_id=None, deleted: bool = False) -> None:
    """Note that `entity` #`entity_id` changed in this transaction (for writers
    that bypass the ORM flush)."""
    if isinstance(session, scoped_session):
        session = session()
    row = {"entity": entity, "entity_id": entity_id, "warehouse_id": warehouse_id,
           "seller_id": seller_id, "deleted": deleted}
    if session.info.get(_WRITING):  # noted while the commit writes: write it now
        _write_changes(session, [row])
        return
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_CHANGES, []).append((row, transaction))


@event.listens_for(Session, "after_flush")
def _log_changes(session, _flush_context):
    if not TRACKED:
        return
    rows = []
    by_class = {model: entity for entity, (model, _scope) in TRACKED.items()}
    for obj, deleted in [(o, False) for o in list(session.new) + list(session.dirty)] + \
            [(o, True) for o in session.deleted]:
        entity = by_class.get(type(obj))
        if entity is None or (not deleted and obj in session.dirty
                              and not session.is_modified(obj)):
            continue
        warehouse_id, seller_id = TRACKED[entity][1](obj)
        rows.append({"entity": entity, "entity_id": obj.id, "warehouse_id": warehouse_id,
                     "seller_id": seller_id, "deleted": deleted})
    if not rows:
        return
    if session.info.get(_WRITING):
        _write_changes(session, rows)
        return
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_CHANGES, []).extend((r, transaction) for r in rows)


def _inside(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _write_logged_changes(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint is being released: the outer transaction decides
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit's own last flush notes its rows first
    noted = session.info.pop(_CHANGES, None)
    session.info[_WRITING] = True
    if noted:
        latest: dict = {}
        for row, _transaction in noted:  # one row per entity row: its last state
            key = (row["entity"], row["entity_id"])
            latest.pop(key, None)
            latest[key] = row
        _write_changes(session, list(latest.values()))


@event.listens_for(Session, "after_commit")
def _written(session):
    if session.get_nested_transaction() is None:
        session.info.pop(_WRITING, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_changes(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_CHANGES, None)
        session.info.pop(_WRITING, None)
        return
    noted = session.info.get(_CHANGES)
    if noted:
        session.info[_CHANGES] = [entry for entry in noted
                                  if not _inside(entry[1], previous_transaction)]


# -- pull ---------------------------------------------------------------------------

def _encode(cursor: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(value, dict) and isinstance(value.get("id"), int):
            return value
    except (ValueError, UnicodeDecodeError):
        pass
    return None


def _in_flight(session: Session) -> list[int]:
    """Transactions still open as this pull reads (PostgreSQL): rows they write may
    carry change-log ids below this pull's head, so the next pull asks for them by
    transaction. SQLite has one writer at a time: ids there are in commit order."""
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.scalars(text(
            "SELECT pg_snapshot_xip(pg_current_snapshot())::text::bigint")).all())
    return []


def pull(session: Session, user, cursor: str | None, scope_filter, serializers: dict,
         full_scope) -> dict:
    """Changes since `cursor` in the user's scope, as rows as they are now.

    `scope_filter(stmt)` narrows change-log rows to the user's scope;
    `serializers[entity](ids)` returns {id: row dict} for the ids still visible;
    `full_scope()` returns {entity: [row dicts]} for a reset (first pull, or a
    cursor we cannot read)."""
    position = _decode(cursor)
    in_flight = _in_flight(session)
    head = session.scalar(select(func.max(SyncChange.id))) or 0
    if position is None:
        changes = full_scope()
        return {"cursor": _encode({"id": head, "open": in_flight}), "reset": True,
                "changes": changes}
    stmt = select(SyncChange.entity, SyncChange.entity_id, SyncChange.deleted,
                  SyncChange.id).where(SyncChange.id <= head)
    since = SyncChange.id > position["id"]
    waiting = [t for t in position.get("open") or [] if isinstance(t, int)][:1000]
    if waiting:
        # Transactions open at the last pull may have committed since, with ids
        # below its head: ask for what they wrote.
        since = or_(since, SyncChange.tx.in_(waiting))
    rows = session.execute(scope_filter(stmt.where(since)).order_by(SyncChange.id)).all()
    latest: dict[tuple[str, int], bool] = {}
    for entity, entity_id, deleted, _id in rows:
        latest[(entity, entity_id)] = deleted
    changes: dict[str, list] = {entity: [] for entity in serializers}
    for entity, serialize in serializers.items():
        ids = [i for (e, i), deleted in latest.items() if e == entity and not deleted]
        visible = serialize(ids) if ids else {}
        for (e, i), deleted in latest.items():
            if e != entity:
                continue
            if not deleted and i in visible:
                changes[entity].append(visible[i])
            else:
                changes[entity].append({"id": i, "deleted": True})
    return {"cursor": _encode({"id": head, "open": in_flight}), "reset": False,
            "changes": changes}
