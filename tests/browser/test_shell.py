"""The PWA shell end to end, in Debian's chromium at phone size: log-in, each role's
home, the scan field, languages, the offline shell and the API docs page."""
import gzip
import json
import struct
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from .conftest import DEMO_PASSWORD, PHONE, ROOT, wait_until

pytestmark = pytest.mark.browser

I18N = {locale: json.loads((ROOT / "static" / "src" / "i18n" / f"{locale}.json").read_text())
        for locale in ("en", "zh-CN", "es")}


def log_in(page, server, email, password=DEMO_PASSWORD):
    """Log in through the form, as a person would, and land on the home page."""
    page.goto(server.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    expect(page.locator("#home")).to_be_visible()


def api_get(context, server, path):
    """The API as the logged-in user of `context` sees it (the same cookies)."""
    response = context.request.get(server.url + path)
    assert response.ok, f"GET {path}: {response.status} {response.text()[:200]}"
    return response.json()


def count_all(context, server, path):
    count, after = 0, None
    while True:
        query = "?limit=200" + (f"&after={after}" if after else "")
        page = api_get(context, server, path + query)
        count += len(page["items"])
        after = page["next_cursor"]
        if not after:
            return count


def assert_fits_phone(page):
    """Nothing wider than the 360 px screen: no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px screen"


def small_targets(page, selector="button, input, a, select, label.check"):
    """Visible controls smaller than 48 x 48 CSS px (UX.md: gloves)."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter((el) => el.offsetParent !== null && el.type !== 'hidden'
                && el.type !== 'checkbox')
        .map((el) => { const r = el.getBoundingClientRect();
                       return {what: el.id || el.textContent.trim() || el.name,
                               w: r.width, h: r.height}; })
        .filter((r) => r.w < 48 || r.h < 48)""", selector)


def test_picker_logs_in_on_a_phone(live_server, phone, artifacts):
    """Can a picker log in on a 360 px phone and see their home?"""
    page = phone.new_page()
    page.goto(live_server.url + "/login")
    assert_fits_phone(page)
    assert small_targets(page) == []
    page.screenshot(path=str(artifacts / "login-360.png"))

    log_in(page, live_server, "picker@demo.haicang")
    es = I18N["es"]  # the demo picker's language is Spanish
    home = page.locator("#home")
    expect(home).to_have_attribute("data-role", "picker")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(home.locator("h1")).to_have_text(es["picker.title"])
    expect(page.locator("#tasks-empty")).to_contain_text(es["picker.empty"])
    expect(page.locator(".who-role")).to_contain_text("LAX1")
    expect(page.locator("#net-badge")).to_have_attribute("data-state", "online")
    expect(page.locator("#net-badge")).to_have_text(es["status.online"])

    # The scan field has the focus, so a keyboard-wedge scanner types into it.
    scan = page.locator("#scan-input")
    expect(scan).to_be_visible()
    expect(scan).to_be_focused()
    # Two scans in quick succession, as a scanner sends them: both kept, in order.
    page.keyboard.type("LAX1-A-01-01-1\n", delay=0)
    page.keyboard.type("SZHOME-0001-BLU\n", delay=0)
    expect(page.locator("#scan-last")).to_have_text("SZHOME-0001-BLU")
    expect(page.locator("#scan-log .scan-value")).to_have_text(
        ["SZHOME-0001-BLU", "LAX1-A-01-01-1"])
    expect(scan).to_have_value("")
    # A tap elsewhere on the screen gives the focus back to the scan field.
    page.locator("#home h1").click()
    expect(scan).to_be_focused()
    # The scan field is at the bottom, under the thumb, within the screen.
    box = scan.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"]
    assert box["y"] > PHONE["height"] / 2, "the scan field should sit in the lower half"
    assert box["height"] >= 48
    assert_fits_phone(page)
    assert small_targets(page) == []
    # Spanish has the longest labels: the top bar's buttons still fit on one line.
    for button in page.locator(".tools button").all():
        assert button.bounding_box()["height"] <= 56, button.text_content()
    page.wait_for_timeout(700)  # let the scan's colour flash end before the picture
    page.screenshot(path=str(artifacts / "picker-home-360.png"))

    # The scans are kept on the device: after a reload they are still listed.
    page.reload()
    expect(page.locator("#scan-log .scan-value")).to_have_text(
        ["SZHOME-0001-BLU", "LAX1-A-01-01-1"])


def test_wrong_password_shows_message_by_the_field(live_server, phone, artifacts):
    """Does a wrong password show a message next to the field and stay on /login?"""
    page = phone.new_page()
    page.goto(live_server.url + "/login")
    # Empty form: caught in the page, next to the field, without a request.
    page.click("button[type=submit]")
    expect(page.locator("#email-error")).to_have_text(I18N["en"]["err.required"])
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")

    page.fill("#email", "picker@demo.haicang")
    page.fill("#password", "not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 401
    error = page.locator("#password-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(I18N["en"]["err.bad_credentials"])
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_be_hidden()
    # The message sits right under the password field, in the same field group.
    field = page.locator(".field", has=page.locator("#password"))
    expect(field.locator(".field-error")).to_have_text(I18N["en"]["err.bad_credentials"])
    assert urlparse(page.url).path == "/login"
    assert_fits_phone(page)
    page.screenshot(path=str(artifacts / "login-wrong-password-360.png"))


def test_each_role_gets_its_own_home(live_server, chromium, artifacts):
    """Does each role get its own home?"""
    # Seller (Chinese): "My stock" rows straight from /api/stock.
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    zh = I18N["zh-CN"]
    expect(page.locator("#home")).to_have_attribute("data-role", "seller")
    expect(page.locator("#home h1")).to_have_text(zh["seller.title"])
    expect(page.locator(".stock-row").first).to_be_visible()
    api = api_get(context, live_server, "/api/stock?limit=20")
    assert api["items"], "the demo seller should have stock"
    shown = page.locator(".stock-row .stock-sku").all_text_contents()
    assert shown == [item["sku_code"] for item in api["items"]]
    first = page.locator(".stock-row").first
    expect(first.locator(".qty-big")).to_have_text(f"{api['items'][0]['available']:,}")
    expect(page.locator("#scan-input")).to_have_count(0)
    expect(page.locator("#load-more")).to_be_visible(visible=bool(api["next_cursor"]))
    assert_fits_phone(page)
    page.screenshot(path=str(artifacts / "seller-home-360.png"))
    context.close()

    # Admin: overview counts that match the API.
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                   locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "admin@demo.haicang")
    expect(page.locator("#home")).to_have_attribute("data-role", "admin")
    expect(page.locator("#home h1")).to_have_text(I18N["en"]["admin.title"])
    for key, path in (("warehouses", "/api/warehouses"), ("skus", "/api/skus"),
                      ("stock_rows", "/api/stock")):
        expected = count_all(context, live_server, path)
        assert expected > 0
        expect(page.locator(f'[data-count="{key}"]')).to_have_text(f"{expected:,}")
    expect(page.locator('[data-count="warehouses"]')).to_have_text("3")
    assert_fits_phone(page)
    assert small_targets(page) == []
    page.screenshot(path=str(artifacts / "admin-home-360.png"))
    context.close()

    # Driver: today's route (the demo's dispatched van), the next stop large.
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                   locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "driver@demo.haicang")
    expect(page.locator("#home")).to_have_attribute("data-role", "driver")
    expect(page.locator("#home h1")).to_have_text(I18N["en"]["driver.title"])
    expect(page.locator("#route-empty")).to_contain_text(I18N["en"]["driver.empty"])
    expect(page.locator(".stop-row").first).to_be_visible()
    expect(page.locator("#route-empty")).to_be_hidden()
    expect(page.locator('[data-part="stop"] [data-part="stop-kicker"]')).to_have_text(
        I18N["en"]["driver.next_stop"])
    expect(page.locator("#stock-list")).to_have_count(0)
    page.screenshot(path=str(artifacts / "driver-home-360.png"))
    context.close()


def test_stock_change_shows_live(live_server, chromium, phone):
    """Does a stock change made elsewhere show on the seller's list without a reload?"""
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    expect(page.locator(".stock-row").first).to_be_visible()
    # A row of a SKU no backordered order waits for: new units of such a SKU would
    # (rightly) be reserved for that order at once, and its available stay put.
    waiting = {line["sku_id"]
               for o in api_get(phone, live_server, "/api/orders?status=backordered")["items"]
               for line in api_get(phone, live_server, f"/api/orders/{o['id']}")["lines"]}
    first = next(row for row in api_get(phone, live_server, "/api/stock?limit=50")["items"]
                 if row["sku_id"] not in waiting)
    # Wait until the page's Socket.IO connection has joined its rooms.
    wait_until(page, "window.performance.getEntriesByType('resource')"
                           ".some((e) => e.name.includes('/socket.io/'))")
    page.wait_for_timeout(500)

    # An admin, in another browser, receives 5 more into that bin through the API.
    admin = chromium.new_context()
    try:
        admin_page = admin.new_page()
        admin_page.goto(live_server.url + "/login")
        token = admin_page.locator('meta[name="csrf-token"]').get_attribute("content")
        me = admin.request.post(live_server.url + "/api/auth/login", headers={
            "X-CSRFToken": token}, data={"email": "admin@demo.haicang",
                                         "password": DEMO_PASSWORD})
        assert me.ok, me.text()
        answer = admin.request.post(live_server.url + "/api/stock/receive", headers={
            "X-CSRFToken": me.json()["csrf_token"]}, data={
            "sku_id": first["sku_id"], "bin_id": first["bin_id"], "quantity": 5,
            "reason": "browser test"})
        assert answer.ok, answer.text()
    finally:
        admin.close()
    row = page.locator(f'.stock-row[data-key="{first["sku_id"]}:{first["bin_id"]}"]')
    expect(row.locator(".qty-big")).to_have_text(f"{first['available'] + 5:,}")


def test_home_is_painted_by_the_server(live_server, chromium):
    """Does the home show the role, name and labels before any script runs?"""
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/login")
    # The log-in form works without JavaScript too (it posts to /login).
    page.fill("#email", "picker@demo.haicang")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    es = I18N["es"]
    expect(page.locator("#home")).to_have_attribute("data-role", "picker")
    expect(page.locator("#home h1")).to_have_text(es["picker.title"])
    expect(page.locator("#who-role")).to_have_text(es["role.picker"])
    expect(page.locator("#net-badge")).to_have_text(es["status.online"])
    expect(page.locator("#scan-input")).to_be_visible()
    context.close()


def test_language_switch_follows_the_user(live_server, phone):
    """Does the language switcher change the screen at once and stick to the user?"""
    page = phone.new_page()
    log_in(page, live_server, "seller2@demo.haicang")
    original = api_get(phone, live_server, "/api/auth/me")["locale"]
    assert original == "zh-CN"
    expect(page.locator("#home h1")).to_have_text(I18N["zh-CN"]["seller.title"])
    try:
        with page.expect_response(lambda r: r.url.endswith("/api/auth/me")
                                  and r.request.method == "PATCH") as answer:
            page.click('[data-locale="en"]')
        assert answer.value.ok
        expect(page.locator("#home h1")).to_have_text(I18N["en"]["seller.title"])
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator('[data-locale="en"]')).to_have_attribute("aria-pressed", "true")
        expect(page.locator('[data-locale="zh-CN"]')).to_have_attribute("aria-pressed", "false")
        with page.expect_response(lambda r: r.url.endswith("/api/auth/me")
                                  and r.request.method == "PATCH") as answer:
            page.click('[data-locale="es"]')
        assert answer.value.ok
        expect(page.locator("#logout")).to_have_text(I18N["es"]["nav.logout"])
        expect(page).to_have_title(f"{I18N['es']['seller.title']} · Haicang 海仓")
        expect(page.locator("#net-badge")).to_have_text(I18N["es"]["status.online"])
        # The server renders the next first paint in the saved language.
        page.reload()
        expect(page.locator("#home h1")).to_have_text(I18N["es"]["seller.title"])
        assert api_get(phone, live_server, "/api/auth/me")["locale"] == "es"
    finally:
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        phone.request.patch(live_server.url + "/api/auth/me", data={"locale": original},
                            headers={"X-CSRFToken": token})
    # Log out: back to the log-in page, and the API is closed again.
    page.click("#logout")
    page.wait_for_url(live_server.url + "/login")
    assert phone.request.get(live_server.url + "/api/auth/me").status == 401


def test_app_shell_loads_offline(start_server, phone, artifacts):
    """Does the app shell load offline after a first visit?"""
    server = start_server()  # a server of its own: this test stops it
    page = phone.new_page()
    log_in(page, server, "seller@demo.haicang")
    wait_until(page, "navigator.serviceWorker && navigator.serviceWorker.controller",
                           timeout=20_000)
    # Once the worker controls the page, an online visit saves the page and the API data.
    page.reload()
    expect(page.locator(".stock-row").first).to_be_visible()
    shown_online = page.locator(".stock-row .stock-sku").all_text_contents()
    assert shown_online

    # Now no network at all: the browser is offline AND the server is gone.
    phone.set_offline(True)
    server.stop()
    page.reload()
    zh = I18N["zh-CN"]
    expect(page.locator("#home")).to_have_attribute("data-role", "seller")
    expect(page.locator("#home h1")).to_have_text(zh["seller.title"])
    badge = page.locator("#net-badge")
    expect(badge).to_have_attribute("data-state", "offline")
    expect(badge).to_have_text(zh["status.offline"])
    expect(badge).to_be_in_viewport()
    # The last data is still there, and the screen says it is the saved copy.
    expect(page.locator(".stock-row .stock-sku")).to_have_text(shown_online)
    expect(page.locator("#data-note")).to_be_visible()
    page.screenshot(path=str(artifacts / "seller-offline-360.png"))


def test_api_docs_served_without_cdn(live_server, chromium, artifacts):
    """Is the API docs page served without any CDN?"""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live_server.url + "/api/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=20_000)
    assert operations.count() > 5
    expect(page.locator(".opblock-summary-path", has_text="/api/stock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    foreign = [url for url in requests
               if not url.startswith(live_server.url + "/") and not url.startswith("data:")]
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert any("/static/dist/swagger-ui/swagger-ui-bundle.js" in url for url in requests)
    page.screenshot(path=str(artifacts / "api-docs.png"))
    context.close()


def test_first_screen_is_small_and_local(live_server, phone):
    """Does the first screen load only from our server, within 100 KB of gzipped JS?"""
    page = phone.new_page()
    scripts, hosts = {}, set()

    def seen(response):
        hosts.add(urlparse(response.url).netloc)
        if response.request.resource_type == "script" and response.ok:
            scripts[response.url] = len(gzip.compress(response.body(), 9))
    page.on("response", seen)
    page.goto(live_server.url + "/login")
    assert sum(scripts.values()) <= 100 * 1024, scripts
    scripts.clear()
    log_in(page, live_server, "admin@demo.haicang")
    page.wait_for_load_state("networkidle")
    assert scripts, "the home page should load its bundle"
    assert sum(scripts.values()) <= 100 * 1024, scripts
    assert hosts == {urlparse(live_server.url).netloc}, hosts


def test_app_is_installable(live_server, phone):
    """Is there a manifest with 192 and 512 px icons, maskable ones and a start URL?"""
    page = phone.new_page()
    page.goto(live_server.url + "/login")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = phone.request.get(live_server.url + href)
    assert manifest.ok
    data = manifest.json()
    assert data["start_url"] == "/" and data["display"] == "standalone"
    assert "海仓" in data["name"] and data["short_name"]
    sizes = {}
    for icon in data["icons"]:
        if icon["type"] != "image/png":
            continue
        body = phone.request.get(live_server.url + icon["src"]).body()
        assert body[:8] == b"\x89PNG\r\n\x1a\n", icon["src"]
        width, height = struct.unpack(">II", body[16:24])
        assert f"{width}x{height}" == icon["sizes"], icon["src"]
        sizes.setdefault(icon.get("purpose", "any"), set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert {"192x192", "512x512"} <= sizes["maskable"]
    assert page.locator('link[rel="apple-touch-icon"]').count() == 1
    assert page.locator('meta[name="theme-color"]').count() == 1
    # The service worker is served from the root so that its scope is the whole app.
    sw = phone.request.get(live_server.url + "/sw.js")
    assert sw.ok and sw.headers["service-worker-allowed"] == "/"
    assert Path(ROOT / "static" / "dist" / "sw.js").exists()
