"""US ZIP codes as points on the map, distances, and carrier zones.

The ZIP data come from the `zipcodes` package (PyPI; USPS ZIP list with the
centroid, state and time zone of each ZIP): no hand-made table. A lookup scans that
list, so every answer is cached (functools.lru_cache): after the first call a ZIP
costs a dictionary lookup.

Zones: a carrier's zone chart gives, for an origin ZIP prefix and a destination ZIP
prefix, a zone from 1 (local) to 8 (across the country). The charts are built from
the distance between the two prefixes' sectional centre facilities; `zone_for`
approximates them from the great-circle distance between the two ZIPs' centroids
with the USPS bands (<= 50 miles zone 1, <= 150 zone 2, <= 300 zone 3, <= 600 zone 4,
<= 1000 zone 5, <= 1400 zone 6, <= 1800 zone 7, farther zone 8). It is right for
most pairs and off by one zone near a band's edge; Alaska, Hawaii and the
territories simply come out as zone 8, which is what carriers' own charts say for
contiguous-US origins.
"""
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import zipcodes

from .errors import InvalidInput
from .i18n import message

ZIP_RE = re.compile(r"^(\d{5})(-\d{4})?$")
EARTH_RADIUS_MILES = 3958.8
# (upper bound in miles, zone): the USPS distance bands.
ZONE_BANDS = ((50, 1), (150, 2), (300, 3), (600, 4), (1000, 5), (1400, 6), (1800, 7))


@dataclass(frozen=True)
class ZipPoint:
    zip: str
    latitude: float
    longitude: float
    state: str
    city: str
    timezone: str  # IANA name, "" when the data have none (military ZIPs)


def normalize_zip(zip_code, field: str = "zip") -> str:
    """The 5-digit ZIP of "12345" or "12345-6789"; InvalidInput(field) otherwise."""
    match = ZIP_RE.match(zip_code.strip()) if isinstance(zip_code, str) else None
    if not match:
        raise InvalidInput(field, message("must be a US ZIP code: 12345 or 12345-6789"))
    return match.group(1)


@lru_cache(maxsize=50_000)
def _point(zip5: str) -> ZipPoint | None:
    for row in zipcodes.matching(zip5):
        lat, lon = float(row["lat"] or 0), float(row["long"] or 0)
        if lat == 0 and lon == 0:  # listed, but with no location (APO/FPO)
            return None
        return ZipPoint(zip5, lat, lon, row["state"], row["city"], row["timezone"] or "")
    return None


def locate(zip_code, field: str = "zip") -> ZipPoint:
    """Where a ZIP is. InvalidInput(field) if it is malformed, unknown, or has no
    location (military APO/FPO ZIPs)."""
    zip5 = normalize_zip(zip_code, field)
    point = _point(zip5)
    if point is None:
        raise InvalidInput(field, message("%(zip)s is not a known US ZIP code with a location",
                                          zip=zip5))
    return point


def zip_to_point(zip_code, field: str = "zip") -> tuple[float, float, str]:
    """ZIP -> (latitude, longitude, state)."""
    point = locate(zip_code, field)
    return point.latitude, point.longitude, point.state


def distance_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in statute miles (haversine, mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def zip_distance_miles(origin_zip, dest_zip) -> float:
    a, b = locate(origin_zip, "origin_zip"), locate(dest_zip, "dest_zip")
    return distance_miles(a.latitude, a.longitude, b.latitude, b.longitude)


def zone_for_distance(miles: float) -> int:
    for limit, zone in ZONE_BANDS:
        if miles <= limit:
            return zone
    return 8


def zone_for(origin_zip, dest_zip, *, origin_field: str = "origin_zip",
             dest_field: str = "dest_zip") -> int:
    """The carrier zone (1-8) from origin to destination: an approximation of the
    carriers' zone charts from the distance between the two ZIPs (see the module
    docstring). Errors name `origin_field` or `dest_field`."""
    return _zone(normalize_zip(origin_zip, origin_field), normalize_zip(dest_zip, dest_field),
                 origin_field, dest_field)


@lru_cache(maxsize=100_000)
def _zone(origin5: str, dest5: str, origin_field: str, dest_field: str) -> int:
    a, b = locate(origin5, origin_field), locate(dest5, dest_field)
    return zone_for_distance(distance_miles(a.latitude, a.longitude, b.latitude, b.longitude))
