"""The store contract: what every backend (mapper.store.embedded, mapper.store.remote) meets.

Terms cross this interface as rdflib terms. Queries see the union of all named graphs as their
default graph; the ontology lives in its own named graph (resources.ONTOLOGY_GRAPH) so that
`rdf:type/rdfs:subClassOf*` works inside the store.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from mapper import resources
from mapper.store.terms import from_ox, sparql_iri

META_GRAPH = "urn:aims:graph:meta"
FINDINGS_GRAPH = "urn:aims:graph:findings"
"""The stored validation findings (mapper.rules.stored): derived data, not part of the AIMS."""
_ONTOLOGY_HASH = URIRef("urn:aims:ontologyHash")
_log = logging.getLogger(__name__)

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


@dataclass
class Change:
    """One committed change, as its consumers see it: the graphs a commit writes and those it
    removes. `results` holds what each observer made of it, by the observer's name (e.g. the
    stored findings' re-validation, mapper.rules.stored.FindingsKeeper)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


class ChangeObserver(Protocol):
    """A consumer of committed changes, attached to a store (`Store.observers`)."""

    name: str

    def before(self, store: Store, change: Change) -> Any:
        """Called before the change is written (the removed graphs are still there)."""

    def after(self, store: Store, change: Change, token: Any) -> Any:
        """Called once the change is written; its return value lands in change.results."""


FAULT_ENV = "AIMS_FAULT"
"""Fault injection for the crash tests: `AIMS_FAULT=after-write` ends the process between a
commit's data write and its consumers (what a crash there would leave)."""


def _counting(method: Callable[..., Any]) -> Callable[..., Any]:
    """A write method that also bumps the store's revision (even when the write fails)."""

    @functools.wraps(method)
    def write(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.revision += 1

    write._counts_revision = True  # type: ignore[attr-defined]
    return write


class Store(ABC):
    """The contract every backend meets (tests/test_store.py runs it on all three)."""

    kind: str = "abstract"
    location: str = ""
    revision: int = 0
    """Counts the writes made through this object: what was computed from the store (the
    assessment, mapper.rules.assessment) is reused while it is unchanged."""

    _WRITES = ("update", "add_quads", "load", "drop_graph", "load_nquads")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls._WRITES:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_counts_revision", False):
                setattr(cls, name, _counting(method))

    @abstractmethod
    def query(self, sparql: str, *, bindings: Mapping[str, Node] | None = None) -> QueryResult:
        """Run a SPARQL query over the union of all graphs; bindings pre-bind variables."""

    @property
    def observers(self) -> list[ChangeObserver]:
        """Who reacts to committed changes (attached by the faces that open the store)."""
        if "_observers" not in self.__dict__:
            self.__dict__["_observers"] = []
        return self.__dict__["_observers"]  # type: ignore[no-any-return]

    @contextmanager
    def changing(self, *, added: Sequence[str] = (), removed: Sequence[str] = ()
                 ) -> Iterator[Change]:
        """The one change path: `with store.changing(added=[graph], removed=[old]) as change:`
        then write. The observers see the change before and after the write (once, in one
        place); a write that raises reaches no observer.
        """
        change = Change(added=list(added), removed=list(removed))
        tokens = [(o, o.before(self, change)) for o in self.observers]
        yield change
        if os.environ.get(FAULT_ENV) == "after-write":
            os._exit(70)  # noqa: SLF001 - the crash the stored findings must survive
        for observer, token in tokens:
            change.results[observer.name] = observer.after(self, change, token)

    def data_digest(self) -> str:
        """Changes with every committed change: a digest of the named graphs holding data
        (every batch is a graph of its own, replaced and dropped whole), so what was computed
        from the data (the stored findings) can tell whether it is behind it."""
        names = sorted(g for g in self.graphs() if g not in (FINDINGS_GRAPH,))
        return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]

    def select_text(self, sparql: str) -> list[tuple[str | None, ...]]:
        """A SELECT's rows as the terms' text (an IRI, a literal's lexical form; None unbound):
        for large answers whose terms are only compared and printed, without building an rdflib
        term per cell. Backends override it with a native form."""
        return [tuple(None if t is None else str(t) for t in row)
                for row in self.query(sparql).rows]

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
        digest = resources.ontology_digest()
        # Constants only, so no binding (and no parse) is needed on every store open.
        hash_iri = sparql_iri(str(_ONTOLOGY_HASH))
        found = self.query(
            f"SELECT ?h WHERE {{ GRAPH {sparql_iri(META_GRAPH)} {{ {hash_iri} {hash_iri} ?h }} }}")
        if found.rows and str(found.rows[0][0]) == digest:
            return
        self.drop_graph(resources.ONTOLOGY_GRAPH)
        self.drop_graph(META_GRAPH)
        onto = resources.ontology()
        quads: list[Quad] = [(s, p, o, resources.ONTOLOGY_GRAPH) for s, p, o in onto]
        quads.append((_ONTOLOGY_HASH, _ONTOLOGY_HASH, Literal(digest), META_GRAPH))
        self.add_quads(quads)


# --- binding values safely --------------------------------------------------------------------
#
# A query with parameters is parsed (rdflib's SPARQL parser, rdflib.plugins.sparql.parser) and
# written back from its parse tree with every bound variable replaced by its term, escaped by
# mapper.store.terms: in triple patterns, paths' ends, FILTERs, BINDs, EXISTS blocks and
# sub-SELECTs alike, so a parameter reaches every place the query names it. The variable itself
# stays visible to the outer query (a VALUES block at the top of its WHERE clause), so projecting
# it, `SELECT *`, GROUP BY and ORDER BY on it keep working.
