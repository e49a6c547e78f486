"""The allocation reason and the history of one order read in Chinese on the seller's
screen (issue #11, item 5), in Debian's chromium at phone size: the server renders
its own text (why this warehouse, each history line) in the seller's language."""
import re

import pytest
from playwright.sync_api import expect

from .orders_data import available_by_sku, make_order
from .test_orders import AdminApi
from .test_shell import I18N, api_get, assert_fits_phone, log_in

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def admin_api(live_server, chromium):
    api = AdminApi(chromium, live_server)
    yield api
    api.close()


def test_a_chinese_seller_reads_why_and_the_history_in_chinese(live_server, phone, admin_api,
                                                               artifacts):
    """A split, partly backordered order of the demo seller (setting 简体中文): the
    reason under "为什么选这个仓库" and every history line the server wrote are
    Chinese and marked zh-Hans; the admin reads the same order in English."""
    seller_id = admin_api.seller_id("seller@demo.haicang")
    free = available_by_sku(admin_api, seller_id)
    # A SKU in stock in two warehouses or more, ordered past all of it: split, and the
    # rest backordered, so the reason has its parts (parcels, units, the backorder).
    sku, per = max(free.items(), key=lambda item: (len(item[1]), sum(item[1].values())))
    order = make_order(admin_api, seller_id, [(sku, sum(per.values()) + 2, 2599)],
                       prefix="ZH", channel="manual")
    assert order["status"] == "backordered", order
    english = admin_api("GET", f"/api/orders/{order['id']}")
    assert "Backordered: 2 units" in english["allocation_reason"]["why"]
    assert english["allocation_reason"]["why_lang"] == "en"

    page = phone.new_page()
    log_in(page, live_server, "seller@demo.haicang")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert phone.request.patch(live_server.url + "/api/auth/me", data={"locale": "zh-CN"},
                               headers={"X-CSRFToken": token}).ok
    zh = I18N["zh-CN"]
    seller_view = api_get(phone, live_server, f"/api/orders/{order['id']}")
    why_zh = seller_view["allocation_reason"]["why"]
    assert "缺货待发：2 件" in why_zh and "units" not in why_zh, why_zh

    page.goto(live_server.url + f"/orders/{order['id']}")
    expect(page.locator("#order h1")).to_have_text(order["external_id"])
    why = page.locator("#why")
    expect(why.locator("h2")).to_have_text(zh["order.why"])
    text = why.locator(".why-text")
    expect(text).to_have_text(why_zh)
    expect(text).to_have_attribute("lang", "zh-Hans")
    assert "Backordered" not in text.inner_text()

    # The history: the server's lines in Chinese (the allocation's reasons, the order
    # received), none of them left in English.
    messages = page.locator("#order .timeline .event .event-msg")
    expect(messages.first).to_be_visible()
    shown = messages.all_inner_texts()
    assert f"已从 manual 接收订单 {order['external_id']}" in shown, shown
    assert any(m.startswith(("没有一个仓库能整单发货", "已分配：")) for m in shown), shown
    assert all(CJK.search(m) for m in shown), shown
    assert set(messages.evaluate_all("(ms) => ms.map((m) => m.lang)")) == {"zh-Hans"}
    assert_fits_phone(page)
    why.evaluate("(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY"
                 " - document.querySelector('.topbar').offsetHeight - 8)")
    page.screenshot(path=str(artifacts / "order-why-zh-360.png"))
