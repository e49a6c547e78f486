"""Rating: billable weight, what a service charges for parcels, when they arrive, and
rate shopping across services. Plain functions over a session; nothing here writes.

Units. The app keeps grams, millimetres and cents; carriers bill in whole pounds
and measure in inches, so:

- each dimension is rounded to the nearest whole inch (half up), as UPS, FedEx and
  USPS measure; length is the longest side, length + girth is L + 2W + 2H;
- actual weight is converted to pounds at a scale's resolution (1/100 lb) and any
  fraction of a pound rounds up (454 g = 1.0009 lb reads 1.00 lb and bills 1 lb;
  460 g = 1.01 lb bills 2 lb);
- dimensional weight is L x W x H / divisor, rounded up to a whole pound (exact
  integer arithmetic);
- billable weight is the greater of the two, in whole pounds (`BillableWeight.lb`;
  `.grams` is the same weight in grams, for storage beside the other weights).

Dates. A parcel handed over by the service's cut-off (local time of the origin
warehouse, inclusive to the minute: 17:00:59 is still 17:00) leaves that day; later
it leaves the next business day. Business days are Monday to Saturday: there are no
pickups and no deliveries on Sundays. Public holidays are not modelled. Transit days
are business days after the ship date. A promise (promised_by) is met when the
estimated delivery date is on or before the promised date, taken in the destination's
time zone.

Speed. The active services, with their rate tables, are read once per session and
kept in `session.info` (a web request or an RQ job has its own session): `estimate`,
which allocation calls for every candidate warehouse, then costs no SQL at all. The
cache is dropped on rollback and whenever carriers.services changes a service.
"""
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .. import geo
from ..errors import DomainError, InvalidInput
from ..i18n import message
from .models import Carrier, CarrierService

GRAMS_PER_LB = 453.59237
MM_PER_INCH = 25.4
ZONES = tuple(range(1, 9))
_CACHE_KEY = "haicang.carriers.services"
# (zone, parcel, max transit days, services) -> Estimate, beside the services it
# was worked out from: allocation asks for the same few zones and parcels again
# and again (30 candidate warehouses fall in at most 8 zones).
_ESTIMATES_KEY = "haicang.carriers.estimates"


class CannotShip(DomainError):
    """No service (of those asked for) can carry the parcels. `reasons` says why,
    per service code."""
    status = 422
    code = "cannot_ship"

    def __init__(self, reasons: dict):
        from ..i18n import render
        # `reasons`: per service code, a stored message (or English text).
        detail = [message("%(code)s: %(why)s", code=code, why=why)
                  for code, why in reasons.items()] or [message("no active carrier service")]
        super().__init__(message("No service can carry these parcels (%(detail)s)",
                                 detail=detail),
                         fields={"parcels": detail},
                         reasons={code: render(why) for code, why in reasons.items()})


# -- units -------------------------------------------------------------------------

def mm_to_inches(mm: int | None) -> int | None:
    """Whole inches, rounded to the nearest (half up); exact integer arithmetic."""
    return None if mm is None else (int(mm) * 10 + 127) // 254


def grams_to_lb_up(grams: int) -> int:
    """Whole pounds a carrier bills for this actual weight (at least 1)."""
    return max(1, math.ceil(round(grams / GRAMS_PER_LB, 2)))


def lb_to_grams(lb: int) -> int:
    return round(lb * GRAMS_PER_LB)


@dataclass(frozen=True)
class ParcelSpec:
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0

    @property
    def dims_mm(self) -> tuple[int, int, int]:
        return (self.length_mm, self.width_mm, self.height_mm)

    # Worked out once per parcel, however many services price it.
    @cached_property
    def inches(self) -> tuple[int, int, int]:
        return inches_sorted(self.dims_mm)

    @cached_property
    def actual_lb(self) -> int:
        return grams_to_lb_up(self.weight_g)


def _whole(value, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInput(name, message("must be a whole number of at least %(n)s", n=minimum))
    return value


def as_parcels(parcels, field_name: str = "parcels") -> list[ParcelSpec]:
    """ParcelSpecs from ParcelSpecs or mappings {weight_g, length_mm, width_mm,
    height_mm}; errors name the field (parcels.1.weight_g)."""
    if not parcels:
        raise InvalidInput(field_name, message("must not be empty"))
    specs = []
    for i, p in enumerate(parcels):
        if isinstance(p, ParcelSpec):
            p = asdict(p)
        if not isinstance(p, Mapping):
            raise InvalidInput(f"{field_name}.{i}", message("must be an object with weight_g and dims"))
        specs.append(ParcelSpec(
            _whole(p.get("weight_g"), f"{field_name}.{i}.weight_g", 1),
            *(_whole(p.get(k, 0) or 0, f"{field_name}.{i}.{k}", 0)
              for k in ("length_mm", "width_mm", "height_mm"))))
    return specs


def inches_sorted(dims_mm) -> tuple[int, int, int]:
    """(length, width, height) in whole inches, longest first."""
    a, b, c = sorted((mm_to_inches(d or 0) for d in dims_mm), reverse=True)
    return a, b, c


@dataclass(frozen=True)
class BillableWeight:
    """Whole pounds: `lb` is what is billed, the greater of `actual_lb` and `dim_lb`
    (None when the service does not apply dimensional weight to this parcel)."""
    lb: int
    actual_lb: int
    dim_lb: int | None

    @property
    def dim_weight_used(self) -> bool:
        return self.dim_lb is not None and self.dim_lb > self.actual_lb

    @property
    def grams(self) -> int:
        return lb_to_grams(self.lb)


def billable_weight(weight_g: int, dims_mm, divisor: int | None, *,
                    min_cubic_in: int = 0) -> BillableWeight:
    """The billable weight of a parcel, in whole pounds (see BillableWeight; `.grams`
    for grams). Dimensional weight counts only with a divisor and when the parcel's
    volume in whole cubic inches exceeds `min_cubic_in`."""
    return _billable(ParcelSpec(weight_g, *dims_mm), divisor, min_cubic_in)


def _billable(parcel: ParcelSpec, divisor: int | None, min_cubic_in: int) -> BillableWeight:
    actual = parcel.actual_lb
    dim = None
    if divisor:
        l, w, h = parcel.inches
        volume = l * w * h
        if volume > min_cubic_in:
            dim = -(-volume // divisor)  # ceil, exact
    return BillableWeight(max(actual, dim or 0), actual, dim)


# -- the services, as plain data, cached per session ---------------------------------

@dataclass(frozen=True)
class ServiceSpec:
    """A CarrierService row as plain data (thresholds already in whole inches), safe
    to keep across commits: rating reads these, never the ORM rows."""
    id: int
    code: str
    name: str
    carrier_code: str
    carrier_name: str
    active: bool
    transit_days: dict
    cutoff: time
    dim_divisor: int | None
    dim_min_cubic_in: int
    max_weight_g: int | None
    max_length_in: int | None
    max_length_girth_in: int | None
    large_length_in: int | None
    large_length_girth_in: int | None
    large_surcharge_cents: int
    large_min_billable_lb: int | None
    handling_length_in: int | None
    handling_width_in: int | None
    handling_weight_g: int | None
    handling_surcharge_cents: int
    fuel_bp: int  # fuel surcharge in basis points (19.5 % = 1950)
    pricing: str
    rates: dict | None
    per_lb: dict | None
    minimum_charge_cents: int

    @classmethod
    def from_row(cls, s: CarrierService, carrier: Carrier | None = None) -> "ServiceSpec":
        carrier = carrier or s.carrier
        hh, mm = (int(x) for x in (s.cutoff_local_time or "17:00").split(":"))
        return cls(
            id=s.id, code=s.code, name=s.name, carrier_code=carrier.code,
            carrier_name=carrier.name, active=bool(s.active and carrier.active),
            transit_days={int(z): int(d) for z, d in (s.transit_days_by_zone or {}).items()},
            cutoff=time(hh, mm, 59, 999999),
            dim_divisor=s.dim_divisor, dim_min_cubic_in=s.dim_min_cubic_in or 0,
            max_weight_g=s.max_weight_g, max_length_in=mm_to_inches(s.max_length_mm),
            max_length_girth_in=mm_to_inches(s.max_length_girth_mm),
            large_length_in=mm_to_inches(s.large_length_mm),
            large_length_girth_in=mm_to_inches(s.large_length_girth_mm),
            large_surcharge_cents=s.large_surcharge_cents or 0,
            large_min_billable_lb=(None if s.large_min_billable_g is None
                                   else round(s.large_min_billable_g / GRAMS_PER_LB)),
            handling_length_in=mm_to_inches(s.handling_length_mm),
            handling_width_in=mm_to_inches(s.handling_width_mm),
            handling_weight_g=s.handling_weight_g,
            handling_surcharge_cents=s.handling_surcharge_cents or 0,
            fuel_bp=int(Decimal(str(s.fuel_surcharge_pct or 0)) * 100),
            pricing=s.pricing,
            rates=({int(z): tuple(int(c) for c in row) for z, row in s.rate_table.items()}
                   if s.rate_table else None),
            per_lb=({int(z): int(c) for z, c in s.per_lb_cents_by_zone.items()}
                    if s.per_lb_cents_by_zone else None),
            minimum_charge_cents=s.minimum_charge_cents or 0)


def active_services(session: Session) -> tuple[ServiceSpec, ...]:
    """Every active service of an active carrier, read once per session."""
    cached = session.info.get(_CACHE_KEY)
    if cached is None:
        rows = session.execute(
            select(CarrierService, Carrier).join(Carrier, CarrierService.carrier_id == Carrier.id)
            .where(CarrierService.active.is_(True), Carrier.active.is_(True))
            .order_by(CarrierService.id)).all()
        cached = tuple(ServiceSpec.from_row(s, c) for s, c in rows)
        session.info[_CACHE_KEY] = cached
    return cached


def forget_services(session: Session) -> None:
    """Drop the session's cached services (after a service was changed)."""
    session.info.pop(_CACHE_KEY, None)
    session.info.pop(_ESTIMATES_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, _previous_transaction):
    session.info.pop(_CACHE_KEY, None)
    session.info.pop(_ESTIMATES_KEY, None)


def _spec(session: Session | None, service) -> ServiceSpec:
    if isinstance(service, ServiceSpec):
        return service
    if isinstance(service, str):
        for spec in active_services(session):
            if spec.code == service:
                return spec
        raise InvalidInput("service", message("no active service %(code)s", code=service))
    if session is not None:
        for spec in active_services(session):
            if spec.id == service.id:
                return spec
    return ServiceSpec.from_row(service)


def _select(session: Session, codes: Iterable[str] | None) -> tuple[ServiceSpec, ...]:
    services = active_services(session)
    if codes is None:
        return services
    codes = list(codes)
    known = {s.code for s in services}
    for i, code in enumerate(codes):
        if code not in known:
            raise InvalidInput(f"services.{i}", message("no active service %(code)s", code=code))
    return tuple(s for s in services if s.code in codes)


# -- dates ---------------------------------------------------------------------------

def is_business_day(day: date) -> bool:
    """Monday to Saturday (no Sunday pickups or deliveries; holidays not modelled)."""
    return day.weekday() != 6


def add_business_days(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            n -= 1
    return day


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidInput(name, message("must be a date and time"))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(name, message("must carry a time zone (e.g. %(example)s)",
                                         example="2025-06-11T16:59:00-07:00"))
    return moment


def _tz(name: str, field_name: str = "warehouse_id") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(field_name, message("time zone %(name)s is unknown", name=repr(name))) from None


def ship_date(service, origin_warehouse, ship_at_utc: datetime) -> date:
    """The business day the parcel leaves: today if handed over by the cut-off (local
    time of the warehouse), otherwise the next business day."""
    spec = _spec(None, service)
    local = _aware(ship_at_utc, "ship_at").astimezone(_tz(origin_warehouse.timezone))
    day = local.date()
    if is_business_day(day) and local.time() <= spec.cutoff:
        return day
    return add_business_days(day, 1)


def delivery_date(service, origin_warehouse, ship_at_utc: datetime, zone: int) -> date:
    """The estimated delivery date: the ship date plus the service's transit days for
    the zone, counted in business days (Monday to Saturday)."""
    spec = _spec(None, service)
    days = spec.transit_days.get(zone)
    if days is None:
        raise InvalidInput("zone", message("%(code)s has no transit time for zone %(zone)s", code=spec.code, zone=zone))
    return add_business_days(ship_date(spec, origin_warehouse, ship_at_utc), days)


def promise_date(promised_by, dest_zip: str | None = None, fallback_tz: str = "UTC",
                 field_name: str = "promised_by") -> date | None:
    """The calendar date a promise means: a date as it is; an aware datetime as its
    date in the destination's time zone."""
    if promised_by is None or (isinstance(promised_by, date)
                               and not isinstance(promised_by, datetime)):
        return promised_by
    moment = _aware(promised_by, field_name)
    tz_name = fallback_tz
    if dest_zip:
        try:
            tz_name = geo.locate(dest_zip).timezone or fallback_tz
        except InvalidInput:
            pass
    return moment.astimezone(_tz(tz_name, field_name)).date()


# -- quotes --------------------------------------------------------------------------

@dataclass
class ParcelRate:
    """What one parcel costs with one service, and why."""
    weight_g: int
    actual_lb: int
    dim_lb: int | None
    dim_weight_used: bool
    billable_lb: int
    billable_weight_g: int
    large_item: bool
    additional_handling: bool
    base_cents: int
    surcharges: dict = field(default_factory=dict)  # name -> cents, non-zero only
    fuel_cents: int = 0
    cost_cents: int = 0


@dataclass
class Quote:
    """One service's answer for a set of parcels: a price with its breakdown and the
    dates, or `can_ship` False and the `reason`."""
    service_id: int
    service_code: str
    service_name: str
    carrier_code: str
    carrier_name: str
    zone: int
    can_ship: bool
    reason: str | None = None       # English (logs, tests); why_not: the stored message
    why_not: dict | None = None
    cost_cents: int | None = None
    base_cents: int | None = None
    surcharges: dict = field(default_factory=dict)
    fuel_cents: int | None = None
    transit_days: int | None = None
    ship_date: date | None = None
    delivery_date: date | None = None
    meets_promise: bool | None = None
    parcels: list[ParcelRate] = field(default_factory=list)


def _cannot_carry(spec: ServiceSpec, parcel: ParcelSpec,
                  dims: tuple[int, int, int]) -> dict | None:
    length, width, height = dims
    if spec.max_weight_g is not None and parcel.weight_g > spec.max_weight_g:
        return message("too heavy: %(lb)s lb, the limit is %(limit)s lb",
                       lb=round(parcel.weight_g / GRAMS_PER_LB, 1),
                       limit=round(spec.max_weight_g / GRAMS_PER_LB))
    if spec.max_length_in is not None and length > spec.max_length_in:
        return message("too long: %(length)s in, the limit is %(limit)s in", length=length,
                       limit=spec.max_length_in)
    girth = length + 2 * (width + height)
    if spec.max_length_girth_in is not None and girth > spec.max_length_girth_in:
        return message("too large: length + girth %(girth)s in, the limit is %(limit)s in",
                       girth=girth, limit=spec.max_length_girth_in)
    return None


def _cannot(quote: Quote, why: dict) -> Quote:
    """`quote` refused for `why` (a stored message), kept in English beside it."""
    from ..errors import english
    quote.why_not, quote.reason = why, english(why)
    return quote


def _base_price(spec: ServiceSpec, zone: int, lb: int) -> int | None:
    if spec.pricing == "per_lb":
        per_lb = (spec.per_lb or {}).get(zone)
        return None if per_lb is None else per_lb * lb
    row = (spec.rates or {}).get(zone)
    if not row:
        return None
    if lb <= len(row):
        return row[lb - 1]
    step = row[-1] - row[-2] if len(row) >= 2 else row[-1]
    return row[-1] + step * (lb - len(row))


def _rate(spec: ServiceSpec, zone: int, parcels: list[ParcelSpec]) -> Quote:
    """Price the parcels (no dates): a Quote with cost and breakdown, or the reason."""
    quote = Quote(spec.id, spec.code, spec.name, spec.carrier_code, spec.carrier_name, zone,
                  can_ship=False)
    if zone not in spec.transit_days:
        return _cannot(quote, message("does not serve zone %(zone)s", zone=zone))
    rates = []
    for i, parcel in enumerate(parcels):
        dims = parcel.inches
        reason = _cannot_carry(spec, parcel, dims)
        if reason:
            return _cannot(quote, message("parcel %(number)s: %(reason)s", number=i + 1,
                                          reason=reason) if len(parcels) > 1 else reason)
        length, width, _height = dims
        girth = length + 2 * (width + dims[2])
        bw = _billable(parcel, spec.dim_divisor, spec.dim_min_cubic_in)
        large = ((spec.large_length_in is not None and length > spec.large_length_in) or
                 (spec.large_length_girth_in is not None and girth > spec.large_length_girth_in))
        handling = not large and (
            (spec.handling_length_in is not None and length > spec.handling_length_in) or
            (spec.handling_width_in is not None and width > spec.handling_width_in) or
            (spec.handling_weight_g is not None and parcel.weight_g > spec.handling_weight_g))
        lb = bw.lb
        if large and spec.large_min_billable_lb:
            lb = max(lb, spec.large_min_billable_lb)
        base = _base_price(spec, zone, lb)
        if base is None:
            return _cannot(quote, message("has no rates for zone %(zone)s", zone=zone))
        surcharges = {}
        if large and spec.large_surcharge_cents:
            surcharges["large_item"] = spec.large_surcharge_cents
        if handling and spec.handling_surcharge_cents:
            surcharges["additional_handling"] = spec.handling_surcharge_cents
        rates.append(ParcelRate(
            weight_g=parcel.weight_g, actual_lb=bw.actual_lb, dim_lb=bw.dim_lb,
            dim_weight_used=bw.dim_weight_used, billable_lb=lb,
            billable_weight_g=lb_to_grams(lb), large_item=large,
            additional_handling=handling, base_cents=base, surcharges=surcharges))
    # The minimum charge is per shipment; its top-up is booked on the first parcel.
    shortfall = spec.minimum_charge_cents - sum(r.base_cents for r in rates)
    if shortfall > 0:
        rates[0].surcharges["minimum_charge"] = shortfall
    totals: dict[str, int] = {}
    for r in rates:
        subtotal = r.base_cents + sum(r.surcharges.values())
        r.fuel_cents = (subtotal * spec.fuel_bp + 5000) // 10000  # half up, exact
        r.cost_cents = subtotal + r.fuel_cents
        for name, cents in r.surcharges.items():
            totals[name] = totals.get(name, 0) + cents
    quote.can_ship = True
    quote.parcels = rates
    quote.base_cents = sum(r.base_cents for r in rates)
    quote.surcharges = totals
    quote.fuel_cents = sum(r.fuel_cents for r in rates)
    quote.cost_cents = sum(r.cost_cents for r in rates)
    quote.transit_days = spec.transit_days[zone]
    return quote


def rate_for_zone(spec: ServiceSpec, zone: int, parcels: list[ParcelSpec]) -> Quote:
    """The price of `spec` for parcels going to a zone already known, undated: for a
    caller that lays every way of carrying side by side (booking/services.py)."""
    return _rate(spec, zone, parcels)


def first_uncarried(spec: ServiceSpec, parcels: list[ParcelSpec]) -> ParcelSpec | None:
    """The first parcel `spec` cannot carry (too heavy, long or large), else None."""
    return next((p for p in parcels if _cannot_carry(spec, p, p.inches)), None)


def _now() -> datetime:
    return datetime.now(UTC)


def _zone(origin_warehouse, dest_zip) -> int:
    return geo.zone_for(origin_warehouse.zip, dest_zip, origin_field="warehouse_id",
                        dest_field="to_zip")


def _dated(quote: Quote, spec: ServiceSpec, origin_warehouse, ship_at: datetime,
           promise: date | None) -> Quote:
    if quote.can_ship:
        quote.ship_date = ship_date(spec, origin_warehouse, ship_at)
        quote.delivery_date = add_business_days(quote.ship_date, quote.transit_days)
        if promise is not None:
            quote.meets_promise = quote.delivery_date <= promise
    return quote


def quote(session: Session, service, origin_warehouse, dest_zip: str, parcels, *,
          ship_at: datetime | None = None, promised_by=None) -> Quote:
    """What `service` (a CarrierService, a ServiceSpec or a service code) charges to
    carry `parcels` from the warehouse to `dest_zip`, with the breakdown (base per
    zone and billable pound, dimensional weight used or not, large-item or
    additional-handling surcharge, minimum charge, fuel) and the dates; or
    `can_ship=False` with the reason (too heavy, too long, too large)."""
    spec = _spec(session, service)
    ship_at = _aware(ship_at, "ship_at") if ship_at is not None else _now()
    zone = _zone(origin_warehouse, dest_zip)
    promise = promise_date(promised_by, dest_zip, origin_warehouse.timezone)
    return _dated(_rate(spec, zone, as_parcels(parcels)), spec, origin_warehouse, ship_at,
                  promise)


@dataclass
class ShopResult:
    """The chosen quote and every runner-up, best first; `cannot_ship` lists the
    services that cannot carry the parcels, with the reason."""
    zone: int
    promised_by: date | None
    meets_promise: bool  # True also when nothing was promised
    chosen: Quote
    runners_up: list[Quote]
    cannot_ship: list[Quote]


def shop(session: Session, origin_warehouse, dest_zip: str, parcels, promised_by=None,
         ship_at: datetime | None = None, *, services: Iterable[str] | None = None
         ) -> ShopResult:
    """Rate-shop every active service (or only the `services` codes).

    With a promise: the cheapest service delivering on or before the promised date
    (ties: the earlier delivery, then the service code). If none can, the fastest
    (earliest delivery, then the cheapest), and `meets_promise` is False. Without a
    promise: the cheapest. Runners-up are sorted by the same rule. Raises CannotShip
    when no service can carry the parcels, InvalidInput for a bad ZIP or parcel.
    """
    parcel_specs = as_parcels(parcels)
    ship_at = _aware(ship_at, "ship_at") if ship_at is not None else _now()
    zone = _zone(origin_warehouse, dest_zip)
    promise = promise_date(promised_by, dest_zip, origin_warehouse.timezone)
    quotes = [_dated(_rate(spec, zone, parcel_specs), spec, origin_warehouse, ship_at, promise)
              for spec in _select(session, services)]
    good = [q for q in quotes if q.can_ship]
    bad = sorted((q for q in quotes if not q.can_ship), key=lambda q: q.service_code)
    if not good:
        raise CannotShip({q.service_code: q.why_not or q.reason for q in bad})
    if promise is None:
        def key(q):
            return (q.cost_cents, q.delivery_date, q.service_code)
    elif any(q.meets_promise for q in good):
        def key(q):
            return (not q.meets_promise, q.cost_cents, q.delivery_date, q.service_code)
    else:
        def key(q):
            return (q.delivery_date, q.cost_cents, q.service_code)
    good.sort(key=key)
    chosen = good[0]
    return ShopResult(zone=zone, promised_by=promise,
                      meets_promise=True if promise is None else bool(chosen.meets_promise),
                      chosen=chosen, runners_up=good[1:], cannot_ship=bad)


class Estimate(NamedTuple):
    cost_cents: int
    transit_days: int


def estimate(session: Session, origin_warehouse, dest_zip: str, weight_g: int,
             dims_mm=(0, 0, 0), *, max_transit_days: int | None = None,
             services: Iterable[str] | None = None) -> Estimate | None:
    """A cheap guess for allocation, per candidate warehouse: (cost_cents,
    transit_days) of the cheapest service that can carry one parcel of this weight
    and size. With `max_transit_days`: the cheapest within it, else the fastest.
    None if no service can carry it. Transit days, not dates: no cut-off or weekday
    logic. After the first call in a session it runs no SQL, and the same zone,
    parcel and limit are worked out once per session."""
    parcel = ParcelSpec(_whole(weight_g, "weight_g", 1),
                        *(_whole(d or 0, "dims_mm", 0) for d in dims_mm))
    zone = _zone(origin_warehouse, dest_zip)
    key = (zone, parcel, max_transit_days, tuple(services) if services is not None else None)
    memo = session.info.get(_ESTIMATES_KEY)
    if memo is None or session.info.get(_CACHE_KEY) is None or len(memo) > 20_000:
        memo = session.info[_ESTIMATES_KEY] = {}  # a long-lived session stays small
    if key in memo:
        return memo[key]
    memo[key] = found = _estimate(session, zone, parcel, max_transit_days, services)
    return found


def _estimate(session, zone, parcel, max_transit_days, services) -> Estimate | None:
    best = fastest = None
    for spec in _select(session, services):
        q = _rate(spec, zone, [parcel])
        if not q.can_ship:
            continue
        option = (q.cost_cents, q.transit_days)
        within = max_transit_days is None or q.transit_days <= max_transit_days
        if within and (best is None or option < best):
            best = option
        if fastest is None or (q.transit_days, q.cost_cents) < (fastest[1], fastest[0]):
            fastest = option
    chosen = best or fastest
    return Estimate(*chosen) if chosen else None
