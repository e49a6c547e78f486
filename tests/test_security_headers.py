"""Every response carries the security headers (issue #8, item 6): generated from
the URL map, so a new page or endpoint is checked the day it is added."""
import re

import pytest

from .helpers import login

# Each route answers with one of these, whatever it is: the headers hold on pages,
# JSON, errors (401, 403, 404, 405, 422), static files and the service worker.
ALWAYS = {"X-Content-Type-Options": "nosniff",
          "Referrer-Policy": "strict-origin-when-cross-origin",
          "X-Frame-Options": "DENY"}


def _concrete(rule) -> str:
    """The rule's path with every variable filled (1 for ids, x otherwise)."""
    return re.sub(r"<(?:(\w+):)?(\w+)>",
                  lambda m: "1" if (m.group(1) or "") in ("int", "int32") else "x", rule.rule)


def _assert_secure(response, path):
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (path, name, response.status_code)
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, (path, csp)
    if response.mimetype == "text/html":
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
    assert "Strict-Transport-Security" not in response.headers  # plain http here


@pytest.mark.parametrize("who", ["anonymous", "seller", "admin"])
def test_every_route_answers_with_the_security_headers(app, client, world, who):
    """For every GET route of the URL map (and a POST to every POST route, which is
    refused or fails validation without a body), anonymous and logged in: nosniff,
    Referrer-Policy, no framing, and on pages a CSP with no inline script?"""
    if who != "anonymous":
        assert login(client, world.users[f"{who}_a" if who == "seller" else who].email
                     ).status_code == 200
    checked = 0
    for rule in app.url_map.iter_rules():
        if "/webhooks/" in rule.rule or rule.endpoint == "static":
            continue
        path = _concrete(rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(path, method=method)
            assert response.status_code < 500, (method, path, response.status_code)
            _assert_secure(response, f"{method} {path}")
            checked += 1
    for path in ("/static/dist/sw.js", "/static/dist/manifest.webmanifest", "/no-such-page"):
        _assert_secure(client.get(path), path)
    assert checked > 50


def test_hsts_is_sent_only_when_the_deployment_runs_on_https(backend, tmp_path):
    """With SESSION_COOKIE_SECURE=1 and a request over https, is HSTS sent; over
    plain http of the same deployment, is it not (and nothing redirected)?"""
    from .conftest import make_app
    secure = make_app(f"sqlite:///{tmp_path / 'hsts.db'}", SESSION_COOKIE_SECURE=True)
    client = secure.test_client()
    over_https = client.get("/login", base_url="https://haicang.example")
    assert "max-age=" in over_https.headers.get("Strict-Transport-Security", "")
    over_http = client.get("/login")
    assert over_http.status_code == 200
    assert "Strict-Transport-Security" not in over_http.headers
