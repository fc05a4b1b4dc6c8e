"""Typed dependency aliases for the route handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.auth import Principal, require
from api.settings import Settings
from api.state import AppState


def get_state(request: Request) -> AppState:
    """The shared app state set up by the lifespan."""
    state: AppState = request.app.state.aims
    return state


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return get_state(request).settings


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Reader = Annotated[Principal, Depends(require("reader"))]
Contributor = Annotated[Principal, Depends(require("contributor"))]
Admin = Annotated[Principal, Depends(require("admin"))]
