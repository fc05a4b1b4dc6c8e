"""The embedded store: pyoxigraph on disk (RocksDB, default ./.aims) or in memory.

Every write is one transaction, so a failed or killed ingest leaves nothing behind. One process
holds an on-disk store at a time (RocksDB's lock); another one that opens it waits up to `wait`
seconds for it, saying once for whom it waits (the holder writes its pid and command into
OWNER_FILE in the store folder while it has the store open).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from mapper.errors import QueryError, StoreUnavailable
from mapper.store.contract import Quad, QueryResult, Store
from mapper.store.sparql import bind_values
from mapper.store.terms import from_ox, to_ox

OWNER_FILE = "AIMS-OWNER.json"
"""Who has the on-disk store open: {"pid", "command", "since"}; removed on close."""

_RETRY_S = 0.2


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def holder(path: Path) -> str:
    """Who holds the store at `path`, as the holder wrote it ("pid 123: aims serve"), or ''."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        return f"pid {owner['pid']}: {owner['command']} (since {owner['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


class OxigraphStore(Store):
    """pyoxigraph on disk (path given) or in memory (path None).

    `wait`: seconds to wait for an on-disk store another process holds (0: fail at once);
    `notify` is told once that we wait, and for whom.
    """

    def __init__(self, path: Path | None = None, *, wait: float = 0,
                 notify: Callable[[str], None] = _say) -> None:
        self.kind = "embedded" if path else "memory"
        self.location = str(path) if path else "memory"
        self._owner: Path | None = None
        if path is None:
            self._store = ox.Store()
        else:
            self._store = self._open(path, wait, notify)
            self._owner = path / OWNER_FILE
            self._owner.write_text(json.dumps({
                "pid": os.getpid(), "command": " ".join(["aims", *sys.argv[1:]])[:200],
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}), encoding="utf-8")
        self.ensure_ontology()

    @staticmethod
    def _open(path: Path, wait: float, notify: Callable[[str], None]) -> ox.Store:
        deadline = time.monotonic() + max(wait, 0)
        told = False
        while True:
            try:
                path.mkdir(parents=True, exist_ok=True)
                return ox.Store(str(path))
            except OSError as exc:
                busy = "lock" in str(exc).lower()
                if not busy or time.monotonic() >= deadline:
                    who = holder(path) if busy else ""
                    waited = f" after waiting {wait:.0f} s" if busy and wait > 0 else ""
                    raise StoreUnavailable(
                        f"cannot open the store at {path}{waited} ({exc}); "
                        + (f"it is held by {who}; " if who else
                           "is another aims process (e.g. `aims serve`) using it? ")
                        + "stop it, wait longer (--wait SECONDS) or pass another --store"
                    ) from exc
                if not told:
                    who = holder(path) or "another process"
                    notify(f"waiting up to {wait:.0f} s for the store at {path}, held by {who}")
                    told = True
                time.sleep(_RETRY_S)

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

    def select_text(self, sparql: str) -> list[tuple[str | None, ...]]:
        try:
            result = self._store.query(sparql, use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}") from exc
        if not isinstance(result, ox.QuerySolutions):
            raise QueryError("select_text needs a SELECT query")
        variables = result.variables
        return [tuple(None if (t := sol[v]) is None else t.value for v in variables)
                for sol in result]

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

    def flush(self) -> None:
        """Write the memory tables out (ingest calls it between the chunks of a large batch;
        without it RocksDB's flush on close could hang after many chunked transactions)."""
        if self.kind == "embedded":
            self._store.flush()

    def close(self) -> None:
        if self.kind == "embedded":
            self._store.flush()
        if self._owner is not None:
            self._owner.unlink(missing_ok=True)
        del self._store


