"""Errors at the HTTP edge: one table from MapperError to status, one JSON shape.

Every error answer is `{"error": code, "message": what to fix, "ref": where or null}`.
Anything that is not a MapperError or an HTTP error is a bug: it is logged with a reference
id and answered 500 with that id only, never the exception text.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from mapper.errors import InputError, MapperError, NotFound, QueryError, StoreUnavailable

log = logging.getLogger("aims.api")

STATUS: dict[type[MapperError], int] = {
    InputError: 422,
    NotFound: 404,
    QueryError: 400,
    StoreUnavailable: 503,
}
"""The one mapping from core errors to HTTP; anything else is a logged 500."""

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "store_unavailable",
}


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: str = Field(description="A stable machine code, e.g. `invalid_input`.")
    message: str = Field(description="What is wrong and what to do about it.")
    ref: str | None = Field(
        None, description="Where: file/line/column, row/column, parameter, or an incident id."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"error": "invalid_input", "message": "column 'owner' is missing",
                 "ref": "systems.csv:1"}
            ]
        }
    }


def _describe(status: int, text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _describe(401, "No API key, or an unknown one."),
    403: _describe(403, "The key's role does not allow this operation."),
    413: _describe(413, "The request body is larger than the configured limit."),
    422: _describe(422, "Bad input: a parameter, file, row or column to fix."),
    500: _describe(500, "A bug: logged on the server under the `ref` id."),
    503: _describe(503, "The store cannot be reached."),
}
"""Error responses documented on every operation."""


def error_response(
    status: int, code: str, message: str, ref: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error answer in the one shape."""
    body = {"error": code, "message": message, "ref": ref}
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: MapperError) -> int | None:
    """The HTTP status of a core error, looked up along its class hierarchy."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return None


def _internal(exc: BaseException, request: Request) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal", "internal error; the server log has the details", ref=incident
    )


async def _mapper_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MapperError)
    status = status_of(exc)
    if status is None:
        return _internal(exc, request)
    return error_response(status, exc.code, exc.message, exc.ref)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), None,
                          headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return error_response(422, "invalid_input", message, where or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return _internal(exc, request)


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(MapperError, _mapper_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
