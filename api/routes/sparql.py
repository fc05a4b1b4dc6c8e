"""GET|POST /sparql: the read-only SPARQL 1.1 Protocol endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import Reader, StateDep
from mapper.errors import QueryError

router = APIRouter(tags=["sparql"])

_EXAMPLE = "SELECT ?system ?label WHERE { ?system a aims:AISystem ; rdfs:label ?label } LIMIT 10"
_DESCRIPTION = (
    "The SPARQL 1.1 Protocol, read-only. Send the query as the `query` parameter (GET or "
    "POST `application/x-www-form-urlencoded`) or as a POST body of type "
    "`application/sparql-query`. SELECT/ASK answer in SPARQL JSON (default), XML, CSV or TSV; "
    "CONSTRUCT/DESCRIBE in Turtle (default), JSON-LD, N-Triples or RDF/XML, chosen by "
    "`Accept`. The dataset follows the SPARQL 1.1 Protocol: `default-graph-uri` / "
    "`named-graph-uri` when given, else the query's FROM / FROM NAMED, else the default graph "
    "is the union of all graphs (the ontology included). Updates, LOAD and SERVICE are "
    "refused (400), as are a query text over the size or nesting limit and an answer over the "
    "result-size limit. Each key may have one query running or waiting at a time (429 with "
    "`Retry-After` beyond it); a query stopped at the time limit is 503 `query_timeout`, at "
    "a worker's memory limit 503 `resource_limit`, both with `Retry-After`."
)
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The results, in the negotiated format.",
        "content": {
            "application/sparql-results+json": {"example": {
                "head": {"vars": ["system", "label"]},
                "results": {"bindings": [{
                    "system": {"type": "uri", "value": "https://example.org/sys/SYS-001"},
                    "label": {"type": "literal", "value": "Credit scoring"}}]}}},
            "application/sparql-results+xml": {},
            "text/csv": {}, "text/tab-separated-values": {},
            "text/turtle": {}, "application/ld+json": {}, "application/n-triples": {},
            "application/rdf+xml": {},
        },
    },
    400: {"description": "Syntax error, an update, LOAD or SERVICE, a query text over the "
                         "size or nesting limit, or an answer over the result-size limit."},
    406: {"description": "No acceptable result format."},
    415: {"description": "A POST body that is neither a form nor application/sparql-query."},
    429: {"description": "This key already has its share of queries running or waiting; "
                         "try again after `Retry-After` seconds."},
    503: {"description": "`query_timeout` (stopped at the time limit), `resource_limit` "
                         "(stopped at the memory limit), `busy` (every worker busy and the "
                         "queue full): try again after `Retry-After`; or a server fault."},
}

_PREFIXES = (
    "PREFIX aims: <https://aims-graph.org/ns#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)

QueryParam = Annotated[str | None, Query(
    description="The SPARQL query.", examples=[_PREFIXES + _EXAMPLE])]
GraphIri = Annotated[str, StringConstraints(min_length=1, pattern=r'^[^\s<>"{}|^`\\]+$')]
"""A graph's IRI: not empty, no character an IRI cannot hold."""
DefaultGraphs = Annotated[list[GraphIri] | None, Query(
    alias="default-graph-uri", description="Graphs whose union is the default graph.")]
NamedGraphs = Annotated[list[GraphIri] | None, Query(
    alias="named-graph-uri", description="Graphs available to GRAPH clauses.")]


def _caller(request: Request, principal: Principal) -> str:
    """Whose share a query counts against: the key, or the client address without auth."""
    if principal.name == "anonymous" and not request.app.state.aims.settings.auth:
        return "anonymous@" + (request.client.host if request.client else "?")
    return "key:" + principal.name


async def _answer(request: Request, state: StateDep, principal: Principal, text: str | None,
                  accept: str | None, default_graph: list[str] | None,
                  named_graphs: list[str] | None) -> Response:
    if text is None:
        raise QueryError("no query: pass it as the `query` parameter or as an "
                         "application/sparql-query body", ref="query")
    media, body = await run_in_threadpool(
        state.sparql.run, text, accept=accept, default_graph=default_graph,
        named_graphs=named_graphs, key=_caller(request, principal))
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/sparql", summary="SPARQL query (GET)", description=_DESCRIPTION,
            responses=_RESPONSES, response_class=Response)
async def sparql_get(
    request: Request, state: StateDep, principal: Reader, query: QueryParam = None,
    default_graph: DefaultGraphs = None, named_graphs: NamedGraphs = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    return await _answer(request, state, principal, query, accept, default_graph, named_graphs)


@router.post(
    "/sparql", summary="SPARQL query (POST)", description=_DESCRIPTION, responses=_RESPONSES,
    response_class=Response,
    openapi_extra={"requestBody": {"content": {
        "application/sparql-query": {"schema": {"type": "string"},
                                     "example": _PREFIXES + _EXAMPLE},
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": {"query": {"type": "string"}},
            "required": ["query"]}},
    }}},
)
async def sparql_post(
    request: Request, state: StateDep, principal: Reader,
    default_graph: DefaultGraphs = None, named_graphs: NamedGraphs = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/sparql-query":
        raw = await request.body()
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise QueryError("the query body is not UTF-8 text") from None
    elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        value = form.get("query")
        text = value if isinstance(value, str) else None
        default_graph = default_graph or [str(v) for v in form.getlist("default-graph-uri")]
        named_graphs = named_graphs or [str(v) for v in form.getlist("named-graph-uri")]
    else:
        raise HTTPException(415, "send the query as application/sparql-query or as a "
                            "form field `query` (application/x-www-form-urlencoded)")
    return await _answer(request, state, principal, text, accept, default_graph or None,
                         named_graphs or None)
