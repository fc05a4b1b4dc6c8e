"""The error hierarchy. Every user mistake is a MapperError with one clear line.

The CLI turns a MapperError into that line and exit code 2; the API maps each subclass to an
HTTP status in one table (api/errors.py). Anything else is a bug and may show a traceback.
"""

from __future__ import annotations


class MapperError(Exception):
    """Base class: `message` says what is wrong and what to do; `ref` points at the place."""

    code = "error"

    def __init__(self, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}" if self.ref else self.message


class InputError(MapperError):
    """Bad input file, row, parameter or option (CLI exit 2, HTTP 422)."""

    code = "invalid_input"


class NotFound(MapperError):
    """An unknown name: query, rule, batch, system (CLI exit 2, HTTP 404)."""

    code = "not_found"


class QueryError(MapperError):
    """A SPARQL query that cannot run: syntax, forbidden form, limits (HTTP 400)."""

    code = "bad_query"


class StoreUnavailable(MapperError):
    """The store cannot be opened or reached (HTTP 503)."""

    code = "store_unavailable"


class ResourceError(MapperError):
    """A broken packaged resource (ontology, shape or query file): a bug in the project data."""

    code = "resource_error"
