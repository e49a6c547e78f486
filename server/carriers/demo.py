"""Demo carriers and services with rate tables, for a first look and for tests.

The prices approximate 2025 retail list prices (USPS Ground Advantage retail; UPS
and FedEx daily rates with their published surcharges and a typical fuel
surcharge); they are generated from a per-zone price for 1 lb and a per-zone price
per extra pound, so they are plausible and consistent, not the carriers' tables.
Real rate cards are loaded with carriers.services.update_service(rate_table=...).
"""
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Carrier, CarrierService
from .services import create_carrier, create_service


def inches(n: float) -> int:
    """n inches in millimetres."""
    return round(n * 25.4)


def pounds(n: float) -> int:
    """n pounds in grams."""
    return round(n * 453.59237)


def linear_table(first_lb: dict[int, float], per_lb: dict[int, float],
                 max_lb: int) -> dict[str, list[int]]:
    """{zone: [cents for 1 lb, ..., max_lb]} from dollars for 1 lb and per extra lb."""
    return {str(z): [round((first_lb[z] + per_lb[z] * (lb - 1)) * 100)
                     for lb in range(1, max_lb + 1)]
            for z in range(1, 9)}


def zones(*values) -> dict[int, float]:
    assert len(values) == 8
    return dict(zip(range(1, 9), values))


# Limits and surcharges shared by UPS's and FedEx's small-parcel services.
_UPS_LIKE = dict(
    dim_divisor=139, max_weight_g=pounds(150), max_length_mm=inches(108),
    max_length_girth_mm=inches(165),
    large_length_mm=inches(96), large_length_girth_mm=inches(130),
    large_min_billable_g=pounds(90),
    handling_length_mm=inches(48), handling_width_mm=inches(30),
    handling_weight_g=pounds(50))

CARRIERS = [
    dict(code="USPS", name="USPS",
         tracking_url="https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}",
         services=[dict(
             code="USPS_GROUND_ADVANTAGE", name="USPS Ground Advantage",
             transit_days_by_zone=zones(2, 2, 3, 3, 4, 4, 5, 5), cutoff_local_time="17:00",
             # Dimensional weight only above one cubic foot, divisor 166.
             dim_divisor=166, dim_min_cubic_in=1728,
             max_weight_g=pounds(70), max_length_girth_mm=inches(130),
             # "Oversized" over 108 in length + girth; nonstandard fee over 22 in.
             large_length_girth_mm=inches(108), large_surcharge_cents=5500,
             handling_length_mm=inches(22), handling_surcharge_cents=400,
             fuel_surcharge_pct=0.0,
             rate_table=linear_table(zones(7.60, 7.75, 8.05, 8.55, 9.40, 10.20, 10.95, 12.15),
                                     zones(0.85, 0.90, 1.05, 1.45, 1.95, 2.30, 2.65, 3.05),
                                     70))]),
    dict(code="UPS", name="UPS", tracking_url="https://www.ups.com/track?tracknum={tracking}",
         services=[
             dict(code="UPS_GROUND", name="UPS Ground",
                  transit_days_by_zone=zones(1, 1, 2, 3, 4, 4, 5, 5),
                  cutoff_local_time="17:00", large_surcharge_cents=24000,
                  handling_surcharge_cents=3200, fuel_surcharge_pct=19.0,
                  rate_table=linear_table(
                      zones(11.90, 11.90, 12.35, 12.90, 13.25, 13.55, 13.85, 14.40),
                      zones(0.60, 0.62, 0.75, 1.00, 1.20, 1.45, 1.65, 1.92), 150),
                  **_UPS_LIKE),
             dict(code="UPS_2ND_DAY_AIR", name="UPS 2nd Day Air",
                  transit_days_by_zone=zones(2, 2, 2, 2, 2, 2, 2, 2),
                  cutoff_local_time="18:00", large_surcharge_cents=24000,
                  handling_surcharge_cents=3200, fuel_surcharge_pct=21.5,
                  rate_table=linear_table(
                      zones(25.95, 25.95, 28.40, 30.65, 32.20, 34.80, 36.30, 38.50),
                      zones(1.60, 1.60, 1.95, 2.40, 2.95, 3.40, 3.80, 4.25), 150),
                  **_UPS_LIKE)]),
    dict(code="FEDEX", name="FedEx",
         tracking_url="https://www.fedex.com/fedextrack/?trknbr={tracking}",
         services=[dict(
             code="FEDEX_HOME_DELIVERY", name="FedEx Home Delivery",
             transit_days_by_zone=zones(1, 1, 2, 3, 3, 4, 4, 5), cutoff_local_time="16:30",
             large_surcharge_cents=23500, handling_surcharge_cents=3100,
             fuel_surcharge_pct=18.75,
             rate_table=linear_table(
                 zones(11.75, 11.75, 12.20, 12.80, 13.10, 13.45, 13.75, 14.25),
                 zones(0.63, 0.63, 0.76, 0.98, 1.18, 1.43, 1.66, 1.90), 150),
             **_UPS_LIKE)]),
    dict(code="LTL", name="LTL freight partner", tracking_url="",
         services=[dict(
             # Furniture and other bulky goods: no small-parcel size limits, actual
             # weight only, a price per pound by zone with a minimum per shipment.
             code="LTL_LARGE_ITEM", name="Large item freight",
             transit_days_by_zone=zones(2, 3, 3, 4, 5, 6, 7, 8), cutoff_local_time="14:00",
             dim_divisor=None, max_weight_g=pounds(1000), fuel_surcharge_pct=22.0,
             pricing="per_lb",
             per_lb_cents_by_zone={str(z): c for z, c in
                                   zones(85, 95, 110, 130, 155, 180, 205, 230).items()},
             minimum_charge_cents=9500)]),
]


def seed_carriers(session: Session) -> list[CarrierService]:
    """Create the demo carriers and services that are missing (by code); run it as
    often as you like. Returns every demo service. Never commits."""
    services = []
    for spec in CARRIERS:
        spec = dict(spec)
        service_specs = spec.pop("services")
        carrier = session.scalar(select(Carrier).where(Carrier.code == spec["code"]))
        if carrier is None:
            carrier = create_carrier(session, **spec)
        for service_spec in service_specs:
            service = session.scalar(select(CarrierService).where(
                CarrierService.code == service_spec["code"]))
            if service is None:
                service = create_service(session, carrier, **service_spec)
            services.append(service)
    return services
