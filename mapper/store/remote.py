"""The remote backend: any SPARQL 1.1 Query + Update endpoint over HTTP (with optional auth).

Settings (read by `RemoteStore.from_settings(url)`, i.e. `AIMS_STORE=http://host/sparql`):

- `AIMS_STORE`: the query endpoint.
- `AIMS_STORE_UPDATE`: the update endpoint (default: the query URL). Virtuoso: `/sparql-auth`.
- `AIMS_STORE_GSP`: optional SPARQL 1.1 Graph Store Protocol endpoint for bulk writes
  (Virtuoso: `/sparql-graph-crud-auth`, Fuseki: `/DATASET/data`). Without it, large writes go
  through SPARQL Update in chunks.
- `AIMS_STORE_USER`, `AIMS_STORE_PASSWORD`: HTTP credentials (none by default).
- `AIMS_STORE_AUTH`: `auto` (default: answer the server's challenge, digest or basic), `basic`
  or `digest` (Virtuoso's `/sparql-auth` wants digest; Fuseki and GraphDB use basic).
- `AIMS_STORE_TIMEOUT`: seconds to wait for an answer (default 60); connecting waits 5 s.
- `AIMS_STORE_PAGE_SIZE`: rows per page when reading whole graphs (default 10000, Virtuoso's
  default `ResultSetMaxRows`; must not exceed the server's row limit).
- `AIMS_STORE_CHUNK`: triples per SPARQL Update request (default 1000: Virtuoso refuses an
  update whose generated SQL exceeds 10,000 lines, about 2,000 triples).

What the server must provide, and what this backend cannot promise:

- **Union default graph.** Queries are sent without FROM and must see the union of all named
  graphs as their default graph. Virtuoso's `/sparql` does this out of the box; so do GraphDB
  and Amazon Neptune. Apache Jena Fuseki needs `tdb2:unionDefaultGraph true` on the dataset.
  A server's own system graphs (Virtuoso keeps its schema, OWL and DAV graphs) are then visible
  to queries too; `graphs()`, `quads()` and `to_graph()` leave them out (see SYSTEM_GRAPHS).
- **A batch lands whole or not at all, with recovery on open.** `add_quads` sends one update
  request when the batch fits in `AIMS_STORE_CHUNK` triples. A larger batch (or one over several
  graphs, such as an ingest batch and its provenance) is first written to private staging graphs
  (`urn:aims:staging:RUN:N`, through the Graph Store Protocol when configured, else in chunks);
  the run's plan graph (`...:RUN:plan`) records when it started and, once every triple is on the
  server, which staging graph goes where (the completion mark). One final request then `ADD`s
  each staging graph to its target and drops the staging graphs and the plan. Every open
  (`recover_staging`) finishes a marked run a dead client left (ADD is a set union, so
  repeating a half-applied move is harmless) and drops an unmarked run older than
  $AIMS_STORE_STAGING_TTL seconds (default 3600, so a live writer's staging is left alone);
  tests/test_remote_atomic.py kills the client before and after the mark and by SIGKILL.
  Caveat, measured on Virtuoso 7.2: a request with several operations is not rolled back when a
  later one fails, and a reader may see the final request's graphs appear one by one (data
  before its provenance: the batch is then listed once the request ends). Staging graphs are
  never visible in `graphs()`; `drop_staging()` removes every one. A failed single-chunk write
  leaves nothing (the server rejects the whole request at parse time).
- **Blank nodes** get fresh identities on the server (SPARQL Update semantics). Triples that
  share a blank node (within one graph) are always sent in the same request, so a batch keeps
  its structure. Blank-node labels read back are the server's (`b10003` for Virtuoso's
  `nodeID://b10003`).
- **Canonical literals.** The server may store literals by value: Virtuoso gives booleans as
  `1`/`0` in JSON results (turned back into `true`/`false` here), decimals as `1.5` for
  `1.50`, language tags in lower case (as pyoxigraph does).
- **Row limits.** Servers cap result sizes (Virtuoso: `ResultSetMaxRows`, 10,000 by default,
  and it truncates silently). `quads()` pages through graphs (unordered pages checked against
  a COUNT, else ordered pages); `to_graph()` (for pyshacl) reads through `quads()`: paged
  CONSTRUCT was no faster (bench/store.py); `query()` raises QueryError
  when the server says it truncated a SELECT, or when a CONSTRUCT returns exactly a page of
  triples (add LIMIT/OFFSET, or raise the server's limit and AIMS_STORE_PAGE_SIZE).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Identifier, Node

from mapper.errors import QueryError, StoreUnavailable
from mapper.store.contract import FAULT_ENV, Quad, QueryResult, Store
from mapper.store.sparql import bind_values
from mapper.store.terms import from_ox, sparql_iri, sparql_term

_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
_XSD_BOOLEAN = _XSD + "boolean"
_STAGING = "urn:aims:staging:"
_STARTED = "urn:aims:staging#started"
_MOVE_TO = "urn:aims:staging#moveTo"

SYSTEM_GRAPHS: tuple[str, ...] = (
    "http://www.openlinksw.com/schemas/virtrdf#",
    "http://www.w3.org/ns/ldp#",
    "http://www.w3.org/2002/07/owl#",
    "urn:activitystreams-owl:map",
    "virtrdf-label",
)
"""Graphs a server keeps for itself (Virtuoso), never reported as data. Graphs under the
endpoint's own origin (`http://host:port/...`, Virtuoso's DAV and service description) and
staging graphs are left out too."""

_RESULTS_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"
_FORM_TOKEN = re.compile(
    r"<[^<>\"{}|^`\\\s]*>|'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
    r"|#[^\n]*|(?P<word>[A-Za-z]+)",
    re.DOTALL,
)
_VIRTUOSO_ERROR = re.compile(r"^Virtuoso \w+ Error", re.MULTILINE)


def query_form(sparql: str) -> str:
    """The form of a query: select, ask, construct or describe (comments and strings skipped).

    >>> query_form("PREFIX x: <urn:x#> # SELECT in a comment\\nCONSTRUCT { ?s ?p 'ASK' } WHERE {}")
    'construct'
    """
    for match in _FORM_TOKEN.finditer(sparql):
        word = match.group("word")
        if word and word.upper() in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
            return word.lower()
    raise QueryError("not a SPARQL query: no SELECT, ASK, CONSTRUCT or DESCRIBE found")


# --- terms as SPARQL text -------------------------------------------------------------------


def _iri(value: str) -> str:
    if not value:
        raise ValueError("not a valid IRI: ''")
    return sparql_iri(value)


class _Writer:
    """Writes rdflib terms as SPARQL/N-Triples text (mapper.store.terms), blank nodes with
    request-local labels."""

    def __init__(self) -> None:
        self.blank: dict[str, str] = {}

    def term(self, term: Node) -> str:
        if isinstance(term, BNode):
            return self.blank.setdefault(str(term), f"_:b{len(self.blank)}")
        return sparql_term(term)

    def triple(self, s: Node, p: Node, o: Node) -> str:
        if isinstance(p, BNode):
            raise TypeError(f"a predicate cannot be a blank node: {p!r}")
        return f"{self.term(s)} {self.term(p)} {self.term(o)} ."


# --- JSON results as rdflib terms -----------------------------------------------------------


def from_json(value: Mapping[str, str]) -> Identifier:
    """A SPARQL JSON results term as an rdflib term (xsd:string literals stay plain).

    >>> from_json({"type": "typed-literal", "datatype": _XSD_BOOLEAN, "value": "1"})
    rdflib.term.Literal('true', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#boolean'))
    """
    kind, text = value["type"], value["value"]
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text.removeprefix("nodeID://"))
    if kind not in ("literal", "typed-literal"):
        raise StoreUnavailable(f"unexpected term in SPARQL results: {value!r}")
    lang = value.get("xml:lang")
    if lang:
        return Literal(text, lang=lang)
    datatype = value.get("datatype")
    if not datatype or datatype == _XSD_STRING:
        return Literal(text)
    if datatype == _XSD_BOOLEAN and text in ("1", "0"):
        text = "true" if text == "1" else "false"
    return Literal(text, datatype=URIRef(datatype))


class _AutoAuth(httpx.Auth):
    """Answer the server's challenge with digest or basic auth, whichever it asks for."""

    def __init__(self, user: str, password: str) -> None:
        self._basic = httpx.BasicAuth(user, password)
        self._digest = httpx.DigestAuth(user, password)
        self._scheme: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme is None:
            response = yield request
            if response.status_code != 401:
                return
            challenge = response.headers.get("www-authenticate", "").lower()
            self._scheme = "digest" if challenge.startswith("digest") else "basic"
        chosen: httpx.Auth = self._digest if self._scheme == "digest" else self._basic
        yield from chosen.sync_auth_flow(request)


def _float_setting(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise StoreUnavailable(f"${name} must be a number of seconds, not {raw!r}") from exc


def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise StoreUnavailable(f"${name} must be a whole number, not {raw!r}") from exc
    if value <= 0:
        raise StoreUnavailable(f"${name} must be positive, not {raw!r}")
    return value


# --- the store --------------------------------------------------------------------------------


class RemoteStore(Store):
    """A SPARQL 1.1 Query + Update endpoint (Virtuoso, Fuseki, GraphDB, Neptune, ...)."""

    kind = "remote"

    def __init__(
        self,
        url: str,
        *,
        update_url: str | None = None,
        gsp_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        auth: str = "auto",
        timeout: float = 60.0,
        page_size: int = 10_000,
        chunk: int = 1_000,
        ensure_ontology: bool = True,
    ) -> None:
        self.location = url
        self.url = url
        self.update_url = update_url or url
        self.gsp_url = gsp_url
        self.page_size = page_size
        self.chunk = chunk
        self.timeout = timeout
        credentials: httpx.Auth | None = None
        if user:
            if auth == "basic":
                credentials = httpx.BasicAuth(user, password or "")
            elif auth == "digest":
                credentials = httpx.DigestAuth(user, password or "")
            elif auth == "auto":
                credentials = _AutoAuth(user, password or "")
            else:
                raise StoreUnavailable(
                    f"$AIMS_STORE_AUTH must be auto, basic or digest, not {auth!r}"
                )
        self._client = httpx.Client(
            auth=credentials, timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=True
        )
        parts = urlsplit(url)
        self._origin = f"{parts.scheme}://{parts.netloc}/"
        if ensure_ontology:
            self.ensure_ontology()
            self.recover_staging()

    @classmethod
    def from_settings(cls, url: str, *, ensure_ontology: bool = True) -> RemoteStore:
        """The remote store at `url`, configured by the $AIMS_STORE_* settings (module doc)."""
        env = os.environ
        try:
            timeout = float(env.get("AIMS_STORE_TIMEOUT") or 60)
        except ValueError as exc:
            raise StoreUnavailable("$AIMS_STORE_TIMEOUT must be a number of seconds") from exc
        return cls(
            url,
            update_url=env.get("AIMS_STORE_UPDATE") or None,
            gsp_url=env.get("AIMS_STORE_GSP") or None,
            user=env.get("AIMS_STORE_USER") or None,
            password=env.get("AIMS_STORE_PASSWORD") or None,
            auth=(env.get("AIMS_STORE_AUTH") or "auto").lower(),
            timeout=timeout,
            page_size=_int_setting("AIMS_STORE_PAGE_SIZE", 10_000),
            chunk=_int_setting("AIMS_STORE_CHUNK", 1_000),
            ensure_ontology=ensure_ontology,
        )

    # --- HTTP -------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                raise StoreUnavailable(
                    f"cannot reach the SPARQL endpoint {url}: timed out"
                ) from exc
            raise QueryError(
                f"the SPARQL endpoint {url} gave no answer within {self.timeout:g} s "
                "(raise $AIMS_STORE_TIMEOUT or simplify the query)"
            ) from exc
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"cannot reach the SPARQL endpoint {url} ({exc}); is the server running? "
                "Check $AIMS_STORE / --store"
            ) from exc
        if response.status_code < 300:
            return response
        body = response.text.strip()
        first = body.splitlines()[0][:300] if body else response.reason_phrase
        if response.status_code in (401, 403):
            raise StoreUnavailable(
                f"the SPARQL endpoint {url} refused access ({response.status_code}): check "
                "$AIMS_STORE_USER, $AIMS_STORE_PASSWORD and $AIMS_STORE_AUTH"
            )
        if response.status_code == 404:
            raise StoreUnavailable(f"no SPARQL endpoint at {url} (404): check $AIMS_STORE")
        if response.status_code >= 500 and not _VIRTUOSO_ERROR.search(body):
            raise StoreUnavailable(
                f"the SPARQL endpoint {url} failed ({response.status_code}): {first}"
            )
        raise QueryError(f"the SPARQL endpoint {url} refused the request: {first}")

    def protocol_query(self, sparql: str, *, accept: str,
                       default_graphs: Sequence[str] | None = None,
                       named_graphs: Sequence[str] | None = None) -> httpx.Response:
        """Send a query as it came to the API's /sparql (SPARQL 1.1 Protocol, POST form) with
        its `default-graph-uri` / `named-graph-uri` parameters; the endpoint's answer.

        The caller has checked the query (read-only) and bounds the answer; errors are mapped
        as for every request (QueryError for a refused query, StoreUnavailable otherwise).
        """
        data: dict[str, str | list[str]] = {"query": sparql}
        if default_graphs is not None:
            data["default-graph-uri"] = list(default_graphs)
        if named_graphs is not None:
            data["named-graph-uri"] = list(named_graphs)
        return self._send("POST", self.url, data=data, headers={"Accept": accept})

    def _select_json(self, sparql: str) -> tuple[dict[str, Any], httpx.Response]:
        response = self._send("POST", self.url, data={"query": sparql},
                              headers={"Accept": _RESULTS_JSON})
        try:
            return json.loads(response.content), response
        except ValueError as exc:
            raise StoreUnavailable(
                f"the SPARQL endpoint {self.url} did not answer with SPARQL JSON results"
            ) from exc

    def _rows(self, sparql: str) -> tuple[list[str], list[tuple[Node | None, ...]], bool]:
        """Variables, rows, and whether the server says it truncated the result."""
        data, response = self._select_json(sparql)
        variables: list[str] = list(data.get("head", {}).get("vars", []))
        bindings = data.get("results", {}).get("bindings", [])
        rows: list[tuple[Node | None, ...]] = [
            tuple(from_json(b[v]) if v in b else None for v in variables) for b in bindings
        ]
        return variables, rows, "x-sparql-maxrows" in response.headers

    # --- the Store interface ----------------------------------------------------------------

    def query(self, sparql: str, *, bindings: Mapping[str, Node] | None = None) -> QueryResult:
        text = bind_values(sparql, bindings)
        form = query_form(text)
        if form == "ask":
            data, _ = self._select_json(text)
            return QueryResult(kind="ask", boolean=bool(data.get("boolean")))
        if form == "select":
            variables, rows, truncated = self._rows(text)
            if truncated:
                raise QueryError(
                    f"the SPARQL endpoint {self.url} cut the result at {len(rows)} rows "
                    "(its row limit): add LIMIT/OFFSET to the query, or raise the limit"
                )
            return QueryResult(kind="select", variables=variables, rows=rows)
        graph = self._construct(text)
        if len(graph) == self.page_size:
            raise QueryError(
                f"the SPARQL endpoint {self.url} returned exactly {self.page_size} triples, its "
                "row limit: the result is probably cut; add LIMIT/OFFSET or raise the limit"
            )
        return QueryResult(kind="graph", graph=graph)

    def _construct(self, sparql: str) -> Graph:
        response = self._send("POST", self.url, data={"query": sparql},
                              headers={"Accept": f"{_NTRIPLES}, text/turtle;q=0.5"})
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = ox.RdfFormat.TURTLE if media == "text/turtle" else ox.RdfFormat.N_TRIPLES
        graph = Graph()
        try:
            for t in ox.parse(response.content, format=fmt):
                graph.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))
        except SyntaxError as exc:
            raise StoreUnavailable(f"unreadable graph from {self.url} ({media}): {exc}") from exc
        return graph

    def update(self, sparql: str) -> None:
        self._send("POST", self.update_url, data={"update": sparql},
                   headers={"Accept": f"{_RESULTS_JSON}, */*;q=0.1"})

    def add_quads(self, quads: Iterable[Quad]) -> None:
        """Add quads; atomic per request (see the module doc for batches over one chunk).

        Every term is checked before anything is sent, so a bad term adds nothing.
        """
        by_graph: dict[str, list[tuple[Node, Node, Node]]] = {}
        for s, p, o, g in quads:
            _iri(g)
            by_graph.setdefault(g, []).append((s, p, o))
        for triples in by_graph.values():  # fail before sending anything
            writer = _Writer()
            for triple in triples:
                writer.triple(*triple)
        total = sum(len(t) for t in by_graph.values())
        if total == 0:
            return
        if total <= self.chunk:
            self.update(_insert(by_graph))
            return
        self._staged_add(by_graph)

    def _staged_add(self, by_graph: Mapping[str, Sequence[tuple[Node, Node, Node]]]) -> None:
        """Stage every graph privately, mark the run staged, then move it in one request.

        The run's plan graph (`urn:aims:staging:RUN:plan`) says when it started and, once every
        triple is on the server, that it is staged: the completion marker `recover_staging`
        reads on the next open. Staged runs are moved forward (ADD is a set union, so a move
        repeated after a half-applied request changes nothing), unstaged ones dropped.
        """
        run = uuid.uuid4().hex
        plan = f"{_STAGING}{run}:plan"
        staging = {g: f"{_STAGING}{run}:{n}" for n, g in enumerate(by_graph)}
        try:
            self.update(f"INSERT DATA {{ GRAPH {_iri(plan)} {{ {_iri(plan)} {_iri(_STARTED)} "
                        f"{sparql_term(Literal(int(time.time())))} }} }}")
            for graph, triples in by_graph.items():
                if self.gsp_url:
                    self._gsp_post(staging[graph], triples)
                else:
                    for part in _chunks(triples, self.chunk):
                        self.update(_insert({staging[graph]: part}))
            if os.environ.get(FAULT_ENV) == "remote-staged":
                os._exit(70)  # noqa: SLF001 - dies before the marker: the run must vanish
            moves = "\n".join(f"{_iri(s)} {_iri(_MOVE_TO)} {_iri(g)} ." for g, s in staging.items())
            self.update(f"INSERT DATA {{ GRAPH {_iri(plan)} {{\n{moves}\n}} }}")
        except BaseException:
            self._drop_run([*staging.values(), plan])
            raise
        if os.environ.get(FAULT_ENV) == "remote-marked":
            os._exit(70)  # noqa: SLF001 - dies after the marker: the run must land whole
        self._move(plan, staging.items())

    def _move(self, plan: str, moves: Iterable[tuple[str, str]]) -> None:
        """The one request that makes a staged run visible: every ADD, then the drops."""
        pairs = list(moves)
        ops = [f"ADD SILENT {_iri(s)} TO {_iri(g)}" for g, s in pairs]
        ops += [f"DROP SILENT GRAPH {_iri(s)}" for _, s in pairs]
        self.update(" ;\n".join([*ops, f"DROP SILENT GRAPH {_iri(plan)}"]))

    def _drop_run(self, graphs: Iterable[str]) -> None:
        for graph in graphs:
            # the original error matters more; recover_staging() cleans up later
            with contextlib.suppress(StoreUnavailable, QueryError):
                self.drop_graph(graph)

    def _gsp_post(self, graph: str, triples: Sequence[tuple[Node, Node, Node]]) -> None:
        assert self.gsp_url
        writer = _Writer()
        body = "\n".join(writer.triple(*t) for t in triples).encode("utf-8")
        self._send("POST", self.gsp_url, params={"graph-uri": graph, "graph": graph},
                   content=body, headers={"Content-Type": _NTRIPLES})

    def load(self, data: bytes, *, format: str, graph: str) -> None:
        """Parse a serialisation here (errors as on the embedded store), then add it."""
        fmt = {"nt": ox.RdfFormat.N_TRIPLES, "turtle": ox.RdfFormat.TURTLE}[format]
        self.add_quads(
            (from_ox(t.subject), from_ox(t.predicate), from_ox(t.object), graph)
            for t in ox.parse(data, format=fmt)
        )

    def drop_graph(self, graph: str) -> None:
        self.update(f"DROP SILENT GRAPH {_iri(graph)}")

    def _is_data_graph(self, graph: str) -> bool:
        return not (
            graph.startswith(SYSTEM_GRAPHS)
            or graph.startswith(_STAGING)
            or graph.startswith(self._origin)
        )

    def _all_graphs(self) -> list[str]:
        found: list[str] = []
        offset = 0
        while True:
            _, rows, _ = self._rows(
                "SELECT ?g WHERE { { SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } "
                f"ORDER BY ?g }} }} LIMIT {self.page_size} OFFSET {offset}"
            )
            found.extend(str(row[0]) for row in rows if isinstance(row[0], URIRef))
            if len(rows) < self.page_size:
                return found
            offset += self.page_size

    def graphs(self) -> list[str]:
        return sorted(g for g in self._all_graphs() if self._is_data_graph(g))

    def recover_staging(self, *, older_than: float | None = None) -> dict[str, list[str]]:
        """Finish or undo the staged writes a dead client left (run on every open: one query
        over the plans' `started` marks when there is nothing to do).

        A run marked staged is moved into its graphs (its batch lands whole); a run without
        the mark that started more than `older_than` seconds ago (default
        $AIMS_STORE_STAGING_TTL, 3600, so a writer still staging a large batch is left alone)
        is dropped. Returns {"moved": [target graphs], "dropped": [staging graphs]}.
        """
        _, rows, _ = self._rows(
            f"SELECT ?plan ?t WHERE {{ GRAPH ?plan {{ ?plan {_iri(_STARTED)} ?t }} }}")
        if not rows:
            return {"moved": [], "dropped": []}
        ttl = older_than if older_than is not None else _float_setting(
            "AIMS_STORE_STAGING_TTL", 3600.0)
        started = {str(plan): float(str(t)) for plan, t in rows}
        _, pairs, _ = self._rows(
            f"SELECT ?plan ?s ?g WHERE {{ GRAPH ?plan {{ ?s {_iri(_MOVE_TO)} ?g }} }}")
        moves: dict[str, list[tuple[str, str]]] = {}
        for plan_of_row, staged, target in pairs:
            moves.setdefault(str(plan_of_row), []).append((str(target), str(staged)))
        moved: list[str] = []
        for name, planned in moves.items():
            self._move(name, planned)
            moved.extend(g for g, _ in planned)
        stale = {plan for plan, t in started.items()
                 if plan not in moves and time.time() - t >= ttl}
        dropped: list[str] = []
        if stale:
            for name in self._all_graphs():
                if name.startswith(_STAGING) and _plan_of(name) in stale:
                    self.drop_graph(name)
                    dropped.append(name)
        return {"moved": sorted(moved), "dropped": sorted(dropped)}

    def drop_staging(self) -> list[str]:
        """Drop every staging graph (finished or not); returns their names."""
        left = [g for g in self._all_graphs() if g.startswith(_STAGING)]
        for graph in left:
            self.drop_graph(graph)
        return left

    def _graph_rows(self, graph: str) -> Iterator[tuple[Node | None, ...]]:
        pattern = f"GRAPH {_iri(graph)} {{ ?s ?p ?o }}"
        _, counted, _ = self._rows(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
        total = int(counted[0][0]) if counted and isinstance(counted[0][0], Literal) else -1
        if 0 <= total < self.page_size:
            _, rows, truncated = self._rows(f"SELECT ?s ?p ?o WHERE {{ {pattern} }}")
            if not truncated:
                yield from rows
                return
        # More than a page. SPARQL promises a stable order for LIMIT/OFFSET only with ORDER BY,
        # which costs a sort of the whole graph per page (x10 at 261,000 triples on Virtuoso).
        # So page without it first, and keep the result only if it holds exactly the counted
        # number of distinct triples (a graph is a set); otherwise (the server reordered, or
        # someone wrote meanwhile) read again in order.
        seen: set[tuple[Node | None, ...]] = set()
        offset = 0
        while True:
            _, rows, _ = self._rows(
                f"SELECT ?s ?p ?o WHERE {{ {pattern} }} LIMIT {self.page_size} OFFSET {offset}"
            )
            seen.update(rows)
            offset += self.page_size
            if len(rows) < self.page_size or offset >= total:
                break
        if len(seen) == total:
            yield from seen
            return
        # Virtuoso needs the ORDER BY in a sub-select to page past its sort limit.
        offset = 0
        while True:
            _, rows, _ = self._rows(
                f"SELECT ?s ?p ?o WHERE {{ {{ SELECT ?s ?p ?o WHERE {{ {pattern} }} "
                f"ORDER BY ?s ?p ?o }} }} LIMIT {self.page_size} OFFSET {offset}"
            )
            yield from rows
            offset += self.page_size
            if len(rows) < self.page_size or 0 <= total <= offset:
                return

    def quads(self, graph: str | None = None) -> Iterator[Quad]:
        names = [graph] if graph else self.graphs()
        for name in names:
            for s, p, o in self._graph_rows(name):
                assert s is not None and p is not None and o is not None
                yield (s, p, o, name)

    def close(self) -> None:
        self._client.close()


def _plan_of(staging: str) -> str:
    """The plan graph of a staging graph (`urn:aims:staging:RUN:N` -> `...:RUN:plan`)."""
    return staging.rsplit(":", 1)[0] + ":plan"


def _chunks(
    triples: Sequence[tuple[Node, Node, Node]], size: int
) -> Iterator[list[tuple[Node, Node, Node]]]:
    """Split triples into chunks of about `size`, keeping triples that share a blank node
    together (each request mints its own blank nodes)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s, _, o in triples:
        if isinstance(s, BNode) and isinstance(o, BNode):
            parent[find(str(s))] = find(str(o))
    groups: dict[str, list[tuple[Node, Node, Node]]] = {}
    part: list[tuple[Node, Node, Node]] = []
    for triple in triples:
        s, _, o = triple
        node = s if isinstance(s, BNode) else o if isinstance(o, BNode) else None
        if node is None:
            part.append(triple)
            if len(part) >= size:
                yield part
                part = []
        else:
            groups.setdefault(find(str(node)), []).append(triple)
    for group in groups.values():
        if part and len(part) + len(group) > size:
            yield part
            part = []
        part.extend(group)
    if part:
        yield part


def _insert(by_graph: Mapping[str, Sequence[tuple[Node, Node, Node]]]) -> str:
    """One update request adding the triples (INSERT DATA, or INSERT WHERE {} when the data
    has blank nodes: Virtuoso refuses them in INSERT DATA)."""
    writer = _Writer()
    body = "\n".join(
        f"GRAPH {_iri(g)} {{\n" + "\n".join(writer.triple(*t) for t in triples) + "\n}"
        for g, triples in by_graph.items()
    )
    if writer.blank:
        return f"INSERT {{\n{body}\n}} WHERE {{}}"
    return f"INSERT DATA {{\n{body}\n}}"
