"""Tracking numbers and 4x6 labels: the PDF is rasterised as a thermal printer
would print it (203 dpi) and its barcode read back by a barcode reader (zxing-cpp),
which must find exactly the tracking number (issue #4)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from server.carriers import labels
from server.carriers.demo import seed_carriers
from server.carriers.models import Parcel, Shipment
from server.carriers.services import create_shipment
from server.errors import InvalidInput

from .test_carriers import carriers_api  # noqa: F401  (the fixture, for usefixtures)

PRINTER_DPI = 203  # a thermal label printer: 8 dots per mm
SHIP_TO = {"name": "Jane Doe", "address1": "350 Fifth Avenue", "address2": "Floor 21",
           "city": "New York", "state": "NY", "zip": "10118"}
AT = datetime(2025, 6, 11, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def pages(pdf: bytes):
    """(width_pt, height_pt, image at PRINTER_DPI, text) per page."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            width, height = page.get_size()
            image = page.render(scale=PRINTER_DPI / 72, grayscale=True).to_pil()
            textpage = page.get_textpage()
            out.append((width, height, image, textpage.get_text_range()))
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def read_code128(image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)
            if r.format == zxingcpp.BarcodeFormat.Code128]


@pytest.fixture
def shipper(db_session, world):
    seed_carriers(db_session)
    db_session.commit()

    def ship(service, parcels=None, **extra):
        parcels = parcels or [{"weight_g": 1200, "length_mm": 300, "width_mm": 200,
                               "height_mm": 150}]
        return create_shipment(db_session, warehouse=world.wh1, seller_id=world.seller_a.id,
                               ship_to=SHIP_TO, parcels=parcels, service=service, ship_at=AT,
                               **extra)
    return ship


@pytest.mark.parametrize("service", ["UPS_GROUND", "UPS_2ND_DAY_AIR",
                                     "USPS_GROUND_ADVANTAGE", "FEDEX_HOME_DELIVERY",
                                     "LTL_LARGE_ITEM"])
def test_the_label_is_4x6_and_its_barcode_scans_to_the_tracking_number(shipper, service):
    """Is each carrier's label a 4 x 6 in page whose Code 128 barcode, printed at
    203 dpi, reads back exactly as the tracking number, with the number, the service,
    the address and the order reference printed for people?"""
    shipment = shipper(service, reference="SZHOME-10042")
    (page,) = pages(shipment.label_pdf)
    width, height, image, text = page
    assert (width, height) == (4 * 72, 6 * 72)
    assert read_code128(image) == [shipment.tracking_number]
    assert labels.is_valid_tracking_number(shipment.tracking_number)
    flat = text.replace("\r", "").replace("\n", " ")
    for words in (shipment.tracking_number, shipment.service.name.upper(), "New York, NY 10118",
                  "Jane Doe", "REF: HAICANG SZHOME-10042", "1 OF 1"):
        assert words in flat, words


def test_every_parcel_gets_its_own_page_and_number(shipper, db_session):
    """Does a shipment of three parcels get three labels, each scanning to its own
    parcel's tracking number, the first being the shipment's?"""
    parcels = [{"weight_g": w, "length_mm": 400, "width_mm": 300, "height_mm": 300}
               for w in (2000, 3000, 4000)]
    shipment = shipper("UPS_GROUND", parcels, order_id=77)
    numbers = [p.tracking_number for p in shipment.parcels]
    assert len(set(numbers)) == 3 and numbers[0] == shipment.tracking_number
    printed = pages(shipment.label_pdf)
    assert [read_code128(image) for _w, _h, image, _t in printed] == [[n] for n in numbers]
    assert [f"{i} OF 3" in text for i, (_w, _h, _i, text) in enumerate(printed, 1)] == [True] * 3
    assert "HAICANG ORDER 77" in printed[0][3]
    # the parcels are stored with what they were billed
    stored = db_session.scalars(select(Parcel).where(Parcel.shipment_id == shipment.id)
                                .order_by(Parcel.number)).all()
    assert [p.weight_g for p in stored] == [2000, 3000, 4000]
    assert sum(p.cost_cents for p in stored) == shipment.cost_cents
    assert all(p.billable_weight_g >= p.weight_g for p in stored)


def test_the_barcode_is_wide_enough_for_a_scanner():
    """Is the narrowest bar at least 1.2 pt (0.017 in, 3.4 dots at 203 dpi) with 10
    modules of quiet zone, for the longest tracking numbers, within the 4 in page?"""
    for number in ("9400111000123456789076", "1ZH000YA0356789079", "HC000123456789074"):
        code = labels.barcode_for(number, 4 * 72 - 8)
        assert code.barWidth >= 1.2
        assert code.lquiet >= 10 * code.barWidth and code.rquiet >= 10 * code.barWidth
        assert code.width <= 4 * 72 - 8


class _Service:
    def __init__(self, carrier_code, code):
        self.carrier_code, self.code = carrier_code, code


@pytest.mark.parametrize("carrier, code, pattern_len, prefix", [
    ("UPS", "UPS_GROUND", 18, "1Z"), ("USPS", "USPS_GROUND_ADVANTAGE", 22, "9400111"),
    ("FEDEX", "FEDEX_HOME_DELIVERY", 12, "7"), ("LTL", "LTL_LARGE_ITEM", 17, "HC"),
])
def test_tracking_numbers_are_well_formed_and_unique(carrier, code, pattern_len, prefix):
    """Are tracking numbers in the carrier's format with a right check digit, and
    different for every (shipment, parcel), including across the shipment ids where
    the UPS number's high part rolls over?"""
    service = _Service(carrier, code)
    seen = set()
    for shipment_id in list(range(1, 400)) + [99_999, 100_000, 100_001, 12_345_678]:
        for parcel in (1, 2, 99):
            number = labels.tracking_number_for(service, shipment_id, parcel)
            assert len(number) == pattern_len and number.startswith(prefix)
            assert labels.is_valid_tracking_number(number), number
            seen.add(number)
    assert len(seen) == 403 * 3
    # one wrong character is caught by the check digit
    number = labels.tracking_number_for(service, 4711, 1)
    last = number[-1]
    assert not labels.is_valid_tracking_number(number[:-1] + str((int(last) + 1) % 10))


def test_ups_check_digit_matches_the_published_sample():
    """Does our UPS check digit agree with UPS's well-known sample 1Z 999 AA1 01 2345
    678 4, and the UPS service indicator show (03 Ground, 02 2nd Day Air)?"""
    assert labels.ups_check_digit("999AA1012345678") == "4"
    assert labels.is_valid_tracking_number("1Z999AA10123456784")
    assert not labels.is_valid_tracking_number("1Z999AA10123456785")
    assert labels.tracking_number_for(_Service("UPS", "UPS_2ND_DAY_AIR"), 5)[8:10] == "02"
    assert labels.tracking_number_for(_Service("UPS", "UPS_GROUND"), 5)[8:10] == "03"


def test_a_bad_address_makes_no_shipment(shipper, db_session):
    """Is a ship-to without a street, or with an unknown ZIP, refused naming the
    field, before anything is written?"""
    before = db_session.scalars(select(Shipment.id)).all()
    for address, field in (({**SHIP_TO, "address1": " "}, "ship_to.address1"),
                           ({**SHIP_TO, "zip": "99999"}, "ship_to.zip"),
                           ({**SHIP_TO, "state": "New York"}, "ship_to.state")):
        with pytest.raises(InvalidInput) as error:
            create_shipment(db_session, warehouse=None, seller_id=1, ship_to=address,
                            parcels=[{"weight_g": 100}], service="UPS_GROUND")
        assert field in error.value.fields
    assert db_session.scalars(select(Shipment.id)).all() == before


@pytest.mark.usefixtures("carriers_api")
def test_the_label_api_serves_the_pdf_to_who_may_see_it(client, world, shipper):
    """Does GET /api/shipments/<id>/label.pdf give the seller its label as
    application/pdf, the warehouse's picker too, and another seller a 404?"""
    shipment = shipper("USPS_GROUND_ADVANTAGE")
    from server.extensions import db
    db.session.commit()
    url = f"/api/shipments/{shipment.id}/label.pdf"
    mine = client.get(url, headers=world.headers["seller_a"])
    assert mine.status_code == 200 and mine.mimetype == "application/pdf"
    assert mine.data == shipment.label_pdf and mine.data.startswith(b"%PDF")
    assert client.get(url, headers=world.headers["picker1"]).status_code == 200
    other = client.get(url, headers=world.headers["seller_b"])
    assert other.status_code == 404 and "shipment_id" in other.get_json()["fields"]
    assert client.get(url).status_code == 401
    detail = client.get(f"/api/shipments/{shipment.id}", headers=world.headers["seller_a"])
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["tracking_number"] == shipment.tracking_number
    assert body["label_url"] == url and len(body["parcels"]) == 1
