"""Mutation handlers by name ("pick.confirm", "count.submit", ...).

A handler is `handler(ctx, args) -> (status, detail)` where status is "applied" or
"conflict". It raises Rejected (or any DomainError) for a mutation that cannot apply
at all; the engine then rolls back its savepoint and stores the rejection. Handlers
are registered by the domain that owns the rules (server/warehouse/mutations.py),
so this package knows no business rules of its own.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

HANDLERS: dict = {}


@dataclass
class Context:
    session: Session
    user: object            # the device's user: only its rights apply
    device_id: str
    mutation_id: int
    at: datetime            # when the person did it, on the server's clock


class Rejected(Exception):
    """The mutation is invalid: `field` names what is wrong."""

    def __init__(self, field: str, problem: str, **data):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem, self.data = field, problem, data

    def to_dict(self) -> dict:
        return {"error": "rejected", "message": f"{self.field}: {self.problem}",
                "fields": {self.field: [self.problem]}, **self.data}


LOCKS: dict = {}


def mutation(name: str, locks=None):
    """Register a handler. `locks(ctx, args) -> [(sku_id, bin_id)]` names the stock
    rows it will change, so the engine can lock a whole batch's rows up front in
    primary-key order: one transaction per batch must not take its locks in the
    order the scans came, or two devices' batches deadlock."""
    def register(handler):
        HANDLERS[name] = handler
        if locks is not None:
            LOCKS[name] = locks
        return handler
    return register
