"""Typed dependency aliases for the route handlers."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BeforeValidator

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


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD is a date here: pydantic's lax mode would read 0 as 1970-01-01."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("write the date as YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("write the date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date parameter that accepts exactly YYYY-MM-DD (the OpenAPI `format: date`)."""
