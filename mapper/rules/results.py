"""Findings: what any engine reports, turned into findings with labels, owners and messages.

`RawResult` is one violation as an engine sees it; `build_report` (rdflib graph) and the compiled
engine's `to_report` (facts read from the store) both produce the same `Report`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.term import Node

from mapper import resources
from mapper.errors import NotFound
from mapper.rules.catalogue import (
    SEVERITIES,
    _catalogue,
    _clause_key,
    _rule_key,
    _rule_shape,
    _term,
    _text,
    clause_notation,
)
from mapper.store import Store
from mapper.vocab import AIMS

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

_IS_SYSTEM = """
PREFIX aims: <https://aims-graph.org/ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
ASK WHERE { ?system a/rdfs:subClassOf* aims:AISystem . }
"""


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


def is_system(store: Store, node: URIRef) -> bool:
    """Whether the node is an AI system (of aims:AISystem or a subclass)."""
    return bool(store.query(_IS_SYSTEM, bindings={"system": node}).boolean)


def find_system(store: Store, system: str) -> URIRef:
    """The AI system named by its aims:identifier (or IRI); NotFound when there is none."""
    if re.match(r"^(https?|urn):", system):
        if is_system(store, URIRef(system)):
            return URIRef(system)
    else:
        from mapper.questions import queries

        rows = queries.run(store, "systems-identified", {"identifier": system}).rows
        if rows:
            return URIRef(str(sorted(str(r[0]) for r in rows)[0]))
    raise NotFound(f"no AI system with identifier or IRI {system!r}; "
                   "check the spelling (aims:identifier, e.g. SYS-CLAIMS-TRIAGE)")


def concerned_nodes(store: Store, system: URIRef) -> list[URIRef]:
    """The system and the nodes whose findings concern it (records, supplier, reviews, ...)."""
    rows = store.query(_CONCERNED, bindings={"system": system}).rows
    return sorted({system} | {URIRef(str(r[0])) for r in rows if isinstance(r[0], URIRef)})



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


