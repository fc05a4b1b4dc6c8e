"""API key check: `Authorization: Bearer KEY` or `X-API-Key: KEY`; 401 without, 403 too weak."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from mapper.apikeys import role_allows

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name and role (`anonymous`/admin when auth is off)."""

    name: str
    role: str


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="aims"'}


def require(role: str) -> Callable[..., Principal]:
    """A dependency that lets through keys whose role includes `role`."""

    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header_key: Annotated[str | None, Depends(_header)],
    ) -> Principal:
        state = request.app.state.aims
        if not state.settings.auth:
            return Principal("anonymous", "admin")
        key = bearer.credentials if bearer else header_key
        if not key:
            raise HTTPException(401, "an API key is required: send `Authorization: Bearer KEY`"
                                " or `X-API-Key: KEY`", headers=_CHALLENGE)
        found = state.keys.verify(key)
        if found is None:
            raise HTTPException(401, "unknown or revoked API key", headers=_CHALLENGE)
        if not role_allows(found.role, role):
            raise HTTPException(403, f"key {found.name!r} has role {found.role!r}; "
                                f"this operation needs {role!r}")
        return Principal(found.name, found.role)

    check.__name__ = f"require_{role}"
    return check
