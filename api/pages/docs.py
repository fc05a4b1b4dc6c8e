"""/docs (Swagger UI) and /redoc (ReDoc) from assets installed with the project, no CDN.

The JavaScript and CSS come from the `fastapi-offline` package (a pyproject dependency),
which ships Swagger UI's and ReDoc's bundles as package data; they are served under
/assets/docs/ so the documentation opens on a machine without internet. ReDoc's page is
built without Google Fonts for the same reason.

Both pages carry a Content-Security-Policy that lets only this server's files and the one
inline start-up script (by its hash) run, and loads nothing from elsewhere: ReDoc's bundle
always shows Redocly's logo from their CDN, which the policy refuses (the logo hides itself).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/assets/docs"


def assets_folder() -> Path:
    """The folder of the installed Swagger UI and ReDoc bundles."""
    return Path(str(files("fastapi_offline") / "static"))


_INLINE = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    """The page with a CSP naming the hash of each of its inline scripts."""
    body = bytes(page.body).decode("utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE.findall(body))
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; base-uri 'none'; "
        "frame-ancestors 'none'")
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def install(app: FastAPI, *, title: str) -> None:
    """Serve /docs and /redoc from the installed bundles (create the app with
    docs_url=None and redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=assets_folder()), name="docs-assets")
    openapi = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _with_policy(get_swagger_ui_html(
            openapi_url=openapi, title=f"{title}: Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png"))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _with_policy(get_redoc_html(
            openapi_url=openapi, title=f"{title}: ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False))
