"""Sync push applied set-based (registry.batch, server/warehouse/mutations.py):
whatever a push holds, it must end exactly as applying its mutations one at a time,
each through its handler in a savepoint of its own, would: the same results, the
same stock, the same ledger rows in the same order."""
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from server.inventory import services as inventory
from server.inventory.models import Stock, StockMovement
from sync import engine, registry

from .helpers import make_seller, make_sku, make_user, make_warehouse

BINS = ("A-01-1", "A-01-2", "B-01-1", "DOCK-1", "Q-01-1", "Z-99")  # Q: another warehouse
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def world(s):
    seller = make_seller(s)
    wh, bins = make_warehouse(s, bins=BINS[:4])
    bins[3].kind = "receiving"  # the dock: not sellable
    _other, (foreign,) = make_warehouse(s, bins=("Q-01-1",))
    barcode = f"98{uuid.uuid4().int % 10**10:010d}"
    skus = [make_sku(s, seller), make_sku(s, seller, barcodes=[barcode])]
    picker = make_user(s, "picker", warehouses=[wh])
    inventory.receive(s, sku_id=skus[0].id, bin_id=bins[0].id, quantity=6)
    inventory.receive(s, sku_id=skus[1].id, bin_id=bins[3].id, quantity=4)
    inventory.receive(s, sku_id=skus[0].id, bin_id=foreign.id, quantity=3)
    s.flush()
    return skus, [skus[0].code, barcode, "NOPE"], picker


bin_ = st.sampled_from(range(len(BINS)))
sku = st.sampled_from(range(3))
spec = st.one_of(
    st.tuples(st.just("receive.scan"), bin_, sku, st.integers(0, 4)),
    st.tuples(st.just("stock.move"), bin_, bin_, sku, st.integers(1, 7)),
    st.tuples(st.just("putaway.confirm"), bin_, bin_, sku, st.integers(1, 3)),
    st.tuples(st.just("count.submit"), bin_, sku, st.integers(0, 8)),
    st.tuples(st.just("scan.undone")),
    st.tuples(st.just("no.such"), bin_),
)


def to_mutation(i, spec, codes):
    kind, at = spec[0], (T0 + timedelta(minutes=i)).isoformat()
    if kind == "receive.scan":
        args = {"bin": BINS[spec[1]], "sku": codes[spec[2]], "qty": spec[3]}
    elif kind in ("stock.move", "putaway.confirm"):
        args = {"from_bin": BINS[spec[1]], "to_bin": BINS[spec[2]], "sku": codes[spec[3]],
                "qty": spec[4]}
    elif kind == "count.submit":
        args = {"bin": BINS[spec[1]], "sku": codes[spec[2]], "counted": spec[3]}
    else:
        args = {"bin": BINS[spec[1]]} if len(spec) > 1 else {}
    return {"id": i, "name": kind, "args": args, "at": at}


def outcome(s, answers, since):
    """Results, stock and new ledger rows, with ids that differ between runs (stock
    rows, tasks, movements) replaced by what they name."""
    s.expire_all()
    pair = {i: (k, b) for i, k, b in s.execute(select(Stock.id, Stock.sku_id, Stock.bin_id))}
    results = []
    for answer in answers:
        for r in answer["results"]:
            detail = dict(r["detail"])
            if "stock_id" in detail:
                detail["stock_id"] = pair[detail["stock_id"]]
            detail.pop("task_id", None)
            results.append((r["id"], r["status"], r.get("replayed", False), detail))
    stock = sorted(s.execute(select(Stock.sku_id, Stock.bin_id, Stock.on_hand,
                                    Stock.reserved)).all())
    ledger = s.execute(select(StockMovement.sku_id, StockMovement.bin_id, StockMovement.kind,
                              StockMovement.delta_on_hand, StockMovement.delta_reserved,
                              StockMovement.on_hand_after, StockMovement.reserved_after,
                              StockMovement.reason, StockMovement.reference,
                              StockMovement.occurred_at)
                       .where(StockMovement.id > since).order_by(StockMovement.id)).all()
    return results, stock, ledger, [a["last_mutation_id"] for a in answers]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(spec, min_size=1, max_size=25),
       cuts=st.lists(st.integers(1, 12), max_size=4))
def test_a_push_set_based_ends_as_one_mutation_at_a_time(db_session, specs, cuts):
    """Is a random push (receipts into shelves and the dock, moves that the bin
    covers or not, counts, unknown bins and SKUs, another warehouse's bin, bad
    quantities) applied set-based, cut into pushes in any way, the same as each
    mutation applied alone through its handler?"""
    s = db_session
    example = s.begin_nested()
    try:
        _skus, codes, picker = world(s)
        queue = [to_mutation(i + 1, sp, codes) for i, sp in enumerate(specs)]
        since = s.scalar(select(StockMovement.id).order_by(StockMovement.id.desc()).limit(1))
        device = f"batch-{uuid.uuid4().hex[:12]}"

        def run(batched, sizes):
            trial = s.begin_nested()
            factory = registry.BATCH.pop("factory")
            if batched:
                registry.BATCH["factory"] = factory
            try:
                answers, sent = [], 0
                for size in sizes:
                    answers.append(engine.push(s, picker, device, queue[sent:sent + size]))
                    sent += size
                answers.append(engine.push(s, picker, device, queue))
                assert inventory.verify_ledger(s) == []
                return outcome(s, answers, since)
            finally:
                registry.BATCH["factory"] = factory
                trial.rollback()
                s.expire_all()

        one_at_a_time = run(False, [1] * len(queue))
        whole = run(True, [])
        cut = run(True, cuts)
        # One push, set-based, against one mutation per push through the handlers.
        assert whole[0][-len(queue):] == [(i, st_, False, d) for i, st_, _r, d
                                          in one_at_a_time[0][:len(queue)]]
        assert whole[1:3] == one_at_a_time[1:3]
        # Cut any way, with the whole queue resent last: the same state again.
        assert cut[1:3] == one_at_a_time[1:3]
        assert cut[3][-1] == whole[3][-1] == len(queue)
    finally:
        example.rollback()
        s.expire_all()


def test_a_push_of_receipts_and_moves_costs_a_few_statements_not_some_per_scan(db_session):
    """Does a push of 100 receipts and moves by code send a bounded number of
    statements (codes resolved once, rows locked once, one ledger INSERT, one
    results INSERT, one device UPDATE), whatever its size?"""
    s = db_session
    skus, codes, picker = world(s)
    source = s.scalar(select(Stock).where(Stock.sku_id == skus[0].id).order_by(Stock.id))
    inventory.receive(s, sku_id=skus[0].id, bin_id=source.bin_id, quantity=1000)
    device = f"batch-{uuid.uuid4().hex[:12]}"
    engine.push(s, picker, device, [])

    def batch(first, n):
        out = []
        for i in range(first, first + n):
            if i % 5 == 0:
                out.append({"id": i, "name": "stock.move", "args": {
                    "from_bin": BINS[0], "to_bin": BINS[1 + i % 2], "sku": codes[0], "qty": 1}})
            else:
                out.append({"id": i, "name": "receive.scan", "args": {
                    "bin": BINS[i % 3], "sku": codes[i % 2], "qty": 1}})
        return out

    counted = []

    def count(*_args):
        counted.append(1)

    connection = s.connection()
    for first, n in ((1, 10), (11, 100)):
        counted.clear()
        event.listen(connection, "before_cursor_execute", count)
        try:
            answer = engine.push(s, picker, device, batch(first, n))
        finally:
            event.remove(connection, "before_cursor_execute", count)
        assert answer["last_mutation_id"] == first + n - 1
        assert {r["status"] for r in answer["results"]} == {"applied"}
        assert len(counted) <= 16, len(counted)
    assert inventory.verify_ledger(s) == []
