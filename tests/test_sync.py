"""The offline sync protocol (../shared/design/SYNC.md): push applies each device
mutation exactly once, in order; pull returns what changed in the user's scope."""
import threading
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.extensions import db
from server.inventory import services as inventory
from server.inventory.models import Stock
from sync import engine
from sync.models import SyncMutation

from .helpers import make_seller, make_sku, make_user, make_warehouse, token_headers

BINS = ("A-01-1", "A-01-2", "B-01-1")


def small_world(s):
    seller = make_seller(s)
    wh, bins = make_warehouse(s, bins=BINS)
    sku = make_sku(s, seller, barcodes=[f"99{uuid.uuid4().int % 10**10:010d}"])
    picker = make_user(s, "picker", warehouses=[wh])
    return wh, bins, sku, picker


def m(i, name, **args):
    return {"id": i, "name": name, "args": args, "at": "2026-11-24T10:00:00Z"}


def state(s, sku):
    s.expire_all()
    return sorted(s.execute(select(Stock.bin_id, Stock.on_hand, Stock.reserved)
                            .where(Stock.sku_id == sku.id)).all())


# -- push over the API ----------------------------------------------------------------

def test_a_push_applies_each_mutation_once_and_replays_the_stored_result(client, db_session):
    """Does a retried push return the first answers (replayed) without applying twice?"""
    wh, bins, sku, picker = small_world(db_session)
    db_session.commit()
    h = token_headers(db_session, picker)
    body = {"device_id": "device-0001", "mutations": [
        m(1, "receive.scan", bin="A-01-1", sku=sku.code, qty=5),
        m(2, "stock.move", from_bin="A-01-1", to_bin="A-01-2", sku=sku.barcodes[0], qty=2)]}
    first = client.post("/api/sync/push", headers=h, json=body).get_json()
    assert first["last_mutation_id"] == 2
    assert [r["status"] for r in first["results"]] == ["applied", "applied"]
    again = client.post("/api/sync/push", headers=h, json=body).get_json()
    assert again["last_mutation_id"] == 2
    assert [(r["status"], r.get("replayed")) for r in again["results"]] == [
        ("applied", True), ("applied", True)]
    assert state(db_session, sku) == [(bins[0].id, 3, 0), (bins[1].id, 2, 0)]


def test_a_gap_stops_the_batch_and_says_where_to_resume(client, db_session):
    """If mutation 2 is missing, is 3 held back and last_mutation_id 1?"""
    wh, bins, sku, picker = small_world(db_session)
    db_session.commit()
    h = token_headers(db_session, picker)
    answer = client.post("/api/sync/push", headers=h, json={"device_id": "device-0002",
                         "mutations": [m(1, "receive.scan", bin="A-01-1", sku=sku.code, qty=1),
                                       m(3, "receive.scan", bin="A-01-1", sku=sku.code, qty=7)]})
    assert answer.get_json()["last_mutation_id"] == 1
    assert state(db_session, sku) == [(bins[0].id, 1, 0)]


def test_a_bad_scan_is_rejected_by_field_and_does_not_block_the_queue(client, db_session):
    """Is an unknown bin rejected, naming the field, while the next scan applies?"""
    wh, bins, sku, picker = small_world(db_session)
    db_session.commit()
    h = token_headers(db_session, picker)
    answer = client.post("/api/sync/push", headers=h, json={"device_id": "device-0003",
                         "mutations": [m(1, "receive.scan", bin="Z-99", sku=sku.code, qty=1),
                                       m(2, "receive.scan", bin="A-01-1", sku="NOPE", qty=1),
                                       m(3, "teleport", bin="A-01-1"),
                                       m(4, "receive.scan", bin="A-01-1", sku=sku.code, qty=0),
                                       m(5, "receive.scan", bin="A-01-1", sku=sku.code, qty=4)]}
                         ).get_json()
    results = answer["results"]
    assert [r["status"] for r in results] == ["rejected"] * 4 + ["applied"]
    assert [list(r["detail"]["fields"]) for r in results[:4]] == [["bin"], ["sku"], ["name"],
                                                                  ["qty"]]
    assert answer["last_mutation_id"] == 5
    assert db_session.scalar(select(func.count()).select_from(SyncMutation)) == 5


def test_a_picker_cannot_touch_another_warehouse_through_sync(client, db_session):
    """Does a scan of another warehouse's bin get rejected and change nothing?"""
    wh, bins, sku, picker = small_world(db_session)
    other_wh, other_bins = make_warehouse(db_session, bins=("Q-01-1",))
    inventory.receive(db_session, sku_id=sku.id, bin_id=other_bins[0].id, quantity=3)
    db_session.commit()
    h = token_headers(db_session, picker)
    answer = client.post("/api/sync/push", headers=h, json={"device_id": "device-0004",
                         "mutations": [m(1, "count.submit", bin=other_bins[0].id,
                                         sku=sku.code, counted=0)]}).get_json()
    assert answer["results"][0]["status"] == "rejected"
    assert state(db_session, sku) == [(other_bins[0].id, 3, 0)]


def test_a_device_of_one_user_cannot_push_as_another(client, db_session):
    """Is a device id that belongs to another user refused?"""
    wh, bins, sku, picker = small_world(db_session)
    other = make_user(db_session, "picker", warehouses=[wh])
    db_session.commit()
    body = {"device_id": "device-0005", "mutations": []}
    assert client.post("/api/sync/push", headers=token_headers(db_session, picker),
                       json=body).status_code == 200
    refused = client.post("/api/sync/push", headers=token_headers(db_session, other), json=body)
    assert refused.status_code == 403 and "device_id" in refused.get_json()["fields"]


def test_a_count_is_a_fact_as_of_when_it_was_made(client, db_session):
    """The bin's record says 9. A count made offline says 4; after it, 3 units were
    received and reached the server first. Is on_hand 7 once the count syncs, by one
    rebase movement?"""
    wh, bins, sku, picker = small_world(db_session)
    db_session.commit()
    h = token_headers(db_session, picker)
    inventory.receive(db_session, sku_id=sku.id, bin_id=bins[0].id, quantity=9)
    db_session.commit()
    ten = datetime.now(UTC)  # the moment of the count
    # Stock received after the count was made, recorded on the server first.
    answer = client.post("/api/sync/push", headers=h, json={
        "device_id": "device-0006", "sent_at": datetime.now(UTC).isoformat(),
        "mutations": [{"id": 1, "name": "receive.scan", "at": datetime.now(UTC).isoformat(),
                       "args": {"bin": "A-01-1", "sku": sku.code, "qty": 3}},
                      {"id": 2, "name": "count.submit", "at": ten.isoformat(),
                       "args": {"bin": "A-01-1", "sku": sku.code, "counted": 4}}]}).get_json()
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]
    assert answer["results"][1]["detail"]["moved_since"] == 3
    assert state(db_session, sku) == [(bins[0].id, 7, 0)]
    assert inventory.verify_ledger(db_session) == []


def test_pull_sends_the_scope_then_only_what_changed(client, db_session):
    """Does the first pull reset with the picker's warehouse's stock only, and the
    next pull carry just the rows that changed since?"""
    wh, bins, sku, picker = small_world(db_session)
    other_wh, other_bins = make_warehouse(db_session, bins=("Q-01-1",))
    inventory.receive(db_session, sku_id=sku.id, bin_id=bins[0].id, quantity=2)
    inventory.receive(db_session, sku_id=sku.id, bin_id=bins[1].id, quantity=2)
    inventory.receive(db_session, sku_id=sku.id, bin_id=other_bins[0].id, quantity=2)
    db_session.commit()
    h = token_headers(db_session, picker)
    first = client.get("/api/sync/pull", headers=h).get_json()
    assert first["reset"] is True
    assert {r["bin_id"] for r in first["changes"]["stock"]} == {bins[0].id, bins[1].id}
    quiet = client.get(f"/api/sync/pull?cursor={first['cursor']}", headers=h).get_json()
    assert quiet["reset"] is False and quiet["changes"]["stock"] == []
    inventory.receive(db_session, sku_id=sku.id, bin_id=bins[1].id, quantity=5)
    inventory.receive(db_session, sku_id=sku.id, bin_id=other_bins[0].id, quantity=5)
    db_session.commit()
    later = client.get(f"/api/sync/pull?cursor={quiet['cursor']}", headers=h).get_json()
    assert [(r["bin_id"], r["on_hand"]) for r in later["changes"]["stock"]] == [(bins[1].id, 7)]
    garbage = client.get("/api/sync/pull?cursor=not-a-cursor", headers=h).get_json()
    assert garbage["reset"] is True


# -- the properties ---------------------------------------------------------------

scan = st.one_of(
    st.tuples(st.just("receive.scan"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("stock.move"), st.integers(0, 2), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("count.submit"), st.integers(0, 2), st.integers(0, 8)),
    st.tuples(st.just("receive.scan"), st.just(9), st.integers(1, 5)),  # unknown bin
)


def to_mutation(i, spec, sku):
    kind = spec[0]
    if kind == "receive.scan":
        bin_ = "Z-99" if spec[1] == 9 else BINS[spec[1]]
        return {"id": i, "name": kind, "args": {"bin": bin_, "sku": sku.code, "qty": spec[2]}}
    if kind == "stock.move":
        return {"id": i, "name": kind, "args": {"from_bin": BINS[spec[1]],
                                                "to_bin": BINS[spec[2]], "sku": sku.code,
                                                "qty": spec[3]}}
    return {"id": i, "name": kind, "args": {"bin": BINS[spec[1]], "sku": sku.code,
                                            "counted": spec[2]}}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(scan, min_size=1, max_size=15),
       cuts=st.lists(st.tuples(st.integers(0, 14), st.integers(1, 6), st.booleans()),
                     min_size=1, max_size=12))
def test_any_cutting_of_a_queue_into_pushes_gives_the_same_state(db_session, specs, cuts):
    """Cut one device's queue into pushes in any way, with retries, overlaps,
    duplicates and shuffles: is the result exactly that of applying each mutation
    once, in order, with one stored result each?"""
    s = db_session
    example = s.begin_nested()
    try:
        wh, bins, sku, picker = small_world(s)
        queue = [to_mutation(i + 1, spec, sku) for i, spec in enumerate(specs)]

        def run(batches):
            device = f"dev-{uuid.uuid4().hex[:12]}"
            for batch in batches:
                engine.push(s, picker, device, batch)
            # Whatever the cutting, the device finally resends what is unacknowledged.
            answer = engine.push(s, picker, device, queue)
            results = {r["id"]: (r["status"], r["detail"]) for r in answer["results"]}
            stored = s.execute(select(SyncMutation.mutation_id, SyncMutation.status)
                               .where(SyncMutation.device_id == device)).all()
            return state(s, sku), sorted(stored), answer["last_mutation_id"], results

        batches = []
        for start, size, shuffled in cuts:
            batch = queue[start:start + size]
            if shuffled:
                batch = list(reversed(batch)) + batch[:1]  # out of order and duplicated
            batches.append(batch)
        trial = s.begin_nested()
        got_state, got_stored, got_last, _ = run(batches)
        trial.rollback()
        s.expire_all()
        want_state, want_stored, want_last, _ = run([])
        assert got_state == want_state
        assert got_stored == want_stored  # one stored result per mutation, same status
        assert got_last == want_last == len(queue)
        assert [n for n, _ in got_stored] == list(range(1, len(queue) + 1))
        assert inventory.verify_ledger(s) == []
    finally:
        example.rollback()
        s.expire_all()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(order=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 4)), min_size=1,
                      max_size=10),
       specs=st.lists(st.lists(scan, min_size=1, max_size=8), min_size=2, max_size=2),
       pick_qty=st.integers(1, 3))
def test_devices_racing_and_counts_interleaved_with_picks(db_session, order, specs,
                                                          pick_qty):
    """Two devices push in any interleaving while an order's pick is confirmed: does
    every mutation get exactly one result, does reserved <= on_hand hold after every
    push, and does every stock row equal its ledger?"""
    from server.allocation.services import allocate_order
    from server.carriers.demo import seed_carriers
    from server.orders import fulfilment
    from server.orders import services as orders
    s = db_session
    example = s.begin_nested()
    try:
        seed_carriers(s)
        wh, bins, sku, picker = small_world(s)
        other = make_user(s, "picker", warehouses=[wh])
        inventory.receive(s, sku_id=sku.id, bin_id=bins[0].id, quantity=4)
        o = orders.create_order(s, seller_id=sku.seller_id, external_id=uuid.uuid4().hex[:10],
                                ship_to={"zip": "90001"},
                                lines=[{"sku_id": sku.id, "quantity": 3}])
        allocate_order(s, o.id)
        fulfilment.release_to_floor(s, o)
        allocation = o.allocations[0]
        queues = [[to_mutation(i + 1, spec, sku) for i, spec in enumerate(q)] for q in specs]
        # The first device also confirms the pick, last in its queue.
        queues[0].append({"id": len(queues[0]) + 1, "name": "pick.confirm", "args": {
            "allocation_id": allocation.id, "bin": BINS[0], "sku": sku.code,
            "qty": pick_qty}})
        users, devices = [picker, other], [f"a-{uuid.uuid4().hex[:10]}",
                                           f"b-{uuid.uuid4().hex[:10]}"]
        sent = [0, 0]
        for who, size in order + [(0, 99), (1, 99)]:
            batch = queues[who][sent[who]:sent[who] + size]
            answer = engine.push(s, users[who], devices[who], batch)
            sent[who] = answer["last_mutation_id"]
            for row in s.scalars(select(Stock).execution_options(populate_existing=True)):
                assert 0 <= row.reserved <= row.on_hand
        for who in (0, 1):
            stored = s.scalars(select(SyncMutation.mutation_id).where(
                SyncMutation.device_id == devices[who]).order_by(SyncMutation.mutation_id))
            assert list(stored) == list(range(1, len(queues[who]) + 1))
        assert inventory.verify_ledger(s) == []
    finally:
        example.rollback()
        s.expire_all()


# -- PostgreSQL: ten devices at once ---------------------------------------------

@pytest.mark.postgresql
def test_ten_devices_pushing_at_once_on_postgresql(pg_app):
    """Ten devices push 40 scans each in batches, all at the same time: does every
    mutation have exactly one result, and does the ledger balance?"""
    with pg_app.app_context():
        s = db.session
        wh, bins, sku, _picker = small_world(s)
        pickers = [make_user(s, "picker", warehouses=[wh]) for _ in range(10)]
        s.commit()
        sku_code, picker_ids = sku.code, [p.id for p in pickers]
        s.remove()
    barrier = threading.Barrier(10)
    errors = []

    def device(n):
        from server.auth.models import User
        with pg_app.app_context():
            user = db.session.get(User, picker_ids[n])
            queue = []
            for i in range(40):
                if i % 3 == 2:
                    queue.append({"id": i + 1, "name": "stock.move", "args": {
                        "from_bin": BINS[i % 3], "to_bin": BINS[(i + 1) % 3], "sku": sku_code,
                        "qty": 1}})
                else:
                    queue.append({"id": i + 1, "name": "receive.scan", "args": {
                        "bin": BINS[i % 3], "sku": sku_code, "qty": 1}})
            barrier.wait()
            try:
                sent = 0
                while sent < 40:
                    # Each batch repeats the last two scans, as a device that lost
                    # an answer would.
                    answer = engine.push_and_commit(
                        db.session, user, f"pg-device-{n:04d}",
                        queue[sent:sent + 7] + queue[max(0, sent - 2):sent])
                    sent = answer["last_mutation_id"]
            except Exception as error:  # noqa: BLE001
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()
    threads = [threading.Thread(target=device, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors[:3]
    with pg_app.app_context():
        s = db.session
        per_device = s.execute(select(SyncMutation.device_id, func.count(),
                                      func.count(func.distinct(SyncMutation.mutation_id)))
                               .group_by(SyncMutation.device_id)).all()
        assert len(per_device) == 10
        assert all(total == distinct == 40 for _d, total, distinct in per_device)
        received = 10 * sum(1 for i in range(40) if i % 3 != 2)
        assert s.scalar(select(func.sum(Stock.on_hand))) == received
        assert inventory.verify_ledger(s) == []
        s.remove()
