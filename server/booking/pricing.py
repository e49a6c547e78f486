"""The own fleet's price for a large item, in cents (documented, hand-checkable):

    price = BASE_CENTS
          + PER_MILE_CENTS x whole miles (ceil) between the ZIP centroids of the
            van's route: warehouse -> pickup (if not the warehouse) -> destination
            (server/geo.py, great circle)
          + PER_KG_CENTS x whole kg (ceil) of the total weight over FREE_KG
          + TWO_PERSON_CENTS when the item needs two people (delivery.planning:
            over 32 kg, over 300 L or a side over 1.5 m)
          + EXTRA_PIECE_CENTS x (pieces - 1)

The own fleet serves destinations within MAX_RADIUS_MILES of the warehouse: a van
must be there and back within one shift (at the planner's 40 km/h and 1.4 detour,
75 miles out and back is about 8.5 hours with the stop).
"""
import math

BASE_CENTS = 4900
PER_MILE_CENTS = 150
FREE_KG = 30
PER_KG_CENTS = 100
TWO_PERSON_CENTS = 3500
EXTRA_PIECE_CENTS = 1000
MAX_RADIUS_MILES = 75


def own_fleet_price(miles: float, weight_g_total: int, pieces: int, needs_two: bool) -> dict:
    whole_miles = math.ceil(miles)
    kg = math.ceil(weight_g_total / 1000)
    parts = {"base": BASE_CENTS, "distance": PER_MILE_CENTS * whole_miles,
             "weight": PER_KG_CENTS * max(0, kg - FREE_KG),
             "two_person": TWO_PERSON_CENTS if needs_two else 0,
             "pieces": EXTRA_PIECE_CENTS * max(0, pieces - 1)}
    return {"miles": whole_miles, "parts": parts, "price_cents": sum(parts.values())}
