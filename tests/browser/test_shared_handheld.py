"""A shared handheld (issue #5): two pickers on one browser profile in turn, each with
an outbox of their own, so one person's unsent scans never block the next person's,
and each scan reaches the server under the person who made it."""
import time

import pytest
from playwright.sync_api import expect

from .test_floor import api, boot, ledger, log_in, outbox, scan

pytestmark = pytest.mark.browser


def test_two_pickers_share_a_handheld(live_server, chromium, phone):
    server = live_server
    admin = chromium.new_context()
    admin_page = admin.new_page()
    log_in(admin_page, server, "admin@demo.haicang")

    page = phone.new_page()
    log_in(page, server, "picker@demo.haicang")
    first = boot(page)
    warehouse_id = first["warehouses"][0]["id"]
    second = api(admin, server, "POST", "/api/users",
                 {"email": "picker2@demo.haicang", "password": "another-picker-pw",
                  "role": "picker", "warehouse_ids": [warehouse_id]})

    # Picker A scans while pushes cannot get through, then logs out: warned, kept.
    phone.route(server.url + "/api/sync/push", lambda route: route.abort("internetdisconnected"))
    page.goto(server.url + "/floor/receive")
    expect(page.locator("#scan-receive")).to_be_focused()
    scan(page, "RECV-01")
    scan(page, "SZHOME-003")
    expect(page.locator("#sync-pending")).to_have_attribute("data-count", "1")
    page.goto(server.url + "/floor")
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.click("#logout")
    page.wait_for_url(server.url + "/login")
    assert messages and messages[0].startswith("1 ")
    phone.unroute(server.url + "/api/sync/push")
    kept = outbox(page)
    assert [(r["user_id"], r["id"], r["status"]) for r in kept] == [(first["id"], 1, "pending")]

    # Picker B on the same profile: their own queue, numbered from 1, synced at once.
    log_in(page, server, "picker2@demo.haicang", password="another-picker-pw")
    page.goto(server.url + "/floor/receive")
    expect(page.locator("#scan-receive")).to_be_focused()
    expect(page.locator("#sync-pending")).to_have_attribute("data-count", "0")
    scan(page, "RECV-01")
    scan(page, "SZHOME-004")
    log = page.locator('.screen[data-screen="receive"] .mutation')
    expect(log).to_have_count(1)
    expect(log.locator(".sync-synced")).to_have_count(1, timeout=20_000)
    rows = {(r["user_id"], r["id"]): r["status"] for r in outbox(page)}
    assert rows == {(first["id"], 1): "pending", (second["id"], 1): "synced"}
    page.goto(server.url + "/floor")
    page.click("#logout")
    page.wait_for_url(server.url + "/login")

    # A again: their scan goes at their next log-in, under their own name.
    log_in(page, server, "picker@demo.haicang")
    # The badge reads 0 before the outbox is even loaded: wait for A's row itself.
    deadline = time.time() + 30
    while time.time() < deadline:
        mine = [r for r in outbox(page) if r["user_id"] == first["id"]]
        if mine and all(r["status"] == "synced" for r in mine):
            break
        page.wait_for_timeout(300)
    assert [r["status"] for r in outbox(page) if r["user_id"] == first["id"]] == ["synced"]
    by_sku = {}
    for item in ledger(admin, server, kind="receive"):
        by_sku.setdefault(item.get("sku_code") or item["sku_id"], set()).add(item["user_id"])
    users = {u for items in by_sku.values() for u in items}
    assert first["id"] in users and second["id"] in users, by_sku
    admin.close()
