"""The warehouse floor end to end, in Debian's chromium at phone size (issue #5): a
picker's pick list scanned offline with a wedge scanner, kept through a reload,
pushed once back online, with the stock change live in another browser."""
import json

import pytest
from playwright.sync_api import expect

from .conftest import DEMO_PASSWORD, PHONE, ROOT, wait_until

pytestmark = pytest.mark.browser

I18N = {locale: json.loads((ROOT / "static" / "src" / "i18n" / f"{locale}.json").read_text())
        for locale in ("en", "zh-CN", "es")}
ES = I18N["es"]  # the demo picker's language


def log_in(page, server, email, password=DEMO_PASSWORD):
    page.goto(server.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    expect(page.locator("#home")).to_be_visible()


def api(context, server, method, path, body=None):
    """The API as the logged-in user of `context` (its cookies, a fresh CSRF token)."""
    headers = {}
    if method != "GET":
        token = context.request.get(server.url + "/api/auth/csrf").json()["csrf_token"]
        headers["X-CSRFToken"] = token
        headers["Content-Type"] = "application/json"
    response = context.request.fetch(server.url + path, method=method, headers=headers,
                                     data=json.dumps(body) if body is not None else None)
    assert response.ok, f"{method} {path}: {response.status} {response.text()[:300]}"
    return response.json()


def boot(page):
    return page.evaluate("JSON.parse(document.getElementById('boot').textContent)")


def release_wave(context, server, page, max_orders=1):
    warehouse_id = boot(page)["warehouses"][0]["id"]
    return api(context, server, "POST", "/api/waves",
               {"warehouse_id": warehouse_id, "max_orders": max_orders})


def scan(page, code):
    """A keyboard-wedge scanner: the code typed fast, then Enter."""
    page.keyboard.type(code + "\n", delay=0)


def outbox(page):
    """The device's outbox, as IndexedDB holds it."""
    return page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open('haicang');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('outbox').objectStore('outbox').getAll();
          get.onsuccess = () => { resolve(get.result); open.result.close(); };
        };
      })""")


def ledger(context, server, **query):
    items, after = [], None
    while True:
        q = "&".join(f"{k}={v}" for k, v in {**query, "limit": 200}.items())
        page = api(context, server, "GET", f"/api/ledger?{q}" + (f"&after={after}" if after else ""))
        items += page["items"]
        after = page["next_cursor"]
        if not after:
            return items


def open_pick(page, server, task_id):
    page.goto(f"{server.url}/floor/pick/{task_id}")
    card = page.locator('.screen[data-screen="pick"] [data-part="card"]')
    expect(card).to_be_visible()
    expect(page.locator("#scan-pick")).to_be_focused()
    return card


def test_pick_list_offline_end_to_end(live_server, chromium, phone, artifacts):
    """Can a picker scan a whole pick list with no network, keep it through a reload
    offline, and have the server apply each scan exactly once when back online, while
    an admin elsewhere watches the stock change live?"""
    server = live_server
    page = phone.new_page()
    log_in(page, server, "picker@demo.haicang")
    wait_until(page, "navigator.serviceWorker && navigator.serviceWorker.controller",
                           timeout=20_000)
    task = release_wave(phone, server, page, max_orders=2)
    lines = task["lines"]
    assert lines and task["kind"] == "pick"
    walked = [line["bin_code"] for line in lines]
    assert walked == sorted(walked), "the pick list should be in walking order"

    # My tasks lists it (from the data pulled onto the device).
    page.goto(server.url + "/floor")
    expect(page.locator(f'.screen[data-screen="tasks"] a[data-task-id="{task["id"]}"]')).to_be_visible()
    expect(page.locator("#sync-pending")).to_have_attribute("data-count", "0")
    page.screenshot(path=str(artifacts / "floor-tasks-360.png"))

    # An admin, in another browser, watches the first line's stock row.
    first = lines[0]
    admin = chromium.new_context(viewport=PHONE, locale="en-US")
    admin_page = admin.new_page()
    log_in(admin_page, server, "admin@demo.haicang")
    admin_page.goto(f"{server.url}/stock?sku_id={first['sku_id']}&warehouse_id={task['warehouse_id']}")
    row = admin_page.locator(f'.stock-row[data-key="{first["sku_id"]}:{first["bin_id"]}"]')
    expect(row).to_be_visible()
    wait_until(admin_page, "document.documentElement.dataset.live === '1'")
    stock_before = next(s for s in api(admin, server, "GET",
                                       f"/api/stock?sku_id={first['sku_id']}&limit=200")["items"]
                        if s["bin_id"] == first["bin_id"])
    ledger_before = {line["id"]: len(ledger(admin, server, kind="pick", sku_id=line["sku_id"],
                                            bin_id=line["bin_id"])) for line in lines}

    # Open the pick list online: its lines are now kept on the device.
    card = open_pick(page, server, task["id"])
    expect(card.locator('[data-part="bin"]')).to_have_text(first["bin_code"])
    expect(card.locator('[data-part="sku"]')).to_have_text(first["sku_code"])
    page.screenshot(path=str(artifacts / "floor-pick-360.png"))

    # No network at all: the browser is offline and the server unreachable, for the
    # page and for the service worker (PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS).
    phone.set_offline(True)
    phone.route(server.url + "/**", lambda route: route.abort("internetdisconnected"))
    expect(page.locator("#net-badge")).to_have_attribute("data-state", "offline")

    # Location first: the bin, then the item, once per unit.
    scans = 0
    for line in lines:
        expect(card.locator('[data-part="bin"]')).to_have_text(line["bin_code"])
        scan(page, line["bin_code"])
        barcode = (line["barcodes"] or [line["sku_code"]])[0]
        for _ in range(line["open_quantity"]):
            scan(page, barcode)
            scans += 1
    expect(page.locator('.screen[data-screen="pick"] [data-part="done"]')).to_be_visible()
    pending = page.locator("#sync-pending")
    expect(pending).to_have_attribute("data-count", str(scans))
    expect(pending).to_have_text(ES["sync.pending"].format(n=scans))
    expect(page.locator('.screen[data-screen="pick"] .mutation[data-status="pending"]')).to_have_count(
        min(scans, 8))
    page.screenshot(path=str(artifacts / "floor-pick-offline-360.png"))

    # A reload with no network: the shell from the service worker, the queue from
    # IndexedDB, still pending.
    page.reload()
    expect(page.locator("#net-badge")).to_have_attribute("data-state", "offline")
    expect(pending).to_have_attribute("data-count", str(scans))
    expect(page.locator('.screen[data-screen="pick"] [data-part="done"]')).to_be_visible()
    expect(page.locator('.screen[data-screen="pick"] .mutation[data-status="pending"]')).to_have_count(
        min(scans, 8))
    rows = outbox(page)
    assert [r["id"] for r in rows] == list(range(1, scans + 1))
    assert {r["status"] for r in rows} == {"pending"}
    page.screenshot(path=str(artifacts / "floor-pick-offline-reload-360.png"))

    # Back online: the outbox goes by itself (the online event).
    phone.unroute(server.url + "/**")
    phone.set_offline(False)
    expect(pending).to_have_attribute("data-count", "0", timeout=20_000)
    expect(pending).to_have_text(ES["sync.all_synced"])
    expect(page.locator('.screen[data-screen="pick"] .mutation[data-status="synced"]')).to_have_count(
        min(scans, 8))
    rows = outbox(page)
    assert [r["id"] for r in rows] == list(range(1, scans + 1))
    assert {r["status"] for r in rows} == {"synced"}
    assert not any(r.get("replayed") for r in rows)
    page.screenshot(path=str(artifacts / "floor-pick-synced-360.png"))

    # The server: every scan applied once, the task done, the ledger right.
    done = api(admin, server, "GET", f"/api/tasks/{task['id']}")
    assert done["status"] == "done"
    assert all(line["open_quantity"] == 0 and line["quantity_short"] == 0
               for line in done["lines"])
    for line in lines:
        moves = ledger(admin, server, kind="pick", sku_id=line["sku_id"], bin_id=line["bin_id"])
        new = moves[ledger_before[line["id"]]:]
        assert len(new) >= line["open_quantity"]  # one movement per unit scanned
    total_new = sum(len(ledger(admin, server, kind="pick", sku_id=line["sku_id"],
                               bin_id=line["bin_id"])) - ledger_before[line["id"]]
                    for line in {(l["sku_id"], l["bin_id"]): l for l in lines}.values())
    assert total_new == scans, "each scan should be one pick in the ledger, applied once"

    # The admin's stock row changed live, without a reload.
    picked_first = sum(l["open_quantity"] for l in lines
                       if (l["sku_id"], l["bin_id"]) == (first["sku_id"], first["bin_id"]))
    on_hand = stock_before["on_hand"] - picked_first
    reserved = stock_before["reserved"] - picked_first
    en = I18N["en"]
    expect(row.locator(".qty-small")).to_have_text(
        f"{en['stock.on_hand']} {on_hand:,} · {en['stock.reserved']} {reserved:,}")
    admin_page.screenshot(path=str(artifacts / "floor-admin-stock-live-360.png"))
    admin.close()


def test_wrong_item_is_refused_on_the_device(live_server, phone, artifacts):
    """Is a wrong bin or a wrong item refused at once on the device, with a clear
    message, and nothing queued for it?"""
    server = live_server
    page = phone.new_page()
    log_in(page, server, "picker@demo.haicang")
    task = release_wave(phone, server, page)
    line = task["lines"][0]
    card = open_pick(page, server, task["id"])
    prompt = page.locator('.screen[data-screen="pick"] [data-part="prompt"]')

    # The item before its bin: refused, the bin named.
    scan(page, line["sku_code"])
    expect(prompt).to_have_attribute("data-state", "bad")
    expect(prompt).to_have_text(ES["floor.scan_bin_first"].format(bin=line["bin_code"]))
    # A wrong bin.
    scan(page, "Z-99-99-9")
    expect(prompt).to_have_text(ES["floor.wrong_bin"].format(bin=line["bin_code"], code="Z-99-99-9"))
    # The right bin, then a wrong item.
    scan(page, line["bin_code"])
    expect(card).to_have_attribute("data-step", "item")
    scan(page, "SOMETHING-ELSE-123")
    expect(prompt).to_have_attribute("data-state", "bad")
    expect(prompt).to_have_text(ES["floor.wrong_item"].format(sku=line["sku_code"],
                                                             code="SOMETHING-ELSE-123"))
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "floor-pick-wrong-item-360.png"))
    assert [r for r in outbox(page) if r.get("task_id") == task["id"]] == []
    expect(page.locator("#sync-pending")).to_have_attribute("data-count", "0")


def test_two_quick_wedge_scans_are_both_kept_in_order(live_server, phone, artifacts):
    """Are two scans a fraction of a second apart both kept, in order, each its own
    mutation, and is the last one undone on request?"""
    server = live_server
    page = phone.new_page()
    log_in(page, server, "picker@demo.haicang")
    page.goto(server.url + "/floor/receive")
    expect(page.locator("#scan-receive")).to_be_focused()
    before = len(outbox(page))
    # A bin and two items, as fast as a scanner types, without waiting in between.
    page.keyboard.type("RECV-01\nSZHOME-001\nSZHOME-002\n", delay=0)
    log = page.locator('.screen[data-screen="receive"] .mutation')
    expect(log).to_have_count(2)
    rows = outbox(page)[before:]
    assert [(r["name"], r["args"]["sku"]) for r in rows] == [
        ("receive.scan", "SZHOME-001"), ("receive.scan", "SZHOME-002")]
    assert rows[1]["id"] == rows[0]["id"] + 1
    # Newest first on screen; both go through.
    expect(log.nth(0)).to_contain_text("SZHOME-002")
    expect(log.nth(1)).to_contain_text("SZHOME-001")
    expect(log.locator(".sync-synced")).to_have_count(2, timeout=20_000)
    page.screenshot(path=str(artifacts / "floor-receive-360.png"))


def test_camera_loads_only_when_asked_and_only_from_here(live_server, phone):
    """Does the camera scanner (with its WASM polyfill) stay off the first screen, and
    load from this server alone when the camera button is tapped?"""
    server = live_server
    page = phone.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    log_in(page, server, "picker@demo.haicang")
    page.goto(server.url + "/floor/receive")
    page.wait_for_load_state("networkidle")
    loaded = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
    assert not [url for url in loaded if "/camera-" in url or url.endswith(".wasm")]
    assert page.evaluate("typeof window.HaicangCamera") == "undefined"

    page.locator('.screen[data-screen="receive"] [data-part="camera"]').click()
    # Polled with evaluate (CDP), not wait_for_function: under the CSP, which allows
    # no eval, Playwright's string predicates cannot run in the page.
    for _ in range(100):
        if page.evaluate("typeof window.HaicangCamera") == "object":
            break
        page.wait_for_timeout(100)
    assert page.evaluate("typeof window.HaicangCamera") == "object"
    dialog = page.locator("#camera")
    expect(dialog).to_be_visible()
    # Headless chromium has no camera: the dialog says so instead of hanging.
    expect(dialog.locator('[data-part="status"]')).to_have_text(ES["floor.camera_error"])
    dialog.locator('[data-part="close"]').click()
    expect(dialog).to_be_hidden()
    wasm = phone.request.get(server.url + "/static/dist/zxing_reader.wasm")
    assert wasm.ok and wasm.body()[:4] == b"\0asm"
    assert hosts == {server.url.split("/")[2]}, hosts
