"""GET /v1/queries and /v1/queries/{name}: the named query library."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel

from api.deps import Reader, StateDep
from api.sparql import negotiate
from mapper.questions import queries
from mapper.tabular import csv_text

router = APIRouter(prefix="/v1/queries", tags=["queries"])


class ParamInfo(BaseModel):
    name: str
    type: str
    required: bool
    default: str | None
    description: str


class QueryInfo(BaseModel):
    name: str
    summary: str
    description: str
    params: list[ParamInfo]
    columns: list[str]

    model_config = {"json_schema_extra": {"examples": [{
        "name": "expired-exceptions",
        "summary": "Exceptions still active past their expiry date as of a date.",
        "description": "", "columns": ["exception", "label", "expiry"],
        "params": [{"name": "as_of", "type": "date", "required": False, "default": "today",
                    "description": ""}]}]}}


class QueryAnswer(BaseModel):
    query: str
    columns: list[str]
    rows: list[dict[str, Any]]

    model_config = {"json_schema_extra": {"examples": [{
        "query": "expired-exceptions", "columns": ["exception", "label", "expiry"],
        "rows": [{"exception": "https://example.org/exc/EXC-3", "label": "Legacy chatbot",
                  "expiry": "2026-03-31"}]}]}}


def _info(query: queries.NamedQuery) -> QueryInfo:
    return QueryInfo(
        name=query.name, summary=query.summary, description=query.description,
        columns=list(query.columns),
        params=[ParamInfo(name=p.name, type=p.type, required=p.required, default=p.default,
                          description=p.description) for p in query.params])


@router.get("", response_model=list[QueryInfo], summary="List the named queries",
            description="Each query's name, summary, parameters (name, type, default) and "
            "result columns.")
def list_queries(_: Reader) -> list[QueryInfo]:
    return [_info(q) for q in queries.catalogue().values()]


@router.get(
    "/{name}", response_model=QueryAnswer, summary="Run a named query",
    description="Run the query `name` with its parameters given as query-string parameters "
    "(e.g. `?as_of=2026-06-30&system=https://...`); values are bound as RDF terms, never "
    "pasted into the query. JSON by default; `Accept: text/csv` gives CSV (cells that a "
    "spreadsheet would run as formulas are neutralised). Unknown query: 404; unknown or bad "
    "parameter: 422.",
    responses={200: {"content": {"text/csv": {"example": "exception,label,expiry\r\n"}}},
               404: {"description": "No query of that name."},
               406: {"description": "Neither JSON nor CSV is acceptable."}},
)
def run_query(
    name: Annotated[str, PathParam(description="The query's name (GET /v1/queries).",
                                   examples=["expired-exceptions"])],
    request: Request, state: StateDep, _: Reader,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    query = queries.get(name)
    fmt = negotiate(accept, {"application/json": "json", "text/csv": "csv"}, "json") or "json"
    with state.reading() as store:
        result = queries.run(store, query, dict(request.query_params))
    if fmt == "csv":
        columns, rows = queries.result_table(result)
        return Response(csv_text(columns, rows), media_type="text/csv; charset=utf-8")
    return QueryAnswer(query=query.name, columns=list(result.variables),
                       rows=queries.result_dicts(result))
