"""GET|POST /sparql: the read-only SPARQL 1.1 Protocol endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Reader, StateDep
from mapper.errors import QueryError

router = APIRouter(tags=["sparql"])

_EXAMPLE = "SELECT ?system ?label WHERE { ?system a aims:AISystem ; rdfs:label ?label } LIMIT 10"
_DESCRIPTION = (
    "The SPARQL 1.1 Protocol, read-only. Send the query as the `query` parameter (GET or "
    "POST `application/x-www-form-urlencoded`) or as a POST body of type "
    "`application/sparql-query`. SELECT/ASK answer in SPARQL JSON (default), XML, CSV or TSV; "
    "CONSTRUCT/DESCRIBE in Turtle (default), JSON-LD, N-Triples or RDF/XML, chosen by "
    "`Accept`. The default graph is the union of all graphs (the ontology included) unless "
    "`default-graph-uri` is given. Updates, LOAD and SERVICE are refused (400); a query over "
    "the time limit is stopped (400), as is an answer over the result-size limit."
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
    400: {"description": "Syntax error, an update, LOAD or SERVICE, or a limit reached."},
    406: {"description": "No acceptable result format."},
    415: {"description": "A POST body that is neither a form nor application/sparql-query."},
}

_PREFIXES = (
    "PREFIX aims: <https://aims-graph.org/ns#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)

QueryParam = Annotated[str | None, Query(
    description="The SPARQL query.", examples=[_PREFIXES + _EXAMPLE])]
DefaultGraphs = Annotated[list[str] | None, Query(
    alias="default-graph-uri", description="Graphs whose union is the default graph.")]
NamedGraphs = Annotated[list[str] | None, Query(
    alias="named-graph-uri", description="Graphs available to GRAPH clauses.")]


async def _answer(state: StateDep, text: str | None, accept: str | None,
                  default_graph: list[str] | None, named_graphs: list[str] | None) -> Response:
    if text is None:
        raise QueryError("no query: pass it as the `query` parameter or as an "
                         "application/sparql-query body", ref="query")
    media, body = await run_in_threadpool(
        state.sparql.run, text, accept=accept, default_graph=default_graph,
        named_graphs=named_graphs)
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/sparql", summary="SPARQL query (GET)", description=_DESCRIPTION,
            responses=_RESPONSES, response_class=Response)
async def sparql_get(
    state: StateDep, _: Reader, query: QueryParam = None,
    default_graph: DefaultGraphs = None, named_graphs: NamedGraphs = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    return await _answer(state, query, accept, default_graph, named_graphs)


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
    request: Request, state: StateDep, _: Reader,
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
    return await _answer(state, text, accept, default_graph or None, named_graphs or None)
