"""Mutation handlers by name ("pick.confirm", "count.submit", ...).

A handler is `handler(ctx, args) -> (status, detail)` where status is "applied" or
"conflict". It raises Rejected (or any DomainError) for a mutation that cannot apply
at all; the engine then rolls back its savepoint and stores the rejection. Handlers
are registered by the domain that owns the rules (server/warehouse/mutations.py),
so this package knows no business rules of its own.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from server.errors import FIELDS_KEY, MESSAGE_KEY, english, field_problem
from server.i18n import is_message, message


@dataclass
class Context:
    session: Session
    user: object            # the device's user: only its rights apply
    device_id: str
    mutation_id: int
    at: datetime            # when the person did it, on the server's clock
    # What the rule's scope resolved (bins, SKUs, lines), reused by the handler
    # so a scan's codes are looked up once.
    cache: dict = field(default_factory=dict)
    # Shared by every mutation of one push: what the batch's preparation looked up
    # for all of them at once (bins and SKUs by code), see `batch` below.
    batch: dict | None = None


class _Refusal(Exception):
    """A mutation refused, naming its field. `problem` is English text or a stored
    message (server/i18n.py): the result keeps its stored form, and the device is
    answered in its user's language (server/errors.localized)."""
    code = "rejected"

    def __init__(self, field: str, problem, **data):
        self.field, self.text, self.data = field, problem, data
        self.problem = english(problem)
        super().__init__(f"{field}: {self.problem}")

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": f"{self.field}: {self.problem}",
                "fields": {self.field: [self.problem]}, **self.data}
        if is_message(self.text):
            body[MESSAGE_KEY] = field_problem(self.field, self.text)
            body[FIELDS_KEY] = {self.field: [self.text]}
        return body


class Rejected(_Refusal):
    """The mutation is invalid: `field` names what is wrong."""


class Forbidden(_Refusal):
    """The sender may not send this mutation, or not about these things."""
    code = "forbidden"

    def __init__(self, field: str, problem):
        super().__init__(field, problem)


@dataclass(frozen=True)
class Rule:
    """Who may send a mutation (`roles`) and where its arguments must fall:
    `scope(ctx, args) -> {"warehouse_ids": set, "seller_ids": set}` names the
    warehouses and sellers of what the arguments point at (resolved without the
    sender's scope, so a foreign id is seen as foreign, not as missing). The engine
    checks both before the handler runs (invariant 8): a handler never has to."""
    roles: tuple
    scope: object = None


HANDLERS: dict = {}
RULES: dict = {}
LOCKS: dict = {}
# name -> plan(ctx, args, batch) -> Planned | None: the set-based form of a
# mutation (see `batch`).
PLANS: dict = {}
BATCH: dict = {}


def batch(factory):
    """Register `factory(session, user, device_id, mutations) -> batch`, the
    domain's set-based way to apply a push. The engine asks it once per push and:

    - passes `batch.lookups` to every Context (as `ctx.batch`): what it resolved
      for the whole push in one query per kind (bins, SKUs by code);
    - calls `batch.lock(pairs)` instead of locking the stock rows itself;
    - for a mutation with a registered plan, after `authorize`, calls
      `plan(ctx, args, batch)`: it either returns a Planned (the mutation will
      apply exactly so: its effects are noted, to be written with the others) or
      None (the mutation goes through its handler, in a savepoint, as usual);
    - calls `batch.flush()` before any handler runs and at the end: it writes
      what was planned (stock rows, one ledger row per movement, the change log,
      the events) in a few multi-row statements, in the order planned.

    A plan must not touch the database in a way that can fail, and must return
    None for anything its handler would reject or treat as a conflict."""
    BATCH["factory"] = factory
    return factory


class Planned:
    """A planned mutation's outcome, known once its batch has been written."""

    def __init__(self, status: str, detail=None):
        self.status, self.detail = status, detail

    def result(self) -> tuple[str, dict]:
        detail = self.detail() if callable(self.detail) else self.detail
        return self.status, detail or {}


def mutation(name: str, *, roles, scope, locks=None, plan=None):
    """Register a handler with its rule: `roles` that may send it and the `scope`
    its arguments must fall in (None: it touches nothing). Both are required, so
    no mutation exists without a declared door.

    `locks(ctx, args) -> [(sku_id, bin_id)]` names the stock rows it will change,
    so the engine can lock a whole batch's rows up front in primary-key order: one
    transaction per batch must not take its locks in the order the scans came, or
    two devices' batches deadlock."""
    if not roles:
        raise ValueError(f"mutation {name}: declare the roles that may send it")
    def register(handler):
        HANDLERS[name] = handler
        RULES[name] = Rule(tuple(roles), scope)
        if locks is not None:
            LOCKS[name] = locks
        if plan is not None:
            PLANS[name] = plan
        return handler
    return register


def authorize(ctx: Context, name: str, args: dict) -> None:
    """Raise Forbidden unless `ctx.user` may send mutation `name` with `args`.

    - the role must be one the rule names;
    - floor staff: every warehouse the arguments point at is one of theirs;
    - a seller (should a rule ever let one send): every seller is its own;
    - admin: any warehouse, any seller."""
    rule = RULES[name]
    user = ctx.user
    if user.role not in rule.roles:
        raise Forbidden("name", message("the %(role)s role may not send %(name)s",
                                        role=user.role, name=name))
    if rule.scope is None or user.role == "admin":
        return
    reach = rule.scope(ctx, args) or {}
    outside = set(reach.get("warehouse_ids") or ()) - set(user.warehouse_ids)
    if user.role != "seller" and outside:
        raise Forbidden("warehouse_id", message("is not one of your warehouses"))
    if user.role == "seller":
        foreign = set(reach.get("seller_ids") or ()) - {user.seller_id}
        if foreign:
            raise Forbidden("seller_id", message("belongs to another seller"))
