"""The driver's app offline, in Debian's chromium at phone size (issue #12, item 2):
the demo driver opens today's route, loses the network, confirms two stops with a
photo, a signature and the recipient's name (the app reloaded between them), fails a
third (no one home), and once back online the server has each report exactly once,
with every file."""
import io
import json
import struct
import zlib

import pytest
from playwright.sync_api import expect

from .conftest import DEMO_PASSWORD, PHONE, ROOT, wait_until

pytestmark = pytest.mark.browser

EN = json.loads((ROOT / "static" / "src" / "i18n" / "en.json").read_text())


def png(width=64, height=48) -> bytes:
    """A small PNG, made here (no image library needed): a colour gradient."""
    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 128)) for x in range(width))
        for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return out.getvalue()


def log_in(page, server, email):
    page.goto(server.url + "/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    expect(page.locator("#home")).to_be_visible()


def api(context, server, path):
    response = context.request.get(server.url + path)
    assert response.ok, f"GET {path}: {response.status} {response.text()[:300]}"
    return response.json()


def outbox(page):
    return page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open('haicang');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('outbox').objectStore('outbox').getAll();
          get.onsuccess = () => { resolve(get.result); open.result.close(); };
        };
      })""")


def test_driver_confirms_and_fails_stops_offline(live_server, chromium, phone, artifacts):
    """Can a driver with no network confirm a stop (photo, signature, name) and fail
    another (no one home), and does the server get each exactly once, complete, when
    the network is back, with the delivered order marked delivered?"""
    server = live_server
    page = phone.new_page()
    log_in(page, server, "driver@demo.haicang")
    wait_until(page, "navigator.serviceWorker && navigator.serviceWorker.controller",
               timeout=20_000)

    routes = api(phone, server, "/api/driver/routes")
    assert len(routes) == 1 and routes[0]["status"] == "dispatched"
    stops = sorted(routes[0]["stops"], key=lambda s: s["sequence"])
    assert 3 <= len(stops) <= 4
    first, second = stops[0], stops[1]

    # Today's stops, in order, kept on the phone; the first one large.
    rows = page.locator(".stop-row")
    expect(rows).to_have_count(len(stops))
    assert [int(x) for x in rows.evaluate_all("els => els.map(e => e.dataset.stopId)")] == \
        [s["id"] for s in stops]
    card = page.locator('[data-part="stop"]')
    expect(card).to_have_attribute("data-stop-id", str(first["id"]))
    expect(card.locator('[data-part="stop-name"]')).to_have_text(first["address"]["name"])
    expect(card.locator('[data-part="call"]')).to_have_attribute(
        "href", "tel:" + first["address"]["phone"].replace(" ", ""))
    maps = card.locator('[data-part="maps"]').get_attribute("href")
    assert maps.startswith("geo:") and first["address"]["city"].replace(" ", "%20") in maps
    wait_until(page, "document.querySelector('[data-part=\"route-note\"]').textContent !== ''")
    page.screenshot(path=str(artifacts / "driver-route-360.png"))

    # No network at all, for the page and the service worker.
    phone.set_offline(True)
    phone.route(server.url + "/**", lambda route: route.abort("internetdisconnected"))
    page.reload()
    expect(page.locator("#net-badge")).to_have_attribute("data-state", "offline")
    expect(rows).to_have_count(len(stops))

    # Delivered: photo, signature, name; twice, with a reload between, all offline.
    def confirm(stop, recipient, shot=None):
        expect(card).to_have_attribute("data-stop-id", str(stop["id"]))
        page.click('[data-part="go-confirm"]')
        form = page.locator('[data-part="confirm-form"]')
        expect(form).to_be_visible()
        form.locator('input[type=file]').set_input_files(
            {"name": "door.png", "mimeType": "image/png", "buffer": png()})
        expect(form.locator(".photo-preview")).to_have_count(1)
        canvas = form.locator('[data-part="signature"]')
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + 20, box["y"] + 40)
        page.mouse.down()
        for i in range(1, 12):
            page.mouse.move(box["x"] + 20 + i * 20, box["y"] + 40 + (i % 3) * 30)
        page.mouse.up()
        form.locator('[data-part="recipient"]').fill(recipient)
        if shot:
            page.screenshot(path=str(artifacts / shot))
        form.locator('[data-part="submit"]').click()
        expect(form).to_be_hidden()
        expect(page.locator(f'.stop-row[data-stop-id="{stop["id"]}"]')).to_have_attribute(
            "data-state", "queued")

    confirm(first, "Olivia P.", "driver-confirm-offline-360.png")
    page.reload()  # the phone restarts the app, still offline: the queue is kept
    expect(rows).to_have_count(len(stops))
    expect(page.locator(f'.stop-row[data-stop-id="{first["id"]}"]')).to_have_attribute(
        "data-state", "queued")
    confirm(second, "Marco R.")
    third = stops[2]

    # The next stop is now the third: a failed attempt, no one home.
    expect(card).to_have_attribute("data-stop-id", str(third["id"]))
    page.click('[data-part="go-fail"]')
    fail = page.locator('[data-part="fail-form"]')
    expect(fail).to_be_visible()
    fail.locator('input[value="no_one_home"]').check()
    fail.locator('[data-part="note"]').fill("Left a card")
    fail.locator('[data-part="submit"]').click()
    expect(fail).to_be_hidden()
    expect(page.locator(f'.stop-row[data-stop-id="{third["id"]}"]')).to_have_attribute(
        "data-state", "queued")
    expect(page.locator("#sync-pending")).to_have_attribute("data-count", "3")
    queued = outbox(page)
    assert [r["name"] for r in queued] == ["delivery.confirm", "delivery.confirm",
                                           "delivery.fail"]
    assert {r["status"] for r in queued} == {"pending"}
    page.screenshot(path=str(artifacts / "driver-queued-offline-360.png"))

    # Back online: files up, reports pushed, the route fetched again.
    phone.unroute(server.url + "/**")
    phone.set_offline(False)
    expect(page.locator("#sync-pending")).to_have_attribute("data-count", "0", timeout=30_000)
    expect(page.locator(f'.stop-row[data-stop-id="{first["id"]}"]')).to_have_attribute(
        "data-state", "confirmed", timeout=30_000)
    for stop in (second, third):
        expect(page.locator(f'.stop-row[data-stop-id="{stop["id"]}"]')).to_have_attribute(
            "data-state", "confirmed", timeout=30_000)
    page.screenshot(path=str(artifacts / "driver-synced-360.png"))
    rows_after = outbox(page)
    assert [r["status"] for r in rows_after] == ["synced", "synced", "synced"]
    assert not any(r.get("replayed") for r in rows_after)

    # The server, as the admin sees it.
    admin = chromium.new_context(viewport=PHONE, locale="en-US")
    admin_page = admin.new_page()
    log_in(admin_page, server, "admin@demo.haicang")
    for stop, recipient in ((first, "Olivia P."), (second, "Marco R.")):
        delivered = api(admin, server, f"/api/stops/{stop['id']}/proof")
        assert delivered["outcome"] == "delivered" and delivered["status"] == "delivered"
        assert delivered["complete"] is True and delivered["missing"] == []
        assert delivered["recipient_name"] == recipient
        assert len(delivered["photo_hashes"]) == 1 and delivered["signature_hash"]
        for sha in [*delivered["photo_hashes"], delivered["signature_hash"]]:
            body = admin.request.get(f"{server.url}/api/delivery/proofs/{sha}")
            assert body.ok
            assert body.headers["content-type"] in ("image/jpeg", "image/png")
        photo = admin.request.get(
            f"{server.url}/api/delivery/proofs/{delivered['photo_hashes'][0]}")
        assert photo.body()[:3] == b"\xff\xd8\xff", "the photo is a JPEG made on the phone"
    failed = api(admin, server, f"/api/stops/{third['id']}/proof")
    assert failed["outcome"] == "failed" and failed["status"] == "failed"
    assert failed["reason"] == "no_one_home" and failed["note"] == "Left a card"
    assert failed["missing"] == []

    # Exactly once each: one attempt per stop, one tracking event per outcome.
    order = api(admin, server, f"/api/orders/{first['order_id']}")
    assert order["status"] == "delivered"
    assert api(admin, server, f"/api/orders/{second['order_id']}")["status"] == "delivered"
    other = api(admin, server, f"/api/orders/{third['order_id']}")
    assert other["status"] != "delivered"
    for stop, outcome in ((first, "delivered"), (second, "delivered"), (third, "failed")):
        proof = api(admin, server, f"/api/stops/{stop['id']}/proof")
        assert proof["attempt"] == 1 and proof["outcome"] == outcome

    def events(o, status):
        return [e for e in o["events"] if (e.get("data") or {}).get("status") == status]
    assert len(events(order, "delivered")) == 1, "delivered once, not once per retry"
    assert "signed by Olivia" in events(order, "delivered")[0]["message"]
    assert len(events(other, "failed_attempt")) == 1
    assert events(other, "delivered") == []
    admin.close()
