"""How responses travel: compressed, and cached as long as their names allow.

- Compression (flask-compress): HTML, JSON, JS, CSS, SVG, the manifest and the
  camera's WebAssembly, in brotli or gzip as the client accepts (zstd too where a
  browser asks for it). Static files are sent as streams; gzip is allowed for
  those as well, so a client that only speaks gzip (an old WebView, curl) still
  gets them small.
- Caching: the bundles built under content-hashed names (static/dist/app-<HASH>.js,
  their source maps) never change under the same name, so they are cached for a
  year, `immutable`. Everything else from /static (icons, the Swagger UI copy, the
  wasm), the service worker, the manifest and the pages is revalidated on each use
  (`no-cache`; static files answer 304 to their ETag). Pages are also `private`:
  they carry the user's name.
"""
import re

from flask import request
from flask_compress import Compress

compress = Compress()

# esbuild's [name]-[hash] names: eight characters of A-Z and 0-9 (build.mjs).
HASHED = re.compile(r"^dist/[\w.-]+-[A-Z0-9]{8}\.(?:js|css)(?:\.map)?$")
YEAR = 31536000

MIMETYPES = [
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
    "application/json", "application/problem+json", "application/manifest+json",
    "image/svg+xml", "application/wasm", "application/xml",
]


def is_hashed(filename: str) -> bool:
    return bool(HASHED.match(filename or ""))


def _cache_headers(response):
    if request.endpoint == "static":
        if response.status_code in (200, 304) and is_hashed((request.view_args or {})
                                                            .get("filename", "")):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.expires = None
        else:
            response.cache_control.no_cache = True
            response.cache_control.max_age = None
            response.cache_control.public = None
    elif response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.cache_control.no_cache = True
        response.cache_control.private = True
    return response


def init_app(app):
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    # after_request functions run last-registered first: the cache headers are set
    # before compression looks at the response.
    compress.init_app(app)
    app.after_request(_cache_headers)
