"""Validation: the rules of shapes/ run over the store's data, reported as findings.

The Report is engine-neutral: pyshacl is the reference engine here (SHACL Core + SHACL-SPARQL,
advanced mode for SPARQL targets); a compiled SPARQL engine can produce the same raw results
(`RawResult`) and reuse the conversion into findings, labels, owners and messages.

How a run works: the data graphs (store.to_graph()) plus the ontology (so `rdfs:subClassOf`
reaches subclass instances and the minimum-process catalogue is visible) plus one triple
`<urn:aims:validation> aims:asOf "YYYY-MM-DD"^^xsd:date` that as-of rules read with a triple
pattern, never NOW(). Non-conformance is a result, never an exception.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import pyshacl
from rdflib import RDF, RDFS, SKOS, BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.paths import Path, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result
from rdflib.term import Node

from mapper import resources
from mapper.errors import NotFound
from mapper.store import Store
from mapper.vocab import AIMS

RUN = URIRef("urn:aims:validation")
"""The node that carries the as-of date (`aims:asOf`) in the validation graph."""

SEVERITIES = ("Violation", "Warning", "Info")

_PREFIXES = {
    "https://aims-graph.org/ns#": "aims",
    "https://aims-graph.org/iso42001#": "iso",
    str(RDF): "rdf",
    str(RDFS): "rdfs",
}

# What concerns one AI system, for `--system` (focus-node validation). ?system is bound.
_CONCERNED = """
PREFIX aims: <https://aims-graph.org/ns#>
SELECT DISTINCT ?node WHERE {
    { ?node aims:concernsSystem ?system }
    UNION { ?system aims:supplier|aims:contract ?node }
    UNION { ?node aims:excludes ?system }
    UNION { ?node aims:decisionSubject ?system }
    UNION { ?record aims:concernsSystem ?system . ?node aims:reviewOf|aims:trigger ?record }
    UNION { ?system aims:supplier ?party . ?node aims:assessesParty ?party }
}
"""

_SYSTEM_BY_KEY = """
PREFIX aims: <https://aims-graph.org/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?system WHERE { ?system aims:identifier ?key ; a/rdfs:subClassOf* aims:AISystem . }
"""

_IS_SYSTEM = """
PREFIX aims: <https://aims-graph.org/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
ASK WHERE { ?system a/rdfs:subClassOf* aims:AISystem . }
"""


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue, as declared by its shapes."""

    id: str
    clauses: list[str]
    severity: str
    description: str
    shapes: list[str] = field(default_factory=list, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "clause": self.clauses, "severity": self.severity,
                "description": self.description}


@dataclass
class Finding:
    """One violated rule on one node: what, where, who must fix it and how."""

    rule: str
    clause: list[str]
    severity: str
    focus: str
    focus_label: str
    path: str | None
    value: str | None
    owner: str | None
    message: str
    source_shape: str | None = field(default=None, repr=False, compare=False)
    component: str | None = field(default=None, repr=False, compare=False)
    focus_term: Node | None = field(default=None, repr=False, compare=False)
    value_term: Node | None = field(default=None, repr=False, compare=False)
    path_term: Node | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "clause": self.clause, "severity": self.severity,
            "focus": self.focus, "focus_label": self.focus_label, "path": self.path,
            "value": self.value, "owner": self.owner, "message": self.message,
        }


@dataclass
class Report:
    """The outcome of a validation run: conforms when no finding is a Violation."""

    as_of: date
    findings: list[Finding]

    @property
    def conforms(self) -> bool:
        return not any(f.severity == "Violation" for f in self.findings)

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        """Counts by severity (all three keys always present), by clause and by rule."""
        by_severity = {s: 0 for s in SEVERITIES}
        by_clause: Counter[str] = Counter()
        by_rule: Counter[str] = Counter()
        for f in self.findings:
            by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
            by_rule[f.rule] += 1
            for clause in f.clause:
                by_clause[clause] += 1
        return {
            "by_severity": by_severity,
            "by_clause": dict(sorted(by_clause.items(), key=lambda kv: _clause_key(kv[0]))),
            "by_rule": dict(sorted(by_rule.items())),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `aims validate --format json` and the API."""
        return {
            "conforms": self.conforms,
            "as_of": self.as_of.isoformat(),
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_graph(self) -> Graph:
        """The findings as a standard sh:ValidationReport."""
        graph = Graph()
        graph.bind("sh", SH)
        graph.bind("aims", AIMS._NS)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add((report, SH.conforms, Literal(self.conforms)))
        shapes = resources.shapes()
        for f in self.findings:
            node = BNode()
            graph.add((report, SH.result, node))
            graph.add((node, RDF.type, SH.ValidationResult))
            graph.add((node, SH.focusNode, f.focus_term or URIRef(f.focus)))
            graph.add((node, SH.resultSeverity, SH[f.severity]))
            graph.add((node, SH.resultMessage, Literal(f.message)))
            if f.source_shape:
                graph.add((node, SH.sourceShape, _term(f.source_shape)))
            if f.component:
                graph.add((node, SH.sourceConstraintComponent, URIRef(f.component)))
            if f.value_term is not None:
                graph.add((node, SH.value, f.value_term))
            if f.path_term is not None:
                graph.add((node, SH.resultPath, _copy_path(shapes, f.path_term, graph)))
        return graph

    def to_turtle(self) -> str:
        """The findings as a standard sh:ValidationReport in Turtle."""
        return self.to_graph().serialize(format="turtle")


@dataclass(frozen=True)
class RawResult:
    """What any engine reports for one violation, before labels, owners and messages."""

    source_shape: Node
    focus: Node
    severity: str
    path: Node | None = None
    value: Node | None = None
    component: Node | None = None


# --- the rule catalogue ----------------------------------------------------------------------


def _term(text: str) -> Node:
    return BNode(text[2:]) if text.startswith("_:") else URIRef(text)


def _text(node: Node) -> str:
    return node.n3() if isinstance(node, BNode) else str(node)


def _clause_key(notation: str) -> tuple[Any, ...]:
    parts = notation.split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def clause_notation(concept: Node) -> str:
    """The short notation of a catalogue concept ("8.2", "A.6.2.5").

    >>> from mapper.vocab import ISO
    >>> clause_notation(ISO["clause-8.2"]), clause_notation(ISO["A.6.2.5"])
    ('8.2', 'A.6.2.5')
    """
    notation = resources.ontology().value(concept, SKOS.notation)
    if notation is not None:
        return str(notation)
    local = re.split(r"[#/]", str(concept))[-1]
    return local.removeprefix("clause-")


def _severity(node: Node | None) -> str:
    return str(node).rsplit("#", 1)[-1] if node is not None else "Violation"


def _rule_shape(shapes: Graph, shape: Node) -> Node | None:
    """The node shape carrying aims:ruleId for a shape or one of its property shapes."""
    seen: set[Node] = set()
    current: Node | None = shape
    while current is not None and current not in seen:
        seen.add(current)
        if shapes.value(current, AIMS.ruleId) is not None:
            return current
        current = shapes.value(None, SH.property, current)
    return None


@cache
def _catalogue() -> dict[str, Rule]:
    shapes = resources.shapes()
    found: dict[str, dict[str, Any]] = {}
    for shape, rule_id in shapes.subject_objects(AIMS.ruleId):
        entry = found.setdefault(str(rule_id), {"clauses": set(), "severity": None,
                                                "description": None, "shapes": []})
        entry["shapes"].append(str(shape))
        entry["clauses"].update(clause_notation(c) for c in shapes.objects(shape, AIMS.clause))
        severity = shapes.value(shape, SH.severity)
        if severity is not None and entry["severity"] is None:
            entry["severity"] = _severity(severity)
        description = shapes.value(shape, SH.description)
        if description is not None:
            entry["description"] = str(description)
    return {
        rule_id: Rule(
            id=rule_id,
            clauses=sorted(entry["clauses"], key=_clause_key),
            severity=entry["severity"] or "Violation",
            description=entry["description"] or "",
            shapes=sorted(entry["shapes"]),
        )
        for rule_id, entry in sorted(found.items(), key=lambda kv: _rule_key(kv[0]))
    }


_FAMILY_ORDER = ["SCOPE", "PROC", "GOV", "GATE", "THIRD", "IMP", "MAINT", "DATE"]


def _rule_key(rule_id: str) -> tuple[int, str]:
    family = rule_id.split("-")[0]
    rank = _FAMILY_ORDER.index(family) if family in _FAMILY_ORDER else len(_FAMILY_ORDER)
    return rank, rule_id


def rules() -> list[Rule]:
    """The rule catalogue read from the shapes themselves (id, clauses, severity, description).

    >>> [r.id for r in rules()][:3]
    ['SCOPE-01', 'SCOPE-02', 'SCOPE-03']
    >>> next(r for r in rules() if r.id == "GATE-03").clauses
    ['6.1.2', '8.2']
    """
    return list(_catalogue().values())


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


def find_system(store: Store, system: str) -> URIRef:
    """The AI system named by its aims:identifier (or IRI); NotFound when there is none."""
    if re.match(r"^(https?|urn):", system):
        if store.query(_IS_SYSTEM, bindings={"system": URIRef(system)}).boolean:
            return URIRef(system)
    else:
        rows = store.query(_SYSTEM_BY_KEY, bindings={"key": Literal(system)}).rows
        if rows:
            return URIRef(str(sorted(str(r[0]) for r in rows)[0]))
    raise NotFound(f"no AI system with identifier or IRI {system!r}; "
                   "check the spelling (aims:identifier, e.g. SYS-CLAIMS-TRIAGE)")


def concerned_nodes(store: Store, system: URIRef) -> list[URIRef]:
    """The system and the nodes whose findings concern it (records, supplier, reviews, ...)."""
    rows = store.query(_CONCERNED, bindings={"system": system}).rows
    return sorted({system} | {URIRef(str(r[0])) for r in rows if isinstance(r[0], URIRef)})


# --- running ----------------------------------------------------------------------------------


def _shapes_for(rule_ids: Sequence[str]) -> list[str]:
    catalogue = _catalogue()
    unknown = [r for r in rule_ids if r not in catalogue]
    if unknown:
        raise NotFound(f"unknown rule id {', '.join(unknown)}; `aims rules` lists them")
    shapes = resources.shapes()
    return [s for r in rule_ids for s in catalogue[r].shapes
            if (_term(s), RDF.type, SH.NodeShape) in shapes]


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


def validate(
    store: Store,
    *,
    as_of: date,
    rules: Sequence[str] | None = None,
    system: str | None = None,
    engine: str = "auto",
) -> Report:
    """Run the rules (all, or the ids given) on the store, as of a date; never raises on gaps.

    `engine`: "sparql" (the shapes compiled to SPARQL and run inside the store, mapper.compiled),
    "pyshacl" (the reference engine) or "auto" (= sparql); the Report is the same either way.
    With "auto"/"sparql", when findings are stored (mapper.findings: `aims validate
    --store-findings`, then kept current by every ingest and batch drop) the answer comes from
    them (only the date-dependent checks are re-run for another as-of date), not a full run.

    `system` (an aims:identifier or IRI) validates only the nodes that concern that AI system.
    Unknown rule ids or systems raise NotFound.

    >>> from mapper.store import open_store
    >>> report = validate(open_store("memory"), as_of=date(2026, 6, 30), rules=["PROC-01"])
    >>> report.conforms, len(report.findings), report.findings[0].rule
    (False, 10, 'PROC-01')
    """
    if engine not in ("auto", "sparql", "pyshacl"):
        raise ValueError(f"unknown validation engine {engine!r}: auto, sparql or pyshacl")
    if engine != "pyshacl":
        from mapper import compiled, findings  # they import this module

        stored = findings.current(store, as_of=as_of, rules=rules, system=system)
        if stored is not None:
            return stored
        return compiled.validate(store, as_of=as_of, rules=rules, system=system)
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


def build_report(raw: Iterable[RawResult], graph: Graph, *, as_of: date,
                 rules: Sequence[str] | None = None) -> Report:
    """Turn raw engine results into a Report (labels, owners, clauses, messages), any engine."""
    shapes = resources.shapes()
    catalogue = _catalogue()
    wanted = set(rules) if rules else None
    findings: dict[tuple[Any, ...], Finding] = {}
    for r in raw:
        rule_shape = _rule_shape(shapes, r.source_shape)
        if rule_shape is None:
            continue
        rule_id = str(shapes.value(rule_shape, AIMS.ruleId))
        if wanted is not None and rule_id not in wanted:
            continue
        path = r.path
        if isinstance(path, BNode):
            path = shapes.value(r.source_shape, SH.path) or path
        template = shapes.value(r.source_shape, SH.message) or shapes.value(rule_shape, SH.message)
        # A node shape's SPARQL result without ?value reports the focus as value: say nothing.
        value = None if r.value == r.focus else r.value
        focus_label = label(graph, r.focus)
        value_label = label(graph, value) if value is not None else ""
        message = str(template) if template is not None else f"{rule_id} not met"
        message = render_message(message, this=focus_label, value=value_label)
        clauses = sorted({clause_notation(c) for c in shapes.objects(rule_shape, AIMS.clause)},
                         key=_clause_key) or catalogue[rule_id].clauses
        finding = Finding(
            rule=rule_id, clause=clauses, severity=r.severity, focus=_text(r.focus),
            focus_label=focus_label, path=path_text(shapes, path) if path is not None else None,
            value=None if value is None else _text(value), owner=owner(graph, r.focus),
            message=message, source_shape=_text(r.source_shape),
            component=None if r.component is None else str(r.component),
            focus_term=r.focus, value_term=r.value, path_term=path,
        )
        key = (finding.rule, finding.focus, finding.path, finding.value, finding.source_shape)
        findings.setdefault(key, finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    ordered = sorted(findings.values(), key=lambda f: (
        order.get(f.severity, 9), _rule_key(f.rule), f.focus_label, f.focus, f.path or "",
        f.value or ""))
    return Report(as_of=as_of, findings=ordered)


def render_message(template: str, *, this: str, value: str) -> str:
    """Fill a shape message: {$this} / {?this} with the focus label, {?value} with the value's.

    >>> render_message("Process '{$this}' is owned by '{?value}'.", this="Intake", value="Ops")
    "Process 'Intake' is owned by 'Ops'."
    """
    names = {"this": this, "value": value}
    return re.sub(r"\{[$?](this|value)\}", lambda m: names[m.group(1)], template)


# --- labels, owners, paths --------------------------------------------------------------------


def label(graph: Graph, node: Node) -> str:
    """A human name for a node: rdfs:label, else aims:identifier, else the IRI or literal."""
    if isinstance(node, Literal):
        return str(node)
    for prop in (RDFS.label, AIMS.identifier):
        values = sorted(str(v) for v in graph.objects(node, prop))
        if values:
            return values[0]
    return _text(node)


def _is_a(graph: Graph, node: Node, cls: URIRef) -> bool:
    for t in graph.objects(node, RDF.type):
        if t == cls or cls in graph.transitive_objects(t, RDFS.subClassOf):
            return True
    return False


def _labels(graph: Graph, nodes: Iterable[Node]) -> str | None:
    names = sorted({label(graph, n) for n in nodes})
    return ", ".join(names) if names else None


def owner(graph: Graph, node: Node) -> str | None:
    """Who must fix a finding on this node: the business owner of a system, the accountable
    owner of a process, the owner (else author, else the concerned system's business owner) of
    a record; None for anything else."""
    if isinstance(node, Literal):
        return None
    if _is_a(graph, node, AIMS.AISystem):
        return _labels(graph, graph.objects(node, AIMS.businessOwner))
    if _is_a(graph, node, AIMS.Process):
        return _labels(graph, graph.objects(node, AIMS.accountableOwner))
    if _is_a(graph, node, AIMS.Record):
        for prop in (AIMS.owner, AIMS.author):
            found = _labels(graph, graph.objects(node, prop))
            if found:
                return found
        owners = [o for s in graph.objects(node, AIMS.concernsSystem)
                  for o in graph.objects(s, AIMS.businessOwner)]
        return _labels(graph, owners)
    return None


def _short(iri: Node) -> str:
    text = str(iri)
    for namespace, prefix in _PREFIXES.items():
        if text.startswith(namespace):
            return f"{prefix}:{text[len(namespace):]}"
    return f"<{text}>"


def path_text(shapes: Graph, path: Node) -> str:
    """A SHACL path written as a SPARQL property path ("aims:purpose", "^aims:excludes")."""
    if isinstance(path, URIRef):
        return _short(path)
    inverse = shapes.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + path_text(shapes, inverse)
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(path_text(shapes, p) for p in Collection(shapes, alternatives)) + ")"
    for prop, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                         (SH.zeroOrOnePath, "?")):
        inner = shapes.value(path, prop)
        if inner is not None:
            return "(" + path_text(shapes, inner) + ")" + suffix
    if shapes.value(path, RDF.first) is not None:
        return "/".join(path_text(shapes, p) for p in Collection(shapes, path))
    return _text(path)


def _copy_path(shapes: Graph, path: Node, target: Graph) -> Node:
    if isinstance(path, URIRef):
        return path
    copies: dict[Node, BNode] = {}

    def copy(node: Node) -> Node:
        if not isinstance(node, BNode):
            return node
        if node not in copies:
            copies[node] = BNode()
            for p, o in shapes.predicate_objects(node):
                target.add((copies[node], p, copy(o)))
        return copies[node]

    return copy(path)


def verdict_on_change(store: Store, deltas: Sequence[Any], *, as_of: date) -> Report:
    """The findings of everything a sequence of writes re-validated (mapper.findings.Delta, in
    the order the writes happened), as of a date: the verdict on an ingest without a full run.

    A later write's re-validation replaces an earlier one's for the same check and focus node.
    Checks that read the as-of date are re-run on the re-validated nodes when `as_of` differs
    from the date the findings are stored for.
    """
    from mapper import compiled  # imports this module

    full: set[str] = set()
    focus: dict[str, set[Node]] = {}
    results: list[tuple[str, RawResult]] = []
    for delta in deltas:
        again = set(delta.rerun_full)
        results = [(k, r) for k, r in results
                   if k not in again and r.focus not in delta.focus.get(k, ())]
        results += delta.results
        full |= again
        for key, nodes in delta.focus.items():
            focus.setdefault(key, set()).update(nodes)
    stored_day = deltas[-1].as_of if deltas else as_of
    if as_of != stored_day:
        for check in compiled.checks():
            if not check.uses_as_of or (check.key not in full and check.key not in focus):
                continue
            results = [(k, r) for k, r in results if k != check.key]
            nodes = None if check.key in full else sorted(focus[check.key], key=str)
            results += [(check.key, r) for r in compiled.run_check(store, check, as_of, nodes)]
    return compiled.to_report(store, [r for _, r in results], as_of=as_of)
