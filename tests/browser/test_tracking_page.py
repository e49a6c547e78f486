"""The public tracking page in Debian's chromium at 360 px: each language's rendered
text (from the browser's language and from the switcher's links), nothing wider than
the screen, the lookup form end to end (CSRF token, redirect), and the 404 page."""
import json
import os
import subprocess
import sys

import pytest

from .conftest import PHONE, ROOT

pytestmark = pytest.mark.browser

# What each language must show: the headline, the ETA's source, two labels.
WORDS = {
    "en": {"browser": "en-US", "lang": "en", "headline": "Out for delivery",
           "source": "Estimated by the carrier", "labels": ["Tracking number", "Updates"],
           "switch": "English"},
    "zh_Hans": {"browser": "zh-CN", "lang": "zh-Hans", "headline": "派送中",
                "source": "承运商预计", "labels": ["运单号", "物流动态"], "switch": "简体中文"},
    "zh_Hant": {"browser": "zh-TW", "lang": "zh-Hant", "headline": "配送中",
                "source": "貨運公司預估", "labels": ["追蹤號碼", "物流動態"], "switch": "繁體中文"},
    "es": {"browser": "es-MX", "lang": "es", "headline": "En reparto",
           "source": "Estimada por el transportista",
           "labels": ["Número de seguimiento", "Novedades"], "switch": "Español"},
}


@pytest.fixture(scope="module")
def tracked(live_server):
    """A shipped, out-for-delivery order on the live server's own database."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_APP")}
    env["DATABASE_URL"] = f"sqlite:///{live_server.workdir / 't.db'}"
    done = subprocess.run([sys.executable, "-m", "tests.browser.tracking_seed"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def phone_in(chromium, browser_locale):
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale=browser_locale)
    context.set_default_timeout(15_000)
    return context


def fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width}px wide on a 360 px screen"


def styled(page):
    """The style sheet loaded (the CSP let it): the headline is large."""
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert size >= 24, size


@pytest.mark.parametrize("locale", list(WORDS))
def test_the_page_in_each_language_at_360px(chromium, live_server, tracked, locale,
                                            artifacts):
    """Chosen from the browser's language: is the page in it (html lang, headline, the
    ETA's source, labels), the carrier's words untouched, and nothing wider than
    the phone?"""
    words = WORDS[locale]
    context = phone_in(chromium, words["browser"])
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        answer = page.goto(f"{live_server.url}/t/{tracked['token']}")
        assert answer.status == 200
        assert page.evaluate("document.documentElement.lang") == words["lang"]
        assert page.locator("h1").inner_text().strip() == words["headline"]
        body = page.locator("body").inner_text()
        assert words["source"] in body
        for label in words["labels"]:
            assert label in body, (locale, label)
        assert tracked["tracking"] in body and tracked["number"] in body
        assert "Out for delivery" in body  # the carrier's message, as it sent it
        assert "Arrived at destination facility" in body
        assert "1600 Sunset" not in body and "Browser Customer" not in body
        current = page.locator('.trk-langs a[aria-current="true"]')
        assert current.inner_text().strip() == words["switch"]
        styled(page)
        fits(page)
        page.screenshot(path=str(artifacts / f"tracking-page-{locale}.png"), full_page=True)
        assert errors == [], errors  # no CSP refusal, nothing broken
    finally:
        context.close()


def test_the_switcher_changes_the_language(chromium, live_server, tracked):
    """An English browser, a tap on 繁體中文, then on Español: the page follows."""
    context = phone_in(chromium, "en-US")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/t/{tracked['token']}")
        assert page.locator("h1").inner_text().strip() == "Out for delivery"
        page.click('.trk-langs a[lang="zh-Hant"]')
        page.wait_for_url("**lang=zh_Hant")
        assert page.locator("h1").inner_text().strip() == "配送中"
        assert page.evaluate("document.documentElement.lang") == "zh-Hant"
        page.click('.trk-langs a[lang="es"]')
        page.wait_for_url("**lang=es")
        assert page.locator("h1").inner_text().strip() == "En reparto"
        fits(page)
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["es", "zh_Hans"])
def test_the_lookup_form_finds_the_order(chromium, live_server, tracked, locale):
    """The form at 360 px: a wrong ZIP says not found (in the language), the right
    one lands on the order's page."""
    words = WORDS[locale]
    context = phone_in(chromium, words["browser"])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/track")
        assert page.evaluate("document.documentElement.lang") == words["lang"]
        fits(page)
        page.fill("#number", tracked["number"])
        page.fill("#zip", "10001")
        page.click("button[type=submit]")
        alert = page.locator(".trk-alert")
        assert alert.is_visible()
        assert {"es": "No encontramos", "zh_Hans": "找不到"}[locale] in alert.inner_text()
        fits(page)
        page.fill("#number", tracked["tracking"])
        page.fill("#zip", tracked["zip"])
        page.click("button[type=submit]")
        page.wait_for_url(f"**/t/{tracked['token']}")
        assert page.locator("h1").inner_text().strip() == words["headline"]
        fits(page)
    finally:
        context.close()


def test_a_wrong_link_gets_the_404_page(chromium, live_server):
    context = phone_in(chromium, "es-ES")
    try:
        page = context.new_page()
        answer = page.goto(f"{live_server.url}/t/not-a-real-token-at-all-0000")
        assert answer.status == 404
        assert "No encontramos el enlace de seguimiento" in page.locator("h1").inner_text()
        styled(page)
        fits(page)
    finally:
        context.close()
