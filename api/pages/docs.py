"""/docs (Swagger UI) and /redoc (ReDoc) from assets installed with the project, no CDN.

The JavaScript and CSS come from the `fastapi-offline` package (a pyproject dependency),
which ships Swagger UI's and ReDoc's bundles as package data; they are served under
/assets/docs/ so the documentation opens on a machine without internet. ReDoc's page is
built without Google Fonts for the same reason.
"""

from __future__ import annotations

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


def install(app: FastAPI, *, title: str) -> None:
    """Serve /docs and /redoc from the installed bundles (create the app with
    docs_url=None and redoc_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=assets_folder()), name="docs-assets")
    openapi = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi, title=f"{title}: Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi, title=f"{title}: ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False)
