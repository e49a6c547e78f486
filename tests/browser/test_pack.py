"""The Pack screen (issue #5), in Debian's chromium at phone size: a picked order's
items scanned into the parcel, checked on the device against what was picked, the
server's refusal shown next to the field, then packed, labelled and tracked."""
import uuid

import pytest
from playwright.sync_api import expect

from .test_floor import ES, api, boot, log_in, release_wave, scan

pytestmark = pytest.mark.browser


def make_picked_order(context, server, page):
    """A wave of one order released and every line confirmed by a push: a picked order."""
    task = release_wave(context, server, page, max_orders=1)
    mutations = [{"id": i, "name": "pick.confirm",
                  "args": {"task_line_id": line["id"], "bin": line["bin_code"],
                           "sku": line["sku_code"], "qty": line["open_quantity"]},
                  "at": "2026-11-24T10:00:00.000Z"}
                 for i, line in enumerate(task["lines"], start=1)]
    answer = api(context, server, "POST", "/api/sync/push",
                 {"device_id": str(uuid.uuid4()), "sent_at": "2026-11-24T10:00:01.000Z",
                  "mutations": mutations})
    assert [r["status"] for r in answer["results"]] == ["applied"] * len(mutations), answer
    warehouse_id = task["warehouse_id"]
    picked = api(context, server, "GET",
                 f"/api/orders?status=picked&warehouse_id={warehouse_id}&limit=200")["items"]
    assert picked, "the confirmed wave should leave a picked order"
    return picked[0], warehouse_id


def test_pack_a_picked_order(live_server, phone, artifacts):
    """Can a picker pack a picked order: a missing item flagged on the device and by
    the server, then the right items and weight packed, labelled and tracked?"""
    server = live_server
    page = phone.new_page()
    log_in(page, server, "picker@demo.haicang")
    summary, warehouse_id = make_picked_order(phone, server, page)
    assert boot(page)["warehouses"][0]["id"] == warehouse_id
    order = api(phone, server, "GET", f"/api/orders/{summary['id']}")
    want = {}
    for line in order["lines"]:
        n = sum(a["quantity"] for a in line["allocated"] if a["warehouse_id"] == warehouse_id)
        if n:
            want[line["sku_id"]] = want.get(line["sku_id"], 0) + n
    assert want
    skus = {sku_id: api(phone, server, "GET", f"/api/skus/{sku_id}") for sku_id in want}
    weight = sum(skus[s]["weight_g"] * n for s, n in want.items()) or 500

    # My tasks has a Pack entry.
    page.goto(server.url + "/floor")
    page.locator('.floor-menu a[href="/floor/pack"]').click()
    expect(page).to_have_url(server.url + "/floor/pack")
    screen = page.locator('.screen[data-screen="pack"]')
    prompt = screen.locator('[data-part="prompt"]')
    expect(page.locator("#scan-pack")).to_be_focused()
    # A code that is no picked order is refused at once.
    scan(page, "NOT-AN-ORDER-1")
    expect(prompt).to_have_attribute("data-state", "bad")
    expect(prompt).to_have_text(ES["floor.pack_no_order"].format(code="NOT-AN-ORDER-1"))
    # The order, from the list of picked orders.
    button = screen.locator(f'[data-order-id="{summary["id"]}"]')
    expect(button).to_be_visible()
    assert button.bounding_box()["height"] >= 48
    page.screenshot(path=str(artifacts / "floor-pack-orders-360.png"))
    button.click()
    parcel = screen.locator('[data-part="parcel"]')
    expect(parcel).to_be_visible()
    expect(screen.locator(".pack-item")).to_have_count(len(want))

    # Every unit but one scanned in; an item not in the order is refused.
    units = [skus[s]["code"] for s, n in want.items() for _ in range(n)]
    short_code = units[-1]
    for code in units[:-1]:
        scan(page, code)
    scan(page, "SOMETHING-ELSE-123")
    expect(prompt).to_have_attribute("data-state", "bad")
    expect(prompt).to_have_text(ES["floor.pack_not_in_order"].format(code="SOMETHING-ELSE-123"))
    row = screen.locator(f'.pack-item[data-sku="{short_code}"]')
    expect(row).to_have_attribute("data-state", "missing")

    # Weighed, and packed anyway: the server says what is missing, next to the items.
    screen.locator('[data-part="weight"]').click()
    page.keyboard.type(str(weight), delay=0)
    page.locator('#keypad [data-part="ok"]').click()
    expect(screen.locator('[data-part="weight"]')).to_contain_text(str(weight)[:1])
    screen.locator('[data-part="pack"]').click()
    error = screen.locator('[data-part="items-error"]')
    expect(error).to_be_visible()
    # In the picker's language (Maria reads Spanish): "missing 1 x <SKU>".
    expect(error).to_contain_text(f"faltan 1 x {short_code}")
    page.screenshot(path=str(artifacts / "floor-pack-missing-360.png"))
    assert api(phone, server, "GET", f"/api/orders/{summary['id']}")["status"] == "picked"

    # One too many is refused on the device (red); undo takes it back out.
    scan(page, short_code)
    expect(row).to_have_attribute("data-state", "ok")
    scan(page, short_code)
    expect(prompt).to_have_attribute("data-state", "bad")
    expect(row).to_have_attribute("data-state", "extra")
    screen.locator('[data-part="undo"]').click()
    expect(row).to_have_attribute("data-state", "ok")
    expect(screen.locator('.pack-item[data-state="ok"]')).to_have_count(len(want))

    # The right items and the weight: packed, the tracking number and the label.
    screen.locator('[data-part="pack"]').click()
    result = screen.locator('[data-part="result"]')
    expect(result).to_be_visible()
    tracking = screen.locator('[data-part="tracking"]')
    expect(tracking).not_to_be_empty()
    page.screenshot(path=str(artifacts / "floor-pack-done-360.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    packed = api(phone, server, "GET", f"/api/orders/{summary['id']}")
    assert packed["status"] == "packed"
    assert len(packed["shipments"]) == 1
    shipment = packed["shipments"][0]
    expect(tracking).to_have_text(shipment["tracking_number"])
    href = screen.locator('[data-part="label"]').get_attribute("href")
    assert href == f"/api/shipments/{shipment['id']}/label.pdf"
    label = phone.request.get(server.url + href)
    assert label.ok and label.body()[:4] == b"%PDF"


def test_pack_offline_keeps_the_scans(live_server, phone):
    """With no network, does the Pack screen say so plainly and keep what was scanned?"""
    server = live_server
    page = phone.new_page()
    log_in(page, server, "picker@demo.haicang")
    summary, _ = make_picked_order(phone, server, page)
    page.goto(server.url + "/floor/pack")
    screen = page.locator('.screen[data-screen="pack"]')
    scan(page, summary["external_id"])
    expect(screen.locator('[data-part="parcel"]')).to_be_visible()
    first = screen.locator(".pack-item").first
    code = first.get_attribute("data-sku")
    scan(page, code)
    expect(first.locator(".pack-item-count")).to_contain_text("1 /")
    screen.locator('[data-part="weight"]').click()
    page.keyboard.type("500", delay=0)
    page.locator('#keypad [data-part="ok"]').click()

    phone.set_offline(True)
    phone.route(server.url + "/**", lambda route: route.abort("internetdisconnected"))
    screen.locator('[data-part="pack"]').click()
    offline = screen.locator('[data-part="offline"]')
    expect(offline).to_be_visible()
    expect(offline).to_have_text(ES["floor.pack_offline"])
    expect(first.locator(".pack-item-count")).to_contain_text("1 /")
    phone.unroute(server.url + "/**")
    phone.set_offline(False)
    assert api(phone, server, "GET", f"/api/orders/{summary['id']}")["status"] == "picked"
