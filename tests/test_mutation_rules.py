"""Every sync mutation's rule holds (invariant 8): for each mutation in the
registry × each role × the caller's own warehouse and seller or the other ones,
the engine applies it or rejects it as `forbidden` exactly as the rule declares,
changes nothing when it refuses, still advances the device, and the ledger stays
balanced. A mutation registered without a case here fails the suite."""
import itertools
import uuid

import pytest

import server.warehouse.mutations  # noqa: F401  registers the mutations
from server.inventory.services import verify_ledger
from sync import engine
from sync.registry import HANDLERS, RULES

from . import authz_world
from .helpers import snapshot


def _args(name, side, db_session):
    """Arguments that the mutation would apply with, aimed at `side`."""
    bins, sku = side.bins, side.sku
    cases = {
        "receive.scan": {"bin": bins[0].id, "sku": sku.id, "qty": 1},
        "count.submit": {"bin": bins[0].id, "sku": sku.id, "counted": 50},
        "stock.move": {"from_bin": bins[0].id, "to_bin": bins[1].id, "sku": sku.id, "qty": 1},
        "putaway.confirm": {"from_bin": bins[0].id, "to_bin": bins[1].id, "sku": sku.id,
                            "qty": 1},
        "pick.confirm": {"task_line_id": side.pick_line.id, "bin": side.pick_line.bin_id,
                         "sku": sku.id, "qty": 1},
        "ship.confirm": {"tracking_number": side.tracking},
        "scan.undone": {},
    }
    if name not in cases:
        pytest.fail(f"mutation {name} has no case in test_mutation_rules: declare one")
    return cases[name]


def _may(role: str, caller_side: str, target: str, name: str) -> bool:
    """What the rule should decide: admins anywhere; pickers in their own
    warehouse; everyone else nothing. (Written from the issue, not the code.)"""
    if role == "admin":
        return True
    if role == "picker":
        return target == caller_side or RULES[name].scope is None
    return False


@pytest.fixture
def doors(client, world, db_session):
    sides = authz_world.build(db_session, world)
    for side in sides:
        authz_world.pack(client, world, side)
    return dict(zip("ab", sides))


def test_every_mutation_declares_a_rule():
    """Is every registered mutation behind a declared rule naming known roles?"""
    assert set(HANDLERS) == set(RULES)
    for name, rule in RULES.items():
        assert rule.roles and set(rule.roles) <= {"admin", "seller", "picker", "driver"}, name


CALLERS = {"admin": ("admin", "a"), "seller_a": ("seller", "a"), "picker1": ("picker", "a"),
           "driver1": ("driver", "a")}


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_each_mutation_is_applied_or_forbidden_as_its_rule_says(world, doors, db_session,
                                                                 name):
    """For every role, against its own side and the other: is the mutation applied
    where the rule allows it and rejected as forbidden elsewhere, with nothing
    changed, the device's last id advanced, and the ledger balanced?"""
    for caller, target in itertools.product(CALLERS, "ab"):
        role, own = CALLERS[caller]
        user = world.users[caller]
        args = _args(name, doors[target], db_session)
        before = snapshot(db_session)
        device = f"dev-{uuid.uuid4().hex[:12]}"
        result = engine.push_and_commit(db_session, user, device,
                                        [{"id": 1, "name": name, "args": args}])
        (outcome,) = result["results"]
        assert result["last_mutation_id"] == 1, (caller, target, outcome)
        if _may(role, own, target, name):
            assert outcome["status"] in ("applied", "conflict"), (caller, target, outcome)
        else:
            assert outcome["status"] == "rejected", (caller, target, outcome)
            assert outcome["detail"]["error"] == "forbidden", (caller, target, outcome)
            assert snapshot(db_session) == before, (caller, target)
        assert verify_ledger(db_session) == []


def test_a_sellers_count_of_another_sellers_sku_changes_nothing(world, doors, db_session):
    """The report: a seller's token sent count.submit for another seller's SKU and
    on hand went 50 -> 49. Now: forbidden, on hand as it was."""
    b = doors["b"]
    before = snapshot(db_session)
    result = engine.push_and_commit(db_session, world.users["seller_a"], "seller-phone-1",
                                    [{"id": 1, "name": "count.submit",
                                      "args": {"bin": b.bins[0].id, "sku": b.sku.id,
                                               "counted": 49}},
                                     {"id": 2, "name": "receive.scan",
                                      "args": {"bin": b.bins[0].id, "sku": b.sku.id,
                                               "qty": 40}}])
    assert [r["detail"]["error"] for r in result["results"]] == ["forbidden", "forbidden"]
    assert result["last_mutation_id"] == 2
    assert snapshot(db_session) == before


def test_a_picker_scanning_a_bin_code_of_another_warehouse_is_forbidden(world, doors,
                                                                        db_session):
    """A bin code that exists only in the other warehouse: refused as forbidden,
    not applied there."""
    from server.inventory.models import Bin
    b = doors["b"]
    lonely = Bin(warehouse_id=b.wh.id, code="ZZ-99-9", kind="storage")
    db_session.add(lonely)
    db_session.commit()
    before = snapshot(db_session)
    result = engine.push_and_commit(db_session, world.users["picker1"], "picker-scanner-1",
                                    [{"id": 1, "name": "receive.scan",
                                      "args": {"bin": "ZZ-99-9", "sku": b.sku.id, "qty": 3}}])
    assert result["results"][0]["detail"]["error"] == "forbidden"
    assert snapshot(db_session) == before
