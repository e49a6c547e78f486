"""The channel screens end to end, in Debian's chromium at phone size: each
marketplace account with its health (never its credentials), a held order fixed from
the phone (map the channel SKU, release, allocated), and a dead letter replayed once
its cause is fixed. Accounts and orders are made through the API as the seller (the
test server runs without --demo's fake marketplace)."""
import copy
import json
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, ROOT
from .orders_data import all_pages
from .test_shell import I18N, assert_fits_phone, log_in, small_targets

pytestmark = pytest.mark.browser

ZH = I18N["zh-CN"]  # the demo seller reads Chinese
TARGETS = "button, input, a, select, summary, label.check"
SHOPIFY = json.loads((ROOT / "tests" / "fixtures" / "channels" / "shopify_order.json").read_text())


class SellerApi:
    """The JSON API as the logged-in user of a page (its cookies, its CSRF token)."""

    def __init__(self, page, server):
        self.page, self.server = page, server
        self.token = page.locator('meta[name="csrf-token"]').get_attribute("content")

    def __call__(self, method, path, body=None, expect_ok=True):
        response = self.page.context.request.fetch(
            self.server.url + path, method=method, data=body,
            headers={"X-CSRFToken": self.token} if method != "GET" else {})
        if expect_ok:
            assert response.ok, f"{method} {path}: {response.status} {response.text()[:300]}"
        return response.json()

    def raw(self, path):
        return self.page.context.request.get(self.server.url + path).text()


def shopify_account(call, name, secret):
    """A Shopify account of the seller whose API cannot be reached (a poll fails)."""
    key = f"ui-{uuid.uuid4().hex[:8]}.myshopify.com"
    return call("POST", "/api/channels/accounts", {
        "channel": "shopify", "account_key": key, "name": name,
        "credentials": {"access_token": secret}, "base_url": "http://127.0.0.1:9"})


def shopify_order(channel_sku, quantity=1):
    """A real-shaped Shopify order (tests/fixtures) with one line of `channel_sku`."""
    order = copy.deepcopy(SHOPIFY)
    order["id"] = int(uuid.uuid4().int % 10**13)
    order["name"] = f"#UI{order['id'] % 100000}"
    line = order["line_items"][0]
    line.update(sku=channel_sku, quantity=quantity, current_quantity=quantity,
                fulfillable_quantity=quantity, id=int(uuid.uuid4().int % 10**13))
    order["line_items"] = [line]
    return order


def sku_with_stock(call, units):
    """One of the seller's active SKUs with at least `units` available somewhere."""
    free = {}
    for row in all_pages(call, "/api/stock"):
        free[row["sku_id"]] = max(free.get(row["sku_id"], 0), row["available"])
    skus = {s["id"]: s for s in all_pages(call, "/api/skus?active=true")}
    sku_id = next(s for s, n in sorted(free.items(), key=lambda x: -x[1]) if n >= units and s in skus)
    return skus[sku_id]


def open_channels(page, server):
    tab = page.locator('.tabbar [data-tab="channels"]')
    expect(tab).to_have_text(ZH["nav.channels"])
    box = tab.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] and box["height"] >= 48
    tab.click()
    page.wait_for_url(server.url + "/channels")
    expect(page.locator("#channels")).to_be_visible()


def test_seller_sees_channel_health_never_credentials(live_server, phone, artifacts):
    """Can a seller see each channel account's health and never its credentials?"""
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    call = SellerApi(page, live_server)
    secret, secret2 = f"shpat_{uuid.uuid4().hex}", f"shpat_{uuid.uuid4().hex}"
    account = shopify_account(call, "UI Health Shop", secret)
    assert "credentials" not in account and account["has_credentials"] is True
    # One unreadable document: a dead letter on this account.
    (result,) = call("POST", "/api/channels/import",
                     {"account_id": account["id"], "document": {"id": 1, "created_at": "x"}})
    assert result["action"] == "dead_letter", result

    open_channels(page, live_server)
    card = page.locator(f'.account-card[data-id="{account["id"]}"]')
    expect(card.locator(".account-name")).to_have_text("UI Health Shop")
    expect(card.locator(".channel")).to_have_text(ZH["channel.shopify"])
    expect(card.locator(".account-polled")).to_have_text(ZH["channels.never"])
    expect(card.locator('[data-count="dead"]')).to_have_text("1")
    expect(card.locator('[data-count="held"]')).to_have_text("0")
    expect(card).to_contain_text(ZH["channels.credentials_set"])

    # Poll now: the platform cannot be reached, so the error shows, in red, with the time.
    card.locator('[data-action="poll"]').click()
    error = card.locator(".account-error")
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("127.0.0.1:9")
    # The card re-renders after the poll: a retrying check, not a one-off read.
    expect(error).to_have_css("color", "rgb(164, 0, 29)")
    expect(card.locator(".account-polled")).not_to_have_text(ZH["channels.never"])

    # Edit: a wrong buffer is refused next to its field; then saved, credentials replaced.
    card.locator('[data-action="edit"]').click()
    form = card.locator(".account-form")
    creds = form.locator(f'#acct-{account["id"]}-credentials')
    expect(creds).to_have_value("")
    form.locator(f'#acct-{account["id"]}-buffer').fill("-2")
    form.locator('button[type="submit"]').click()
    expect(form.locator(f'#acct-{account["id"]}-buffer-error')).to_have_text(ZH["channels.err_whole"])
    form.locator(f'#acct-{account["id"]}-buffer').fill("3")
    form.locator(f'#acct-{account["id"]}-cap').fill("10")
    creds.fill("not json")
    form.locator('button[type="submit"]').click()
    expect(form.locator(f'#acct-{account["id"]}-credentials-error')).to_be_visible()
    creds.fill(json.dumps({"access_token": secret2}))
    assert_fits_phone(page)
    assert small_targets(page, TARGETS) == []
    page.screenshot(path=str(artifacts / "channels-edit-360.png"), full_page=True)
    form.locator('button[type="submit"]').click()
    expect(form).to_have_count(0)
    expect(card).to_contain_text("3 / 10")

    saved = next(a for a in call("GET", "/api/channels/accounts") if a["id"] == account["id"])
    assert (saved["buffer"], saved["cap"], saved["has_credentials"]) == (3, 10, True)
    assert saved["last_error"] and saved["last_poll_at"]
    # Neither the old nor the new secret is anywhere: page, API answers.
    for text in (page.content(), call.raw("/api/channels/accounts")):
        assert secret not in text and secret2 not in text

    assert_fits_phone(page)
    assert small_targets(page, TARGETS) == []
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "channels-accounts-360.png"))

    # The dead letter count opens the account's dead letters.
    card.locator('[data-count="dead"]').click()
    page.wait_for_url(f"{live_server.url}/channels/dead-letters?account_id={account['id']}")
    expect(page.locator(".dead-card")).to_have_count(1)


def test_seller_fixes_unmapped_sku_and_sees_it_allocated(live_server, phone, artifacts):
    """Can a seller fix an unmapped SKU on a held order from the phone and see it
    allocated?"""
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    call = SellerApi(page, live_server)
    account = shopify_account(call, "UI Fix Shop", "shpat_x")
    sku = sku_with_stock(call, 2)
    channel_sku = f"UI-2PK-{uuid.uuid4().hex[:6].upper()}"
    (result,) = call("POST", "/api/channels/import",
                     {"account_id": account["id"], "document": shopify_order(channel_sku)})
    assert result["action"] == "created", result
    order_id = result["order_id"]
    assert call("GET", f"/api/orders/{order_id}")["status"] == "held"

    open_channels(page, live_server)
    expect(page.locator(f'.account-card[data-id="{account["id"]}"] [data-count="held"]')).to_have_text("1")
    page.locator('#channels .subnav [data-sub="held"]').click()
    page.wait_for_url(live_server.url + "/channels/exceptions")
    card = page.locator(f'.held-card[data-id="{order_id}"]')
    expect(card.locator(".map-channel-sku")).to_have_text(channel_sku)
    expect(card.locator(".hold-reason")).to_contain_text(channel_sku)

    # Nothing chosen: the error is next to the SKU field, nothing is sent.
    submit = card.locator('button[type="submit"]')
    expect(submit).to_have_text(ZH["held.map_release"])
    submit.click()
    expect(card.locator(f"#held-{order_id}-0-sku-error")).to_have_text(ZH["held.err_sku"])
    assert call("GET", f"/api/channels/accounts/{account['id']}/mappings") == []

    # Search the seller's SKUs, choose one, a 2-pack, then save and release.
    card.locator(f"#held-{order_id}-0-sku").fill(sku["code"])
    option = card.locator(f'.sku-option[data-sku-id="{sku["id"]}"]')
    expect(option).to_be_visible()
    assert_fits_phone(page)
    assert small_targets(page, TARGETS) == []
    option.click()
    expect(card.locator(".sku-chosen")).to_contain_text(sku["code"])
    card.locator(f"#held-{order_id}-0-per").fill("0")
    submit.click()
    expect(card.locator(f"#held-{order_id}-0-per-error")).to_have_text(ZH["held.err_per"])
    card.locator(f"#held-{order_id}-0-per").fill("2")
    expect(card.locator(f"#held-{order_id}-0-per-hint")).to_contain_text("2")
    page.screenshot(path=str(artifacts / "channels-fix-360.png"), full_page=True)
    submit.click()

    outcome = card.locator(".release-result")
    expect(outcome).to_be_visible()
    status = outcome.get_attribute("data-status")
    assert status in ("allocated", "backordered")
    expect(outcome.locator(".status")).to_have_text(ZH[f"order_status.{status}"])
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "channels-released-360.png"))

    # The API agrees: the mapping exists, the order left "held" with 2 units of the SKU.
    mappings = call("GET", f"/api/channels/accounts/{account['id']}/mappings")
    assert mappings == [{"channel_sku": channel_sku,
                         "components": [{"sku_id": sku["id"], "quantity": 2}]}]
    order = call("GET", f"/api/orders/{order_id}")
    assert order["status"] == status == "allocated", order["status"]
    assert [(l["sku_id"], l["quantity"]) for l in order["lines"]] == [(sku["id"], 2)]
    assert order_id not in [e["order_id"] for e in call("GET", "/api/channels/exceptions")]

    outcome.locator("a").click()
    page.wait_for_url(f"{live_server.url}/orders/{order_id}")


def test_dead_letter_replayed_once_fixed(live_server, phone, artifacts):
    """Can a dead letter be replayed once its cause is fixed?"""
    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    call = SellerApi(page, live_server)
    account = shopify_account(call, "UI Replay Shop", "shpat_y")
    # The cause: the channel SKU is mapped to a SKU that is inactive.
    code = f"UI-OLD-{uuid.uuid4().hex[:6].upper()}"
    old = call("POST", "/api/skus", {"code": code, "name": "Retired mug", "active": False,
                                     "weight_g": 300})
    channel_sku = f"UI-RET-{uuid.uuid4().hex[:6].upper()}"
    call("PUT", f"/api/channels/accounts/{account['id']}/mappings",
         {"channel_sku": channel_sku, "components": [{"sku_id": old["id"], "quantity": 1}]})
    (result,) = call("POST", "/api/channels/import",
                     {"account_id": account["id"], "document": shopify_order(channel_sku)})
    assert result["action"] == "dead_letter", result
    letter = call("GET", f"/api/channels/dead-letters?account_id={account['id']}")["items"][0]
    assert "inactive" in letter["reason"]

    page.goto(f"{live_server.url}/channels/dead-letters?account_id={account['id']}")
    card = page.locator(f'.dead-card[data-id="{letter["id"]}"]')
    expect(card.locator(".dead-reason")).to_contain_text("inactive")
    # The raw payload is there, collapsed until asked for.
    payload = card.locator(".payload")
    expect(payload).to_be_hidden()
    card.locator(".dead-raw summary").click()
    expect(payload).to_contain_text(channel_sku)

    # Replayed before the fix: refused, said on the card, still open.
    card.locator('[data-action="replay"]').click()
    expect(card.locator(".form-error")).to_have_text(ZH["dead.still_failing"])
    assert call("GET", f"/api/channels/dead-letters?account_id={account['id']}&open=true")["items"]
    assert_fits_phone(page)
    assert small_targets(page, TARGETS) == []
    page.screenshot(path=str(artifacts / "channels-dead-letter-360.png"), full_page=True)

    # The fix (the SKU is back in the catalogue), then the replay makes the order.
    call("PATCH", f"/api/skus/{old['id']}", {"active": True})
    card.locator('[data-action="replay"]').click()
    done = card.locator(".release-result")
    expect(done).to_contain_text("created")
    assert call("GET", f"/api/channels/dead-letters?account_id={account['id']}&open=true")["items"] == []
    made = call("GET", f"/api/channels/dead-letters?account_id={account['id']}")["items"][0]
    assert made["replayed_at"] and made["result"]["order_id"]
    assert call("GET", f"/api/orders/{made['result']['order_id']}")["external_id"] == \
        made["result"]["external_id"]
    page.screenshot(path=str(artifacts / "channels-dead-replayed-360.png"))
