"""An allocation plan written in one PostgreSQL statement.

Everything allocation changes for one order, in one round trip: the chosen stock
rows locked in primary-key order (so two orders never wait on each other in a
cycle), checked after the lock, and only if every row still covers what the plan
takes from it, all of this, else nothing:

- stock.reserved raised per row (one UPDATE of each row, however many takes);
- one ledger row per take (kind `reserve`), with the row's figures after it, as
  inventory.services._record writes them one by one;
- one reservation per take, under the order line's reference;
- the order's allocations (added to what a line already has in a warehouse);
- the order's status and stored reason;
- the order's history: the allocation, and the status change if there is one.

It is the same write as inventory.services.reserve + the ORM path in
allocation.services, which SQLite uses; the suite runs both and checks the ledger
(verify_ledger) after each. The statement's text never changes (every list is an
array parameter, the history rows one JSON document), so PostgreSQL plans it once
per connection.

Side effects are data until the commit, as everywhere: the stock.changed and
order.updated events and the sync change log are queued on the session here and
written by the commit.
"""
import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..events import emit_after_commit, room_for_seller, room_for_warehouse
from ..inventory.services import movement_time, stock_moved
from ..models_base import utcnow
from ..orders.services import TRANSITIONS

_ALLOCATE = text("""
WITH want AS (
    SELECT * FROM unnest(CAST(:take_stock AS integer[]), CAST(:take_qty AS integer[]),
                         CAST(:take_ref AS varchar[]))
        WITH ORDINALITY AS w(stock_id, qty, ref, ord)
), need AS (
    SELECT stock_id, sum(qty) AS qty FROM want GROUP BY stock_id
), locked AS (
    SELECT s.id, s.on_hand, s.reserved FROM stock s
    WHERE s.id IN (SELECT stock_id FROM need) ORDER BY s.id FOR UPDATE
), ok AS (
    -- The figures FOR UPDATE returns are the rows' latest, after any wait.
    SELECT count(*) = (SELECT count(*) FROM need) AS ok
    FROM need JOIN locked l ON l.id = need.stock_id
    WHERE l.on_hand - l.reserved >= need.qty
), upd AS (
    UPDATE stock s SET reserved = s.reserved + need.qty, updated_at = :now
    FROM need WHERE s.id = need.stock_id AND (SELECT ok FROM ok)
    RETURNING s.id, s.sku_id, s.seller_id, s.warehouse_id, s.bin_id, s.on_hand, s.reserved
), ledger AS (
    INSERT INTO stock_movements (stock_id, sku_id, seller_id, warehouse_id, bin_id, kind,
        delta_on_hand, delta_reserved, on_hand_after, reserved_after, reason, reference,
        user_id, created_at, occurred_at)
    SELECT u.id, u.sku_id, u.seller_id, u.warehouse_id, u.bin_id, 'reserve', 0, w.qty,
           u.on_hand,
           -- after this take: the row's new figure less the takes after it
           u.reserved - coalesce(sum(w.qty) OVER (PARTITION BY w.stock_id ORDER BY w.ord
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
           'reserved', w.ref, :user_id, :now, :occurred_at
    FROM upd u JOIN want w ON w.stock_id = u.id ORDER BY w.ord
), held AS (
    INSERT INTO reservations (stock_id, sku_id, seller_id, warehouse_id, bin_id, reference,
        quantity, created_at)
    SELECT u.id, u.sku_id, u.seller_id, u.warehouse_id, u.bin_id, w.ref, w.qty, :now
    FROM upd u JOIN want w ON w.stock_id = u.id ORDER BY w.ord
), allocated AS (
    INSERT INTO order_allocations (order_id, order_line_id, seller_id, warehouse_id,
        quantity, quantity_picked, reference, created_at)
    SELECT :order_id, a.line_id, :seller_id, a.warehouse_id, a.qty, 0, a.ref, :now
    FROM unnest(CAST(:alloc_line AS integer[]), CAST(:alloc_warehouse AS integer[]),
                CAST(:alloc_qty AS integer[]), CAST(:alloc_ref AS varchar[]))
        AS a(line_id, warehouse_id, qty, ref)
    WHERE (SELECT ok FROM ok)
    ON CONFLICT (order_line_id, warehouse_id)
        DO UPDATE SET quantity = order_allocations.quantity + EXCLUDED.quantity
), decided AS (
    UPDATE orders SET status = :status, allocation_reason = CAST(:reason AS json),
        updated_at = :now
    WHERE id = :order_id AND (SELECT ok FROM ok)
), history AS (
    INSERT INTO order_events (order_id, seller_id, kind, from_status, to_status, message,
        message_i18n, data, user_id, created_at)
    SELECT :order_id, :seller_id, e.kind, e.from_status, e.to_status, e.message,
           e.message_i18n, e.data, :user_id, :now
    -- One JSON document: its text goes to the driver as it is, where arrays of
    -- JSON texts cost an escape per character.
    FROM json_to_recordset(CAST(:events AS json))
        AS e(n integer, kind varchar, from_status varchar, to_status varchar, message text,
             message_i18n json, data json)
    WHERE (SELECT ok FROM ok) ORDER BY e.n
)
SELECT (SELECT ok FROM ok) AS ok, u.id, u.sku_id, u.seller_id, u.warehouse_id, u.bin_id,
       u.on_hand, u.reserved
FROM (SELECT 1) AS one LEFT JOIN upd u ON true
""")


def write_plan(session: Session, facts, plan, takes, reason: dict, status: str,
               user_id) -> bool:
    """Write `plan` for the order of `facts`: True, or False with nothing written
    when a chosen stock row no longer covers its take (the caller plans again)."""
    from sync.engine import log_change

    from .services import after_set_based_write, reference_for
    now = utcnow()
    allocations: dict[tuple[int, int], int] = {}
    for wid, taken in plan.groups.items():
        for demand, units in taken:
            key = (demand.line_id, wid)
            allocations[key] = allocations.get(key, 0) + units
    # The history as orders.services.record writes it: the English text and, for
    # the allocation, its stored message (the status change has none).
    stored = None if isinstance(plan.why, str) else plan.why
    events = [("allocation", None, None, reason["why"], stored,
               {"strategy": plan.strategy, "winners": reason["winners"]})]
    if status != facts.status:
        if status not in TRANSITIONS.get(facts.status, set()):
            raise AssertionError(f"allocation may not move {facts.status} to {status}")
        events.append(("status", facts.status, status, f"{facts.status} -> {status}", None,
                       None))
    event_rows = [{"n": n, "kind": e[0], "from_status": e[1], "to_status": e[2],
                   "message": e[3], "message_i18n": e[4], "data": e[5]}
                  for n, e in enumerate(events)]
    rows = session.connection().execute(_ALLOCATE, {
        "take_stock": [t.stock_id for t in takes], "take_qty": [t.quantity for t in takes],
        "take_ref": [t.reference for t in takes],
        "alloc_line": [line for line, _w in allocations],
        "alloc_warehouse": [w for _line, w in allocations],
        "alloc_qty": list(allocations.values()),
        "alloc_ref": [reference_for(line, w) for line, w in allocations],
        "events": json.dumps(event_rows, separators=(",", ":")),
        "order_id": facts.id, "seller_id": facts.seller_id, "status": status,
        "reason": json.dumps(reason), "user_id": user_id, "now": now,
        "occurred_at": movement_time(session, now)}).all()
    if not rows[0].ok:
        return False
    changed = [r for r in rows if r.id is not None]
    after_set_based_write(session, facts, status, reason, [r.id for r in changed])

    # What the commit writes and relays: the events, and the sync change log.
    stock_moved(session, [r.sku_id for r in changed])
    for r in changed:
        emit_after_commit(session, "stock.changed", {
            "stock_id": r.id, "sku_id": r.sku_id, "warehouse_id": r.warehouse_id,
            "bin_id": r.bin_id, "on_hand": r.on_hand, "reserved": r.reserved,
            "available": r.on_hand - r.reserved, "sellable": True,  # only sellable bins
        }, [room_for_seller(r.seller_id), room_for_warehouse(r.warehouse_id)])
        log_change(session, "stock", r.id, r.warehouse_id, r.seller_id)
    shipping_from = {w for (_line, w), n in facts.allocated.items() if n} | {
        w for (_line, w), n in allocations.items() if n}
    rooms = [room_for_seller(facts.seller_id)] + [room_for_warehouse(w)
                                                  for w in sorted(shipping_from)]
    payload = {"order_id": facts.id, "status": status, "seller_id": facts.seller_id,
               "channel": facts.channel, "external_id": facts.external_id}
    for _event in events:
        emit_after_commit(session, "order.updated", payload, rooms)
    log_change(session, "orders", facts.id, None, facts.seller_id)
    return True
