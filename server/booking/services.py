"""Booking rules: quote every way to carry a large item, and book one.

Who: a seller books for its own account; an admin books for a walk-in customer on
an account it names (`seller_id`, required for an admin: the warehouse keeps a
walk-in account for counter customers), as auth.scoping.owning_seller_id decides.

Pickup: {"warehouse_id"} (the item is at, or brought to, the warehouse) or
{"warehouse_id", "address": {..., "zip"}} (collected at an address; the warehouse
is the van's depot and the carriers' account). Carriers are rated from the
pickup's ZIP; the own fleet's distance runs depot -> pickup -> destination.

Own fleet: its next free days from `wanted_date` (Mon-Sat, DAYS_AHEAD days): a day
is free when an active van of the warehouse (crew of two when the item needs two
people) still has the weight and volume for it after that day's own-fleet
shipments (planned or not yet) and stops. Booking it labels an own-fleet shipment
for that day with the van's shift as its delivery window: plan_day puts it on the
dispatcher's plan for that day.

Carriers: every active service of the carrier gateway's rate cards (parcel
carriers with their real limits; freight LTL_LARGE_ITEM for bulky goods), each
with why it can or cannot carry the item. Booking one buys its label through the
gateway (carriers.services.create_shipment).

Booking creates a manual order (external id BK-<n>, status packed: labelled and
waiting for its carrier or van) with the item as its line, and the shipment.
"""
import math
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import geo
from ..carriers import labels, rating
from ..carriers.models import Carrier, CarrierService, Parcel, Shipment
from ..delivery import planning
from ..delivery.models import RouteStop, Vehicle
from ..delivery.services import own_fleet_service
from ..errors import InvalidInput, NotFound
from ..i18n import message
from ..inventory.models import Warehouse
from ..models_base import utcnow
from ..orders.services import record
from ..orders.store import insert_new_order
from . import pricing
from .models import Booking

DAYS_AHEAD = 14
MAX_FREE_DAYS = 3
ADDRESS_FIELDS = ("name", "address1", "address2", "city", "state", "zip", "phone")


# -- input --------------------------------------------------------------------------

def _int(data, key, low, high, field=None):
    value = data.get(key)
    field = field or key
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(field, message("must be a whole number from %(low)s to %(high)s",
                                          low=low, high=high))
    return value


def clean_item(item) -> dict:
    if not isinstance(item, dict):
        raise InvalidInput("item", message("is required"))
    out = {"description": str(item.get("description") or "")[:200]}
    for key in ("length_cm", "width_cm", "height_cm"):
        out[key] = _int(item, key, 1, 2000, f"item.{key}")
    out["weight_kg"] = _int(item, "weight_kg", 1, 20000, "item.weight_kg")
    out["pieces"] = _int({"pieces": item.get("pieces", 1)}, "pieces", 1, 20, "item.pieces")
    return out


def clean_address(address, field) -> dict:
    if not isinstance(address, dict):
        raise InvalidInput(field, message("is required"))
    out = {}
    for key in ADDRESS_FIELDS:
        value = address.get(key) or ""
        if not isinstance(value, str) or len(value) > 100:
            raise InvalidInput(f"{field}.{key}", message("must be text of at most 100 "
                                                         "characters"))
        out[key] = value.strip()
    for key in ("name", "address1", "city", "state"):
        if not out[key]:
            raise InvalidInput(f"{field}.{key}", message("is required"))
    out["state"] = out["state"].upper()[:2]
    out["zip"] = geo.locate(out["zip"], f"{field}.zip").zip
    return out


def clean_pickup(session, pickup) -> tuple[Warehouse, dict | None]:
    if not isinstance(pickup, dict):
        raise InvalidInput("pickup", message("is required"))
    wid = pickup.get("warehouse_id")
    warehouse = session.get(Warehouse, wid) if isinstance(wid, int) else None
    if warehouse is None:
        raise InvalidInput("pickup.warehouse_id", message("must be a warehouse"))
    address = pickup.get("address")
    return warehouse, (clean_address(address, "pickup.address") if address else None)


def clean_date(value, field="wanted_date") -> date:
    if value in (None, ""):
        return utcnow().date() + timedelta(days=1)
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput(field, message("must be a date YYYY-MM-DD"))
    return day


# -- the options ----------------------------------------------------------------------

def _parcels(item) -> list[rating.ParcelSpec]:
    one = rating.ParcelSpec(item["weight_kg"] * 1000, item["length_cm"] * 10,
                            item["width_cm"] * 10, item["height_cm"] * 10)
    return [one] * item["pieces"]


def _why_not_carrier(spec: rating.ServiceSpec, parcel: rating.ParcelSpec, zone: int, reason):
    name = spec.name
    length, width, height = parcel.inches
    if spec.max_weight_g is not None and parcel.weight_g > spec.max_weight_g:
        return message("Too heavy for %(service)s (max %(kg)s kg)", service=name,
                       kg=math.floor(spec.max_weight_g / 1000))
    if spec.max_length_in is not None and length > spec.max_length_in:
        return message("Too long for %(service)s (max %(cm)s cm)", service=name,
                       cm=round(spec.max_length_in * 2.54))
    if spec.max_length_girth_in is not None and \
            length + 2 * (width + height) > spec.max_length_girth_in:
        return message("Too large for %(service)s (length + girth max %(cm)s cm)",
                       service=name, cm=round(spec.max_length_girth_in * 2.54))
    if zone not in spec.transit_days:
        return message("%(service)s does not serve this destination", service=name)
    return message("%(service)s cannot carry it: %(reason)s", service=name,
                   reason=reason or "")


def _day_load(session, warehouse_id, day) -> tuple[int, int]:
    """Grams and millilitres already going out with the own fleet that day."""
    own = (select(Shipment.id).join(CarrierService, Shipment.service_id == CarrierService.id)
           .join(Carrier, CarrierService.carrier_id == Carrier.id)
           .where(Shipment.warehouse_id == warehouse_id, Shipment.ship_date == day,
                  Shipment.status != "cancelled",
                  Carrier.code == planning.OWN_FLEET_CARRIER))
    grams, ml = session.execute(
        select(func.coalesce(func.sum(Parcel.weight_g), 0),
               func.coalesce(func.sum(Parcel.length_mm * Parcel.width_mm * Parcel.height_mm
                                      / 1000), 0))
        .where(Parcel.shipment_id.in_(own))).one()
    s_grams, s_litres = session.execute(
        select(func.coalesce(func.sum(RouteStop.weight_g), 0),
               func.coalesce(func.sum(RouteStop.volume_l), 0))
        .where(RouteStop.warehouse_id == warehouse_id, RouteStop.date == day,
               RouteStop.shipment_id.is_(None))).one()
    return int(grams) + int(s_grams), int(ml) + int(float(s_litres) * 1000)


def free_days(session, warehouse, parcels, start: date, needs_two: bool) -> tuple[list, str]:
    """The next days with room on a van: [{date, window_start, window_end, van}], and
    why there are none ("no_vehicle", "too_big", "full")."""
    vans = session.scalars(select(Vehicle).where(Vehicle.warehouse_id == warehouse.id,
                                                 Vehicle.active.is_(True))
                           .order_by(Vehicle.id)).all()
    if not vans:
        return [], "no_vehicle"
    grams = sum(p.weight_g for p in parcels)
    ml = sum((p.length_mm * p.width_mm * p.height_mm + 999) // 1000 for p in parcels)
    able = [v for v in vans if (v.crew == 2 or not needs_two)
            and v.capacity_weight_kg * 1000 >= grams and v.capacity_volume_l * 1000 >= ml]
    if not able:
        return [], "too_big"
    total_g = sum(v.capacity_weight_kg * 1000 for v in able)
    total_ml = sum(v.capacity_volume_l * 1000 for v in able)
    out, day = [], start
    for _ in range(DAYS_AHEAD):
        if rating.is_business_day(day):
            load_g, load_ml = _day_load(session, warehouse.id, day)
            if load_g + grams <= total_g and load_ml + ml <= total_ml:
                van = able[0]
                out.append({"date": day.isoformat(), "window_start": van.shift_start,
                            "window_end": van.shift_end})
                if len(out) >= MAX_FREE_DAYS:
                    break
        day += timedelta(days=1)
    return out, ("" if out else "full")


def quote(session: Session, item, pickup, destination, wanted_date=None) -> dict:
    """Every way to carry the item, cheapest possible first, then the impossible
    ones with why. Changes nothing."""
    item = clean_item(item)
    warehouse, pickup_address = clean_pickup(session, pickup)
    to = clean_address(destination, "destination")
    start = clean_date(wanted_date)
    parcels = _parcels(item)
    plan_parcels = [planning.Parcel(p.weight_g, p.length_mm, p.width_mm, p.height_mm)
                    for p in parcels]
    needs_two = planning.needs_two_people(plan_parcels)
    options = []

    # The own fleet.
    from_zip = pickup_address["zip"] if pickup_address else warehouse.zip
    out_miles = geo.zip_distance_miles(warehouse.zip, to["zip"])
    miles = geo.zip_distance_miles(from_zip, to["zip"]) + (
        geo.zip_distance_miles(warehouse.zip, from_zip) if pickup_address else 0)
    price = pricing.own_fleet_price(miles, sum(p.weight_g for p in parcels),
                                    item["pieces"], needs_two)
    own = {"kind": "own_fleet", "code": "OWN_FLEET_VAN", "carrier": "OWNFLEET",
           "name": message("Own fleet van"), "price_cents": price["price_cents"],
           "price_parts": price["parts"], "miles": price["miles"], "transit_days": 0,
           "delivery_date": None, "windows": [], "needs_two": needs_two,
           "possible": False, "why": None}
    if max(out_miles, geo.zip_distance_miles(warehouse.zip, from_zip)) > \
            pricing.MAX_RADIUS_MILES:
        own["why"] = message("%(miles)s miles away: beyond the own fleet's %(max)s-mile "
                             "radius", miles=math.ceil(out_miles),
                             max=pricing.MAX_RADIUS_MILES)
    else:
        days, none_why = free_days(session, warehouse, parcels, start, needs_two)
        own["windows"] = days
        if days:
            own.update(possible=True, delivery_date=days[0]["date"],
                       why=message("A van has room on %(day)s", day=days[0]["date"]))
        elif none_why == "no_vehicle":
            own["why"] = message("The warehouse has no active van")
        elif none_why == "too_big":
            own["why"] = message("Too heavy or too large for every van")
        else:
            own["why"] = message("Every van is full for the next %(n)s days", n=DAYS_AHEAD)
    options.append(own)

    # The carriers, through the gateway's rate cards.
    origin = SimpleNamespace(zip=from_zip, timezone=warehouse.timezone)
    zone = geo.zone_for(from_zip, to["zip"], dest_field="destination.zip")
    for spec in rating.active_services(session):
        if spec.carrier_code == planning.OWN_FLEET_CARRIER:
            continue
        q = rating.rate_for_zone(spec, zone, parcels)
        option = {"kind": "carrier", "code": spec.code, "carrier": spec.carrier_code,
                  "name": spec.name, "price_cents": q.cost_cents if q.can_ship else None,
                  "transit_days": q.transit_days if q.can_ship else None,
                  "delivery_date": None, "zone": zone, "possible": bool(q.can_ship)}
        if q.can_ship:
            shipped = rating.add_business_days(start - timedelta(days=1), 1) \
                if not rating.is_business_day(start) else start
            option["delivery_date"] = rating.add_business_days(
                shipped, q.transit_days).isoformat()
            option["why"] = message("%(service)s carries it in %(days)s business days",
                                    service=spec.name, days=q.transit_days)
        else:
            bad = rating.first_uncarried(spec, parcels) or parcels[0]
            option["why"] = _why_not_carrier(spec, bad, zone, q.why_not or q.reason)
        options.append(option)
    del origin
    options.sort(key=lambda o: (not o["possible"], o["price_cents"] is None,
                                o["price_cents"] or 0, o["code"]))
    if not any(o["possible"] for o in options):
        summary = message("Nothing can carry this item: it is beyond every carrier's "
                          "limits")
    else:
        summary = None
    return {"item": item, "warehouse_id": warehouse.id, "pickup_address": pickup_address,
            "destination": to, "wanted_date": start.isoformat(), "needs_two": needs_two,
            "options": options, "summary": summary}


# -- booking --------------------------------------------------------------------------

def _order(session, seller_id, item, to, user_id, booking_ref):
    values = dict(seller_id=seller_id, channel="manual", account_key="booking",
                  external_id=booking_ref, placed_at=utcnow(), currency="USD",
                  status="packed", fulfilled_by_channel=False,
                  **{f"ship_to_{k}": to[k] for k in ADDRESS_FIELDS}, ship_to_country="US")
    title = item["description"] or message_text("Large item")
    order = insert_new_order(session, values, [
        {"seller_id": seller_id, "sku_id": None, "quantity": item["pieces"],
         "unit_price_cents": 0, "title": title[:300]}])
    record(session, order, "booked", message("Booked as a large-item delivery (%(ref)s)",
                                             ref=booking_ref),
           user_id=user_id, to_status="packed")
    return order


def message_text(msgid):
    from ..i18n import render
    return render(message(msgid))


def book(session: Session, *, seller_id: int, item, pickup, destination, option_code,
         wanted_date=None, delivery_date=None, user_id=None) -> Booking:
    """Book the option `option_code` of a fresh quote (prices are never taken from the
    client). Own fleet: `delivery_date` one of its free days (default the first).
    Flushes, never commits; a refusal stores nothing."""
    if not isinstance(option_code, str) or not option_code:
        raise InvalidInput("option", message("is required"))
    quoted = quote(session, item, pickup, destination, wanted_date)
    option = next((o for o in quoted["options"] if o["code"] == option_code), None)
    if option is None:
        raise InvalidInput("option", message("is not one of the options"))
    if not option["possible"]:
        from ..i18n import render
        raise InvalidInput("option", render(option["why"]))
    item, to = quoted["item"], quoted["destination"]
    warehouse = session.get(Warehouse, quoted["warehouse_id"])
    parcels = _parcels(item)
    savepoint = session.begin_nested()
    try:
        count = session.scalar(select(func.count(Booking.id))) or 0
        ref = f"BK-{count + 1:06d}-{utcnow().strftime('%H%M%S%f')}"
        order = _order(session, seller_id, item, to, user_id, ref)
        if option["kind"] == "own_fleet":
            days = [w for w in option["windows"]
                    if delivery_date in (None, "") or w["date"] == delivery_date]
            if not days:
                raise InvalidInput("delivery_date", message("is not a free day of the "
                                                            "own fleet"))
            window = days[0]
            service = own_fleet_service(session)
            ship_to = dict(to, delivery_window={"start": window["window_start"],
                                                "end": window["window_end"]})
            if quoted["pickup_address"]:
                ship_to["notes"] = "Pick up at " + ", ".join(
                    v for v in (quoted["pickup_address"][k] for k in
                                ("address1", "city", "state", "zip")) if v)
            day = date.fromisoformat(window["date"])
            shipment = Shipment(order_id=order.id, seller_id=seller_id,
                                warehouse_id=warehouse.id, service_id=service.id,
                                status="labelled", reference=ref,
                                zone=geo.zone_for(warehouse.zip, to["zip"]),
                                cost_cents=option["price_cents"], ship_date=day,
                                delivery_date=day, ship_to=ship_to, provider="builtin")
            shipment.service = service
            session.add(shipment)
            session.flush()
            for n, p in enumerate(parcels, start=1):
                shipment.parcels.append(Parcel(
                    seller_id=seller_id, warehouse_id=warehouse.id, number=n,
                    tracking_number=labels.tracking_number_for(service, shipment.id, n),
                    weight_g=p.weight_g, length_mm=p.length_mm, width_mm=p.width_mm,
                    height_mm=p.height_mm, billable_weight_g=p.weight_g,
                    cost_cents=option["price_cents"] if n == 1 else 0))
            shipment.tracking_number = shipment.parcels[0].tracking_number
            session.flush()
            delivered_by = day
        else:
            from ..carriers.services import create_shipment
            sender = quoted["pickup_address"]
            shipment = create_shipment(
                session, warehouse=warehouse, seller_id=seller_id, ship_to=to,
                parcels=parcels, service=option["code"], order_id=order.id, reference=ref,
                ship_from=dict(sender, company="") if sender else None)
            delivered_by = shipment.delivery_date
        booking = Booking(seller_id=seller_id, warehouse_id=warehouse.id, order_id=order.id,
                          shipment_id=shipment.id, kind=option["kind"],
                          service_code=option["code"], price_cents=shipment.cost_cents,
                          delivery_date=delivered_by, item=item,
                          pickup={"warehouse_id": warehouse.id,
                                  "address": quoted["pickup_address"]},
                          destination=to, created_by=user_id)
        session.add(booking)
        session.flush()
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return booking


def booking_view(session, booking: Booking) -> dict:
    shipment = session.get(Shipment, booking.shipment_id) if booking.shipment_id else None
    order_token = None
    if booking.order_id:
        from ..orders.models import Order
        order = session.get(Order, booking.order_id)
        order_token = order.tracking_token if order else None
    return {"id": booking.id, "seller_id": booking.seller_id,
            "warehouse_id": booking.warehouse_id, "order_id": booking.order_id,
            "shipment_id": booking.shipment_id, "kind": booking.kind,
            "service_code": booking.service_code, "price_cents": booking.price_cents,
            "delivery_date": booking.delivery_date.isoformat()
            if booking.delivery_date else None,
            "item": booking.item, "pickup": booking.pickup,
            "destination": booking.destination,
            "tracking_number": shipment.tracking_number if shipment else None,
            "tracking_url": f"/t/{order_token}" if order_token else None,
            "order_url": f"/orders/{booking.order_id}" if booking.order_id else None,
            "created_at": booking.created_at.isoformat() if booking.created_at else None}


def get_missing(booking_id):
    raise NotFound(message("No booking %(id)s", id=booking_id),
                   fields={"booking_id": [message("not found")]})
