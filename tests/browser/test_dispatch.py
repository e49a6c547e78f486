"""The dispatcher's day in Debian's chromium at phone size (issue #12, item 1): the
demo admin opens /dispatch, sees the van already out, plans the stops booked after
it left onto the second van, moves a stop and sees the new order kept by the
server, gives the route to the driver and sends it out, and prints its manifest."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .test_channels import SellerApi
from .test_service_and_booking import open_from_home
from .test_shell import assert_fits_phone, log_in

pytestmark = pytest.mark.browser


def test_admin_plans_moves_a_stop_and_sends_the_van_out(live_server, phone, artifacts):
    page = phone.new_page()
    log_in(page, live_server, "admin@demo.haicang")
    call = SellerApi(page, live_server)
    open_from_home(page, live_server, "dispatch")
    main = page.locator("#dispatch")
    main.locator("#dispatch-warehouse").select_option(label="LAX1 · Ontario CA")
    warehouse_id = main.locator("#dispatch-warehouse").input_value()
    answer = call("GET", "/api/warehouses")
    listed = answer["items"] if isinstance(answer, dict) else answer
    zone = next(w for w in listed if str(w["id"]) == warehouse_id)["timezone"]
    day = datetime.now(ZoneInfo(zone)).date().isoformat()
    expect(main.locator("#dispatch-date")).to_have_value(day)

    # The van already out, as the demo driver has it.
    out = main.locator('.dispatch-route[data-status="dispatched"]')
    expect(out).to_have_count(1)
    expect(out.locator(".dispatch-stop")).to_have_count(4)

    # Plan: what came in after the van left goes on the second van, as a draft.
    main.locator('[data-part="plan"]').click()
    draft = main.locator('.dispatch-route[data-status="draft"]')
    expect(draft).to_have_count(1, timeout=20_000)
    stops = draft.locator(".dispatch-stop")
    expect(stops).to_have_count(3)
    expect(out.locator(".dispatch-stop")).to_have_count(4)  # the van out is kept
    assert_fits_phone(page)
    page.screenshot(path=str(artifacts / "dispatch-planned-360.png"))
    route_id = int(draft.get_attribute("data-route-id"))

    def order_on_server():
        routes = call("GET", f"/api/routes?warehouse_id={warehouse_id}&date={day}")["routes"]
        route = next(r for r in routes if r["id"] == route_id)
        return [s["id"] for s in sorted(route["stops"], key=lambda s: s["sequence"])]
    before = order_on_server()
    assert [int(x) for x in stops.evaluate_all("els => els.map(e => e.dataset.stopId)")] \
        == before

    # Move the first stop down: the server keeps the new order, the screen shows it.
    stops.first.locator('[data-part="down"]').click()
    expected = [before[1], before[0], *before[2:]]
    page.wait_for_function(
        """(want) => JSON.stringify([...document.querySelectorAll(
             '.dispatch-route[data-status="draft"] .dispatch-stop')].map(e => +e.dataset.stopId))
           === JSON.stringify(want)""", arg=expected)
    assert order_on_server() == expected

    # Give it to the demo driver, mark it planned, send it out.
    card = main.locator(f'.dispatch-route[data-route-id="{route_id}"]')
    driver = card.locator('[data-part="driver"]')
    driver.select_option(label="Sam Driver")
    expect(card.locator('[data-part="driver"]')).to_have_value(
        driver.locator("option", has_text="Sam Driver").get_attribute("value"))
    card.locator('[data-part="advance"]').click()
    expect(card).to_have_attribute("data-status", "planned")
    card.locator('[data-part="advance"]').click()
    expect(card).to_have_attribute("data-status", "dispatched")
    route = call("GET", f"/api/routes/{route_id}")
    assert route["status"] == "dispatched" and route["driver_id"] is not None

    # The manifest link is the route's PDF.
    href = card.locator('[data-part="manifest"]').get_attribute("href")
    pdf = page.context.request.get(live_server.url + href)
    assert pdf.ok and pdf.body()[:4] == b"%PDF"


def test_the_dispatch_screen_is_the_admins_only(live_server, phone):
    """Is a seller sent home from /dispatch, and is there no link to it?"""
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    expect(page.locator('.quicklinks a[data-link="dispatch"]')).to_have_count(0)
    page.goto(live_server.url + "/dispatch")
    page.wait_for_url(live_server.url + "/")
