"""Errors at the HTTP edge: one table from MapperError to status, one JSON shape.

Every error answer is `{"error": code, "message": what to fix, "ref": where or null}`.
Anything that is not a MapperError or an HTTP error is a bug: it is logged with a reference
id and answered 500 with that id only, never the exception text. A server fault (the store
cannot be reached or read, the API key file is damaged) is answered the same way with 503:
a generic message and a reference id, the detail (paths, addresses, causes) only in the log.
A `Refusal` (busy, over a per-key share, a query stopped by a limit) is 429 or 503 with a
`Retry-After` header and a message that says which limit.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from mapper.errors import InputError, MapperError, NotFound, QueryError, StoreUnavailable

log = logging.getLogger("aims.api")


class Refusal(MapperError):
    """A request the server will not serve now; `retry_after` seconds is worth a new try."""

    status = 503
    code = "busy"

    def __init__(self, message: str, *, ref: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, ref=ref)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        """The Retry-After header, in whole seconds (at least 1)."""
        if self.retry_after is None:
            return None
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class Busy(Refusal):
    """Every worker busy and the queue full, or the store held by a write past the timeout."""

    code = "busy"


class TooManyQueries(Refusal):
    """A key already runs its share of queries (429)."""

    status = 429
    code = "too_many_requests"


class QueryTimeout(Refusal):
    """A query stopped at the time limit (503, distinct from a 400 `bad_query`)."""

    code = "query_timeout"


class ResourceLimit(Refusal):
    """A query stopped at the memory limit of its worker."""

    code = "resource_limit"


FAULT_MESSAGE = ("the server cannot answer this request now (a fault on the server side); "
                 "try again later, and quote the reference to the operator")

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
    429: "too_many_requests",
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
    503: _describe(503, "A server fault (the store cannot be reached or read): logged on the "
                        "server under the `ref` id; or busy: try again after `Retry-After`."),
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


def _fault(exc: MapperError, request: Request) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s on %s %s: %s (%s)", incident, request.method, request.url.path,
              exc, type(exc).__name__)
    return error_response(503, exc.code, FAULT_MESSAGE, ref=incident)


async def _mapper_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MapperError)
    if isinstance(exc, Refusal):
        return error_response(exc.status, exc.code, exc.message, exc.ref, headers=exc.headers())
    if isinstance(exc, StoreUnavailable):
        return _fault(exc, request)
    status = status_of(exc)
    if status is None:
        return _internal(exc, request)
    return error_response(status, exc.code, exc.message, exc.ref)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and str(exc.detail).startswith("There was an error parsing"):
        # a body the framework cannot decode is invalid input, as the OpenAPI 422 says
        return error_response(422, "invalid_input", "the request body cannot be parsed: "
                              "send it in the content type the operation documents", None)
    code = _HTTP_CODES.get(exc.status_code, "error")
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_methods_of(request))
    return error_response(exc.status_code, code, str(exc.detail), None, headers=headers or None)


def _methods_of(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's,
    so GET and DELETE on /v1/batches/{id} answered `Allow: GET`)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods - {"HEAD"})


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
    if isinstance(exc, OSError):
        # the store's files (or a snapshot of them) could not be read or written: a fault of
        # the server's storage, not a bug in a request; logged with its traceback
        incident = uuid.uuid4().hex[:12]
        log.error("incident %s on %s %s: storage fault", incident, request.method,
                  request.url.path, exc_info=exc)
        return error_response(503, "server_fault", FAULT_MESSAGE, ref=incident)
    return _internal(exc, request)


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(MapperError, _mapper_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
