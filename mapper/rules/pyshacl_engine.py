"""The reference engine: pySHACL over an rdflib copy of the data, the ontology and the as-of date.

How a run works: the data graphs (store.to_graph()) plus the ontology (so `rdfs:subClassOf`
reaches subclass instances and the minimum-process catalogue is visible) plus one triple
`<urn:aims:validation> aims:asOf "YYYY-MM-DD"^^xsd:date` that as-of rules read with a triple
pattern, never NOW(). Non-conformance is a result, never an exception.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import pyshacl
from rdflib import RDF, Graph, Literal, URIRef, Variable
from rdflib.namespace import SH
from rdflib.paths import Path, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result
from rdflib.term import Node

from mapper import resources
from mapper.errors import NotFound
from mapper.rules.catalogue import _catalogue, _severity, _term
from mapper.rules.results import RawResult, Report, build_report, concerned_nodes, find_system
from mapper.store import Store
from mapper.vocab import AIMS

RUN = URIRef("urn:aims:validation")
"""The node that carries the as-of date (`aims:asOf`) in the validation graph."""

# --- the validation graph -----------------------------------------------------------------------


class _PreparedQueryGraph(Graph):
    """An rdflib graph that parses each distinct SPARQL text once, with a sensible join order.

    pyshacl runs a SPARQL constraint once per focus node with the same text and `$this` bound;
    rdflib would re-parse it every time, which dominates the run. rdflib also orders the triple
    patterns of each group statically, not knowing that `$this` is bound, so it may enumerate
    every record of a kind before reaching the pattern that ties it to the focus node (cubic at
    scale). Each prepared query is re-ordered greedily knowing which variables are pre-bound.
    """

    def __init__(self, graph: Graph) -> None:
        super().__init__(store=graph.store, identifier=graph.identifier,
                         namespace_manager=graph.namespace_manager)
        self._prepared: dict[tuple[str, frozenset[Variable]], Query] = {}
        self.focus: list[URIRef] | None = None
        """When set (a --system run), SPARQL targets are evaluated for these nodes only."""

    def query(  # type: ignore[override]
        self, query_object: Any, processor: Any = "sparql", result: Any = "sparql",
        initNs: Any = None, initBindings: Any = None, *args: Any,  # noqa: N803 (rdflib's names)
        **kwargs: Any,
    ) -> Any:
        if isinstance(query_object, str):
            bound = {Variable(name) for name in initBindings or ()}
            key = (query_object, frozenset(bound))
            prepared = self._prepared.get(key)
            if prepared is None:
                prepared = prepareQuery(query_object)
                _order_patterns(prepared.algebra, bound)
                self._prepared[key] = prepared
            query_object = prepared
            if (self.focus is not None and not initBindings
                    and Variable("this") in (prepared.algebra.get("PV") or [])):
                return self._query_per_focus(prepared, self.focus)
        return super().query(query_object, processor, result, initNs, initBindings, *args,
                             **kwargs)

    def _query_per_focus(self, prepared: Query, focus: list[URIRef]) -> Result:
        # A SPARQL target (`SELECT ?this WHERE ...`) asked for the chosen focus nodes only: the
        # union of the query with ?this pre-bound to each, instead of a scan of the whole graph.
        rows: dict[tuple[Any, ...], Any] = {}
        variables: list[Variable] = [Variable("this")]
        for node in focus:
            found = super().query(prepared, initBindings={"this": node})
            variables = list(found.vars or variables)
            for row in found.bindings:
                rows.setdefault(tuple(sorted(row.items())), row)
        combined = Result("SELECT")
        combined.vars = variables
        combined.bindings = list(rows.values())
        return combined


def _pattern_key(triple: tuple[Node, Any, Node], known: set[Variable]) -> tuple[int, ...]:
    s, p, o = triple
    bound = [not isinstance(t, Variable) or t in known for t in (s, o)]
    joined = sum(1 for t in (s, o) if isinstance(t, Variable) and t in known)
    simple = not isinstance(p, Path) and (not isinstance(p, Variable) or p in known)
    # most bound ends first; an end bound to a known node beats a constant such as `true` or a
    # class; a plain predicate before a property path; a bound subject first
    return sum(bound), joined, int(simple), int(bound[0])


_FRESH = itertools.count()


def _split_sequences(triples: Sequence[tuple[Node, Any, Node]]) -> list[tuple[Node, Any, Node]]:
    """`?x a/rdfs:subClassOf* C` as `?x a ?_seq . ?_seq rdfs:subClassOf* C` (the SPARQL
    definition of a sequence path), which rdflib evaluates far faster with ?x bound."""
    out: list[tuple[Node, Any, Node]] = []
    for s, p, o in triples:
        if isinstance(p, SequencePath):
            steps = list(p.args)
            links = [s, *(Variable(f"_seq{next(_FRESH)}") for _ in steps[1:]), o]
            out.extend((links[i], step, links[i + 1]) for i, step in enumerate(steps))
        else:
            out.append((s, p, o))
    return out


def _variables(node: Any) -> set[Variable]:
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        return set().union(*(_variables(v) for v in node.values())) if node else set()
    if isinstance(node, list | tuple):
        return set().union(*(_variables(v) for v in node)) if node else set()
    return set()


def _order_patterns(node: Any, known: set[Variable]) -> None:
    """Fix a good join order in every basic graph pattern, knowing the variables bound on entry.

    rdflib sorts a group's triple patterns once, by how many are bound when the group starts,
    so `?rc :riskLevel :High . ?rc :concernsSystem ?s . ?s :stage :Deployed` runs the last
    pattern before the second and enumerates every deployed system per classification. Each
    group becomes a chain of lazy joins in greedy order (most bound ends first, given what the
    earlier patterns bind), which rdflib then evaluates as written. Results are unchanged.
    """
    if isinstance(node, list | tuple):
        for value in node:
            _order_patterns(value, known)
        return
    if not isinstance(node, CompValue):
        return
    name = node.name
    if name == "BGP" and len(dict.get(node, "triples") or []) > 1:
        todo = _split_sequences(node["triples"])
        ordered: list[tuple[Node, Any, Node]] = []
        seen = set(known)
        while todo:
            best = max(todo, key=lambda t: _pattern_key(t, seen))
            todo.remove(best)
            ordered.append(best)
            seen.update(t for t in best if isinstance(t, Variable))
        chain: CompValue = CompValue("BGP", triples=[ordered[0]])
        for triple in ordered[1:-1]:
            chain = CompValue("Join", p1=chain, p2=CompValue("BGP", triples=[triple]), lazy=True)
        node.name = "Join"
        del node["triples"]
        node["p1"] = chain
        node["p2"] = CompValue("BGP", triples=[ordered[-1]])
        node["lazy"] = True
        return
    if name in ("Filter", "LeftJoin", "Join", "Minus"):
        first = node.get("p") if name == "Filter" else node.get("p1")
        _order_patterns(first, known)
        inner = known | _variables(first)
        if name == "Filter":
            _order_patterns(node.get("expr"), inner)
            for value in vars(node).values():  # (NOT) EXISTS keeps its pattern as an attribute
                _order_patterns(value, inner)
            return
        lazy = name == "LeftJoin" or bool(dict.get(node, "lazy", False))
        _order_patterns(node.get("p2"), inner if lazy else known)
        _order_patterns(node.get("expr"), inner)
        return
    # rdflib keeps the translated pattern of (NOT) EXISTS as an attribute, not an item
    for value in [*node.values(), *vars(node).values()]:
        _order_patterns(value, known)


def validation_graph(store: Store, as_of: date) -> Graph:
    """The graph the rules run on: data + ontology + the as-of date."""
    graph = store.to_graph()
    graph.remove((None, AIMS.asOf, None))
    graph += resources.ontology()
    graph.add((RUN, AIMS.asOf, Literal(as_of)))
    return _PreparedQueryGraph(graph)


# --- running ----------------------------------------------------------------------------------


def _shapes_for(rule_ids: Sequence[str]) -> list[str]:
    catalogue = _catalogue()
    unknown = [r for r in rule_ids if r not in catalogue]
    if unknown:
        raise NotFound(f"unknown rule id {', '.join(unknown)}; `aims rules` lists them")
    shapes = resources.shapes()
    chosen = [s for r in rule_ids for s in catalogue[r].shapes
              if (_term(s), RDF.type, SH.NodeShape) in shapes]
    # Shared shapes the rules refer to (aimsh:NonBlankText): pyshacl treats a sh:node to a shape
    # left out of use_shapes as satisfied; they have no target, so listing them adds no results.
    shared = sorted(str(s) for s in shapes.subjects(RDF.type, SH.NodeShape)
                    if isinstance(s, URIRef) and (s, AIMS.ruleId, None) not in shapes)
    return chosen + shared


def _pyshacl_results(graph: Graph, *, use_shapes: list[str] | None,
                     focus_nodes: list[URIRef] | None) -> Iterator[RawResult]:
    options: dict[str, Any] = {}
    if use_shapes is not None:
        options["use_shapes"] = use_shapes
    if focus_nodes is not None:
        options["focus_nodes"] = [str(n) for n in focus_nodes]
    _conforms, results, _text_report = pyshacl.validate(
        graph, shacl_graph=resources.shapes(), ont_graph=None, inference="none",
        advanced=True, inplace=True, allow_infos=True, allow_warnings=True, **options,
    )
    assert isinstance(results, Graph)
    for node in results.subjects(RDF.type, SH.ValidationResult):
        shape = results.value(node, SH.sourceShape)
        focus = results.value(node, SH.focusNode)
        if shape is None or focus is None:
            continue
        yield RawResult(
            source_shape=shape, focus=focus,
            severity=_severity(results.value(node, SH.resultSeverity)),
            path=results.value(node, SH.resultPath), value=results.value(node, SH.value),
            component=results.value(node, SH.sourceConstraintComponent),
        )


def validate(store: Store, *, as_of: date, rules: Sequence[str] | None = None,
             system: str | None = None) -> Report:
    """pySHACL over the store's data as of a date (all rules, or the ids given; one system)."""
    rule_ids = list(dict.fromkeys(rules)) if rules else None
    use_shapes = _shapes_for(rule_ids) if rule_ids else None
    focus_nodes = concerned_nodes(store, find_system(store, system)) if system else None
    graph = validation_graph(store, as_of)
    if focus_nodes is not None and isinstance(graph, _PreparedQueryGraph):
        graph.focus = focus_nodes
    if focus_nodes is not None:
        # pyshacl applies focus nodes to every listed shape regardless of its targets when both
        # options are given, so a system run uses all shapes and the rule filter comes after.
        use_shapes = None
    raw = _pyshacl_results(graph, use_shapes=use_shapes, focus_nodes=focus_nodes)
    return build_report(raw, graph, as_of=as_of, rules=rule_ids)
