"""The stock rules: receive, move, adjust, reserve, release, and the ledger that
records every change (invariants 1 and 2 of ARCHITECTURE.md)."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from server.inventory import services
from server.inventory.models import Bin, Reservation, Stock, StockMovement, bin_sort_key
from server.inventory.services import ReserveLine

from .helpers import make_seller, make_sku, make_warehouse


@pytest.fixture
def setup(db_session):
    seller = make_seller(db_session)
    wh, bins = make_warehouse(db_session, bins=("A-01-1", "A-01-2", "A-02-1"))
    wh2, bins2 = make_warehouse(db_session, bins=("A-01-1",))
    sku = make_sku(db_session, seller)
    return db_session, seller, wh, bins, wh2, bins2, sku


def stock_of(session, sku, bin_):
    return session.scalar(select(Stock).where(Stock.sku_id == sku.id, Stock.bin_id == bin_.id))


def test_receive_writes_the_stock_row_and_one_ledger_row(setup):
    """Does receiving add to on_hand and record who, why and what reference?"""
    s, _seller, _wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=7, reason="ASN",
                     reference="ASN-1", user_id=None)
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=3, reason="ASN",
                     reference="ASN-2")
    row = stock_of(s, sku, bins[0])
    assert (row.on_hand, row.reserved) == (10, 0)
    moves = s.scalars(select(StockMovement).where(StockMovement.stock_id == row.id)
                      .order_by(StockMovement.id)).all()
    assert [(m.kind, m.delta_on_hand, m.on_hand_after, m.reference) for m in moves] == [
        ("receive", 7, 7, "ASN-1"), ("receive", 3, 10, "ASN-2")]
    assert services.verify_ledger(s) == []


def test_move_takes_only_available_units(setup):
    """Can reserved units be moved away from under their reservation? (No.)"""
    s, _seller, wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=5)
    services.reserve(s, [ReserveLine(sku.id, wh.id, 4)], reference="order-1")
    with pytest.raises(InsufficientStock) as error:
        services.move(s, sku_id=sku.id, from_bin_id=bins[0].id, to_bin_id=bins[1].id,
                      quantity=2)
    assert error.value.data["shortages"][0]["available"] == 1
    services.move(s, sku_id=sku.id, from_bin_id=bins[0].id, to_bin_id=bins[1].id, quantity=1)
    assert (stock_of(s, sku, bins[0]).on_hand, stock_of(s, sku, bins[1]).on_hand) == (4, 1)


def test_move_between_warehouses_is_refused(setup):
    """Is a move to a bin of another warehouse refused, naming the field?"""
    s, _seller, _wh, bins, _wh2, bins2, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=5)
    with pytest.raises(InvalidInput) as error:
        services.move(s, sku_id=sku.id, from_bin_id=bins[0].id, to_bin_id=bins2[0].id,
                      quantity=1)
    assert "to_bin_id" in error.value.fields


def test_adjust_needs_a_reason_and_cannot_eat_reserved_stock(setup):
    """Can an adjustment take on_hand below what is promised to orders? (No.)"""
    s, _seller, wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=5)
    services.reserve(s, [ReserveLine(sku.id, wh.id, 3)], reference="o")
    with pytest.raises(InvalidInput) as error:
        services.adjust(s, sku_id=sku.id, bin_id=bins[0].id, delta=-1, reason=" ")
    assert "reason" in error.value.fields
    with pytest.raises(InsufficientStock):
        services.adjust(s, sku_id=sku.id, bin_id=bins[0].id, delta=-3, reason="damaged")
    services.adjust(s, sku_id=sku.id, bin_id=bins[0].id, delta=-2, reason="damaged")
    assert stock_of(s, sku, bins[0]).on_hand == 3


def test_reserve_prefers_one_bin_then_walking_order(setup):
    """Does a reservation take one bin that holds it all, else bins in walking order?"""
    s, _seller, wh, bins, *_rest, sku = setup
    by_code = {b.code: b for b in bins}
    services.receive(s, sku_id=sku.id, bin_id=by_code["A-02-1"].id, quantity=2)
    services.receive(s, sku_id=sku.id, bin_id=by_code["A-01-2"].id, quantity=3)
    services.receive(s, sku_id=sku.id, bin_id=by_code["A-01-1"].id, quantity=1)
    one = services.reserve(s, [ReserveLine(sku.id, wh.id, 3)], reference="whole")
    assert [(r.bin_id, r.quantity) for r in one] == [(by_code["A-01-2"].id, 3)]
    spread = services.reserve(s, [ReserveLine(sku.id, wh.id, 3)], reference="spread")
    assert [(r.bin_id, r.quantity) for r in spread] == [(by_code["A-01-1"].id, 1),
                                                        (by_code["A-02-1"].id, 2)]


def test_reserve_is_all_or_nothing_and_names_every_short_line(setup):
    """Does a kit with one short component reserve nothing and say what is short?"""
    s, seller, wh, bins, *_rest, sku = setup
    other = make_sku(s, seller)
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=5)
    services.receive(s, sku_id=other.id, bin_id=bins[1].id, quantity=1)
    before = services.available_by_warehouse(s, sku.id)
    with pytest.raises(InsufficientStock) as error:
        services.reserve(s, [ReserveLine(sku.id, wh.id, 2), ReserveLine(other.id, wh.id, 3)],
                         reference="kit-1")
    assert error.value.data["shortages"] == [
        {"sku_id": other.id, "warehouse_id": wh.id, "requested": 3, "available": 1}]
    assert services.available_by_warehouse(s, sku.id) == before
    assert s.scalar(select(Reservation).where(Reservation.reference == "kit-1")) is None


def test_release_gives_back_exactly_what_was_reserved(setup):
    """Does a partial then a full release return exactly the reserved units, never more?"""
    s, _seller, wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=2)
    services.receive(s, sku_id=sku.id, bin_id=bins[1].id, quantity=2)
    services.reserve(s, [ReserveLine(sku.id, wh.id, 3)], reference="order-9")
    assert services.release(s, reference="order-9", sku_id=sku.id, quantity=1) == 1
    with pytest.raises(Conflict):
        services.release(s, reference="order-9", sku_id=sku.id, quantity=3)
    assert services.release(s, reference="order-9") == 2
    assert sum(r.reserved for r in s.scalars(select(Stock))) == 0
    with pytest.raises(NotFound):
        services.release(s, reference="order-9")
    assert services.verify_ledger(s) == []


def test_the_ledger_is_append_only_in_the_database(setup, backend):
    """Can anyone UPDATE or DELETE a ledger row, even with raw SQL? (No.)"""
    s, _seller, _wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=1)
    movement = s.scalars(select(StockMovement)).first()
    for sql in ("UPDATE stock_movements SET delta_on_hand = 99 WHERE id = :id",
                "DELETE FROM stock_movements WHERE id = :id"):
        savepoint = s.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            s.execute(text(sql), {"id": movement.id})
        savepoint.rollback()


def test_the_database_refuses_oversell_even_past_the_services(setup):
    """Does the CHECK constraint stop reserved > on_hand written by hand?"""
    s, _seller, _wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=1)
    savepoint = s.begin_nested()
    with pytest.raises(IntegrityError):
        s.execute(text("UPDATE stock SET reserved = on_hand + 1"))
    savepoint.rollback()


def test_rebuild_restores_a_tampered_projection(setup):
    """If a stock row is edited behind the ledger's back, do verify and rebuild see
    and repair it?"""
    s, _seller, _wh, bins, *_rest, sku = setup
    services.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=4)
    s.execute(text("UPDATE stock SET on_hand = 40"))
    s.expire_all()
    assert [p["ledger_on_hand"] for p in services.verify_ledger(s)] == [4]
    assert services.rebuild_stock_from_ledger(s) == 1
    assert services.verify_ledger(s) == []


@pytest.mark.parametrize("code_a, code_b", [("A-2-10", "A-10-1"), ("A-02-9", "A-2-10"),
                                             ("a-01-1", "B-01-1"), ("Z-9", "Z-10")])
def test_bin_codes_sort_in_walking_order(code_a, code_b):
    """Do bin codes sort by their numbers, however they are padded?"""
    assert bin_sort_key(code_a) < bin_sort_key(code_b)


# -- the property: after any sequence of operations, stock == sum(ledger) ------------

op = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 1), st.integers(0, 3), st.integers(1, 6)),
    st.tuples(st.just("move"), st.integers(0, 1), st.integers(0, 3), st.integers(0, 3),
              st.integers(1, 6)),
    st.tuples(st.just("adjust"), st.integers(0, 1), st.integers(0, 3),
              st.integers(-6, 6).filter(bool)),
    st.tuples(st.just("reserve"), st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1),
                                                     st.integers(1, 5)), min_size=1,
                                           max_size=3)),
    st.tuples(st.just("release"), st.integers(0, 5), st.one_of(st.none(),
                                                                st.integers(1, 4))),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_any_sequence_of_operations_keeps_stock_equal_to_its_ledger(db_session, ops):
    """After random receives, moves, adjustments, reservations and releases, does
    every stock row equal the sum of its ledger rows, reserved <= on_hand hold, and
    the totals match a plain model of what should have happened?"""
    s = db_session
    example = s.begin_nested()  # each example starts from the same empty world
    try:
        seller = make_seller(s)
        warehouses = [make_warehouse(s, bins=("A-01-1", "B-01-1")) for _ in range(2)]
        bins = [b for _w, bs in warehouses for b in bs]  # 0,1 in wh0; 2,3 in wh1
        skus = [make_sku(s, seller) for _ in range(2)]
        model_on_hand = {}      # (sku, bin) -> units
        # reference -> [[(sku, warehouse), units], ...], one entry per line, in the
        # order reserve() made them (release() gives back the newest first)
        model_reserved = {}

        def on_hand(sku_i, wh_i):
            return sum(model_on_hand.get((sku_i, b), 0) for b in (2 * wh_i, 2 * wh_i + 1))

        def reserved(sku_i, wh_i):
            return sum(q for r in model_reserved.values() for key, q in r
                       if key == (sku_i, wh_i))

        for n, operation in enumerate(ops):
            kind = operation[0]
            step = s.begin_nested()  # one API request: all of it or none of it
            try:
                if kind == "receive":
                    _, k, b, q = operation
                    services.receive(s, sku_id=skus[k].id, bin_id=bins[b].id, quantity=q)
                    model_on_hand[(k, b)] = model_on_hand.get((k, b), 0) + q
                elif kind == "move":
                    _, k, b1, b2, q = operation
                    services.move(s, sku_id=skus[k].id, from_bin_id=bins[b1].id,
                                  to_bin_id=bins[b2].id, quantity=q)
                    model_on_hand[(k, b1)] -= q
                    model_on_hand[(k, b2)] = model_on_hand.get((k, b2), 0) + q
                elif kind == "adjust":
                    _, k, b, d = operation
                    services.adjust(s, sku_id=skus[k].id, bin_id=bins[b].id, delta=d,
                                    reason="count")
                    model_on_hand[(k, b)] = model_on_hand.get((k, b), 0) + d
                elif kind == "reserve":
                    lines = operation[1]
                    want = {}
                    for k, w, q in lines:
                        want[(k, w)] = want.get((k, w), 0) + q
                    services.reserve(s, [ReserveLine(skus[k].id, warehouses[w][0].id, q)
                                         for k, w, q in lines], reference=f"ref-{n}")
                    # It succeeded: the model must agree there was enough everywhere.
                    assert all(on_hand(k, w) - reserved(k, w) >= q
                               for (k, w), q in want.items())
                    model_reserved[f"ref-{n}"] = [[(k, w), q] for k, w, q in lines]
                elif kind == "release":
                    _, pick, qty = operation
                    refs = sorted(model_reserved)
                    if not refs:
                        step.rollback()
                        continue
                    ref = refs[pick % len(refs)]
                    (k, w), held = model_reserved[ref][0]
                    if qty is None:
                        services.release(s, reference=ref)
                        model_reserved.pop(ref)
                    else:
                        services.release(s, reference=ref, sku_id=skus[k].id, quantity=qty)
                        assert qty <= sum(q for (kk, _w), q in model_reserved[ref]
                                          if kk == k)
                        left = qty
                        for entry in reversed(model_reserved[ref]):
                            if entry[0][0] == k and left:
                                give = min(left, entry[1])
                                entry[1] -= give
                                left -= give
                step.commit()
            except (InsufficientStock, InvalidInput, Conflict, NotFound) as error:
                step.rollback()
                # Refusals must be right too: the model says it could not be done.
                if kind == "move":
                    _, k, b1, b2, q = operation
                    same_wh = b1 // 2 == b2 // 2
                    assert (b1 == b2 or not same_wh
                            or model_on_hand.get((k, b1), 0) < q
                            or isinstance(error, InsufficientStock)), error
                elif kind == "reserve":
                    want = {}
                    for k, w, q in operation[1]:
                        want[(k, w)] = want.get((k, w), 0) + q
                    assert any(on_hand(k, w) - reserved(k, w) < q
                               for (k, w), q in want.items()), error
                elif kind == "receive":
                    raise
            # reserved <= on_hand after every operation, in every row
            for row in s.scalars(select(Stock).execution_options(populate_existing=True)):
                assert 0 <= row.reserved <= row.on_hand
        assert services.verify_ledger(s) == []
        for k in range(2):
            for b in range(4):
                row = s.scalar(select(Stock).where(Stock.sku_id == skus[k].id,
                                                   Stock.bin_id == bins[b].id))
                assert (row.on_hand if row else 0) == model_on_hand.get((k, b), 0)
            for w in range(2):
                held = s.scalar(select(Stock.reserved).where(
                    Stock.sku_id == skus[k].id, Stock.warehouse_id == warehouses[w][0].id)
                    .with_only_columns(__import__("sqlalchemy").func.sum(Stock.reserved)))
                assert (held or 0) == reserved(k, w)
    finally:
        example.rollback()
        s.expire_all()
    assert s.scalar(select(Bin).where(Bin.id == bins[0].id)) is None
