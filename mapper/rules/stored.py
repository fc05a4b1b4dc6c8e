"""Incremental validation: the current findings kept in the store and kept current per change.

The findings of the compiled engine (mapper.rules.compile) live in their own named graph
(FINDINGS_GRAPH): one node per finding with its check key, focus node and value, plus a state node
with the as-of date they were computed for and a digest of the shapes.

After a change (triples added and/or removed), only what the change can affect is re-validated:
each compiled check is analysed once (`dependencies`) into the triple patterns it reads, each with
the property path that leads from its focus node `?this` to the pattern (through the query's joins,
OPTIONALs, MINUS and EXISTS blocks). A changed triple matching a pattern makes the focus nodes that
reach its subject (or object) through that path candidates; the check is then re-run on those
candidates only, and their stored findings are replaced. A pattern that no path connects to `?this`
(e.g. "no governance committee exists at all") makes its check re-run in full, which such checks
make cheap (few focus nodes). Paths are followed in the graph before the change for removed
triples and after it for added ones, so a finding that depended on a removed link is found too.

How a change reaches it: writers (ingest, batch deletion) commit through the one change path,
`with store.changing(added=[graph], removed=[old]):`, and `FindingsKeeper` (attached to the
store by the faces with `keep_current`) re-validates what the change affects, once. The findings
record the data digest they are current for; findings behind the data (a crash between the data
write and theirs, or a write without the keeper) are never answered from: `validate` redoes them.

`current(store, as_of=...)` then answers `aims validate` from the stored findings, without a run.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from rdflib import RDF, RDFS, Literal, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.algebra import translateGroupGraphPattern
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import BNode, Node

from mapper import resources
from mapper.rules import compile as compiled
from mapper.rules.compile import Check
from mapper.rules.results import RawResult, Report, concerned_nodes, find_system
from mapper.store import FINDINGS_GRAPH, Quad, Store

_F = "urn:aims:findings#"
_STATE = URIRef("urn:aims:findings")
_CHECK = URIRef(_F + "check")
_FOCUS = URIRef(_F + "focus")
_VALUE = URIRef(_F + "value")
_AS_OF = URIRef(_F + "asOf")
_SHAPES = URIRef(_F + "shapes")
_DATA = URIRef(_F + "data")
"""The store's data digest (Store.data_digest) the findings were brought up to."""

Triple = tuple[Node, Node, Node]

_log = logging.getLogger(__name__)

LARGE_CHANGE = 5000
"""A change of more triples than this re-runs every check (cheaper than tracing each one)."""


# --- dependency analysis -----------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """One triple pattern (or path step) of a check: which triples match it, and how far its
    ends are from the focus node."""

    preds: frozenset[URIRef] | None  # None: a variable predicate (any triple)
    forward: frozenset[URIRef]  # predicates matched subject->object (else object->subject)
    a: Node  # the end a matched triple's subject lands on (for forward predicates)
    b: Node
    closure: bool
    path_a: str | None  # SPARQL path from ?this to a ("" = ?this itself), None if unreachable
    path_b: str | None
    classes_b: frozenset[URIRef] | None = None  # rdf:type edges: the classes ?b can be


@dataclass
class Dependencies:
    """What a check reads: its edges, indexed by predicate."""

    by_pred: dict[URIRef, list[Edge]] = field(default_factory=dict)
    any_pred: list[Edge] = field(default_factory=list)


@dataclass
class _Block:
    parent: _Block | None
    edges: list[tuple[Node, str | None, frozenset[URIRef] | None, frozenset[URIRef], Node,
                      bool]] = field(default_factory=list)

    def chain(self) -> list[_Block]:
        out: list[_Block] = []
        node: _Block | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class _Analyser:
    def __init__(self) -> None:
        self.n = 0
        self.blocks: list[_Block] = []

    def fresh(self) -> Variable:
        self.n += 1
        return Variable(f"_p{self.n}")

    def block(self, parent: _Block | None) -> _Block:
        b = _Block(parent)
        self.blocks.append(b)
        return b

    # paths: add edges s -path-> o
    def path(self, block: _Block, s: Node, p: Any, o: Node) -> None:
        if isinstance(p, URIRef):
            block.edges.append((s, f"<{p}>", frozenset([p]), frozenset([p]), o, False))
        elif isinstance(p, Variable | BNode):
            block.edges.append((s, None, None, frozenset(), o, False))
        elif isinstance(p, InvPath):
            self.path(block, o, p.arg, s)
        elif isinstance(p, SequencePath):
            current = s
            for i, step in enumerate(p.args):
                nxt = o if i == len(p.args) - 1 else self.fresh()
                self.path(block, current, step, nxt)
                current = nxt
        elif isinstance(p, AlternativePath):
            preds: set[URIRef] = set()
            forward: set[URIRef] = set()
            texts: list[str] = []
            for alt in p.args:
                if isinstance(alt, URIRef):
                    preds.add(alt)
                    forward.add(alt)
                    texts.append(f"<{alt}>")
                elif isinstance(alt, InvPath) and isinstance(alt.arg, URIRef):
                    preds.add(alt.arg)
                    texts.append(f"^<{alt.arg}>")
                else:
                    block.edges.append((s, None, None, frozenset(), o, True))
                    return
            block.edges.append((s, "(" + "|".join(texts) + ")", frozenset(preds),
                                frozenset(forward), o, False))
        elif isinstance(p, MulPath) and isinstance(p.path, URIRef):
            block.edges.append((s, f"(<{p.path}>){p.mod}", frozenset([p.path]),
                                frozenset([p.path]), o, True))
        else:
            block.edges.append((s, None, None, frozenset(), o, True))

    def walk(self, node: Any, block: _Block) -> None:
        if not isinstance(node, CompValue):
            return
        name = node.name
        if name == "BGP":
            for s, p, o in node.triples:
                self.path(block, s, p, o)
        elif name in ("Join",):
            self.walk(node.p1, block)
            self.walk(node.p2, block)
        elif name in ("LeftJoin", "Minus"):
            self.walk(node.p1, block)
            child = self.block(block)
            self.walk(node.p2, child)
            if name == "LeftJoin":
                self.expr(node.get("expr"), child)
        elif name == "Union":
            self.walk(node.p1, self.block(block))
            self.walk(node.p2, self.block(block))
        elif name == "Filter" or name == "Extend":
            self.walk(node.p, block)
            self.expr(node.expr, block)
        elif name in ("Project", "Distinct", "Reduced", "ToMultiSet", "SelectQuery", "Slice",
                      "OrderBy", "Graph"):
            self.walk(node.get("p"), block)
        elif name in ("values",):
            return
        else:
            # Anything else (sub-SELECT, aggregates): read as "depends on everything".
            block.edges.append((Variable("_any"), None, None, frozenset(), Variable("_any2"), True))

    def expr(self, e: Any, block: _Block) -> None:
        if isinstance(e, CompValue):
            if e.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                graph = e.graph
                if graph.name == "GroupGraphPatternSub":
                    graph = translateGroupGraphPattern(graph)
                self.walk(graph, self.block(block))
                return
            for value in e.values():
                self.expr(value, block)
        elif isinstance(e, list | tuple):
            for value in e:
                self.expr(value, block)


def _reach(edges: list[tuple[Node, str | None, frozenset[URIRef] | None, frozenset[URIRef],
                             Node, bool]]) -> dict[Node, str]:
    """Shortest SPARQL path from ?this to each variable, over traversable edges."""
    this = Variable("this")
    paths: dict[Node, str] = {this: ""}
    frontier: list[Node] = [this]
    while frontier:
        nxt: list[Node] = []
        for node in frontier:
            for a, text, _preds, _fwd, b, _closure in edges:
                if text is None:
                    continue
                for here, there, step in ((a, b, text), (b, a, f"^{text}")):
                    if here == node and isinstance(there, Variable | BNode) and there not in paths:
                        base = paths[node]
                        paths[there] = f"{base}/{step}" if base else step
                        nxt.append(there)
        frontier = nxt
    return paths


def _subclasses(cls: URIRef) -> frozenset[URIRef]:
    onto = resources.ontology()
    return frozenset(URIRef(str(c)) for c in onto.transitive_subjects(RDFS.subClassOf, cls))


@cache
def dependencies(check_key: str) -> Dependencies:
    """The edges a check reads, with their paths from the focus node (computed once)."""
    check = next(c for c in compiled.checks() if c.key == check_key)
    analyser = _Analyser()
    root = analyser.block(None)
    query = prepareQuery(check.query(date(2000, 1, 1)))
    analyser.walk(query.algebra, root)
    deps = Dependencies()
    for block in analyser.blocks:
        visible = [e for b in block.chain() for e in b.edges]
        reach = _reach(visible)
        classes: dict[Node, frozenset[URIRef]] = {}
        for a, _text, preds, _fwd, b, closure in visible:
            if closure and preds == frozenset([RDFS.subClassOf]) and isinstance(b, URIRef):
                classes[a] = _subclasses(b)
        for a, _text, preds, fwd, b, closure in block.edges:
            edge = Edge(
                preds=preds, forward=fwd, a=a, b=b, closure=closure,
                path_a=reach.get(a) if isinstance(a, Variable | BNode) else None,
                path_b=reach.get(b) if isinstance(b, Variable | BNode) else None,
                classes_b=classes.get(b) if preds == frozenset([RDF.type]) else None,
            )
            if preds is None:
                deps.any_pred.append(edge)
            else:
                for p in preds:
                    deps.by_pred.setdefault(p, []).append(edge)
    return deps


def _touch(edge: Edge, t: Triple) -> tuple[str, Node] | None | bool:
    """How a changed triple reaches a check through an edge: (path, node) for the focus nodes
    to re-validate, True for "re-run the whole check", None when it cannot match."""
    s, p, o = t
    if edge.closure:
        return True
    if edge.preds is None or p in edge.forward:
        ends = [(edge.a, s), (edge.b, o)]
    else:
        ends = [(edge.a, o), (edge.b, s)]
    for end, value in ends:
        if not isinstance(end, Variable | BNode) and end != value:
            return None
    if edge.classes_b is not None and o not in edge.classes_b:
        return None
    for (end, value), path in zip(ends, (edge.path_a, edge.path_b), strict=True):
        if isinstance(end, Variable | BNode) and path is not None and not isinstance(value, BNode):
            return path, value
    return True


@dataclass
class _Affected:
    full: set[str] = field(default_factory=set)  # check keys to re-run in full
    requests: dict[str, dict[str, set[Node]]] = field(default_factory=dict)  # key->path->nodes


def _analyse(checks: Sequence[Check], triples: Iterable[Triple]) -> _Affected:
    affected = _Affected()
    deps = {c.key: dependencies(c.key) for c in checks}
    for t in triples:
        p = t[1]
        for key, d in deps.items():
            if key in affected.full:
                continue
            edges = d.by_pred.get(p, []) + d.any_pred  # type: ignore[call-overload]
            for edge in edges:
                how = _touch(edge, t)
                if how is None:
                    continue
                if how is True:
                    affected.full.add(key)
                    affected.requests.pop(key, None)
                    break
                assert isinstance(how, tuple)
                path, node = how
                affected.requests.setdefault(key, {}).setdefault(path, set()).add(node)
    return affected


def _candidates(store: Store, affected: _Affected) -> dict[str, set[Node]]:
    """Focus nodes per check that reach the changed nodes through the check's paths."""
    by_path: dict[str, set[Node]] = defaultdict(set)
    for requests in affected.requests.values():
        for path, nodes in requests.items():
            by_path[path] |= nodes
    reached: dict[tuple[str, Node], set[Node]] = defaultdict(set)
    for path, nodes in by_path.items():
        if path == "":
            for n in nodes:
                reached[(path, n)].add(n)
            continue
        ordered = sorted(nodes, key=str)
        for start in range(0, len(ordered), compiled.CHUNK):
            chunk = ordered[start:start + compiled.CHUNK]
            values = " ".join(n.n3() for n in chunk)  # type: ignore[attr-defined]
            rows = store.query(
                f"SELECT ?x ?this WHERE {{ VALUES ?x {{ {values} }} ?this {path} ?x }}").rows
            for x, this in rows:
                if x is not None and this is not None:
                    reached[(path, x)].add(this)
    out: dict[str, set[Node]] = {}
    for key, requests in affected.requests.items():
        focus: set[Node] = set()
        for path, nodes in requests.items():
            for n in nodes:
                focus |= reached.get((path, n), set())
        if focus:
            out[key] = focus
    return out


# --- the stored findings -----------------------------------------------------------------------


@cache
def shapes_digest() -> str:
    """Changes whenever the compiled checks change (stored findings are then stale), and only
    then: the checks and their variable names are the same in every process (the compiler
    orders everything it names; tests/test_stored_digest.py runs two hash seeds)."""
    text = "\n".join(c.key + c.sparql for c in compiled.checks())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _finding_iri(r: RawResult, key: str) -> URIRef:
    text = f"{key}|{r.focus.n3()}|{r.value.n3() if r.value is not None else ''}"  # type: ignore[attr-defined]
    return URIRef("urn:aims:finding:" + hashlib.sha1(text.encode()).hexdigest())


def _quads(results: Iterable[tuple[str, RawResult]]) -> list[Quad]:
    quads: list[Quad] = []
    for key, r in results:
        node = _finding_iri(r, key)
        quads.append((node, _CHECK, Literal(key), FINDINGS_GRAPH))
        quads.append((node, _FOCUS, r.focus, FINDINGS_GRAPH))
        if r.value is not None:
            quads.append((node, _VALUE, r.value, FINDINGS_GRAPH))
    return quads


def _run(store: Store, checks: Sequence[Check], as_of: date,
         focus: dict[str, set[Node]] | None = None) -> list[tuple[str, RawResult]]:
    out: list[tuple[str, RawResult]] = []
    for check in checks:
        nodes = None if focus is None else sorted(focus[check.key], key=str)
        out.extend((check.key, r) for r in compiled.run_check(store, check, as_of, nodes))
    return out


def _state(store: Store) -> tuple[date | None, str | None, str | None]:
    rows = store.query(
        f"SELECT ?d ?h ?x WHERE {{ GRAPH <{FINDINGS_GRAPH}> {{ <{_STATE}> <{_AS_OF}> ?d ; "
        f"<{_SHAPES}> ?h . OPTIONAL {{ <{_STATE}> <{_DATA}> ?x }} }} }}").rows
    if len(rows) != 1:
        return None, None, None
    day, shapes, data = rows[0]
    value = day.toPython() if isinstance(day, Literal) else None
    return value, None if shapes is None else str(shapes), None if data is None else str(data)


def stored_as_of(store: Store) -> date | None:
    """The as-of date of the stored findings, None when there are none or they are not
    current: computed for other shapes, or behind the data (a write between the data and the
    findings was interrupted; `stale` tells)."""
    day, shapes, data = _state(store)
    if day is None:
        return None
    if shapes != shapes_digest():
        _log.info("stored findings are for other shapes (digest %s, the shapes now %s): not "
                  "used", shapes, shapes_digest())
        return None
    if data != store.data_digest():
        _log.info("stored findings are behind the data (digest %s, the data now %s): not used",
                  data, store.data_digest())
        return None
    return day


def stale(store: Store) -> date | None:
    """The as-of date of stored findings that are no longer current (other shapes, or behind
    the data), None when there are none or they are current: what `refresh` must redo."""
    day, _, _ = _state(store)
    if day is None or stored_as_of(store) is not None:
        return None
    return day


def prepare() -> None:
    """Analyse every check once per process (~1-4 s; refresh does it, a server should early)."""
    for check in compiled.checks():
        dependencies(check.key)


def refresh(store: Store, *, as_of: date) -> Report:
    """Validate everything (compiled engine) and store the findings as the current ones."""
    prepare()
    results = _run(store, compiled.checks(), as_of)
    store.drop_graph(FINDINGS_GRAPH)
    quads = _quads(results)
    quads.append((_STATE, _AS_OF, Literal(as_of), FINDINGS_GRAPH))
    quads.append((_STATE, _SHAPES, Literal(shapes_digest()), FINDINGS_GRAPH))
    quads.append((_STATE, _DATA, Literal(store.data_digest()), FINDINGS_GRAPH))
    store.add_quads(quads)
    return compiled.to_report(store, [r for _, r in results], as_of=as_of)


def stored_results(store: Store, focus: Sequence[Node] | None = None
                   ) -> list[tuple[str, RawResult]]:
    """The stored findings as (check key, raw result); of the given focus nodes only when
    given (bound as VALUES: one index lookup per node, not a pass over every finding)."""
    checks = {c.key: c for c in compiled.checks()}
    # the focus first and the VALUES inside the GRAPH block: 3 ms at 10,000 systems, where
    # VALUES outside or the check first made pyoxigraph read every finding (750 ms)
    pattern = f"?f <{_FOCUS}> ?x . ?f <{_CHECK}> ?c . OPTIONAL {{ ?f <{_VALUE}> ?v }}"
    if focus is None:
        rows = store.query(
            f"SELECT ?c ?x ?v WHERE {{ GRAPH <{FINDINGS_GRAPH}> {{ {pattern} }} }}").rows
    else:
        iris = sorted({n for n in focus if isinstance(n, URIRef)}, key=str)
        rows = []
        for start in range(0, len(iris), compiled.CHUNK):
            values = " ".join(n.n3() for n in iris[start:start + compiled.CHUNK])
            rows += store.query(f"SELECT ?c ?x ?v WHERE {{ GRAPH <{FINDINGS_GRAPH}> {{ "
                                f"VALUES ?x {{ {values} }} {pattern} }} }}").rows
    out: list[tuple[str, RawResult]] = []
    for key, node, value in rows:
        check = checks.get(str(key))
        if check is None or node is None:
            continue
        out.append((check.key, RawResult(
            source_shape=check.shape, focus=node, severity=check.severity, path=check.path,
            value=value, component=check.component)))
    return out


def current(store: Store, *, as_of: date | None = None, rules: Sequence[str] | None = None,
            system: str | None = None) -> Report | None:
    """The report from the stored findings (None when none are stored or they are stale).

    For another as-of date than the stored one, only the checks that read the date are re-run.
    """
    stored = stored_as_of(store)
    if stored is None:
        return None
    day = as_of or stored
    _log.info("findings answered from the store (stored as of %s)", stored.isoformat())
    rule_ids = list(dict.fromkeys(rules)) if rules else None
    wanted = {c.key for c in compiled.selected(rule_ids)}
    keep = concerned_nodes(store, find_system(store, system)) if system else None
    results = [(k, r) for k, r in stored_results(store, keep) if k in wanted]
    if day != stored:
        dated = [c for c in compiled.selected(rule_ids) if c.uses_as_of]
        dated_keys = {c.key for c in dated}
        nodes: dict[str, set[Node]] | None = (
            None if keep is None else {c.key: set(keep) for c in dated})
        results = [(k, r) for k, r in results if k not in dated_keys] + _run(
            store, dated, day, nodes)
    return compiled.to_report(store, [r for _, r in results], as_of=day, rules=rule_ids)


# --- changes -----------------------------------------------------------------------------------


@dataclass
class Pending:
    """What a removal affects, computed on the graph before the removal."""

    full: set[str] = field(default_factory=set)
    focus: dict[str, set[Node]] = field(default_factory=dict)


@dataclass
class Delta:
    """The outcome of an incremental re-validation."""

    as_of: date
    rerun_full: list[str]  # check keys re-run in full
    focus: dict[str, set[Node]]  # check key -> focus nodes re-validated
    results: list[tuple[str, RawResult]]  # the new findings of what was re-validated

    def report(self, store: Store) -> Report:
        """The new findings of what was re-validated, as a Report (the verdict on a change)."""
        return compiled.to_report(store, [r for _, r in self.results], as_of=self.as_of)


def _triples(items: Iterable[Any]) -> list[Triple]:
    return [(t[0], t[1], t[2]) for t in items]


def before_change(store: Store, *, removed: Iterable[Any]) -> Pending:
    """Call BEFORE removing triples (or quads): finds the focus nodes that reach them now."""
    triples = _triples(removed)
    if len(triples) > LARGE_CHANGE or any(t[1] == RDFS.subClassOf for t in triples):
        return Pending(full={c.key for c in compiled.checks()})
    affected = _analyse(compiled.checks(), triples)
    return Pending(full=affected.full, focus=_candidates(store, affected))


def apply_change(store: Store, *, added: Iterable[Any] = (), pending: Pending | None = None,
                 removed: Iterable[Any] = ()) -> Delta | None:
    """Call AFTER a change is in the store: re-validate what it can affect, update the findings.

    `added` are the triples (or quads) written; removals are described by `pending` from
    `before_change`. Passing `removed` without `pending` is an error (the paths to removed
    triples are gone). Returns None when no findings are stored (run `refresh` first).
    """
    removed = list(removed)
    if removed and pending is None:
        raise ValueError("removed triples need before_change(...) called before the removal")
    day, shapes, _ = _state(store)  # current before the write: the data digest moved with it
    as_of = day if shapes == shapes_digest() else None
    if as_of is None:
        return None
    triples = _triples(added)
    full = set(pending.full) if pending else set()
    focus: dict[str, set[Node]] = {k: set(v) for k, v in (pending.focus if pending else {}).items()}
    if len(triples) > LARGE_CHANGE or any(t[1] == RDFS.subClassOf for t in triples):
        full = {c.key for c in compiled.checks()}
        triples = []
    affected = _analyse(compiled.checks(), triples)
    full |= affected.full
    for key, nodes in _candidates(store, affected).items():
        focus.setdefault(key, set()).update(nodes)
    for key in full:
        focus.pop(key, None)
    checks = {c.key: c for c in compiled.checks()}
    results = _run(store, [checks[k] for k in sorted(full)], as_of)
    results += _run(store, [checks[k] for k in sorted(focus)], as_of, focus)
    _replace(store, full=full, focus=focus, results=results)
    return Delta(as_of=as_of, rerun_full=sorted(full), focus=focus, results=results)


def _replace(store: Store, *, full: set[str], focus: dict[str, set[Node]],
             results: list[tuple[str, RawResult]]) -> None:
    g = f"<{FINDINGS_GRAPH}>"
    updates: list[str] = []
    for key in sorted(full):
        updates.append(f"DELETE {{ GRAPH {g} {{ ?f ?p ?o }} }} WHERE {{ GRAPH {g} {{ "
                       f"?f <{_CHECK}> {Literal(key).n3()} ; ?p ?o }} }}")
    for key, nodes in sorted(focus.items()):
        ordered = sorted(nodes, key=str)
        for start in range(0, len(ordered), compiled.CHUNK):
            values = " ".join(n.n3() for n in ordered[start:start + compiled.CHUNK])  # type: ignore[attr-defined]
            updates.append(
                f"DELETE {{ GRAPH {g} {{ ?f ?p ?o }} }} WHERE {{ GRAPH {g} {{ "
                f"VALUES ?x {{ {values} }} ?f <{_FOCUS}> ?x ; <{_CHECK}> "
                f"{Literal(key).n3()} ; ?p ?o }} }}")
    updates.append(f"DELETE WHERE {{ GRAPH {g} {{ <{_STATE}> <{_DATA}> ?x }} }}")
    store.update(" ;\n".join(updates))
    quads = _quads(results)
    quads.append((_STATE, _DATA, Literal(store.data_digest()), FINDINGS_GRAPH))
    store.add_quads(quads)


# --- the consumer of committed changes -------------------------------------------------------


class FindingsKeeper:
    """Keeps stored findings current: the one consumer of a committed change (Store.changing)
    that re-validates what the change can affect. Attached by the faces that open a store
    (the CLI, the API, the demo); a write made without it leaves the findings behind the
    data, which `stored_as_of` then detects (and `validate` redoes them)."""

    name = "findings"

    def before(self, store: Store, change: Any) -> Any:
        if stored_as_of(store) is None:
            return None
        removed = [q for g in change.removed for q in store.quads(g)]
        return (before_change(store, removed=removed), removed)

    def after(self, store: Store, change: Any, token: Any) -> Delta | None:
        if token is None:
            return None
        pending, removed = token
        added = [q for g in change.added for q in store.quads(g)]
        return apply_change(store, added=added, pending=pending, removed=removed)


def keep_current(store: Store) -> Store:
    """Attach the stored-findings consumer to a store (once); returns the store."""
    if not any(isinstance(o, FindingsKeeper) for o in store.observers):
        store.observers.append(FindingsKeeper())
    return store
