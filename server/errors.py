"""Errors that carry data, and the one JSON shape every API error takes:

    {"error": CODE, "message": "...", "fields": {"field": ["what is wrong"]}, ...data}

Service functions raise DomainError subclasses; the API turns them into 4xx answers.
Because services never commit, a raised error leaves the transaction to be rolled
back whole: bad input changes nothing.
"""


class DomainError(Exception):
    status = 409
    code = "conflict"

    def __init__(self, message: str, *, fields: dict | None = None, **data):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.data = data

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message, "fields": self.fields}
        body.update(self.data)
        return body


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a business rule about one field."""
    status = 422
    code = "validation_error"

    def __init__(self, field: str, problem: str, **data):
        super().__init__(f"{field}: {problem}", fields={field: [problem]}, **data)


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    """More than may be sent at once (a sync batch past its size): 413, with `limit`."""
    status = 413
    code = "too_large"

    def __init__(self, field: str, problem: str, *, limit: int):
        super().__init__(f"{field}: {problem}", fields={field: [problem]}, limit=limit)


class InsufficientStock(DomainError):
    """Not enough available stock. `shortages` says which lines, and by how much."""
    status = 409
    code = "insufficient_stock"

    def __init__(self, shortages: list[dict]):
        parts = ", ".join(
            f"SKU {s['sku_id']}: asked {s['requested']}, available {s['available']}"
            for s in shortages)
        super().__init__(f"Not enough stock ({parts})", shortages=shortages)
