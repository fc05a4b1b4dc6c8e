"""Rendering the workspace pages: one Jinja2 environment (autoescape on), the security
headers every page carries, cookies, and the handlers that turn "sign in first" and "role too
weak" into a page instead of JSON."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.pages.session import Forbidden, Sessions, SignInNeeded

HERE = Path(__file__).resolve().parent
STATIC = "/assets/workspace"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""No script may run on a page (none is needed to read one); styles and images only from
here; no framing."""

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)


def _href(path: str, params: dict[str, str] | list[tuple[str, str]] | None = None,
          **extra: object) -> str:
    """A link to `path` with query parameters (values URL-encoded; Jinja escapes the rest)."""
    items = list(params.items()) if isinstance(params, dict) else list(params or [])
    items = [(k, v) for k, v in items if k not in extra]
    items += [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
    query = urlencode(items)
    return f"{path}?{query}" if query else path


def _system_href(identifier: str, query: dict[str, str] | None = None) -> str:
    return _href("/systems/" + quote(identifier, safe=""), query)


_env.globals.update(href=_href, system_href=_system_href, static=STATIC)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def page(request: Request, template: str, *, reader: Any, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """The page `template` rendered with `context`, with the security headers."""
    body = _env.get_template(template).render(request_path=request.url.path, reader=reader,
                                              **context)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def error_page(request: Request, status_code: int, message: str, reader: Any = None
               ) -> HTMLResponse:
    return page(request, "error.html.j2", reader=reader, status_code=status_code,
                title=f"Error {status_code}", message=message, query={})


def refused(request: Request, message: str) -> HTMLResponse:
    return error_page(request, 403, message)


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole site; Secure when served over TLS."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def install(app: FastAPI) -> None:
    """The workspace's sessions, static files and error pages (the routes are in
    api.routes.pages)."""
    app.state.workspace_sessions = Sessions()
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="workspace-assets")

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403, exc.message)
