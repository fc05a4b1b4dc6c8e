"""Who is reading a workspace page: an API key sent as a header, or a signed-in session.

Browsers cannot send `Authorization` headers from a link, so /login takes an API key once and
answers with a session cookie: a random token (HttpOnly, SameSite=Strict, Secure over TLS,
path /). The key itself never goes into the cookie and is not sent again; the server keeps it
in memory beside the token, and checks it against the key file on every request, so revoking
the key (`aims apikey revoke`) ends its sessions at once. Sessions live in the server's memory:
a restart signs everyone out, which is what a reader expects of a local workspace. Every form
carries the session's CSRF token (the login form a double-submit token), and a POST whose
Origin names another site is refused.

Roles are those of the API (mapper.apikeys): a page needs `reader`, a form the role its API
operation needs.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Request

from api.auth import Principal
from mapper.apikeys import role_allows

COOKIE = "aims_session"
LOGIN_COOKIE = "aims_login"
LIFETIME = 8 * 3600
"""Seconds a session lasts without use (a working day)."""


class SignInNeeded(Exception):
    """No key and no session: the page answers with a redirect to /login."""


class Forbidden(Exception):
    """A key whose role is too weak for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Session:
    key: str
    csrf: str
    seen: float


class Sessions:
    """The signed-in sessions of one running app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}

    def open(self, key: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(key=key, csrf=secrets.token_urlsafe(32), seen=time.monotonic())
        with self._lock:
            self._expire()
            self._by_token[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            self._expire()
            session = self._by_token.get(token)
            if session is not None:
                session.seen = time.monotonic()
            return session

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, s in self._by_token.items() if now - s.seen > LIFETIME]:
            del self._by_token[token]


@dataclass(frozen=True)
class Reader:
    """The principal reading a page and, when signed in by cookie, its session's CSRF token."""

    principal: Principal
    csrf: str | None
    signed_in: bool


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.workspace_sessions
    return found


def _header_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def who(request: Request, role: str = "reader") -> Reader:
    """The caller of a page, needing `role`; SignInNeeded or Forbidden otherwise."""
    state = request.app.state.aims
    if not state.settings.auth:
        session = sessions(request).get(request.cookies.get(COOKIE))
        return Reader(Principal("anonymous", "admin"), session.csrf if session else None,
                      signed_in=False)
    key = _header_key(request)
    csrf = None
    if key is None:
        session = sessions(request).get(request.cookies.get(COOKIE))
        if session is None:
            raise SignInNeeded
        key, csrf = session.key, session.csrf
    found = state.keys.verify(key)
    if found is None:
        if csrf is not None:
            sessions(request).close(request.cookies.get(COOKIE))
        raise SignInNeeded
    if not role_allows(found.role, role):
        raise Forbidden(f"your key {found.name!r} has role {found.role!r}; this page needs "
                        f"{role!r}")
    return Reader(Principal(found.name, found.role), csrf, signed_in=csrf is not None)


def same_origin(request: Request) -> bool:
    """False when a POST names another site as its Origin (or Referer)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # non-browser clients; the CSRF token still has to match
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own or origin.startswith(own + "/")


def tokens_match(given: str | None, expected: str | None) -> bool:
    return bool(given and expected and hmac.compare_digest(given, expected))
