"""Tracking numbers and 4 x 6 inch shipping labels (PDF, for thermal printers).

Tracking numbers. Until the carriers' APIs hand out real numbers, Haicang numbers
parcels itself in each carrier's own format, from the shipment id and the parcel's
number in it (1-99), so they are unique by construction (and the database holds them
unique too):

- UPS: "1Z" + a 6-character shipper number + 2-digit service indicator (01 Next Day
  Air, 02 2nd Day Air, 03 Ground) + 7-digit package number + check digit; 18
  characters. The shipper number is "H" + the shipment id's high part in base 36,
  the package number its low five digits and the parcel number. The check digit is
  UPS's: over the 15 characters after "1Z", letters count (ord - 63) mod 10, digits
  in odd positions count twice; check = (10 - sum mod 10) mod 10.
- USPS: 22 digits, "9400111" + 14-digit serial + a GS1 mod-10 check digit (from
  the right, weights 3 and 1), like an Intelligent Mail package barcode.
- FedEx: 12 digits, "7" + 10-digit serial + a mod-11 check digit (weights 1, 3, 7
  from the right, sum mod 11 mod 10), like a FedEx Express number.
- any other carrier: "HC" + 14-digit serial + GS1 mod-10 check digit; 17 characters.

The serial is shipment_id * 100 + parcel number.

Labels. `render_label` draws one 4 x 6 in page (288 x 432 pt): ship-from, ship-to
in large type, the service, weight and "n OF m", a Code 128 barcode of the tracking
number sized to the page (module width 1.2 to 1.6 pt, at least 10 modules of quiet
zone each side, an inch high) with the number in plain text, and the Haicang order
reference. Fonts are the PDF base fonts (Latin-1): other characters are replaced by
"?" so a label never fails to print.
"""
import io
import math
import string
from datetime import date

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas as pdf_canvas

PAGE = (4 * inch, 6 * inch)  # 288 x 432 pt
MARGIN = 10.0
MAX_SERIAL_PARCELS = 99
UPS_SERVICE_INDICATORS = {"UPS_NEXT_DAY_AIR": "01", "UPS_2ND_DAY_AIR": "02",
                          "UPS_GROUND": "03"}
_B36 = string.digits + string.ascii_uppercase


# -- tracking numbers ----------------------------------------------------------------

def gs1_mod10(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def ups_check_digit(body: str) -> str:
    """UPS's check digit over the 15 characters after "1Z"."""
    total = 0
    for i, c in enumerate(body):
        value = int(c) if c.isdigit() else (ord(c) - 63) % 10
        total += value * 2 if i % 2 else value
    return str((10 - total % 10) % 10)


def fedex_check_digit(digits: str) -> str:
    weights = (1, 3, 7)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(digits)))
    return str(total % 11 % 10)


def _base36(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = _B36[r] + out
    if len(out) > width:
        raise ValueError("shipment id too large for this tracking number format")
    return out.rjust(width, "0")


def _service_codes(service) -> tuple[str, str]:
    carrier_code = getattr(service, "carrier_code", None) or service.carrier.code
    return carrier_code.upper(), service.code.upper()


def tracking_number_for(service, shipment_id: int, parcel_number: int = 1) -> str:
    """The tracking number of parcel `parcel_number` (1-99) of shipment `shipment_id`
    shipped with `service` (a CarrierService or a rating.ServiceSpec), in the
    carrier's format (see the module docstring)."""
    if not 1 <= parcel_number <= MAX_SERIAL_PARCELS:
        raise ValueError("parcel_number must be 1-99")
    if shipment_id < 1:
        raise ValueError("shipment_id must be positive")
    carrier, code = _service_codes(service)
    serial = shipment_id * 100 + parcel_number
    if carrier == "UPS":
        high, low = divmod(shipment_id, 100_000)
        body = ("H" + _base36(high, 5) + UPS_SERVICE_INDICATORS.get(code, "03")
                + f"{low:05d}{parcel_number:02d}")
        return "1Z" + body + ups_check_digit(body)
    if carrier == "USPS":
        body = "9400111" + _digits(serial, 14)
        return body + gs1_mod10(body)
    if carrier == "FEDEX":
        body = "7" + _digits(serial, 10)
        return body + fedex_check_digit(body)
    body = _digits(serial, 14)
    return "HC" + body + gs1_mod10(body)


def _digits(n: int, width: int) -> str:
    text = str(n)
    if len(text) > width:
        raise ValueError("shipment id too large for this tracking number format")
    return text.rjust(width, "0")


def is_valid_tracking_number(number: str) -> bool:
    """Whether `number` is well formed with a right check digit (formats above)."""
    if number.startswith("1Z") and len(number) == 18:
        return ups_check_digit(number[2:17]) == number[17]
    if number.isdigit() and len(number) == 22:
        return gs1_mod10(number[:-1]) == number[-1]
    if number.isdigit() and len(number) == 12:
        return fedex_check_digit(number[:-1]) == number[-1]
    if number.startswith("HC") and len(number) == 17 and number[2:].isdigit():
        return gs1_mod10(number[2:-1]) == number[-1]
    return False


def spaced(number: str) -> str:
    """The number in groups of four, the way carriers print it for people."""
    if number.startswith("1Z"):
        parts = [number[:2], number[2:5], number[5:8], number[8:10], number[10:14],
                 number[14:17], number[17:]]
        return " ".join(parts)
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


# -- the label -----------------------------------------------------------------------

def _latin1(text) -> str:
    return str(text or "").encode("latin-1", "replace").decode("latin-1")


def _address_lines(address: dict) -> list[str]:
    lines = [address.get(key) for key in ("name", "company", "address1", "address2")]
    state_zip = f"{address.get('state') or ''} {address.get('zip') or ''}".strip()
    city = address.get("city") or ""
    lines.append(f"{city}, {state_zip}" if city else state_zip)
    return [_latin1(line).strip() for line in lines if line and str(line).strip()]


def _fit(c, text: str, font: str, size: float, width: float, minimum: float = 7) -> float:
    """The largest size <= `size` at which `text` fits in `width`."""
    while size > minimum and c.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def barcode_for(number: str, width: float, height: float = inch) -> Code128:
    """A Code 128 barcode of `number` as wide as fits in `width` (quiet zones
    included), with a module width between 1.2 and 1.6 pt."""
    modules = Code128(number, barWidth=1, quiet=0).width + 20  # 10-module quiet zones
    bar_width = min(1.6, math.floor(width / modules * 100) / 100)  # whole 1/100 pt
    if bar_width < 1.2:
        raise ValueError(f"tracking number {number!r} is too long for a 4 in label")
    return Code128(number, barWidth=bar_width, barHeight=height, quiet=1,
                   lquiet=10 * bar_width, rquiet=10 * bar_width)


def _draw(c, *, tracking: str, service_name: str, weight_g: int, number: int, count: int,
          ship_from: dict, ship_to: dict, reference: str, ship_day: date | None,
          zone: int | None) -> None:
    w, h = PAGE
    left, right = MARGIN, w - MARGIN
    inner = right - left
    y = h - MARGIN

    # Ship-from, small, top left; weight and parcel count top right.
    c.setFont("Helvetica", 7)
    for i, line in enumerate(_address_lines(ship_from)[:5]):
        c.drawString(left, y - 8 - i * 8.5, line[:48])
    c.setFont("Helvetica-Bold", 11)
    c.drawRightString(right, y - 10, f"{weight_g / 453.59237:.1f} LB")
    c.setFont("Helvetica-Bold", 9)
    c.drawRightString(right, y - 22, f"{number} OF {count}")
    c.setFont("Helvetica", 7)
    if ship_day:
        c.drawRightString(right, y - 33, f"SHIP {ship_day.isoformat()}")
    y -= 52
    c.setLineWidth(1.5)
    c.line(left, y, right, y)

    # Ship-to, big.
    c.setFont("Helvetica", 8)
    c.drawString(left, y - 11, "SHIP TO:")
    lines = _address_lines(ship_to)
    ty = y - 26
    for i, line in enumerate(lines[:6]):
        last = i == len(lines[:6]) - 1
        size = _fit(c, line, "Helvetica-Bold", 16 if last else 13, inner - 12)
        c.setFont("Helvetica-Bold", size)
        c.drawString(left + 12, ty, line)
        ty -= size + 4
    y -= 120
    c.line(left, y, right, y)

    # Service bar: white on black, with the zone.
    bar_h = 26
    c.rect(left, y - bar_h - 4, inner, bar_h, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    name = _latin1(service_name).upper()
    c.setFont("Helvetica-Bold", _fit(c, name, "Helvetica-Bold", 16, inner - 60))
    c.drawString(left + 6, y - bar_h + 4, name)
    if zone:
        c.setFont("Helvetica-Bold", 10)
        c.drawRightString(right - 6, y - bar_h + 5, f"ZONE {zone}")
    c.setFillColorRGB(0, 0, 0)
    y -= bar_h + 18
    c.setFont("Helvetica-Bold", 10)
    c.drawString(left, y, f"TRACKING #: {spaced(tracking)}")

    # The barcode, centred, an inch high.
    code = barcode_for(tracking, w - 2 * 4)
    y -= 8 + inch
    code.drawOn(c, (w - code.width) / 2, y)
    c.setFont("Helvetica", 9)
    c.drawCentredString(w / 2, y - 11, tracking)
    y -= 22
    c.setLineWidth(1.5)
    c.line(left, y, right, y)

    # Reference.
    c.setFont("Helvetica-Bold", 9)
    c.drawString(left, y - 13, _latin1(f"REF: {reference}")[:56])
    c.setFont("Helvetica", 7)
    c.drawString(left, MARGIN + 2, "Haicang")
    c.drawRightString(right, MARGIN + 2, "BILLING: P/P")


def _reference(shipment) -> str:
    if getattr(shipment, "reference", ""):
        return f"HAICANG {shipment.reference}"
    if getattr(shipment, "order_id", None):
        return f"HAICANG ORDER {shipment.order_id}"
    return f"HAICANG SHIPMENT {shipment.id}"


def _page(c, shipment, parcel, ship_from: dict, ship_to: dict, count: int) -> None:
    tracking = getattr(parcel, "tracking_number", None) or shipment.tracking_number
    _draw(c, tracking=tracking, service_name=shipment.service.name, weight_g=parcel.weight_g,
          number=getattr(parcel, "number", 1) or 1, count=count, ship_from=ship_from,
          ship_to=ship_to, reference=_reference(shipment),
          ship_day=getattr(shipment, "ship_date", None), zone=getattr(shipment, "zone", None))
    c.showPage()


def render_label(shipment, parcel, ship_from: dict, ship_to: dict) -> bytes:
    """One parcel's 4 x 6 in label as PDF bytes. `ship_from` and `ship_to` are
    addresses {name, company, address1, address2, city, state, zip}."""
    buffer = io.BytesIO()
    c = pdf_canvas.Canvas(buffer, pagesize=PAGE, invariant=1)
    c.setTitle(f"Label {getattr(parcel, 'tracking_number', None) or shipment.tracking_number}")
    count = len(getattr(shipment, "parcels", None) or [parcel])
    _page(c, shipment, parcel, ship_from, ship_to, count)
    c.save()
    return buffer.getvalue()


def render_labels(shipment, ship_from: dict, ship_to: dict) -> bytes:
    """Every parcel's label of a shipment, one 4 x 6 in page each, in one PDF."""
    buffer = io.BytesIO()
    c = pdf_canvas.Canvas(buffer, pagesize=PAGE, invariant=1)
    c.setTitle(f"Labels {shipment.tracking_number}")
    parcels = list(shipment.parcels)
    for parcel in parcels:
        _page(c, shipment, parcel, ship_from, ship_to, len(parcels))
    c.save()
    return buffer.getvalue()
