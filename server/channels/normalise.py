"""The one shape every adapter reads a platform's order into, and the helpers that
undo each platform's traps: money as strings, floats or cents; times with offsets,
milliseconds or Unix seconds; line prices that are unit prices or line totals."""
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Haicang's view of a channel status.
PENDING = "pending"        # not yet payable/shippable (Amazon Pending): not imported yet
OPEN = "open"              # ours to ship
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"

ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF"}


class UnreadablePayload(ValueError):
    """A payload that cannot be read as the platform documents it (the reason says
    what is wrong); it goes to the dead-letter list."""


@dataclass
class NormalisedLine:
    external_line_id: str
    channel_sku: str
    title: str
    quantity: int                 # units ordered (channel units)
    quantity_cancelled: int       # of which cancelled before shipment
    unit_price_cents: int         # per channel unit, in the order's currency

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.quantity_cancelled


@dataclass
class NormalisedOrder:
    external_id: str
    status: str
    channel_status: str
    placed_at: datetime
    updated_at: datetime
    currency: str
    lines: list[NormalisedLine]
    ship_to: dict | None = None
    ship_by: datetime | None = None
    promised_by: datetime | None = None
    fulfilled_by_channel: bool = False
    hold: dict | None = None      # the platform asks us to wait (a stored message: why)
    skip: str | None = None       # e.g. a Shopify test order: recorded nowhere
    # The buyer's language as the platform says it (a BCP 47 tag: the shop's
    # customer_locale, the marketplace's language); "" when it says nothing.
    locale: str = ""
    raw: dict = field(default_factory=dict)


def minor_units(amount, currency: str, what: str = "amount") -> int:
    """'12.34', '41.8', 12.34 or Decimal -> integer minor units (cents), exactly."""
    if amount is None or amount == "":
        return 0
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise UnreadablePayload(f"{what}: {amount!r} is not a number") from None
    exponent = 0 if (currency or "").upper() in ZERO_DECIMAL else 2
    return int((value * (10 ** exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def per_unit(total_cents: int, quantity: int) -> int:
    """A line total (Amazon ItemPrice, eBay lineItemCost) back to a unit price."""
    if quantity <= 0:
        return 0
    return int((Decimal(total_cents) / quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_time(value, what: str = "time") -> datetime | None:
    """ISO 8601 with Z, an offset or milliseconds -> aware UTC. None stays None."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return from_unix(value)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UnreadablePayload(f"{what}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise UnreadablePayload(f"{what}: {value!r} has no time zone")
    return parsed.astimezone(UTC)


def from_unix(value) -> datetime | None:
    if value in (None, "", 0):
        return None
    seconds = float(value)
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    return datetime.fromtimestamp(seconds, UTC)


def require(mapping: dict, key: str, what: str):
    if not isinstance(mapping, dict) or mapping.get(key) in (None, ""):
        raise UnreadablePayload(f"{what}.{key} is missing")
    return mapping[key]


def quantity(value, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UnreadablePayload(f"{what}: {value!r} is not a whole number") from None
    if number < 0:
        raise UnreadablePayload(f"{what}: {value!r} is negative")
    return number


US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
}


def state_code(value) -> str:
    text = (value or "").strip()
    if len(text) == 2:
        return text.upper()
    return US_STATES.get(text.lower(), "")


def zip5(value) -> str:
    text = (value or "").strip()
    return text[:5] if len(text) >= 5 and text[:5].isdigit() else text[:10]


def ship_to(name="", address1="", address2="", city="", state="", zip_="", country="US",
            phone="", email="") -> dict:
    email = str(email or "").strip()
    return {"name": (name or "")[:200], "address1": (address1 or "")[:200],
            "address2": (address2 or "")[:200], "city": (city or "")[:100],
            "state": state_code(state), "zip": zip5(zip_),
            "country": (country or "US")[:2].upper(), "phone": (phone or "")[:32],
            "email": email[:254] if "@" in email else ""}
