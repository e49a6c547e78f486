"""Writing carriers, services and shipments. Like every service module: plain
arguments and a session, flush but never commit, DomainErrors for bad input."""
import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import geo
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..i18n import message
from . import labels, rating
from .models import Carrier, CarrierAccount, CarrierService, Parcel, Shipment

CODE_RE = re.compile(r"^[A-Z0-9_]{2,32}$")
CUTOFF_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
STATE_RE = re.compile(r"^[A-Z]{2}$")

SERVICE_FIELDS = (
    "name", "active", "transit_days_by_zone", "cutoff_local_time", "dim_divisor",
    "dim_min_cubic_in", "max_weight_g", "max_length_mm", "max_length_girth_mm",
    "large_length_mm", "large_length_girth_mm", "large_surcharge_cents",
    "large_min_billable_g", "handling_length_mm", "handling_width_mm", "handling_weight_g",
    "handling_surcharge_cents", "fuel_surcharge_pct", "pricing", "rate_table",
    "per_lb_cents_by_zone", "minimum_charge_cents")
_OPTIONAL_INTS = ("dim_divisor", "max_weight_g", "max_length_mm", "max_length_girth_mm",
                  "large_length_mm", "large_length_girth_mm", "large_min_billable_g",
                  "handling_length_mm", "handling_width_mm", "handling_weight_g")
_INTS = ("dim_min_cubic_in", "large_surcharge_cents", "handling_surcharge_cents",
         "minimum_charge_cents")


def _int(value, name: str, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInput(name, message("must be a whole number of at least %(n)s", n=minimum))
    return value


def _zones(table, name: str, check) -> dict:
    """{"1": v, ..., "8": v} from a mapping with every zone 1-8 (int or str keys)."""
    if not isinstance(table, Mapping):
        raise InvalidInput(name, message("must map every zone 1-8 to a value"))
    out = {}
    for zone in rating.ZONES:
        value = table.get(zone, table.get(str(zone)))
        if value is None:
            raise InvalidInput(name, message("has no zone %(zone)s", zone=zone))
        out[str(zone)] = check(value, f"{name}.{zone}")
    extra = set(map(str, table)) - set(out)
    if extra:
        raise InvalidInput(name, message("has zones other than 1-8: %(zones)s", zones=", ".join(sorted(extra))))
    return out


def _price_row(row, name: str) -> list[int]:
    if not isinstance(row, (list, tuple)) or not row:
        raise InvalidInput(name, message("must list the price in cents for 1 lb, 2 lb, ..."))
    return [_int(cents, f"{name}.{i + 1}") for i, cents in enumerate(row)]


def _clean_service(attrs: dict) -> dict:
    out = {k: v for k, v in attrs.items() if k in SERVICE_FIELDS}
    unknown = set(attrs) - set(SERVICE_FIELDS)
    if unknown:
        raise InvalidInput(min(unknown), "is not a field of a carrier service")
    if "name" in out and not (isinstance(out["name"], str) and out["name"].strip()):
        raise InvalidInput("name", message("is required"))
    if "transit_days_by_zone" in out:
        out["transit_days_by_zone"] = _zones(out["transit_days_by_zone"],
                                             "transit_days_by_zone", _int)
    if "cutoff_local_time" in out and not CUTOFF_RE.match(str(out["cutoff_local_time"])):
        raise InvalidInput("cutoff_local_time", message("must be HH:MM, 24-hour"))
    for key in _OPTIONAL_INTS:
        if out.get(key) is not None:
            _int(out[key], key, 1)
    for key in _INTS:
        if key in out:
            _int(out[key], key)
    if "fuel_surcharge_pct" in out:
        pct = out["fuel_surcharge_pct"]
        if not isinstance(pct, (int, float)) or isinstance(pct, bool) or not 0 <= pct <= 100:
            raise InvalidInput("fuel_surcharge_pct", message("must be a percentage from 0 to 100"))
        out["fuel_surcharge_pct"] = float(pct)
    if out.get("rate_table") is not None:
        out["rate_table"] = _zones(out["rate_table"], "rate_table", _price_row)
    if out.get("per_lb_cents_by_zone") is not None:
        out["per_lb_cents_by_zone"] = _zones(out["per_lb_cents_by_zone"],
                                             "per_lb_cents_by_zone", _int)
    return out


def _check_pricing(service: CarrierService) -> None:
    if service.pricing not in ("table", "per_lb"):
        raise InvalidInput("pricing", message("must be 'table' or 'per_lb'"))
    if service.pricing == "table" and not service.rate_table:
        raise InvalidInput("rate_table", message("is required when pricing is 'table'"))
    if service.pricing == "per_lb" and not service.per_lb_cents_by_zone:
        raise InvalidInput("per_lb_cents_by_zone", message("is required when pricing is 'per_lb'"))
    if not service.transit_days_by_zone:
        raise InvalidInput("transit_days_by_zone", message("is required"))


def create_carrier(session: Session, *, code: str, name: str, tracking_url: str = "",
                   active: bool = True) -> Carrier:
    code = (code or "").strip().upper()
    if not CODE_RE.match(code) or len(code) > 16:
        raise InvalidInput("code", message("2-16 capital letters, digits or _"))
    if not name or not name.strip():
        raise InvalidInput("name", message("is required"))
    if session.scalar(select(Carrier.id).where(Carrier.code == code)):
        raise Conflict(message("Carrier %(code)s exists", code=code),
                       fields={"code": [message("already exists")]})
    carrier = Carrier(code=code, name=name.strip(), tracking_url=tracking_url, active=active)
    session.add(carrier)
    session.flush()
    rating.forget_services(session)
    return carrier


def create_service(session: Session, carrier: Carrier, *, code: str, **attrs) -> CarrierService:
    """A new service of `carrier`. Rate tables and transit times must name every zone
    1-8 (see models.py for their shape)."""
    code = (code or "").strip().upper()
    if not CODE_RE.match(code):
        raise InvalidInput("code", message("2-32 capital letters, digits or _"))
    if session.scalar(select(CarrierService.id).where(CarrierService.code == code)):
        raise Conflict(message("Service %(code)s exists", code=code),
                       fields={"code": [message("already exists")]})
    clean = _clean_service(attrs)
    clean.setdefault("pricing", "per_lb" if clean.get("per_lb_cents_by_zone") else "table")
    service = CarrierService(carrier_id=carrier.id, code=code, **clean)
    _check_pricing(service)
    session.add(service)
    session.flush()
    rating.forget_services(session)
    return service


def update_service(session: Session, service: CarrierService, **attrs) -> CarrierService:
    """Change a service (new rates, a new fuel surcharge, deactivate it)."""
    for key, value in _clean_service(attrs).items():
        setattr(service, key, value)
    _check_pricing(service)
    session.flush()
    rating.forget_services(session)
    return service


# -- shipments -----------------------------------------------------------------------

def _address(address, name: str) -> dict:
    if not isinstance(address, Mapping):
        raise InvalidInput(name, message("must be an address"))
    out = {}
    for key, limit, required in (("name", 100, True), ("company", 100, False),
                                 ("address1", 100, True), ("address2", 100, False),
                                 ("city", 60, True), ("state", 2, True), ("zip", 10, True),
                                 ("phone", 30, False)):
        value = address.get(key) or ""
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidInput(f"{name}.{key}", message("must be text of at most %(n)s characters", n=limit))
        value = value.strip()
        if required and not value:
            raise InvalidInput(f"{name}.{key}", message("is required"))
        out[key] = value
    out["state"] = out["state"].upper()
    if not STATE_RE.match(out["state"]):
        raise InvalidInput(f"{name}.state", message("must be a two-letter US state code"))
    # Known and located; its state is not compared, as a few ZIPs straddle a line.
    geo.locate(out["zip"], f"{name}.zip")
    extra = set(address) - set(out)
    if extra:
        raise InvalidInput(f"{name}.{min(extra)}", message("is not an address field"))
    return out


def ship_from_address(session: Session, warehouse, seller_id: int) -> dict:
    """The seller's name at the warehouse's address: the return address of a label."""
    from ..auth.models import Seller
    seller = session.get(Seller, seller_id)
    return {"name": seller.name if seller else warehouse.name,
            "company": f"c/o {warehouse.name}", "address1": warehouse.address1,
            "address2": warehouse.address2, "city": warehouse.city,
            "state": warehouse.state, "zip": warehouse.zip}


def create_shipment(session: Session, *, warehouse, seller_id: int, ship_to: Mapping,
                    parcels, service=None, order_id: int | None = None, reference: str = "",
                    ship_from: Mapping | None = None, ship_at=None, promised_by=None,
                    services=None) -> Shipment:
    """Rate, number and label a shipment of `parcels` from `warehouse` to `ship_to`,
    through the warehouse's carrier gateway provider (gateway.provider_for: its label
    aggregator account, else the built-in rate cards and labels).

    With `service` (a CarrierService, a ServiceSpec or a code) that service is used,
    or CannotShip is raised with its reason; without, the parcels are rate-shopped
    (among `services` codes if given) against `promised_by`: the cheapest that keeps
    the promise. The shipment is 'labelled': it has a tracking number per parcel, its
    cost, the estimated delivery date and the 4x6 label (one page per parcel), and
    records the provider and the provider's shipment id. A provider that fails raises
    CarrierUnavailable / CarrierRejected and nothing is stored. Flushes, never commits.
    """
    from . import gateway
    specs = rating.as_parcels(parcels)
    if len(specs) > labels.MAX_SERIAL_PARCELS:
        raise InvalidInput("parcels", message("at most %(n)s per shipment", n=labels.MAX_SERIAL_PARCELS))
    to = _address(ship_to, "ship_to")
    if len(reference or "") > 128:
        raise InvalidInput("reference", message("at most 128 characters"))
    sender = dict(ship_from) if ship_from is not None else ship_from_address(
        session, warehouse, seller_id)
    provider = gateway.provider_for(session, warehouse)
    request = gateway.ShipmentRequest(
        warehouse=warehouse, seller_id=seller_id, ship_from=sender, ship_to=to, parcels=specs,
        promised_by=promised_by, ship_at=ship_at, service=service, services=services,
        reference=reference or "", order_id=order_id)
    rates = provider.rates(request)
    if provider.name == "builtin":
        chosen_rate = rates[0]  # rating.shop / rating.quote already chose, by the same rule
    else:
        chosen_rate = gateway.choose(
            rates, rating.promise_date(promised_by, to["zip"], warehouse.timezone), service)
    service_row = _service_row(session, chosen_rate)
    quote = chosen_rate.raw if provider.name == "builtin" else None
    savepoint = session.begin_nested()
    purchase = None
    try:
        shipment = Shipment(
            order_id=order_id, seller_id=seller_id, warehouse_id=warehouse.id,
            service_id=service_row.id, status="labelled", reference=reference or "",
            zone=quote.zone if quote else rating._zone(warehouse, to["zip"]),
            cost_cents=chosen_rate.cost_cents,
            ship_date=quote.ship_date if quote else chosen_rate.ship_date,
            delivery_date=chosen_rate.delivery_date, ship_to=to, provider=provider.name)
        shipment.service = service_row
        session.add(shipment)
        session.flush()
        request.shipment = shipment
        purchase = provider.buy(request, chosen_rate)
        per_parcel = quote.parcels if quote else [None] * len(specs)
        for number, (spec, rate) in enumerate(zip(specs, per_parcel), start=1):
            shipment.parcels.append(Parcel(
                seller_id=seller_id, warehouse_id=warehouse.id, number=number,
                tracking_number=purchase.tracking_numbers[number - 1],
                weight_g=spec.weight_g, length_mm=spec.length_mm, width_mm=spec.width_mm,
                height_mm=spec.height_mm,
                billable_weight_g=rate.billable_weight_g if rate else spec.weight_g,
                cost_cents=rate.cost_cents if rate else purchase.cost_cents))
        shipment.tracking_number = shipment.parcels[0].tracking_number
        shipment.cost_cents = purchase.cost_cents
        shipment.provider_shipment_id = purchase.provider_shipment_id
        shipment.label_pdf = purchase.label
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(message("The carrier's tracking number %(number)s is already on "
                                   "another shipment", number=shipment.tracking_number),
                           fields={"tracking_number": [message("already in use")]})
    except BaseException:
        savepoint.rollback()
        if purchase is not None and purchase.provider_shipment_id:
            # Bought but not stored (a number already in use, say): do not keep
            # paying for a label nobody has.
            try:
                provider.void(purchase)
            except DomainError:
                pass
        raise
    savepoint.commit()
    return shipment


def _service_row(session: Session, rate) -> CarrierService:
    """The CarrierService a rate is for. The built-in rates name theirs; an
    aggregator's is matched by code (UPS + Ground -> UPS_GROUND), or recorded as an
    inactive service of its carrier (so rate shopping never offers it) the first time
    it is bought."""
    quote = rate.raw if rate.provider == "builtin" else None
    if quote is not None:
        row = session.get(CarrierService, quote.service_id)
        if row is None:
            raise NotFound(message("No service %(id)s", id=quote.service_id),
                           fields={"service": [message("not found")]})
        return row
    row = session.scalar(select(CarrierService).where(CarrierService.code == rate.service_code))
    if row is not None:
        return row
    carrier_code = re.sub(r"[^A-Z0-9_]+", "_", (rate.carrier or "OTHER").upper())[:16]
    carrier_code = carrier_code if len(carrier_code) >= 2 else "OTHER"
    carrier = session.scalar(select(Carrier).where(Carrier.code == carrier_code))
    if carrier is None:
        carrier = Carrier(code=carrier_code, name=rate.carrier or carrier_code, active=True)
        session.add(carrier)
        session.flush()
    days = rate.delivery_days or 5
    row = CarrierService(
        carrier_id=carrier.id, code=rate.service_code, active=False,
        name=f"{rate.carrier} {rate.service}"[:100], pricing="per_lb",
        per_lb_cents_by_zone={str(z): 0 for z in rating.ZONES},
        transit_days_by_zone={str(z): int(days) for z in rating.ZONES})
    session.add(row)
    session.flush()
    rating.forget_services(session)
    return row


def void_shipment(session: Session, shipment: Shipment) -> Shipment:
    """Void an unused label: only a 'labelled' shipment (not yet handed over). The
    provider that sold it refunds it; the shipment is 'cancelled'. Flushes."""
    from . import gateway
    if shipment.status != "labelled":
        raise Conflict(message("Shipment %(id)s is %(status)s; only a labelled shipment can "
                               "be voided", id=shipment.id, status=shipment.status),
                               fields={"status": [message("must be labelled")]})
    provider = gateway.provider_named(session, shipment.provider, shipment.warehouse_id)
    provider.void(shipment)
    shipment.status = "cancelled"
    session.flush()
    return shipment


def manifest(session: Session, warehouse, carrier_code: str, shipment_ids=None):
    """The end-of-day scan form for one carrier at `warehouse`: every labelled
    shipment of that carrier there (or only `shipment_ids`), through the provider
    that labelled them. Returns a gateway.Manifest; changes nothing."""
    from . import gateway
    code = (carrier_code or "").strip().upper()
    query = (select(Shipment).join(CarrierService, Shipment.service_id == CarrierService.id)
             .join(Carrier, CarrierService.carrier_id == Carrier.id)
             .where(Shipment.warehouse_id == warehouse.id, Shipment.status == "labelled",
                    Carrier.code == code).order_by(Shipment.id))
    if shipment_ids is not None:
        query = query.where(Shipment.id.in_(list(shipment_ids)))
    shipments = session.scalars(query).all()
    if not shipments:
        raise NotFound(message("No labelled %(carrier)s shipments at %(warehouse)s", carrier=code, warehouse=warehouse.code),
                       fields={"carrier": [message("no labelled shipments")]})
    provider = gateway.provider_for(session, warehouse)
    mine = [s for s in shipments if (s.provider or "builtin") == provider.name]
    if not mine:
        raise Conflict(message("The %(carrier)s shipments at %(warehouse)s were labelled by another "
                               "provider", carrier=code, warehouse=warehouse.code),
                               fields={"carrier": [message("labelled by another provider")]})
    return provider.manifest(warehouse, code, mine)


# -- carrier accounts (write-only credentials) -----------------------------------------

def set_carrier_account(session: Session, warehouse, *, provider: str = "easypost",
                        api_key: str, api_base: str | None = None,
                        webhook_secret: str | None = None) -> CarrierAccount:
    """Set (replace) the warehouse's aggregator account. The key is never read back
    through the API."""
    if provider != "easypost":
        raise InvalidInput("provider", message("must be 'easypost'"))
    if not isinstance(api_key, str) or not api_key.strip() or len(api_key) > 200:
        raise InvalidInput("api_key", message("is required, at most 200 characters"))
    if api_base and not re.match(r"^https?://[^\s]+$", api_base):
        raise InvalidInput("api_base", message("must be an http(s) URL"))
    account = session.scalar(select(CarrierAccount)
                             .where(CarrierAccount.warehouse_id == warehouse.id))
    if account is None:
        account = CarrierAccount(warehouse_id=warehouse.id)
        session.add(account)
    account.provider = provider
    account.api_key = api_key.strip()
    account.api_base = api_base or None
    account.webhook_secret = webhook_secret or None
    session.flush()
    return account


def clear_carrier_account(session: Session, warehouse) -> None:
    """Back to the built-in provider."""
    account = session.scalar(select(CarrierAccount)
                             .where(CarrierAccount.warehouse_id == warehouse.id))
    if account is not None:
        session.delete(account)
        session.flush()
