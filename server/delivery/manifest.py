"""A route's manifest: the printed sheet a van's crew takes along (US Letter, portrait).

The header names the warehouse, the day, the van, its crew, the planned start, end,
distance and load. Then one block per stop in the route's order: its number, the
planned arrival and the window (local time of the warehouse), the name, address and
phone, the items, the weight and volume, a TWO PEOPLE flag where the stop needs a
crew of two, and a Code 128 barcode of the stop's reference (the shipment's tracking
number, which its parcel label carries too), so scanning either finds the stop.

Headings are in the reader's language (gettext). Latin text is set in the PDF base
fonts; Chinese headings in the CJK fonts every PDF reader carries (reportlab's
UnicodeCIDFont STSong-Light / MSung-Light, nothing embedded). Characters a font cannot
show are replaced by "?" so a manifest never fails to print.
"""
import io
import math
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as pdf_canvas

from ..i18n import current_locale, gettext

PAGE = letter  # 612 x 792 pt
MARGIN = 36.0
BLOCK = 118.0  # the height of one stop's block
BARCODE_WIDTH = 3.6 * inch
BARCODE_HEIGHT = 0.55 * inch
_CJK = {"zh_Hans": "STSong-Light", "zh_Hant": "MSung-Light"}


def barcode_for(reference: str, width: float, height: float) -> Code128:
    """A Code 128 barcode of `reference` at most `width` wide with its quiet zones: a
    module of 0.9 to 1.4 pt, enough for a laser-printed sheet read by a phone or a
    handheld scanner (a tracking number of 18 mixed characters fits)."""
    modules = Code128(reference, barWidth=1, quiet=0).width + 20  # 10-module quiet zones
    bar_width = min(1.4, math.floor(width / modules * 100) / 100)
    if bar_width < 0.9:
        raise ValueError(f"reference {reference!r} is too long for the manifest")
    return Code128(reference, barWidth=bar_width, barHeight=height, quiet=1,
                   lquiet=10 * bar_width, rquiet=10 * bar_width)


def _fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode?) for the current locale."""
    cjk = _CJK.get(current_locale())
    if cjk:
        if cjk not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(cjk))
        return cjk, cjk, True
    return "Helvetica", "Helvetica-Bold", False


def _latin1(text) -> str:
    return str(text or "").encode("latin-1", "replace").decode("latin-1")


def _hhmm(moment, zone) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else "--:--"


def _fit(c, text: str, font: str, size: float, width: float) -> str:
    while c.stringWidth(text, font, size) > width and len(text) > 4:
        text = text[:-4] + "..."
    return text


def render_manifest(route, warehouse) -> bytes:
    """The manifest PDF of `route` (with its vehicle and stops loaded)."""
    zone = ZoneInfo(warehouse.timezone)
    regular, bold, unicode_ok = _fonts()
    text = (lambda s: str(s or "")) if unicode_ok else _latin1
    data = (lambda s: str(s or "")) if unicode_ok else _latin1
    buffer = io.BytesIO()
    c = pdf_canvas.Canvas(buffer, pagesize=PAGE, pageCompression=1)
    c.setTitle(f"Route {route.id} {route.date.isoformat()}")
    width, height = PAGE
    stops = sorted(route.stops, key=lambda s: s.sequence)
    van = route.vehicle
    total_kg = sum(s.weight_g for s in stops) / 1000
    total_l = sum(s.volume_l for s in stops)

    def header(page: int) -> float:
        y = height - MARGIN
        c.setFont(bold, 16)
        c.drawString(MARGIN, y - 14, text(gettext("Route manifest")) + f"  #{route.id}")
        c.setFont(regular, 10)
        c.drawRightString(width - MARGIN, y - 12,
                          text(f"{warehouse.code} · {route.date.isoformat()}")
                          .replace("?", "-") + f"   p. {page}")
        y -= 32
        crew = gettext("crew of two") if van.crew == 2 else gettext("crew of one")
        c.drawString(MARGIN, y, text(gettext(
            "Van: %(van)s  ·  %(crew)s  ·  leaves %(start)s, back %(end)s  ·  %(km)s km") % {
            "van": f"{van.name} {van.plate}".strip(), "crew": crew,
            "start": _hhmm(route.planned_start, zone), "end": _hhmm(route.planned_end, zone),
            "km": f"{route.planned_distance_m / 1000:.1f}"}))
        y -= 14
        c.drawString(MARGIN, y, text(gettext(
            "Stops: %(stops)s  ·  load %(kg)s / %(max_kg)s kg, %(litres)s / %(max_l)s L") % {
            "stops": len(stops), "kg": f"{total_kg:.1f}", "max_kg": van.capacity_weight_kg,
            "litres": f"{total_l:.0f}", "max_l": van.capacity_volume_l}))
        y -= 10
        c.line(MARGIN, y, width - MARGIN, y)
        return y - 6

    page = 1
    y = header(page)
    for stop in stops:
        if y - BLOCK < MARGIN:
            c.showPage()
            page += 1
            y = header(page)
        top = y
        c.setFont(bold, 20)
        c.drawString(MARGIN, top - 20, str(stop.sequence))
        left = MARGIN + 34
        c.setFont(bold, 11)
        line = gettext("Arrive %(time)s") % {"time": _hhmm(stop.planned_arrival, zone)}
        if stop.window_start or stop.window_end:
            line += "  " + gettext("(window %(start)s-%(end)s)") % {
                "start": _hhmm(stop.window_start, zone), "end": _hhmm(stop.window_end, zone)}
        text_width = width - MARGIN - BARCODE_WIDTH - left - 8
        c.drawString(left, top - 12, _fit(c, text(line), bold, 11, text_width))
        ty = top - 26
        if stop.needs_two:
            flag = text(gettext("TWO PEOPLE"))
            fx, fw = left, c.stringWidth(flag, bold, 9) + 12
            top -= 15
            c.setFillGray(0)
            c.rect(fx, top - 15, fw, 14, fill=1)
            c.setFillGray(1)
            c.setFont(bold, 9)
            c.drawCentredString(fx + fw / 2, top - 11, flag)
            c.setFillGray(0)
            ty -= 15
            top += 15
        address = stop.address or {}
        lines = [address.get("name"), address.get("company"),
                 " ".join(x for x in (address.get("address1"), address.get("address2")) if x),
                 f"{address.get('city', '')}, {address.get('state', '')} "
                 f"{address.get('zip', '')}".strip(", "),
                 address.get("phone")]
        c.setFont(regular, 9.5)
        for line in [ln for ln in lines if ln and str(ln).strip()]:
            c.drawString(left, ty, _fit(c, data(line), regular, 9.5, text_width))
            ty -= 11.5
        items = []
        for item in stop.items or []:
            if "parcel" in item:
                items.append(gettext("Parcel %(number)s (%(kg)s kg)") % {
                    "number": item["parcel"], "kg": f"{item.get('weight_g', 0) / 1000:.1f}"})
            else:
                items.append(f"{item.get('quantity', 1)} x {item.get('sku', '')} "
                             f"{item.get('name', '')}".strip())
        c.setFont(regular, 8.5)
        summary = f"{stop.weight_g / 1000:.1f} kg, {stop.volume_l:.0f} L: " + "; ".join(items)
        c.drawString(left, ty, _fit(c, data(summary), regular, 8.5, text_width))
        if stop.notes:
            ty -= 10.5
            c.drawString(left, ty, _fit(c, data(stop.notes), regular, 8.5, text_width))
        # The barcode, right-aligned, with its reference below.
        if stop.reference:
            try:
                code = barcode_for(stop.reference, BARCODE_WIDTH, BARCODE_HEIGHT)
                x = width - MARGIN - code.width
                code.drawOn(c, x, top - 10 - BARCODE_HEIGHT)
                code_width = code.width
            except ValueError:  # too long to scan at this width: the text alone
                code_width = BARCODE_WIDTH
                x = width - MARGIN - code_width
            c.setFont("Helvetica", 8)
            c.drawCentredString(x + code_width / 2, top - 20 - BARCODE_HEIGHT,
                                _latin1(stop.reference))
        y = top - BLOCK
        c.setLineWidth(0.3)
        c.line(MARGIN, y + 4, width - MARGIN, y + 4)
        c.setLineWidth(1)
    if not stops:
        c.setFont(regular, 11)
        c.drawString(MARGIN, y - 14, text(gettext("No stops on this route.")))
    c.save()
    return buffer.getvalue()
