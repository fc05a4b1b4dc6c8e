"""The embedded store: pyoxigraph on disk (RocksDB, default ./.aims) or in memory.

Every write is one transaction, so a failed or killed ingest leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from mapper.errors import QueryError, StoreUnavailable
from mapper.store.contract import Quad, QueryResult, Store, bind_values
from mapper.store.terms import from_ox, to_ox


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
            ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(g))  # type: ignore[arg-type]
            for s, p, o, g in quads
        )

    def load(self, data: bytes, *, format: str, graph: str) -> None:
        """Parse and add a serialisation into one graph, in one transaction."""
        fmt = {"nt": ox.RdfFormat.N_TRIPLES, "turtle": ox.RdfFormat.TURTLE}[format]
        self._store.load(data, format=fmt, to_graph=ox.NamedNode(graph))

    def load_nquads(self, data: bytes) -> None:
        self._store.load(data, format=ox.RdfFormat.N_QUADS)

    def drop_graph(self, graph: str) -> None:
        name = ox.NamedNode(graph)
        if self._store.contains_named_graph(name):
            self._store.remove_graph(name)

    def graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def quads(self, graph: str | None = None) -> Iterator[Quad]:
        name = ox.NamedNode(graph) if graph else None
        for q in self._store.quads_for_pattern(None, None, None, name):
            if isinstance(q.graph_name, ox.NamedNode):
                yield (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object),
                       q.graph_name.value)

    def close(self) -> None:
        if self.kind == "embedded":
            self._store.flush()
        del self._store


