"""The seller's order screens end to end, in Debian's chromium at phone size: the list
with its status chips and filters, one order with why it went to its warehouse, the
actions with their confirm step, seller isolation, live updates and offline use."""
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from .conftest import DEMO_PASSWORD, PHONE, ROOT, wait_until
from .orders_data import all_pages, available_by_sku, ensure_orders, make_order
from .test_shell import I18N, api_get, assert_fits_phone, log_in, small_targets

pytestmark = pytest.mark.browser

EXCEPTIONS = ["backordered", "exception", "held"]
STATUSES = ["held", "received", "backordered", "allocated", "released", "picked", "packed",
            "shipped", "delivered", "cancelled", "exception", "fulfilled_by_channel"]
TARGETS = "button, input, a, select, summary, label.check"


class AdminApi:
    """The JSON API as the demo admin, through a browser context of its own (session
    cookie + X-CSRFToken, as the PWA calls it)."""

    def __init__(self, chromium, server):
        self.server = server
        self.context = chromium.new_context()
        page = self.context.new_page()
        page.goto(server.url + "/login")
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        page.close()
        me = self.context.request.post(server.url + "/api/auth/login", headers={
            "X-CSRFToken": token}, data={"email": "admin@demo.haicang",
                                         "password": DEMO_PASSWORD})
        assert me.ok, me.text()
        self.token = me.json()["csrf_token"]

    def __call__(self, method, path, body=None, expect_ok=True):
        response = self.context.request.fetch(
            self.server.url + path, method=method, data=body,
            headers={"X-CSRFToken": self.token} if method != "GET" else {})
        if expect_ok:
            assert response.ok, f"{method} {path}: {response.status} {response.text()[:300]}"
        return response.json()

    def seller_id(self, email):
        return next(u["seller_id"] for u in all_pages(self, "/api/users") if u["email"] == email)

    def reserved(self, sku_id):
        return sum(r["reserved"] for r in all_pages(self, "/api/stock") if r["sku_id"] == sku_id)

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def admin_api(live_server, chromium):
    api = AdminApi(chromium, live_server)
    yield api
    api.close()


@pytest.fixture(scope="module")
def sellers(admin_api):
    """The two demo sellers' ids, each with allocated, backordered and split orders
    (the demo's own, or made here through the API when the demo has none)."""
    ids = {"seller": admin_api.seller_id("seller@demo.haicang"),
           "seller2": admin_api.seller_id("seller2@demo.haicang")}
    for seller_id in ids.values():
        found = ensure_orders(admin_api, seller_id)
        assert {"allocated", "backordered"} <= set(found), found
    return ids


def fresh_order(admin_api, seller_id, quantity=1):
    """A new allocated single-line order of `quantity` units, for a test to change."""
    free = available_by_sku(admin_api, seller_id)
    sku = next(s for s, per in free.items() if max(per.values()) >= quantity + 1)
    order = make_order(admin_api, seller_id, [(sku, quantity, 1500)], prefix="UI", channel="manual")
    assert order["status"] == "allocated", order
    return order


def chips(page):
    """The status chips as (status, count) in screen order; "" is All."""
    out = []
    for chip in page.locator("#orders .chip").all():
        out.append((chip.get_attribute("data-status"),
                    int(re.sub(r"\D", "", chip.locator(".chip-count").inner_text()))))
    return out


def list_settled(page):
    """Until the list shows the API's answer for the URL's filters (while it waits,
    the previous cards stay on screen, dimmed)."""
    expect(page.locator("#order-list")).not_to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator('#orders [data-part="status"]')).to_be_hidden()


def wait_live(page):
    """Until the page's Socket.IO connection has joined its rooms."""
    wait_until(page, "document.documentElement.dataset.live === '1'", timeout=15_000)


def test_seller_filters_by_status_and_sees_why(live_server, phone, admin_api, sellers, artifacts):
    """Can a seller on a 360 px phone filter orders by status and open one to see why
    it went to its warehouse?"""
    zh = I18N["zh-CN"]  # the demo seller reads Chinese
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")

    # The Orders tab, at the bottom under the thumb.
    tab = page.locator('.tabbar [data-tab="orders"]')
    expect(tab).to_have_text(zh["nav.orders"])
    box = tab.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] and box["height"] >= 48
    tab.click()
    page.wait_for_url(live_server.url + "/orders")
    expect(tab).to_have_attribute("aria-current", "page")
    expect(page.locator("#orders h1")).to_have_text(zh["orders.title"])
    expect(page).to_have_title(f"{zh['orders.title']} · Haicang 海仓")
    expect(page.locator("#orders .order-card").first).to_be_visible()

    # Chips: All first, then the exceptions, then the rest by count; the counts are
    # what the API says, and a status without orders has no chip.
    mine = all_pages(admin_api, f"/api/orders?seller_id={sellers['seller']}")
    per_status = {s: sum(1 for o in mine if o["status"] == s) for s in STATUSES}
    expect(page.locator("#orders .chip").first).to_have_attribute("data-status", "")
    shown = chips(page)
    assert shown[0] == ("", len(mine))
    statuses = [s for s, _ in shown[1:]]
    assert all(per_status[s] == n and n > 0 for s, n in shown[1:]), (shown, per_status)
    assert set(statuses) == {s for s, n in per_status.items() if n}
    exceptions = [s for s in statuses if s in EXCEPTIONS]
    assert statuses[:len(exceptions)] == exceptions, "exceptions come first"
    rest = [per_status[s] for s in statuses[len(exceptions):]]
    assert rest == sorted(rest, reverse=True)
    backordered_chip = page.locator('#orders .chip[data-status="backordered"]')
    expect(backordered_chip).to_contain_text(zh["order_status.backordered"])
    assert "chip-alert" in backordered_chip.get_attribute("class")

    # The cards: the API's first page, newest first, with what a seller looks for.
    first_page = admin_api("GET", f"/api/orders?seller_id={sellers['seller']}&limit=20")
    ids = [int(i) for i in page.locator("#orders .order-card").evaluate_all(
        "(cards) => cards.map((c) => c.dataset.id)")]
    assert ids == [o["id"] for o in first_page["items"]]
    top = first_page["items"][0]
    card = page.locator(f'#orders .order-card[data-id="{top["id"]}"]')
    expect(card.locator(".order-ext")).to_have_text(top["external_id"])
    expect(card.locator(".status")).to_have_text(zh[f"order_status.{top['status']}"])
    expect(card.locator(".channel")).to_have_text(zh[f"channel.{top['channel']}"])
    expect(card.locator(".order-where")).to_have_text(
        f"{top['ship_to_city']}, {top['ship_to_state']}")
    expect(card.locator(".order-wh")).to_have_text(" · ".join(top["warehouses"]))
    expect(card.locator(".order-total")).to_contain_text(f"{top['total_cents'] / 100:,.2f}")
    expect(card.locator(".order-units")).to_contain_text(str(top["units"]))
    assert_fits_phone(page)
    assert small_targets(page, TARGETS) == []

    # Filter: allocated. The URL says so (reload and back work), every card agrees.
    page.locator('#orders .chip[data-status="allocated"]').click()
    page.wait_for_url(re.compile(r"/orders\?status=allocated$"))
    list_settled(page)
    allocated = [o for o in mine if o["status"] == "allocated"]
    expect(page.locator("#orders .order-card")).to_have_count(min(len(allocated), 20))
    for badge in page.locator("#orders .order-card .status").all_text_contents():
        assert badge == zh["order_status.allocated"]
    expect(page.locator('#orders .chip[data-status="allocated"]')).to_have_attribute(
        "aria-current", "true")
    page.screenshot(path=str(artifacts / "orders-list-360.png"))

    # Open the order split across warehouses (else the newest allocated one).
    chosen = next((o for o in allocated if len(o["warehouses"]) > 1), allocated[0])
    page.locator(f'#orders .order-card[data-id="{chosen["id"]}"]').click()
    page.wait_for_url(live_server.url + f"/orders/{chosen['id']}")
    detail = admin_api("GET", f"/api/orders/{chosen['id']}")
    reason = detail["allocation_reason"]
    expect(page.locator("#order h1")).to_have_text(detail["external_id"])
    expect(page.locator("#order .order-head .status")).to_have_text(zh["order_status.allocated"])
    why = page.locator("#why")
    expect(why.locator("h2")).to_have_text(zh["order.why"])
    # The reason in the seller's language, as the API renders it for the seller.
    seller_reason = api_get(phone, live_server, f"/api/orders/{chosen['id']}")[
        "allocation_reason"]
    expect(why.locator(".why-text")).to_have_text(seller_reason["why"])
    expect(why.locator(".why-strategy")).to_contain_text(zh[f"order.strategy.{reason['strategy']}"])
    rows = why.locator("table.cands tbody tr")
    expect(rows).to_have_count(len(reason["candidates"]))
    assert rows.evaluate_all("(rs) => rs.map((r) => r.dataset.code)") == \
        [c["code"] for c in reason["candidates"]]
    assert sorted(why.locator("tr.winner").evaluate_all("(rs) => rs.map((r) => r.dataset.code)")) \
        == sorted(reason["winners"])
    for candidate in reason["candidates"]:
        row = why.locator(f'tr[data-code="{candidate["code"]}"]')
        if candidate.get("excluded"):
            expect(row.locator(".c-excluded")).to_be_visible()
            continue
        expect(row.locator(".c-all")).to_contain_text("✓" if candidate["can_fill_all"] else "✗")
        expect(row.locator(".c-distance")).to_contain_text(f"{round(candidate['distance_mi']):,}")
        if candidate["cost_cents"] is not None:
            expect(row.locator(".c-cost")).to_contain_text(f"{candidate['cost_cents'] / 100:,.2f}")
            expect(row.locator(".c-days")).to_contain_text(str(candidate["transit_days"]))
    # Each line says where its units ship from.
    for line in detail["lines"]:
        shown_line = page.locator(f'#order .line[data-line-id="{line["id"]}"]')
        expect(shown_line.locator(".line-sku")).to_have_text(line["sku_code"])
        for alloc in line["allocated"]:
            expect(shown_line.locator(".alloc", has_text=alloc["warehouse_code"])).to_contain_text(
                str(alloc["quantity"]))
    expect(page.locator("#order .timeline .event")).to_have_count(len(detail["events"]))
    assert_fits_phone(page)
    assert small_targets(page, TARGETS) == []
    # The panel's top just under the sticky top bar, for the picture.
    why.evaluate("(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY"
                 " - document.querySelector('.topbar').offsetHeight - 8)")
    page.screenshot(path=str(artifacts / "order-why-360.png"))

    # The back button returns to the filtered list; a reload of a detail URL works.
    page.go_back()
    page.wait_for_url(re.compile(r"/orders\?status=allocated$"))
    expect(page.locator('#orders .chip[data-status="allocated"]')).to_have_attribute(
        "aria-current", "true")
    expect(page.locator(f'#orders .order-card[data-id="{chosen["id"]}"]')).to_be_visible()
    page.go_forward()
    expect(page.locator("#order h1")).to_have_text(detail["external_id"])
    page.reload()
    expect(page.locator("#order h1")).to_have_text(detail["external_id"])
    expect(page.locator("#why .why-text")).to_have_text(seller_reason["why"])


def test_home_points_at_orders_that_need_a_look(live_server, phone, sellers):
    """Does the seller's home point at the orders that need a look, exceptions first,
    one tap from the list filtered to them?"""
    zh = I18N["zh-CN"]
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    counts = phone.request.get(live_server.url + "/api/orders/counts").json()["counts"]
    expected = [s for s in EXCEPTIONS if counts[s]]
    assert expected, "the demo seller has a backordered order"
    items = page.locator("#home .attention-item")
    expect(items).to_have_count(len(expected))
    assert items.evaluate_all("(links) => links.map((a) => a.dataset.status)") == expected
    expect(items.first.locator(".status")).to_have_text(zh[f"order_status.{expected[0]}"])
    expect(items.first).to_contain_text(str(counts[expected[0]]))
    assert small_targets(page, TARGETS) == []
    items.first.click()
    page.wait_for_url(re.compile(rf"/orders\?status={expected[0]}$"))
    list_settled(page)
    expect(page.locator("#orders .order-card")).to_have_count(min(counts[expected[0]], 20))
    for badge in page.locator("#orders .order-card .status").all_text_contents():
        assert badge == zh[f"order_status.{expected[0]}"]
    # Back is the home again, without a page load.
    page.evaluate("window.__notReloaded = true")
    page.go_back()
    expect(page.locator("#home h1")).to_have_text(zh["seller.title"])
    expect(page.locator('.tabbar [data-tab="home"]')).to_have_attribute("aria-current", "page")
    assert page.evaluate("window.__notReloaded === true")


def test_cancelling_an_order_releases_it(live_server, phone, admin_api, sellers, artifacts):
    """Does cancelling an order from its screen release it and show the new status?"""
    order = fresh_order(admin_api, sellers["seller"], quantity=2)
    sku_id = admin_api("GET", f"/api/orders/{order['id']}")["lines"][0]["sku_id"]
    reserved_before = admin_api.reserved(sku_id)
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    # In English this time (the seller's setting; put back to Chinese at the end).
    with page.expect_response(lambda r: r.url.endswith("/api/auth/me")
                              and r.request.method == "PATCH"):
        page.click('[data-locale="en"]')
    en = I18N["en"]
    try:
        page.goto(live_server.url + f"/orders/{order['id']}")
        expect(page.locator("#order h1")).to_have_text(order["external_id"])
        expect(page.locator("#order .order-head .status")).to_have_text(en["order_status.allocated"])

        # The first tap only asks; "Keep order" changes nothing.
        cancel = page.locator("#order-cancel")
        expect(cancel).to_have_text(en["order.cancel"])
        box = cancel.bounding_box()
        assert box["height"] >= 48 and box["y"] > PHONE["height"] / 2, "under the thumb"
        cancel.click()
        expect(page.locator(".confirm-title")).to_have_text(
            en["order.cancel_title"].format(id=order["external_id"]))
        page.locator('[data-act="keep"]').click()
        expect(page.locator(".confirm-title")).to_have_count(0)
        assert admin_api("GET", f"/api/orders/{order['id']}")["status"] == "allocated"

        cancel.click()
        page.fill("#cancel-reason", "customer changed their mind")
        assert_fits_phone(page)
        page.screenshot(path=str(artifacts / "order-cancel-confirm-360.png"))
        with page.expect_response(lambda r: r.url.endswith(f"/api/orders/{order['id']}/cancel")) as answer:
            page.locator('[data-act="confirm-cancel"]').click()
        assert answer.value.ok
        expect(page.locator("#order .order-head .status")).to_have_text(en["order_status.cancelled"])
        expect(page.locator("#toast")).to_have_text(
            en["order.cancelled_toast"].format(id=order["external_id"]))
        expect(page.locator("#order-cancel")).to_have_count(0)  # nothing left to cancel
        expect(page.locator("#order .timeline .event").first).to_contain_text(
            "customer changed their mind")

        # The API agrees, and the reserved stock went back on the shelf.
        after = admin_api("GET", f"/api/orders/{order['id']}")
        assert after["status"] == "cancelled"
        assert all(line["open_quantity"] == 0 and line["allocated"] == [] for line in after["lines"])
        assert admin_api.reserved(sku_id) == reserved_before - 2
        # The list shows it cancelled too.
        page.locator('.tabbar [data-tab="orders"]').click()
        expect(page.locator(f'#orders .order-card[data-id="{order["id"]}"] .status')).to_have_text(
            en["order_status.cancelled"])
    finally:
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        phone.request.patch(live_server.url + "/api/auth/me", data={"locale": "zh-CN"},
                            headers={"X-CSRFToken": token})


def test_cancelling_units_of_a_line(live_server, phone, admin_api, sellers):
    """Can a seller cancel some units of a line after a confirm step, with the API's
    complaint shown next to the quantity when the order changed meanwhile?"""
    order = fresh_order(admin_api, sellers["seller"], quantity=3)
    line = admin_api("GET", f"/api/orders/{order['id']}")["lines"][0]
    zh = I18N["zh-CN"]
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    page.goto(live_server.url + f"/orders/{order['id']}")
    shown = page.locator(f'#order .line[data-line-id="{line["id"]}"]')
    expect(shown.locator(".qty-big")).to_have_text("3")
    wait_live(page)

    shown.locator(".line-cancel-open").click()
    qty = page.locator(f"#line-{line['id']}-qty")
    expect(qty).to_be_focused()
    submit = shown.locator("button[type=submit]")
    # Checked on the phone first: more than the line has is refused by the field.
    qty.fill("5")
    submit.click()
    error = page.locator(f"#line-{line['id']}-qty-error")
    expect(error).to_have_text(zh["order.err_quantity"].format(max="3"))
    expect(qty).to_have_attribute("aria-invalid", "true")
    assert_fits_phone(page)

    # Meanwhile someone else cancels 2 of the 3 units: the server now refuses 3, and
    # says so next to the quantity, with the number it allows.
    admin_api("POST", f"/api/orders/{order['id']}/lines/{line['id']}/cancel",
              {"quantity": 2, "reason": "other device"})
    qty.fill("3")
    expect(submit).to_have_text(zh["order.cancel_units_n.other"].format(n="3"))
    with page.expect_response(lambda r: "/cancel" in r.url and r.request.method == "POST") as answer:
        submit.click()
    assert answer.value.status == 422
    assert "quantity" in answer.value.json()["fields"]
    expect(error).to_have_text(zh["order.err_quantity"].format(max="1"))
    assert admin_api("GET", f"/api/orders/{order['id']}")["lines"][0]["quantity_cancelled"] == 2

    # Back (the form closes and the screen catches up), then cancel the last unit.
    shown.locator(".line-cancel button[type=button]").click()
    expect(shown.locator(".qty-big")).to_have_text("1")
    expect(shown.locator(".alloc-cancelled")).to_contain_text("2")
    shown.locator(".line-cancel-open").click()
    expect(submit).to_have_text(zh["order.cancel_units_n.other"].format(n="1"))
    submit.click()
    expect(shown.locator(".qty-big")).to_have_text("0")
    after = admin_api("GET", f"/api/orders/{order['id']}")
    assert after["lines"][0]["quantity_cancelled"] == 3 and after["lines"][0]["allocated"] == []


def test_seller_never_sees_another_sellers_orders(live_server, phone, admin_api, sellers):
    """Does a seller never see another seller's orders in the list?"""
    theirs = all_pages(admin_api, f"/api/orders?seller_id={sellers['seller']}")
    mine = all_pages(admin_api, f"/api/orders?seller_id={sellers['seller2']}")
    assert theirs and mine
    page = phone.new_page()
    log_in(page, live_server, "seller2@demo.haicang")
    page.goto(live_server.url + "/orders")
    expect(page.locator("#orders .order-card").first).to_be_visible()
    more = page.locator("#orders-more")
    while more.is_visible():
        count = page.locator("#orders .order-card").count()
        more.click()
        expect(page.locator("#orders .order-card")).not_to_have_count(count)
    shown = {int(i) for i in page.locator("#orders .order-card").evaluate_all(
        "(cards) => cards.map((c) => c.dataset.id)")}
    assert shown == {o["id"] for o in mine}
    assert not shown & {o["id"] for o in theirs}
    assert chips(page)[0] == ("", len(mine))

    # Searching for the other seller's order number finds nothing...
    page.fill("#order-q", theirs[0]["external_id"])
    page.wait_for_url(re.compile(r"q="))
    list_settled(page)
    expect(page.locator("#orders .order-card")).to_have_count(0)
    expect(page.locator('#orders [data-part="empty"]')).to_be_visible()
    # ...its URL is "not found", the same as an order that does not exist...
    response = page.goto(live_server.url + f"/orders/{theirs[0]['id']}")
    assert response.status == 404
    expect(page.locator("#order .empty-title")).to_have_text(I18N["zh-CN"]["order.not_found"])
    expect(page.locator("#order")).not_to_contain_text(theirs[0]["external_id"])
    # ...and so is the API, even filtered by the other seller.
    assert phone.request.get(live_server.url + f"/api/orders/{theirs[0]['id']}").status == 404
    leaked = phone.request.get(
        live_server.url + f"/api/orders?seller_id={sellers['seller']}&limit=200").json()
    assert not {o["id"] for o in leaked["items"]} & {o["id"] for o in theirs}
    counts = phone.request.get(live_server.url + "/api/orders/counts").json()
    assert counts["total"] == len(mine)


def test_order_list_updates_live(live_server, phone, admin_api, sellers):
    """Does the order list update live when an order changes?"""
    order = fresh_order(admin_api, sellers["seller"])
    zh = I18N["zh-CN"]
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    page.goto(live_server.url + "/orders")
    badge = page.locator(f'#orders .order-card[data-id="{order["id"]}"] .status')
    expect(badge).to_have_text(zh["order_status.allocated"])
    cancelled_before = dict(chips(page)).get("cancelled", 0)
    wait_live(page)
    page.evaluate("window.__notReloaded = true")

    # An admin cancels it elsewhere, through the API.
    admin_api("POST", f"/api/orders/{order['id']}/cancel", {"reason": "live test"})
    expect(badge).to_have_text(zh["order_status.cancelled"])
    expect(page.locator('#orders .chip[data-status="cancelled"] .chip-count')).to_have_text(
        str(cancelled_before + 1))
    assert page.evaluate("window.__notReloaded === true"), "the page must not reload"

    # A new order is announced, and shown on a tap.
    created = fresh_order(admin_api, sellers["seller"])
    news = page.locator('#orders [data-part="news"]')
    expect(news).to_be_visible()
    news.click()
    expect(page.locator("#orders .order-card").first).to_have_attribute("data-id", str(created["id"]))
    assert page.evaluate("window.__notReloaded === true")


def test_orders_work_offline_from_saved_data(start_server, phone, artifacts):
    """Do the order screens show the last data offline, saying it is the saved copy?"""
    server = start_server()  # a server of its own: this test stops it
    page = phone.new_page()
    log_in(page, server, "seller@demo.haicang")
    wait_until(page, "navigator.serviceWorker && navigator.serviceWorker.controller",
                           timeout=20_000)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    seller_id = phone.request.get(server.url + "/api/auth/me").json()["seller_id"]

    def call(method, path, body=None):
        response = phone.request.fetch(server.url + path, method=method, data=body,
                                       headers={"X-CSRFToken": token})
        assert response.ok, response.text()
        return response.json()
    ensure_orders(call, seller_id)  # the seller makes its own when the demo has none

    # Online visits with the worker in control save the pages and their API answers.
    page.goto(server.url + "/orders")
    expect(page.locator("#orders .order-card").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    ids = page.locator("#orders .order-card").evaluate_all("(cs) => cs.map((c) => c.dataset.id)")
    assert len(ids) >= 2
    page.locator(f'#orders .order-card[data-id="{ids[0]}"]').click()
    expect(page.locator("#why")).to_be_visible()
    title = page.locator("#order h1").inner_text()
    page.wait_for_load_state("networkidle")

    phone.set_offline(True)
    server.stop()
    zh = I18N["zh-CN"]
    page.goto(server.url + "/orders")
    expect(page.locator("#net-badge")).to_have_attribute("data-state", "offline")
    expect(page.locator("#orders .order-card")).to_have_count(len(ids))
    expect(page.locator("#data-note")).to_be_visible()
    expect(page.locator("#data-note")).to_have_text(zh["status.saved_data"])
    assert_fits_phone(page)
    page.screenshot(path=str(artifacts / "orders-offline-360.png"))
    # The saved order opens from the list; one never opened says it is not saved.
    page.locator(f'#orders .order-card[data-id="{ids[0]}"]').click()
    expect(page.locator("#order h1")).to_have_text(title)
    expect(page.locator("#why")).to_be_visible()
    expect(page.locator("#data-note")).to_be_visible()
    page.go_back()
    page.locator(f'#orders .order-card[data-id="{ids[1]}"]').click()
    expect(page.locator('#order [data-part="status"]')).to_have_text(zh["order.no_saved"])
    # A reload of an order page with no network still gets the app, and its data.
    page.goto(server.url + f"/orders/{ids[0]}")
    expect(page.locator("#order h1")).to_have_text(title)
    # Actions need the network, and say so.
    cancel = page.locator("#order-cancel")
    if cancel.count():
        cancel.click()
        page.locator('[data-act="confirm-cancel"]').click()
        expect(page.locator(".order-actions .form-error")).to_have_text(zh["err.offline_action"])


def test_order_list_is_painted_by_the_server(live_server, chromium, sellers):
    """Does the order list, filtered by its URL, show before (and without) any script?"""
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/login")
    page.fill("#email", "seller@demo.haicang")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/orders?status=backordered")
    zh = I18N["zh-CN"]
    expect(page.locator("#orders h1")).to_have_text(zh["orders.title"])
    cards = page.locator("#orders .order-card")
    expect(cards.first).to_be_visible()
    for badge in cards.locator(".status").all_text_contents():
        assert badge == zh["order_status.backordered"]
    selected = page.locator('#orders .chip[aria-current="true"]')
    expect(selected).to_have_attribute("data-status", "backordered")
    assert min(int(selected.locator(".chip-count").inner_text()), 20) == cards.count()
    # Chips are plain links: All goes back to every order.
    page.locator('#orders .chip[data-status=""]').click()
    page.wait_for_url(live_server.url + "/orders")
    assert cards.count() > 0
    # The filters are a GET form.
    page.locator("#orders summary").click()
    page.select_option("#f-channel", "shopify")
    page.click("#orders button[type=submit]")
    assert parse_qs(urlparse(page.url).query)["channel"] == ["shopify"]
    for badge in cards.locator(".channel").all_text_contents():
        assert badge == zh["channel.shopify"]
    context.close()


def test_order_words_exist_in_every_language():
    """Is every word of the order screens, every status among them, in English,
    Chinese and Spanish?"""
    keys = {locale: set(words) for locale, words in I18N.items()}
    assert keys["en"] == keys["zh-CN"] == keys["es"]
    for status in STATUSES:
        for locale, words in I18N.items():
            assert words.get(f"order_status.{status}"), (locale, status)
    used = set()
    for source in ("orders.js", "format.js", "router.js", "app.js"):
        text = (ROOT / "static" / "src" / source).read_text()
        used |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_.]+)'", text))
        used |= {k + ".other" for k in re.findall(r"\btn\('([a-z_]+\.[a-z_.]+)'", text)}
    for template in (ROOT / "templates").rglob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+\.[a-z_.]+)'\)", template.read_text()))
        used |= set(re.findall(r'data-i18n="([a-z_]+\.[a-z_.]+)"', template.read_text()))
    missing = sorted(k for k in used if k not in keys["en"])
    assert missing == []
    assert json.loads((ROOT / "static" / "src" / "i18n" / "es.json").read_text())[
        "order_status.backordered"] != I18N["en"]["order_status.backordered"]
