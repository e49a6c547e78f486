"""The HTTP security headers of every response, in this one place, set by
flask-talisman: pages, /api/ JSON, errors, static files and the service worker.

- Content-Security-Policy: scripts only from this origin, never inline (the pages
  pass their data as JSON in <script type="application/json">, which does not
  run); styles only from our own style sheets (no inline `style` attributes or
  <style> blocks: the script sets styles through the CSSOM, which the policy
  allows); images from here, data: (the select arrow) and blob: (camera frames,
  labels); connections to this origin, its Socket.IO websocket included
  (ws:/wss: of the same host, spelled out for browsers whose 'self' does not
  cover them); WebAssembly for the camera's barcode reader ('wasm-unsafe-eval',
  which allows compiling wasm, not eval of JavaScript); no plugins, no <base>, and
  no framing by anyone (frame-ancestors 'none', X-Frame-Options DENY for older
  browsers).
  The service worker gets the same policy from its own response (sw.js), so its
  fetches are held to this origin as well.
  PDFs (shipping labels) get only frame-ancestors: Chrome's PDF viewer draws the
  document through an embed with inline styles, which the page policy would block.
- X-Content-Type-Options: nosniff; Referrer-Policy: strict-origin-when-cross-origin;
  a Permissions-Policy that keeps camera and location for this origin only.
- Strict-Transport-Security only when the deployment says it runs on https
  (SESSION_COOKIE_SECURE=1) and the request came over https; `make run` serves
  plain http on 127.0.0.1 and is never redirected or pinned to https.

Cookies are not set here (server/auth does): Talisman is told to leave the session
cookie settings as the configuration has them.
"""
from flask import has_request_context, request
from flask_talisman import DENY, Talisman

talisman = Talisman()


class _SameOriginSockets:
    """connect-src values, worked out for each request: this origin, and the
    websocket URL of this same host (Socket.IO upgrades from polling to it)."""

    def __iter__(self):
        yield "'self'"
        if has_request_context():
            yield f"ws://{request.host}"
            yield f"wss://{request.host}"


CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'wasm-unsafe-eval'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "connect-src": _SameOriginSockets(),
    "media-src": "'self' blob:",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# What a PDF (a shipping label) needs in Chrome's viewer: nobody may frame it.
PDF_CSP = "frame-ancestors 'none'"

PERMISSIONS = {
    "camera": "(self)",        # the floor's camera scanner
    "geolocation": "(self)",   # a driver's proof of delivery records where
    "microphone": "()",
    "payment": "()",
    "usb": "()",
    "browsing-topics": "()",
}


def _pdf_policy(response):
    # Registered before Talisman, so it runs after Talisman's after_request.
    if response.mimetype == "application/pdf" and "Content-Security-Policy" in response.headers:
        response.headers["Content-Security-Policy"] = PDF_CSP
    return response


def init_app(app):
    app.after_request(_pdf_policy)
    talisman.init_app(
        app,
        force_https=False,  # never redirect: TLS is the proxy's business
        strict_transport_security=bool(app.config.get("SESSION_COOKIE_SECURE")),
        strict_transport_security_include_subdomains=False,
        content_security_policy=CSP,
        frame_options=DENY,
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy=PERMISSIONS,
        x_content_type_options=True,
        # The session cookie is server/auth's: keep what the configuration says.
        session_cookie_secure=False,
        session_cookie_http_only=app.config.get("SESSION_COOKIE_HTTPONLY", True),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
