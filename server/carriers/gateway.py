"""The carrier gateway: one small interface in front of whoever rates parcels and
buys labels, and the two providers behind it (issue #11, item 1).

- `BuiltInProvider`: the rate cards of rating.py, tracking numbers and 4x6 PDF
  labels of labels.py, the own fleet. Offline; what every warehouse without an
  aggregator account uses, exactly as before the gateway.
- `EasyPostProvider`: a label aggregator through its official client (`easypost`
  on PyPI, v10). The carrier's real tracking number and label; rates from the
  aggregator; void (refund) an unused label; a scan form per carrier at the end of
  the day. `api_base` points it at the fake aggregator (fake_aggregator.py) in tests
  and the demo.

`provider_for(session, warehouse)` picks: the aggregator when the warehouse has a
CarrierAccount, else the built-in one. `choose(rates, promise, service)` picks the
rate to buy, for both providers by the same rule as rating.shop: the one a person
named, else the cheapest that keeps the promise (ties: the earlier delivery, then the
code), else the fastest.

Errors from the aggregator become DomainErrors, never a 500: CarrierUnavailable
(503) when it is down, times out or answers 5xx; CarrierRejected (502) when it
refuses the request (4xx), with its message.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, DomainError
from ..i18n import message
from . import labels, rating
from .models import CarrierAccount

GRAMS_PER_OUNCE = 28.349523125
MM_PER_INCH = 25.4
DEFAULT_TIMEOUT_S = 15


class CarrierUnavailable(DomainError):
    """The aggregator is down, timed out or failed (5xx): try again later."""
    status = 503
    code = "carrier_unavailable"


class CarrierRejected(DomainError):
    """The aggregator refused the request (4xx): its message says why."""
    status = 502
    code = "carrier_rejected"


# -- values ----------------------------------------------------------------------------

@dataclass
class ShipmentRequest:
    """What is to be shipped: from a warehouse, to an address, these parcels.
    `shipment` is the Haicang row once it exists (the built-in provider numbers
    parcels from its id)."""
    warehouse: Any
    seller_id: int
    ship_from: dict
    ship_to: dict
    parcels: list[rating.ParcelSpec]
    promised_by: Any = None
    ship_at: datetime | None = None
    service: Any = None          # a person's pick: a CarrierService, ServiceSpec or code
    services: Any = None         # limit rate shopping to these codes
    reference: str = ""
    order_id: int | None = None
    shipment: Any = None


@dataclass
class Rate:
    """One service's price for the request. `service_code` is Haicang's code
    (CARRIER_SERVICE, upper case); `raw` is the provider's own object."""
    provider: str
    carrier: str
    service: str
    service_code: str
    cost_cents: int
    delivery_date: date | None
    delivery_days: int | None = None
    ship_date: date | None = None
    zone: int | None = None
    meets_promise: bool | None = None
    provider_rate_id: str | None = None
    provider_shipment_id: str | None = None
    raw: Any = None


@dataclass
class Purchase:
    """A bought label: a tracking number per parcel, the label (PDF or ZPL, 4x6),
    what it cost, with which carrier and service, the estimate, the provider's id."""
    provider: str
    tracking_numbers: list[str]
    label: bytes
    label_format: str  # "pdf" or "zpl"
    cost_cents: int
    carrier: str
    service: str
    delivery_date: date | None
    provider_shipment_id: str | None
    label_url: str | None = None


@dataclass
class Manifest:
    """An end-of-day scan form: the provider's id, the document or its URL."""
    provider: str
    provider_id: str
    carrier: str
    tracking_numbers: list[str] = field(default_factory=list)
    document: bytes | None = None
    url: str | None = None


class CarrierProvider(Protocol):
    name: str

    def rates(self, request: ShipmentRequest) -> list[Rate]: ...

    def buy(self, request: ShipmentRequest, rate: Rate) -> Purchase: ...

    def void(self, purchase_or_shipment) -> None: ...

    def manifest(self, warehouse, carrier: str, shipments) -> Manifest: ...


def service_code(carrier: str, service: str) -> str:
    """Haicang's code for an aggregator's carrier + service: "UPS" + "2ndDayAir" ->
    "UPS_2ND_DAY_AIR", "USPS" + "GroundAdvantage" -> "USPS_GROUND_ADVANTAGE"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", service or "")
    return re.sub(r"[^A-Z0-9]+", "_", f"{carrier}_{words}".upper()).strip("_")[:32]


def choose(rates: list[Rate], promise: date | None, service=None) -> Rate:
    """The rate to buy: the one `service` names; else the cheapest that keeps the
    promise (ties: earlier delivery, then code); else the fastest, then cheapest.
    Raises CannotShip when there is none."""
    if not rates:
        raise rating.CannotShip({"*": message("no rate offered for these parcels")})
    if service is not None:
        code = service if isinstance(service, str) else service.code
        code = code.strip().upper()
        for rate in rates:
            if rate.service_code == code:
                return rate
        raise rating.CannotShip({code: message("not offered for these parcels")})
    far = date.max

    def keeps(rate):
        return rate.delivery_date is not None and rate.delivery_date <= promise
    if promise is None:
        def key(r):
            return (r.cost_cents, r.delivery_date or far, r.service_code)
    elif any(keeps(r) for r in rates):
        def key(r):
            return (not keeps(r), r.cost_cents, r.delivery_date or far, r.service_code)
    else:
        def key(r):
            return (r.delivery_date or far, r.cost_cents, r.service_code)
    return min(rates, key=key)


# -- built-in --------------------------------------------------------------------------

def _rate_from_quote(quote: rating.Quote) -> Rate:
    return Rate(provider="builtin", carrier=quote.carrier_code, service=quote.service_name,
                service_code=quote.service_code, cost_cents=quote.cost_cents,
                delivery_date=quote.delivery_date, delivery_days=quote.transit_days,
                ship_date=quote.ship_date, zone=quote.zone,
                meets_promise=quote.meets_promise, raw=quote)


def _simple_pdf(title: str, lines: list[str]) -> bytes:
    from reportlab.pdfgen import canvas as pdf_canvas
    buffer = io.BytesIO()
    c = pdf_canvas.Canvas(buffer, pagesize=labels.PAGE, invariant=1)
    c.setTitle(title)
    y = labels.PAGE[1] - 30
    c.setFont("Helvetica-Bold", 12)
    c.drawString(labels.MARGIN, y, labels._latin1(title))
    c.setFont("Helvetica", 8)
    for line in lines:
        y -= 11
        if y < 20:
            c.showPage()
            c.setFont("Helvetica", 8)
            y = labels.PAGE[1] - 20
        c.drawString(labels.MARGIN, y, labels._latin1(line))
    c.save()
    return buffer.getvalue()


class BuiltInProvider:
    """Rate cards, own numbering and labels: offline, as before the gateway."""
    name = "builtin"

    def __init__(self, session: Session):
        self.session = session

    def rates(self, request: ShipmentRequest) -> list[Rate]:
        to_zip = request.ship_to["zip"]
        if request.service is not None:
            quote = rating.quote(self.session, request.service, request.warehouse, to_zip,
                                 request.parcels, ship_at=request.ship_at,
                                 promised_by=request.promised_by)
            if not quote.can_ship:
                raise rating.CannotShip({quote.service_code: quote.why_not or quote.reason})
            return [_rate_from_quote(quote)]
        result = rating.shop(self.session, request.warehouse, to_zip, request.parcels,
                             request.promised_by, request.ship_at, services=request.services)
        return [_rate_from_quote(q) for q in [result.chosen, *result.runners_up]]

    def buy(self, request: ShipmentRequest, rate: Rate) -> Purchase:
        """Numbers the parcels from the shipment's id and draws their labels; needs
        `request.shipment` (flushed, with its service)."""
        shipment = request.shipment
        service = shipment.service
        numbers = [labels.tracking_number_for(service, shipment.id, n)
                   for n in range(1, len(request.parcels) + 1)]
        parcels = [SimpleNamespace(number=n, tracking_number=t, weight_g=spec.weight_g)
                   for n, (t, spec) in enumerate(zip(numbers, request.parcels), start=1)]
        view = SimpleNamespace(id=shipment.id, reference=shipment.reference,
                               order_id=shipment.order_id, service=service,
                               ship_date=shipment.ship_date, zone=shipment.zone,
                               tracking_number=numbers[0], parcels=parcels)
        pdf = labels.render_labels(view, request.ship_from, request.ship_to)
        return Purchase(provider=self.name, tracking_numbers=numbers, label=pdf,
                        label_format="pdf", cost_cents=rate.cost_cents,
                        carrier=rate.carrier, service=rate.service,
                        delivery_date=rate.delivery_date, provider_shipment_id=None)

    def void(self, purchase_or_shipment) -> None:
        """Nothing to refund: the own numbering and labels cost nothing."""

    def manifest(self, warehouse, carrier: str, shipments) -> Manifest:
        numbers = [s.tracking_number for s in shipments if s.tracking_number]
        day = rating._now().date().isoformat()
        ident = f"HC-{warehouse.code}-{carrier}-{day}"
        pdf = _simple_pdf(f"Manifest {ident}", [f"{len(numbers)} shipments", *numbers])
        return Manifest(provider=self.name, provider_id=ident, carrier=carrier,
                        tracking_numbers=numbers, document=pdf)


# -- EasyPost --------------------------------------------------------------------------

def _cents(value) -> int:
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except (InvalidOperation, TypeError):
        raise CarrierRejected(message("The aggregator sent a rate that is not money: "
                                      "%(value)s", value=repr(value)))


def _date(value) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def _ep_address(address: dict) -> dict:
    return {"name": address.get("name") or "", "company": address.get("company") or "",
            "street1": address.get("address1") or "", "street2": address.get("address2") or "",
            "city": address.get("city") or "", "state": address.get("state") or "",
            "zip": address.get("zip") or "", "country": "US",
            "phone": address.get("phone") or ""}


def _ep_parcel(spec: rating.ParcelSpec) -> dict:
    """EasyPost parcels are in inches and ounces (one decimal)."""
    parcel = {"weight": max(round(spec.weight_g / GRAMS_PER_OUNCE, 1), 0.1)}
    if spec.length_mm and spec.width_mm and spec.height_mm:
        parcel.update(length=round(spec.length_mm / MM_PER_INCH, 1),
                      width=round(spec.width_mm / MM_PER_INCH, 1),
                      height=round(spec.height_mm / MM_PER_INCH, 1))
    return parcel


def _ship_day(request: ShipmentRequest) -> date:
    moment = request.ship_at or rating._now()
    day = rating._aware(moment, "ship_at").astimezone(
        rating._tz(request.warehouse.timezone)).date()
    while not rating.is_business_day(day):
        day += timedelta(days=1)
    return day


class EasyPostProvider:
    """A label aggregator through the official `easypost` client."""
    name = "easypost"

    def __init__(self, api_key: str, api_base: str | None = None,
                 timeout: int = DEFAULT_TIMEOUT_S):
        import easypost
        kwargs = {"timeout": timeout}
        if api_base:
            kwargs["api_base"] = api_base.rstrip("/")
        self.client = easypost.EasyPostClient(api_key, **kwargs)

    def _call(self, what: str, fn, *args, **kwargs):
        import easypost.errors as ep
        try:
            return fn(*args, **kwargs)
        except (ep.TimeoutError, ep.HttpError, ep.JsonError) as error:
            raise CarrierUnavailable(message(
                "The label aggregator did not answer (%(what)s): %(detail)s", what=what,
                detail=str(error.message)), provider=self.name)
        except ep.ApiError as error:
            status = getattr(error, "http_status", None) or 0
            if status >= 500 or status in (408, 429):
                raise CarrierUnavailable(message(
                    "The label aggregator failed (%(what)s, HTTP %(status)s); try again",
                    what=what, status=status), provider=self.name, upstream_status=status)
            # The aggregator's own words stay as it wrote them (English): the detail.
            raise CarrierRejected(message(
                "The label aggregator refused (%(what)s, HTTP %(status)s): %(detail)s",
                what=what, status=status, detail=str(error.message)), provider=self.name,
                upstream_status=status)
        except ep.EasyPostError as error:
            raise CarrierUnavailable(message(
                "The label aggregator failed (%(what)s): %(detail)s", what=what,
                detail=str(getattr(error, "message", error))), provider=self.name)

    def rates(self, request: ShipmentRequest) -> list[Rate]:
        if len(request.parcels) != 1:
            raise rating.CannotShip({"*": message("the label aggregator labels one parcel "
                                                  "per shipment; split the parcels")})
        created = self._call("rates", self.client.shipment.create,
                             from_address=_ep_address(request.ship_from),
                             to_address=_ep_address(request.ship_to),
                             parcel=_ep_parcel(request.parcels[0]),
                             reference=request.reference or None,
                             options={"label_format": "PDF", "label_size": "4x6"})
        ship_day = _ship_day(request)
        promise = rating.promise_date(request.promised_by, request.ship_to["zip"],
                                      request.warehouse.timezone)
        wanted = {c.strip().upper() for c in request.services} if request.services else None
        out = []
        for raw in getattr(created, "rates", None) or []:
            code = service_code(raw.carrier, raw.service)
            if wanted is not None and code not in wanted:
                continue
            days = getattr(raw, "delivery_days", None)
            when = _date(getattr(raw, "delivery_date", None))
            if when is None and days is not None:
                when = rating.add_business_days(ship_day, int(days))
            out.append(Rate(provider=self.name, carrier=raw.carrier, service=raw.service,
                            service_code=code, cost_cents=_cents(raw.rate),
                            delivery_date=when, delivery_days=days, ship_date=ship_day,
                            meets_promise=None if promise is None or when is None
                            else when <= promise,
                            provider_rate_id=raw.id, provider_shipment_id=created.id,
                            raw=raw))
        return out

    def buy(self, request: ShipmentRequest, rate: Rate) -> Purchase:
        bought = self._call("buy", self.client.shipment.buy, rate.provider_shipment_id,
                            rate={"id": rate.provider_rate_id})
        label = getattr(bought, "postage_label", None)
        url = None
        fmt = "pdf"
        if label is not None:
            url = (getattr(label, "label_pdf_url", None) or getattr(label, "label_zpl_url", None)
                   or getattr(label, "label_url", None))
            if url and url == getattr(label, "label_zpl_url", None):
                fmt = "zpl"
        if not bought.tracking_code or not url:
            raise CarrierRejected(message("The label aggregator sold no tracking number "
                                          "or label"), provider=self.name)
        content = self._fetch(url)
        selected = getattr(bought, "selected_rate", None)
        return Purchase(provider=self.name, tracking_numbers=[bought.tracking_code],
                        label=content, label_format=fmt,
                        cost_cents=_cents(selected.rate) if selected else rate.cost_cents,
                        carrier=rate.carrier, service=rate.service,
                        delivery_date=rate.delivery_date, provider_shipment_id=bought.id,
                        label_url=url)

    def _fetch(self, url: str) -> bytes:
        import requests
        try:
            answer = requests.get(url, timeout=self.client.timeout)
        except requests.RequestException as error:
            raise CarrierUnavailable(message("The label could not be fetched: %(detail)s",
                                             detail=str(error)), provider=self.name)
        if answer.status_code != 200 or not answer.content:
            raise CarrierUnavailable(message("The label could not be fetched (HTTP "
                                             "%(status)s)", status=answer.status_code),
                                     provider=self.name)
        return answer.content

    def void(self, purchase_or_shipment) -> None:
        ident = purchase_or_shipment.provider_shipment_id
        answer = self._call("void", self.client.shipment.refund, ident)
        if getattr(answer, "refund_status", None) == "rejected":
            raise CarrierRejected(message("The carrier refused to void this label"),
                                  provider=self.name)

    def manifest(self, warehouse, carrier: str, shipments) -> Manifest:
        ids = [{"id": s.provider_shipment_id} for s in shipments if s.provider_shipment_id]
        form = self._call("manifest", self.client.scan_form.create, shipments=ids)
        return Manifest(provider=self.name, provider_id=form.id, carrier=carrier,
                        tracking_numbers=list(getattr(form, "tracking_codes", None) or []),
                        url=getattr(form, "form_url", None))


# -- which one -------------------------------------------------------------------------

def account_for(session: Session, warehouse_id: int) -> CarrierAccount | None:
    return session.scalar(select(CarrierAccount)
                          .where(CarrierAccount.warehouse_id == warehouse_id))


def provider_named(session: Session, name: str | None, warehouse_id: int) -> CarrierProvider:
    """The provider that labelled a shipment (to void it): its name as recorded."""
    if name == "easypost":
        account = account_for(session, warehouse_id)
        if account is None:
            raise Conflict(message("The warehouse no longer has the aggregator account "
                                   "that bought this label"), fields={"provider": [message("no account")]})
        return _easypost(account)
    return BuiltInProvider(session)


def _easypost(account: CarrierAccount) -> EasyPostProvider:
    try:
        from flask import current_app
        timeout = current_app.config.get("CARRIER_GATEWAY_TIMEOUT_S", DEFAULT_TIMEOUT_S)
    except RuntimeError:
        timeout = DEFAULT_TIMEOUT_S
    return EasyPostProvider(account.api_key, account.api_base, timeout=timeout)


def provider_for(session: Session, warehouse) -> CarrierProvider:
    """The aggregator when the warehouse has an account there, else the built-in."""
    account = account_for(session, warehouse.id)
    if account is not None and account.provider == "easypost" and account.api_key:
        return _easypost(account)
    return BuiltInProvider(session)
