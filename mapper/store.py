"""The store: one interface, three backends chosen by a setting.

- embedded (default): a persistent pyoxigraph (RocksDB) store in a folder, `./.aims/` unless told
  otherwise; every write is one transaction, so a failed or killed ingest leaves nothing behind.
- memory: pyoxigraph in memory, for tests and one-shot runs (`AIMS_STORE=memory`).
- remote: any SPARQL 1.1 Query + Update endpoint (`AIMS_STORE=http://host/sparql`), see
  mapper/remote.py.

Terms cross this interface as rdflib terms. Queries see the union of all named graphs as their
default graph; the ontology lives in its own named graph (resources.ONTOLOGY_GRAPH) so that
`rdf:type/rdfs:subClassOf*` works inside the store.
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Identifier, Node

from mapper import resources
from mapper.errors import QueryError, StoreUnavailable

DEFAULT_PATH = ".aims"
META_GRAPH = "urn:aims:graph:meta"
FINDINGS_GRAPH = "urn:aims:graph:findings"
"""The stored validation findings (mapper.findings): derived data, not part of the AIMS."""
_ONTOLOGY_HASH = URIRef("urn:aims:ontologyHash")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

Quad = tuple[Node, Node, Node, str]
"""(subject, predicate, object, graph IRI) with rdflib terms."""


@dataclass
class QueryResult:
    """What a query returns: rows for SELECT, a boolean for ASK, a graph for CONSTRUCT/DESCRIBE."""

    kind: str  # "select" | "ask" | "graph"
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None

    def dicts(self) -> list[dict[str, Node | None]]:
        """Rows as dicts keyed by variable name."""
        return [dict(zip(self.variables, row, strict=True)) for row in self.rows]


class Store(ABC):
    """The contract every backend meets (tests/test_store.py runs it on all three)."""

    kind: str = "abstract"
    location: str = ""

    @abstractmethod
    def query(self, sparql: str, *, bindings: Mapping[str, Node] | None = None) -> QueryResult:
        """Run a SPARQL query over the union of all graphs; bindings pre-bind variables."""

    @abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL Update request as one transaction where the backend has them."""

    @abstractmethod
    def add_quads(self, quads: Iterable[Quad]) -> None:
        """Add quads in one transaction: all or nothing."""

    @abstractmethod
    def load(self, data: bytes, *, format: str, graph: str) -> None:
        """Parse a serialisation (`turtle` or `nt`) into one named graph, all or nothing."""

    @abstractmethod
    def drop_graph(self, graph: str) -> None:
        """Remove a named graph and all its triples."""

    @abstractmethod
    def graphs(self) -> list[str]:
        """IRIs of the named graphs in the store."""

    @abstractmethod
    def quads(self, graph: str | None = None) -> Iterator[Quad]:
        """Every quad, or those of one graph."""

    def load_nquads(self, data: bytes) -> None:
        """Add N-Quads (every quad in a named graph) in one transaction: all or nothing.

        The default parses with pyoxigraph and calls add_quads; backends override it with a
        native bulk load. Ingest writes a batch and its provenance with one call.
        """
        quads: list[Quad] = []
        for q in ox.parse(data, format=ox.RdfFormat.N_QUADS):
            if not isinstance(q.graph_name, ox.NamedNode):
                raise ValueError("load_nquads needs every quad in a named graph")
            quads.append((from_ox(q.subject), from_ox(q.predicate), from_ox(q.object),
                          q.graph_name.value))
        self.add_quads(quads)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the store (file locks, connections)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def to_graph(self, *, include_ontology: bool = False) -> Graph:
        """The union of the data graphs as an rdflib graph, for pyshacl and exports."""
        graph = Graph()
        for s, p, o, g in self.quads():
            if g == resources.ONTOLOGY_GRAPH and not include_ontology:
                continue
            if g in (META_GRAPH, FINDINGS_GRAPH):
                continue
            graph.add((s, p, o))
        return graph

    def ensure_ontology(self) -> None:
        """Load ontology/ into its graph when missing or out of date (compared by hash)."""
        onto = resources.ontology()
        data = onto.serialize(format="nt", encoding="utf-8")
        digest = hashlib.sha256(data).hexdigest()
        found = self.query(
            "SELECT ?h WHERE { GRAPH ?g { ?s ?p ?h } }",
            bindings={"g": URIRef(META_GRAPH), "s": _ONTOLOGY_HASH, "p": _ONTOLOGY_HASH},
        )
        if found.rows and str(found.rows[0][0]) == digest:
            return
        self.drop_graph(resources.ONTOLOGY_GRAPH)
        self.drop_graph(META_GRAPH)
        quads: list[Quad] = [(s, p, o, resources.ONTOLOGY_GRAPH) for s, p, o in onto]
        quads.append((_ONTOLOGY_HASH, _ONTOLOGY_HASH, Literal(digest), META_GRAPH))
        self.add_quads(quads)


# --- binding values safely --------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<iri><[^<>\"{}|^`\\\s]*>)"
    r"|(?P<str>'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<word>[A-Za-z_]+)"
    r"|(?P<brace>\{)",
    re.DOTALL,
)
_BAD_IRI = re.compile(r"[<>\"{}|^`\\\s]")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _term_text(term: Node) -> str:
    if isinstance(term, URIRef) and _BAD_IRI.search(str(term)):
        raise QueryError(f"not a valid IRI: {str(term)!r}")
    if not isinstance(term, URIRef | Literal):
        raise QueryError(f"only IRIs and literals can be bound as parameters, not {term!r}")
    return term.n3()


def bind_values(sparql: str, bindings: Mapping[str, Node] | None) -> str:
    """Pre-bind variables with an inline VALUES block at the top of the WHERE clause.

    Values are serialised as escaped RDF terms, never pasted as query text, and the same
    mechanism serves every backend. A parameter is visible to the whole outer WHERE group
    (filters included) but not inside sub-SELECTs.

    >>> print(bind_values("SELECT ?x WHERE { ?x ?p ?o }", {"o": Literal('x" } ; DROP ALL ; #')}))
    SELECT ?x WHERE { VALUES (?o) { ("x\\" } ; DROP ALL ; #") } ?x ?p ?o }
    """
    if not bindings:
        return sparql
    names = sorted(bindings)
    for name in names:
        if not _VARIABLE.fullmatch(name):
            raise QueryError(f"not a valid variable name: {name!r}")
    values = " VALUES (" + " ".join(f"?{n}" for n in names) + ") { ("
    values += " ".join(_term_text(bindings[n]) for n in names) + ") }"
    seen_where = False
    graph_template = False
    for match in _TOKEN.finditer(sparql):
        kind, text = match.lastgroup, match.group()
        if kind == "word" and text.upper() == "WHERE":
            seen_where = True
        elif kind == "word" and text.upper() in ("CONSTRUCT", "DESCRIBE"):
            graph_template = True
        elif kind == "brace" and (seen_where or not graph_template):
            return sparql[: match.end()] + values + sparql[match.end() :]
    raise QueryError("cannot bind parameters: the query has no WHERE clause")


# --- rdflib <-> pyoxigraph terms -------------------------------------------------------------


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


def from_ox(term: object) -> Identifier:
    """A pyoxigraph term as an rdflib term (plain strings stay plain, unlike xsd:string)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise TypeError(f"unexpected term {term!r}")


def _graph_name(graph: str) -> ox.NamedNode:
    return ox.NamedNode(graph)


# --- pyoxigraph backends ---------------------------------------------------------------------


class OxigraphStore(Store):
    """pyoxigraph on disk (path given) or in memory (path None)."""

    def __init__(self, path: Path | None = None) -> None:
        self.kind = "embedded" if path else "memory"
        self.location = str(path) if path else "memory"
        try:
            if path is not None:
                path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(path))
            else:
                self._store = ox.Store()
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot open the store at {path} ({exc}); is another aims process "
                "(e.g. `aims serve`) using it? Stop it or pass another --store"
            ) from exc
        self.ensure_ontology()

    def query(self, sparql: str, *, bindings: Mapping[str, Node] | None = None) -> QueryResult:
        try:
            result = self._store.query(
                bind_values(sparql, bindings), use_default_graph_as_union=True
            )
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}") from exc
        if isinstance(result, ox.QueryBoolean):
            return QueryResult(kind="ask", boolean=bool(result))
        if isinstance(result, ox.QuerySolutions):
            variables = [v.value for v in result.variables]
            rows: list[tuple[Node | None, ...]] = [
                tuple(None if sol[v] is None else from_ox(sol[v]) for v in variables)
                for sol in result
            ]
            return QueryResult(kind="select", variables=variables, rows=rows)
        graph = Graph()
        for triple in result:
            graph.add((from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)))
        return QueryResult(kind="graph", graph=graph)

    def update(self, sparql: str) -> None:
        try:
            self._store.update(sparql)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL update syntax error: {exc}") from exc

    def add_quads(self, quads: Iterable[Quad]) -> None:
        self._store.extend(
            ox.Quad(to_ox(s), to_ox(p), to_ox(o), _graph_name(g))  # type: ignore[arg-type]
            for s, p, o, g in quads
        )

    def load(self, data: bytes, *, format: str, graph: str) -> None:
        """Parse and add a serialisation into one graph, in one transaction."""
        fmt = {"nt": ox.RdfFormat.N_TRIPLES, "turtle": ox.RdfFormat.TURTLE}[format]
        self._store.load(data, format=fmt, to_graph=_graph_name(graph))

    def load_nquads(self, data: bytes) -> None:
        self._store.load(data, format=ox.RdfFormat.N_QUADS)

    def drop_graph(self, graph: str) -> None:
        name = _graph_name(graph)
        if self._store.contains_named_graph(name):
            self._store.remove_graph(name)

    def graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def quads(self, graph: str | None = None) -> Iterator[Quad]:
        name = _graph_name(graph) if graph else None
        for q in self._store.quads_for_pattern(None, None, None, name):
            if isinstance(q.graph_name, ox.NamedNode):
                yield (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object),
                       q.graph_name.value)

    def close(self) -> None:
        if self.kind == "embedded":
            self._store.flush()
        del self._store


# --- choosing a backend ----------------------------------------------------------------------

_REMOTE = re.compile(r"^https?://", re.IGNORECASE)


def store_location(location: str | None = None) -> str:
    """The store named by the argument, else $AIMS_STORE, else ./.aims."""
    return location or os.environ.get("AIMS_STORE") or DEFAULT_PATH


def open_store(location: str | None = None) -> Store:
    """Open (creating on first use) the store named by `location` / $AIMS_STORE.

    `memory` gives an in-memory store, an http(s) URL a remote SPARQL endpoint, anything else
    a folder for the embedded store.

    >>> store = open_store("memory")
    >>> store.kind, store.query("ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }").boolean
    ('memory', True)
    """
    where = store_location(location)
    if where == "memory":
        return OxigraphStore(None)
    if _REMOTE.match(where):
        from mapper.remote import RemoteStore

        return RemoteStore.from_settings(where)
    return OxigraphStore(Path(where))
