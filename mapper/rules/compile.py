"""The compiled engine: every shape of shapes/ as SPARQL SELECTs run inside the store.

Each constraint of each shape (a *check*) becomes one SELECT returning `?this` (the focus node)
and, where SHACL reports one, `?value`; the rule id, severity, path, source shape and message
template are constants of the check, so `mapper.rules.results.build_report` turns the rows into the
same findings as pyshacl. The queries run through `Store.query`, on the embedded store and on a
remote SPARQL endpoint alike: nothing is copied into rdflib except the labels and owners of the
nodes that have findings.

What is compiled (anything else in a shape raises CompileError naming shape and component, so a
new rule can never fall back silently or be skipped):

- targets: sh:targetClass (instances of the class and of its subclasses, through
  `rdf:type/rdfs:subClassOf*` over the ontology graph), sh:targetNode, sh:targetSubjectsOf,
  sh:targetObjectsOf and SHACL-AF SPARQL targets (sh:target [a sh:SPARQLTarget; sh:select]);
- core: sh:minCount, sh:maxCount, sh:class, sh:datatype, sh:pattern (+ sh:flags), sh:hasValue,
  sh:in, sh:nodeKind, sh:node, sh:or, sh:qualifiedValueShape with sh:qualifiedMinCount /
  sh:qualifiedMaxCount, nested sh:property (inside sh:node / qualified value shapes);
  paths: predicates, sh:inversePath, sh:alternativePath, sequences, sh:zeroOrMorePath,
  sh:oneOrMorePath, sh:zeroOrOnePath;
- SHACL-SPARQL: sh:sparql on node shapes (SELECT of `$this` and optionally `?value`), with the
  as-of date bound where the query reads it (`?run aims:asOf ?asOf`) and never NOW().

The SELECTs of sh:sparql constraints and SPARQL targets are parsed with rdflib's SPARQL parser and
rewritten on their parse tree (the as-of read bound, class paths split, FILTER NOT EXISTS as
MINUS for pyoxigraph, the remote form for Virtuoso), then written once (the writer of
mapper.store.contract). The compiler's own patterns are generated with every term written by
mapper.store.terms. A check keeps two run-time slots: the as-of date (a term at every place the
shape reads it, sub-patterns included) and the focus nodes of a restricted run. Everything the
compiler names (its variables, the order of its checks) follows sorted order, so the checks are
the same in every process (the digest of mapper.rules.stored depends on it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from pyparsing import ParseResults
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from mapper import resources
from mapper.errors import NotFound, QueryError
from mapper.rules import catalogue as C
from mapper.rules import results as V
from mapper.rules.results import Finding, RawResult, Report, concerned_nodes, find_system
from mapper.store import Store
from mapper.store.sparql import ParseCache, SparqlWriter, parse_sparql
from mapper.store.terms import TermError, sparql_iri, sparql_term
from mapper.vocab import AIMS

AS_OF_SLOT = "#{{AS_OF}}\n"
"""Where the as-of date term goes in a compiled query (a comment line: no string or IRI the
compiler writes can hold it, since their line breaks are escaped)."""

FOCUS_SLOT = "#{{FOCUS}}\n"
"""Where a VALUES block on ?this goes when a run is restricted to given focus nodes."""

CHUNK = 400
"""Focus nodes per VALUES block when a run is restricted to given nodes."""


_log = logging.getLogger(__name__)


class CompileError(Exception):
    """A shape uses something the compiler does not support (names the shape and component)."""


# --- the compiled form --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One constraint of one shape, compiled: a SELECT of ?this (and ?value)."""

    key: str  # stable across processes: the rule shape IRI + a digest of the constraint
    rule: str
    shape: Node  # sh:sourceShape (the property shape, or the node shape for sh:sparql)
    node_shape: URIRef
    component: URIRef
    severity: str
    path: Node | None
    sparql: str  # with AS_OF_SLOT and FOCUS_SLOTs; selects ?this and maybe ?value
    has_value: bool
    value_is_focus: bool
    uses_as_of: bool
    remote_sparql: str = ""  # the same check for a remote endpoint (see "the remote form")

    def query(self, as_of: date, focus: Sequence[Node] | None = None, *,
              remote: bool = False) -> str:
        """The runnable SELECT for a date (and optionally only these focus nodes); `remote`
        picks the form sent to a remote SPARQL endpoint."""
        text = self.remote_sparql if remote and self.remote_sparql else self.sparql
        text = text.replace(AS_OF_SLOT, sparql_term(Literal(as_of)))
        if focus is None:
            return text.replace(FOCUS_SLOT, "")
        values = " ".join(_n3(n) for n in focus)
        return text.replace(FOCUS_SLOT, f"VALUES ?this {{ {values} }}")


def _n3(node: Node) -> str:
    """A term as SPARQL text (mapper.store.terms' escaping); CompileError for a blank node."""
    try:
        return sparql_term(node)
    except TermError as exc:
        raise CompileError(f"cannot write {node!r} into a query: {exc}") from None


SH_SPARQL_TARGET = SH.SPARQLTarget

_NODE_SHAPE_KEYS = {
    SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target,
    SH.property, SH.sparql, SH.severity, SH.message, SH.description, SH.name,
    SH["class"], SH.datatype, SH.pattern, SH.flags, SH.hasValue, SH["in"], SH.nodeKind, SH.node,
    SH["or"],
}
_PROPERTY_SHAPE_KEYS = {
    SH.path, SH.minCount, SH.maxCount, SH["class"], SH.datatype, SH.pattern, SH.flags,
    SH.hasValue, SH["in"], SH.nodeKind, SH.node, SH["or"], SH.qualifiedValueShape,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount, SH.severity, SH.message, SH.description, SH.name, SH.order,
    SH.group, SH.property,
}
_IGNORED_NAMESPACES = (str(AIMS._NS), str(RDFS), "http://www.w3.org/2004/02/skos/core#")

_CASTABLE = {XSD.date, XSD.dateTime, XSD.integer, XSD.decimal, XSD.boolean, XSD.double,
             XSD.float, XSD.string, XSD.time, XSD.gYear}


class _Vars:
    """The compiler's own variables (?_c1, ?_c2, ... in the order it needs them) and the form
    it writes (remote: see "the remote form")."""

    def __init__(self, *, remote: bool = False) -> None:
        self.n = 0
        self.remote = remote

    def new(self) -> str:
        self.n += 1
        return f"?_c{self.n}"


def _severity(shapes: Graph, shape: Node) -> str:
    node = shapes.value(shape, SH.severity)
    return str(node).rsplit("#", 1)[-1] if node is not None else "Violation"


def _where(shape: Node) -> str:
    return f"<{shape}>" if isinstance(shape, URIRef) else "a blank-node shape"


# --- paths -------------------------------------------------------------------------------------


def sparql_path(shapes: Graph, path: Node, shape: Node) -> str:
    """A SHACL path as a SPARQL property path with full IRIs.

    >>> g = Graph(); from rdflib import BNode; b = BNode()
    >>> _ = g.add((b, SH.inversePath, AIMS.excludes))
    >>> sparql_path(g, b, AIMS.Process)
    '^(<https://aims-graph.org/ns#excludes>)'
    """
    if isinstance(path, URIRef):
        return _n3(path)
    inverse = shapes.value(path, SH.inversePath)
    if inverse is not None:
        return f"^({sparql_path(shapes, inverse, shape)})"
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        items = [sparql_path(shapes, p, shape) for p in Collection(shapes, alternatives)]
        return "(" + "|".join(items) + ")"
    for prop, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                         (SH.zeroOrOnePath, "?")):
        inner = shapes.value(path, prop)
        if inner is not None:
            return f"({sparql_path(shapes, inner, shape)}){suffix}"
    if shapes.value(path, RDF.first) is not None:
        return "(" + "/".join(sparql_path(shapes, p, shape) for p in Collection(shapes, path)) + ")"
    raise CompileError(f"shape {_where(shape)}: unsupported sh:path form {path!r}")


# --- core constraints as SPARQL expressions ----------------------------------------------------


def _distinct(values: list[str]) -> str:
    pairs = [f"!sameTerm({a}, {b})" for i, a in enumerate(values) for b in values[i + 1:]]
    return f"FILTER ({' && '.join(pairs)})" if pairs else ""


def _n_values(focus: str, path: str, n: int, vs: _Vars, extra: str = "") -> str:
    """A group body matching n distinct values of the path (each satisfying `extra`)."""
    names = [vs.new() for _ in range(n)]
    body = " ".join(f"{focus} {path} {v} ." for v in names)
    conditions = [extra.replace("$V", v) for v in names] if extra else []
    filters = _distinct(names)
    if conditions:
        filters += f" FILTER ({' && '.join(conditions)})"
    return f"{body} {filters}"


def _int(shapes: Graph, shape: Node, prop: URIRef) -> int:
    value = shapes.value(shape, prop)
    try:
        return int(str(value))
    except ValueError as exc:
        raise CompileError(f"shape {_where(shape)}: {prop} is not an integer") from exc


def _value_test(shapes: Graph, shape: Node, component: URIRef, x: str, vs: _Vars) -> str:
    """A SPARQL boolean expression: value node `x` satisfies this per-value component."""
    if component == SH["class"]:
        tests = []
        for c in shapes.objects(shape, SH["class"]):
            k = vs.new()
            tests.append(f"EXISTS {{ {x} a {k} . {_subclass_pattern(k, c, vs)} }}")
        return "(" + " && ".join(tests) + ")"
    if component == SH.datatype:
        dt = shapes.value(shape, SH.datatype)
        if dt == RDF.langString:
            return f"(isLiteral({x}) && LANG({x}) != \"\")"
        dt_text = _n3(dt)  # type: ignore[arg-type]
        test = f"(isLiteral({x}) && DATATYPE({x}) = {dt_text}"
        if dt in _CASTABLE and dt != XSD.string:
            test += f" && COALESCE(DATATYPE({dt_text}(STR({x}))) = {dt_text}, false)"
        return test + ")"
    if component == SH.pattern:
        pattern = _n3(Literal(str(shapes.value(shape, SH.pattern))))
        flags = shapes.value(shape, SH.flags)
        args = f"STR({x}), {pattern}" + (f", {_n3(Literal(str(flags)))}" if flags else "")
        return f"(!isBlank({x}) && REGEX({args}))"
    if component == SH["in"]:
        members = list(Collection(shapes, shapes.value(shape, SH["in"])))  # type: ignore[arg-type]
        return "(" + (" || ".join(f"sameTerm({x}, {_n3(m)})" for m in members) or "false") + ")"
    if component == SH.nodeKind:
        kind = shapes.value(shape, SH.nodeKind)
        kinds: dict[Node, str] = {
            SH.IRI: f"isIRI({x})", SH.Literal: f"isLiteral({x})", SH.BlankNode: f"isBlank({x})",
            SH.BlankNodeOrIRI: f"(isBlank({x}) || isIRI({x}))",
            SH.BlankNodeOrLiteral: f"(isBlank({x}) || isLiteral({x}))",
            SH.IRIOrLiteral: f"(isIRI({x}) || isLiteral({x}))",
        }
        if kind is None or kind not in kinds:
            raise CompileError(f"shape {_where(shape)}: unknown sh:nodeKind {kind}")
        return kinds[kind]
    if component == SH.node:
        return "(" + " && ".join(_conforms(shapes, s, x, vs)
                                 for s in shapes.objects(shape, SH.node)) + ")"
    if component == SH["or"]:
        tests = []
        for listed in shapes.objects(shape, SH["or"]):
            alternatives = [_conforms(shapes, m, x, vs) for m in Collection(shapes, listed)]
            tests.append("(" + (" || ".join(alternatives) or "false") + ")")
        return "(" + " && ".join(tests) + ")"
    raise CompileError(f"shape {_where(shape)}: component {component} is not compiled")


_PER_VALUE = (SH["class"], SH.datatype, SH.pattern, SH["in"], SH.nodeKind, SH.node, SH["or"])


def _set_test(shapes: Graph, shape: Node, component: URIRef, focus: str, path: str,
              vs: _Vars) -> str:
    """A SPARQL boolean expression: the focus satisfies this whole-value-set component."""
    if component == SH.minCount:
        n = _int(shapes, shape, SH.minCount)
        return f"EXISTS {{ {_n_values(focus, path, n, vs)} }}" if n > 0 else "true"
    if component == SH.maxCount:
        n = _int(shapes, shape, SH.maxCount)
        return f"NOT EXISTS {{ {_n_values(focus, path, n + 1, vs)} }}"
    if component == SH.hasValue:
        return " && ".join(f"EXISTS {{ {focus} {path} {_n3(v)} }}"
                           for v in shapes.objects(shape, SH.hasValue))
    if component in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
        qualified = shapes.value(shape, SH.qualifiedValueShape)
        if qualified is None:
            raise CompileError(f"shape {_where(shape)}: {component} without sh:qualifiedValueShape")
        if shapes.value(shape, SH.qualifiedValueShapesDisjoint) is not None:
            raise CompileError(
                f"shape {_where(shape)}: component sh:qualifiedValueShapesDisjoint is not compiled")
        extra = _conforms(shapes, qualified, "$V", vs)
        if component == SH.qualifiedMinCount:
            n = _int(shapes, shape, SH.qualifiedMinCount)
            return f"EXISTS {{ {_n_values(focus, path, n, vs, extra)} }}" if n > 0 else "true"
        n = _int(shapes, shape, SH.qualifiedMaxCount)
        return f"NOT EXISTS {{ {_n_values(focus, path, n + 1, vs, extra)} }}"
    if component in _PER_VALUE:
        x = vs.new()
        test = _value_test(shapes, shape, component, x, vs)
        return f"NOT EXISTS {{ {focus} {path} {x} . FILTER (!{test}) }}"
    raise CompileError(f"shape {_where(shape)}: component {component} is not compiled")


def _components(shapes: Graph, shape: Node, *, property_shape: bool) -> list[URIRef]:
    """The constraint components a shape declares, in a stable order; unsupported ones raise."""
    allowed = _PROPERTY_SHAPE_KEYS if property_shape else _NODE_SHAPE_KEYS
    found: list[URIRef] = []
    for p in sorted(set(shapes.predicates(shape, None)), key=str):
        if p == RDF.type or str(p).startswith(_IGNORED_NAMESPACES):
            continue
        if p == SH.deactivated:
            raise CompileError(f"shape {_where(shape)}: component sh:deactivated is not compiled")
        if p not in allowed:
            raise CompileError(f"shape {_where(shape)}: component {p} is not compiled")
        if p in (SH.minCount, SH.maxCount, SH["class"], SH.datatype, SH.pattern, SH.hasValue,
                 SH["in"], SH.nodeKind, SH.node, SH["or"], SH.qualifiedMinCount,
                 SH.qualifiedMaxCount):
            found.append(URIRef(str(p)))
    return found


def _conforms(shapes: Graph, shape: Node, x: str, vs: _Vars) -> str:
    """A SPARQL boolean expression: node `x` conforms to a (nested) shape."""
    is_property = shapes.value(shape, SH.path) is not None
    if shapes.value(shape, SH.sparql) is not None:
        raise CompileError(f"shape {_where(shape)}: component sh:sparql in a nested shape "
                           "is not compiled")
    tests: list[str] = []
    if is_property:
        path = sparql_path(shapes, shapes.value(shape, SH.path), shape)  # type: ignore[arg-type]
        for component in _components(shapes, shape, property_shape=True):
            tests.append(_set_test(shapes, shape, component, x, path, vs))
    else:
        for component in _components(shapes, shape, property_shape=False):
            if component in _PER_VALUE:
                tests.append(_value_test(shapes, shape, component, x, vs))
            else:
                raise CompileError(f"shape {_where(shape)}: component {component} on a node "
                                   "shape is not compiled")
    for prop in shapes.objects(shape, SH.property):
        tests.append(_conforms(shapes, prop, x, vs))
    return "(" + (" && ".join(tests) or "true") + ")"


# --- shapes' own SPARQL, on its parse tree -----------------------------------------------------
#
# The SELECT of a SHACL-SPARQL constraint or target is parsed once with rdflib's SPARQL parser
# (rdflib.plugins.sparql.parser) and normalised into a small tree of the same node kinds
# (rdflib's CompValue: prefixed names resolved, single-child expression levels collapsed, plain
# predicates as IRIs, triples as [s, p, o]). The rewrites below work on that tree and
# `_Writer` (mapper.store.sparql.SparqlWriter plus the two run-time slots) writes it once.

_FORBIDDEN_CALLS = {"Builtin_NOW": "NOW", "Builtin_RAND": "RAND", "Builtin_UUID": "UUID",
                    "Builtin_STRUUID": "STRUUID", "Builtin_BNODE": "BNODE"}
_FORBIDDEN_PARTS = {"ServiceGraphPattern": "SERVICE", "SubSelect": "a sub-SELECT",
                    "GraphGraphPattern": "GRAPH"}
_FORBIDDEN_CLAUSES = {"groupby": "GROUP BY", "having": "HAVING", "orderby": "ORDER BY",
                      "limitoffset": "LIMIT", "valuesClause": "VALUES after the query",
                      "datasetClause": "FROM"}
_FORBIDDEN_VARIABLES = {"PATH": "$PATH", "currentShape": "$currentShape",
                        "shapesGraph": "$shapesGraph"}
_COLLAPSE = {"ConditionalOrExpression", "ConditionalAndExpression", "RelationalExpression",
             "AdditiveExpression", "MultiplicativeExpression"}
_SUBCLASS_STAR = CompValue("PathElt", part=RDFS.subClassOf, mod="*")
_FOCUS = CompValue("FocusSlot")
_AS_OF_IRI = URIRef(str(AIMS.asOf))
_AS_OF_TERM = CompValue("AsOfSlot")


class _Writer(SparqlWriter):
    """The query writer of mapper.store with the run-time slots of a check."""

    def other_part(self, node: Any) -> str:
        if node.name == "FocusSlot":
            return FOCUS_SLOT
        return super().other_part(node)

    def other_expr(self, node: Any) -> str:
        if node.name == "AsOfSlot":
            return AS_OF_SLOT
        return super().other_expr(node)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple | ParseResults)


def _items(node: Any, key: str) -> list[Any]:
    value = dict.get(node, key)
    return [] if value is None else list(value) if _is_list(value) else [value]


class _Normaliser:
    """rdflib's parse tree of a shape's SELECT as the compiler's tree (see above)."""

    def __init__(self, names: dict[str, str], where: str, component: str) -> None:
        self.names, self.where, self.component = names, where, component

    def fail(self, what: str) -> CompileError:
        return CompileError(f"{self.where}: {self.component} uses {what}, which the compiler "
                            "does not support")

    def node(self, value: Any) -> Any:
        if _is_list(value):
            return [self.node(v) for v in value]
        if isinstance(value, Variable) and str(value) in _FORBIDDEN_VARIABLES:
            raise self.fail(_FORBIDDEN_VARIABLES[str(value)])
        if not isinstance(value, CompValue):
            return value
        name = value.name
        if name == "pname":
            prefix = dict.get(value, "prefix") or ""
            if prefix not in self.names:
                raise CompileError(f"{self.where}: {self.component} uses the prefix {prefix}: "
                                   "that no sh:declare of the shapes graph declares")
            return URIRef(self.names[prefix] + (dict.get(value, "localname") or ""))
        if name == "literal":
            datatype = dict.get(value, "datatype")
            return Literal(str(value["string"]), lang=dict.get(value, "lang"),
                           datatype=self.node(datatype) if datatype is not None else None)
        if name in _FORBIDDEN_CALLS:
            raise self.fail(_FORBIDDEN_CALLS[name])
        if name in _FORBIDDEN_PARTS:
            raise self.fail(_FORBIDDEN_PARTS[name])
        if name.startswith("Aggregate_"):
            raise self.fail("an aggregate")
        items = {k: self.node(v) for k, v in value.items()}
        if name in _COLLAPSE and not items.get("other") and not items.get("op"):
            return items["expr"]
        if name in ("PathAlternative", "PathSequence") and len(items["part"]) == 1:
            return items["part"][0]
        if name == "PathElt" and not items.get("mod") and not isinstance(
                items["part"], CompValue):
            return items["part"]
        if name == "TriplesBlock":
            items["triples"] = [flat[i:i + 3] for flat in items["triples"]
                                for i in range(0, len(flat), 3)]
        return CompValue(name, **items)


def _walk(node: Any) -> Iterator[Any]:
    """Every node and term under `node` (itself included), depth first, in document order."""
    yield node
    if isinstance(node, CompValue):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _vars(node: Any, *, skip: Any = None) -> set[str]:
    """The names of the variables under `node`, leaving out the subtree `skip` (by identity)."""
    found: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if item is skip:
            continue
        if isinstance(item, Variable):
            found.add(str(item))
        elif isinstance(item, CompValue):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return found


def _rename(node: Any, names: dict[str, str]) -> Any:
    """A copy of `node` with variables renamed (names without ?)."""
    if isinstance(node, Variable):
        return Variable(names.get(str(node), str(node)))
    if isinstance(node, CompValue):
        return CompValue(node.name, **{k: _rename(v, names) for k, v in node.items()})
    if isinstance(node, list):
        return [_rename(v, names) for v in node]
    return node


def _group(parts: list[Any]) -> CompValue:
    return CompValue("GroupGraphPatternSub", part=parts)


def _groups(node: Any, *, in_exists: bool = False, depth: int = 0
            ) -> Iterator[tuple[CompValue, bool, int]]:
    """Every group pattern under `node`: (group, inside an EXISTS?, nesting depth)."""
    if isinstance(node, CompValue):
        if node.name == "GroupGraphPatternSub":
            yield node, in_exists, depth
            depth += 1
        inner = in_exists or node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS")
        for value in node.values():
            yield from _groups(value, in_exists=inner, depth=depth)
    elif isinstance(node, list):
        for value in node:
            yield from _groups(value, in_exists=in_exists, depth=depth)


@dataclass
class _Select:
    projected: list[str]
    where: CompValue  # the WHERE group, the compiler's own copy
    uses_as_of: bool


def _tree(shapes: Graph, text: str, where: str, component: str) -> tuple[list[str], CompValue]:
    """The projected variables and the normalised WHERE tree of a shape's SELECT (a fresh copy,
    the caller's to rewrite); CompileError for anything the compiler does not support."""
    names = _prefix_map(shapes)
    key = hashlib.sha256(json.dumps([text, sorted(names.items())]).encode()).hexdigest()
    known = _TREES.get(key)
    if isinstance(known, list) and len(known) == 2 and isinstance(known[1], CompValue) \
            and all(isinstance(v, str) for v in known[0]):
        return list(known[0]), known[1]
    from pyparsing import ParseException

    try:
        parsed = parse_sparql(text)
    except ParseException as exc:
        raise CompileError(f"{where}: {component} is not valid SPARQL (line {exc.lineno}, "
                           f"column {exc.col}: {exc.msg})") from None
    prologue, form = parsed[0], parsed[1]
    if len(prologue):
        raise CompileError(f"{where}: {component} uses PREFIX or BASE, which the compiler does "
                           "not support (declare prefixes with sh:declare)")
    if form.name != "SelectQuery":
        raise CompileError(f"{where}: {component} is not a plain `SELECT ... WHERE {{ ... }}`")
    for clause_key, clause in _FORBIDDEN_CLAUSES.items():
        if dict.get(form, clause_key) is not None:
            raise CompileError(f"{where}: {component} uses {clause}, which the compiler does "
                               "not support")
    body = _Normaliser(names, where, component).node(form["where"])
    projected = []
    for item in _items(form, "projection"):
        var = dict.get(item, "var")
        if var is None or str(var) not in ("this", "value"):
            shown = f"?{var}" if var is not None else "an expression"
            raise CompileError(f"{where}: {component} selects {shown}; only $this and ?value "
                               "are supported")
        projected.append(str(var))
    if not projected:
        raise CompileError(f"{where}: {component} selects *; only $this and ?value are "
                           "supported")
    _TREES.put(key, [projected, body])
    return projected, _TREES.get(key)[1]  # a copy: the caller rewrites it


def _parse_select(shapes: Graph, text: str, where: str, component: str, vs: _Vars) -> _Select:
    """A shape's SELECT as a tree: the as-of read bound, class paths split, anti-joins made."""
    projected, body = _tree(shapes, text, where, component)
    uses_as_of = _bind_as_of(body, where, component)
    _split_class_paths(body, vs)
    if not vs.remote:
        _anti_joins(body, vs)
    return _Select(projected, body, uses_as_of)


# Parsing a shape's SELECT with rdflib's (pyparsing) parser costs ~20-40 ms, five times what the
# rest of the compiler needs for all shapes; so the normalised trees are kept between processes
# (mapper.store.sparql.ParseCache), for this compiler: a digest of this module.
_TREES = ParseCache(
    "shape-sparql", hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16])


def _bind_as_of(body: CompValue, where: str, component: str) -> bool:
    """`?run aims:asOf ?asOf .` read as `VALUES ?asOf { <the as-of date> }` (a run-time slot)."""
    runs: list[Variable] = []
    for group, _in_exists, _depth in list(_groups(body)):
        parts: list[Any] = []
        for part in group["part"]:
            if part.name != "TriplesBlock":
                parts.append(part)
                continue
            kept: list[list[Any]] = []
            for s, p, o in part["triples"]:
                if p == _AS_OF_IRI and isinstance(s, Variable) and isinstance(o, Variable):
                    if kept:
                        parts.append(CompValue("TriplesBlock", triples=kept))
                        kept = []
                    parts.append(CompValue("InlineData", var=[o], value=[_AS_OF_TERM]))
                    runs.append(s)
                else:
                    kept.append([s, p, o])
            if kept:
                parts.append(CompValue("TriplesBlock", triples=kept))
        group["part"] = parts
    left = _vars(body)
    for run in runs:
        if str(run) in left:
            raise CompileError(f"{where}: {component} uses ?{run} beyond reading aims:asOf")
    if any(isinstance(node, URIRef) and node == _AS_OF_IRI for node in _walk(body)):
        raise CompileError(f"{where}: {component} reads aims:asOf in a form the compiler does "
                           "not bind (write `?run aims:asOf ?asOf .`)")
    return bool(runs)


def _is_class_path(path: Any) -> bool:
    """Whether a predicate is `rdf:type/rdfs:subClassOf*`."""
    if not isinstance(path, CompValue) or path.name != "PathSequence":
        return False
    parts = path["part"]
    return (len(parts) == 2 and parts[0] == RDF.type and isinstance(parts[1], CompValue)
            and parts[1].name == "PathElt" and parts[1]["part"] == RDFS.subClassOf
            and parts[1].get("mod") == "*")


def _split_class_paths(body: CompValue, vs: _Vars) -> None:
    """`?x a/rdfs:subClassOf* C` as `?x a ?k` plus `?k rdfs:subClassOf* C` at the start of the
    enclosing group: the same solutions, but pyoxigraph then walks from the bound instance
    instead of enumerating every instance of C from the class side. Remote: `?k`'s closure as
    VALUES (`_subclass_pattern`)."""
    for group, _in_exists, _depth in list(_groups(body)):
        first: list[Any] = []
        for part in group["part"]:
            if part.name != "TriplesBlock":
                continue
            for triple in part["triples"]:
                s, p, o = triple
                if _is_class_path(p) and isinstance(o, URIRef):
                    k = Variable(vs.new()[1:])
                    triple[1], triple[2] = RDF.type, k
                    first.extend(_subclass_parts(k, o, vs))
        if first:
            group["part"] = [*_merge_triples(first), *group["part"]]


def _merge_triples(parts: list[Any]) -> list[Any]:
    """Adjacent triple blocks as one."""
    out: list[Any] = []
    for part in parts:
        if part.name == "TriplesBlock" and out and out[-1].name == "TriplesBlock":
            out[-1] = CompValue("TriplesBlock", triples=[*out[-1]["triples"], *part["triples"]])
        else:
            out.append(part)
    return out


def _subclass_parts(k: Variable, cls: URIRef, vs: _Vars) -> list[Any]:
    if vs.remote:
        return [CompValue("InlineData", var=[k], value=[URIRef(c) for c in _closure(cls)])]
    return [CompValue("TriplesBlock", triples=[[k, _SUBCLASS_STAR, cls]])]


def _not_exists_filter(part: Any) -> CompValue | None:
    """The NOT EXISTS of a `FILTER NOT EXISTS { ... }` part, else None."""
    if part.name == "Filter" and isinstance(part["expr"], CompValue) \
            and part["expr"].name == "Builtin_NOTEXISTS":
        return part["expr"]
    return None


def _anti_joins(body: CompValue, vs: _Vars) -> None:
    """Rewrite `FILTER NOT EXISTS { B }` in a group G as `MINUS { G' B }` at the end of G, where
    G' is G without its FILTERs and MINUS blocks, its own variables renamed.

    pyoxigraph evaluates a NOT EXISTS block once per solution without using the bound variables
    to order its joins, so a block of several patterns costs O(n^2) over n systems; MINUS is one
    hash anti-join. Same solutions: G' yields (at least) every solution of G restricted to the
    variables B shares with the rest of the query, so a solution of G' joined with B that agrees
    with a solution mu of G on those variables exists exactly when B holds for mu (substitution
    semantics). Only done when B shares a variable with G's own triple patterns (MINUS needs a
    shared bound variable) and B is not itself inside an EXISTS; deepest groups first.
    """
    while True:
        candidates = [(depth, group, part) for group, in_exists, depth in _groups(body)
                      if not in_exists for part in group["part"]
                      if _not_exists_filter(part) is not None]
        candidates.sort(key=lambda c: -c[0])  # stable: document order within a depth
        for _depth, group, part in candidates:
            block = _not_exists_filter(part)["graph"]  # type: ignore[index]
            shared = _vars(block) & _vars(body, skip=part)
            own = {v for p in group["part"] if p.name in ("TriplesBlock", "InlineData")
                   for v in _vars(p)}
            if not shared & own:
                continue
            context = [p for p in group["part"] if p.name not in ("Filter", "MinusGraphPattern")]
            private = {v: f"{v}_m{vs.new()[3:]}" for v in sorted(_vars(context) - shared)}
            local = {v: f"{v}_m{vs.new()[3:]}" for v in sorted(_vars(block) - shared)}
            inner = [*_rename(context, private), *_rename(block["part"], local)]
            # A run on given focus nodes restricts the block too (FOCUS_SLOT): it binds ?this
            # and shares a bound variable with the group, so only the block's cost changes.
            if "this" in _vars(inner):
                inner.insert(0, _FOCUS)
            group["part"] = [p for p in group["part"] if p is not part]
            group["part"].append(CompValue("MinusGraphPattern", graph=_group(inner)))
            break
        else:
            return


def _slot_unions(body: CompValue) -> None:
    """FOCUS_SLOT at the start of every UNION branch that uses ?this (outside EXISTS): pyoxigraph
    evaluates a UNION without the outer VALUES, so a focus run restricts each branch itself."""
    for group, in_exists, _depth in list(_groups(body)):
        if in_exists:
            continue
        for part in group["part"]:
            if part.name == "GroupOrUnionGraphPattern" and len(part["graph"]) > 1:
                for branch in part["graph"]:
                    if "this" in _vars(branch) and not any(p is _FOCUS for p in branch["part"]):
                        branch["part"].insert(0, _FOCUS)


def _optionals_in_exists(body: CompValue) -> None:
    """For a remote endpoint: `OPTIONAL { O }` inside an EXISTS block as
    `{ O } UNION { FILTER NOT EXISTS { O } }`.

    Virtuoso fails on (or pushes the block's FILTER into) such an OPTIONAL (THIRD-01). The same
    solutions when O is a flat group whose variables shared with the block's other patterns are
    all bound outside the block (substituted before the block is evaluated): then the left join
    keeps each block solution with O's solutions, or alone when O has none, and so does the
    union. Anything else is left as written; the innermost EXISTS around an OPTIONAL decides.
    """
    exists = [n for n in _walk(body) if isinstance(n, CompValue)
              and n.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS")]
    edits: dict[int, tuple[CompValue, bool]] = {}  # id(OPTIONAL) -> (its block, rewrite?)
    for block in exists:  # document order: outer blocks first, inner ones overwrite
        graph = block["graph"]
        outside = _vars(body, skip=block) | {"this"}
        for group, _in_exists, _depth in _groups(graph):
            for opt in group["part"]:
                if opt.name != "OptionalGraphPattern":
                    continue
                inner = opt["graph"]
                flat = all(p.name in ("TriplesBlock", "Filter", "Bind") and not any(
                    isinstance(n, CompValue) and n.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS")
                    for n in _walk(p)) for p in inner["part"])
                rest: set[str] = set()
                for p in graph["part"]:
                    if p.name != "Filter":
                        rest |= _vars(p, skip=opt)
                edits[id(opt)] = (opt, flat and (_vars(inner) & rest) <= outside)
    for group, _in_exists, _depth in list(_groups(body)):
        parts = []
        for part in group["part"]:
            edit = edits.get(id(part))
            if edit is not None and edit[1]:
                inner = part["graph"]
                none = _group([CompValue("Filter", expr=CompValue(
                    "Builtin_NOTEXISTS", graph=_rename(inner, {})))])
                parts.append(CompValue("GroupOrUnionGraphPattern", graph=[inner, none]))
            else:
                parts.append(part)
        group["part"] = parts


def _body_text(parts: list[Any], where: str) -> str:
    """A group's parts as query text (no braces)."""
    writer = _Writer()
    try:
        return " ".join(writer.part(p) for p in parts)
    except QueryError as exc:
        raise CompileError(f"{where}: {exc}") from None


@cache
def prefixes() -> str:
    """PREFIX lines for every sh:declare in the shapes graph."""
    shapes = resources.shapes()
    lines = {}
    for decl in shapes.objects(None, SH.declare):
        prefix, ns = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
        if prefix is not None and ns is not None:
            lines[str(prefix)] = f"PREFIX {prefix}: <{ns}>"
    lines.setdefault("sh", f"PREFIX sh: <{SH}>")
    return "\n".join(lines[k] for k in sorted(lines)) + "\n"


def _prefix_map(shapes: Graph) -> dict[str, str]:
    found: dict[str, str] = {}
    for decl in shapes.objects(None, SH.declare):
        prefix, ns = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
        if prefix is not None and ns is not None:
            found[str(prefix)] = str(ns)
    return found


# --- targets -------------------------------------------------------------------------------------


def _targets(shapes: Graph, shape: URIRef, vs: _Vars) -> tuple[str, bool]:
    """A group pattern binding ?this to every focus node of a shape; and whether it reads as-of."""
    branches: list[str] = []
    uses_as_of = False
    for c in sorted(shapes.objects(shape, SH.targetClass), key=str):
        k = vs.new()
        branches.append(f"?this a {k} . {_subclass_pattern(k, c, vs)}")
    for n in sorted(shapes.objects(shape, SH.targetNode), key=str):
        branches.append(f"VALUES ?this {{ {_n3(n)} }}")
    for p in sorted(shapes.objects(shape, SH.targetSubjectsOf), key=str):
        branches.append(f"?this {_n3(p)} {vs.new()} .")
    for p in sorted(shapes.objects(shape, SH.targetObjectsOf), key=str):
        branches.append(f"{vs.new()} {_n3(p)} ?this .")
    for t in sorted(shapes.objects(shape, SH.target), key=lambda t: _digest(shapes, t)):
        if (t, RDF.type, SH_SPARQL_TARGET) not in shapes or shapes.value(t, SH.select) is None:
            raise CompileError(f"shape {_where(shape)}: component sh:target (only SPARQL "
                               "targets with sh:select are compiled)")
        where = f"shape {_where(shape)}"
        select = _parse_select(shapes, str(shapes.value(t, SH.select)), where,
                               "sh:target sh:select", vs)
        if select.projected != ["this"]:
            raise CompileError(f"shape {_where(shape)}: sh:target must select ?this only")
        # Inlined (not a sub-SELECT) so a VALUES block on ?this restricts it; its own
        # variables get a private suffix so they cannot meet the constraint's variables.
        own = {v: f"{v}_t{vs.new()[3:]}" for v in sorted(_vars(select.where)) if v != "this"}
        body = _rename(select.where, own)
        if vs.remote:
            _optionals_in_exists(body)
        branches.append(_body_text(body["part"], where))
        uses_as_of = uses_as_of or select.uses_as_of
    if (shape, RDF.type, RDFS.Class) in shapes:
        raise CompileError(f"shape {_where(shape)}: implicit class targets are not compiled")
    if not branches:
        return "", False
    return " UNION ".join(f"{{ {FOCUS_SLOT} {b} }}" for b in branches), uses_as_of


# --- compiling the shapes graph ---------------------------------------------------------------


def _digest(shapes: Graph, node: Node) -> str:
    """A content digest of a (blank) shape node, stable across parses."""
    def canon(n: Node, depth: int = 0) -> str:
        if not isinstance(n, BNode) or depth > 8:
            return n.n3() if not isinstance(n, BNode) else "[]"
        pairs = sorted(f"{p.n3()} {canon(o, depth + 1)}" for p, o in shapes.predicate_objects(n))
        return "[" + " ; ".join(pairs) + "]"
    return hashlib.sha1(canon(node).encode()).hexdigest()[:12]


def _select(target: str, body: str, *, has_value: bool) -> str:
    head = prefixes() + ("SELECT DISTINCT ?this ?value WHERE {\n" if has_value
                         else "SELECT DISTINCT ?this WHERE {\n")
    return head + f"  {FOCUS_SLOT}\n  {{ {target} }}\n  {body}\n}}\n"


def _rule_of(shapes: Graph, shape: URIRef) -> str:
    rule = shapes.value(shape, AIMS.ruleId)
    if rule is None:
        raise CompileError(f"shape {_where(shape)} has targets but no aims:ruleId")
    return str(rule)


def _compile_node_shape(shapes: Graph, shape: URIRef, *, remote: bool = False) -> list[Check]:
    vs = _Vars(remote=remote)
    rule = _rule_of(shapes, shape)
    target, target_as_of = _targets(shapes, shape, vs)
    if not target:
        return []
    checks: list[Check] = []
    severity = _severity(shapes, shape)

    def add(source: Node, component: URIRef, sev: str, path: Node | None, body: str, *,
            has_value: bool, value_is_focus: bool, uses_as_of: bool, salt: str) -> None:
        full = _select(target, body, has_value=has_value)
        key = f"{shape}|{_digest(shapes, source) if isinstance(source, BNode) else ''}|" \
              f"{component.rsplit('#', 1)[-1]}|{salt}"
        checks.append(Check(
            key=key, rule=rule, shape=source, node_shape=shape, component=component,
            severity=sev, path=path, sparql=full,
            has_value=has_value, value_is_focus=value_is_focus,
            uses_as_of=uses_as_of or target_as_of,
        ))

    for component in _components(shapes, shape, property_shape=False):
        if component in _PER_VALUE:
            test = _value_test(shapes, shape, component, "?this", vs)
            add(shape, _component_iri(component), severity, None, f"FILTER (!{test})",
                has_value=False, value_is_focus=True, uses_as_of=False, salt="")
        else:
            raise CompileError(f"shape {_where(shape)}: component {component} on a node shape "
                               "is not compiled")
    for prop in sorted(shapes.objects(shape, SH.property), key=lambda p: _digest(shapes, p)):
        path_node = shapes.value(prop, SH.path)
        if path_node is None:
            raise CompileError(f"shape {_where(shape)}: a sh:property without sh:path")
        if shapes.value(prop, SH.property) is not None:
            raise CompileError(f"shape {_where(shape)}: component sh:property inside a "
                               "property shape is not compiled at the top level")
        path = sparql_path(shapes, path_node, prop)
        sev = _severity(shapes, prop)
        for component in _components(shapes, prop, property_shape=True):
            if component in _PER_VALUE:
                test = _value_test(shapes, prop, component, "?value", vs)
                body = f"?this {path} ?value . FILTER (!{test})"
                add(prop, _component_iri(component), sev, path_node, body, has_value=True,
                    value_is_focus=False, uses_as_of=False, salt="")
            else:
                test = _set_test(shapes, prop, component, "?this", path, vs)
                add(prop, _component_iri(component), sev, path_node, f"FILTER (!({test}))",
                    has_value=False, value_is_focus=False, uses_as_of=False, salt="")
    for constraint in sorted(shapes.objects(shape, SH.sparql), key=lambda c: _digest(shapes, c)):
        text = shapes.value(constraint, SH.select)
        if text is None:
            raise CompileError(f"shape {_where(shape)}: component sh:sparql without sh:select")
        if shapes.value(constraint, SH.deactivated) is not None:
            raise CompileError(f"shape {_where(shape)}: component sh:deactivated is not compiled")
        where = f"shape {_where(shape)}"
        select = _parse_select(shapes, str(text), where, "sh:sparql", vs)
        _slot_unions(select.where)
        if remote:
            _optionals_in_exists(select.where)
        has_value = "value" in select.projected
        # Constraint variables must not meet the target's private ones (suffix _t<n>).
        add(shape, SH.SPARQLConstraintComponent, severity, None,
            _body_text(select.where["part"], where),
            has_value=has_value, value_is_focus=not has_value, uses_as_of=select.uses_as_of,
            salt=hashlib.sha1(str(text).encode()).hexdigest()[:12])
    return checks


# --- the remote form ------------------------------------------------------------------------------
#
# A check compiled with remote=True is what a remote SPARQL endpoint gets (Virtuoso 7 is the one
# tested); each difference gives the same solutions on the stores of this project:
#
# - `?k rdfs:subClassOf* C` is written as `VALUES ?k { C and its subclasses }`, the closure taken
#   from the ontology (as `Facts` does for owners). Virtuoso evaluates a `*` path whose subject
#   is bound row by row wrongly (mapper.questions.queries.for_backend), and the bounded
#   alternation used there makes Virtuoso's SQL explode (a rule has up to 7 class tests, 5^7
#   unions); subclass axioms outside the ontology graph are not followed on a remote endpoint.
# - `FILTER NOT EXISTS` stays as written: the MINUS copies `_anti_joins` makes for pyoxigraph are
#   mis-evaluated by Virtuoso (GATE-08).
# - an OPTIONAL inside an EXISTS block becomes a UNION where that is equivalent
#   (`_optionals_in_exists`).


@cache
def _closure(cls: URIRef) -> tuple[str, ...]:
    """A class and its subclasses in the ontology, as sorted IRIs."""
    ontology = resources.ontology()
    classes = {str(cls)} | {str(c) for c in ontology.transitive_subjects(RDFS.subClassOf, cls)
                            if isinstance(c, URIRef)}
    return tuple(sorted(classes))


def _subclass_pattern(k: str, cls: Node, vs: _Vars) -> str:
    """`k` ranging over `cls` and its subclasses: a `*` path, or the closure for a remote store.

    >>> _subclass_pattern("?k", AIMS.DueDiligence, _Vars(remote=True))
    'VALUES ?k { <https://aims-graph.org/ns#DueDiligence> }'
    """
    if vs.remote and isinstance(cls, URIRef):
        return f"VALUES {k} {{ {' '.join(sparql_iri(c) for c in _closure(cls))} }}"
    return f"{k} <{RDFS.subClassOf}>* {_n3(cls)} ."


_COMPONENT = {
    SH.minCount: SH.MinCountConstraintComponent, SH.maxCount: SH.MaxCountConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent, SH.datatype: SH.DatatypeConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent, SH.hasValue: SH.HasValueConstraintComponent,
    SH["in"]: SH.InConstraintComponent, SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.node: SH.NodeConstraintComponent, SH["or"]: SH.OrConstraintComponent,
    SH.qualifiedMinCount: SH.QualifiedMinCountConstraintComponent,
    SH.qualifiedMaxCount: SH.QualifiedMaxCountConstraintComponent,
}


def _component_iri(parameter: URIRef) -> URIRef:
    return URIRef(_COMPONENT[parameter])


def compile_shapes(shapes: Graph) -> list[Check]:
    """Compile every shape with a target into checks; CompileError on anything unsupported.

    >>> checks = compile_shapes(resources.shapes())
    >>> sorted({c.rule for c in checks})[:3]
    ['DATE-01', 'GATE-01', 'GATE-02']
    """
    top: set[URIRef] = set()
    for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf,
              SH.target):
        for s in shapes.subjects(p, None):
            if not isinstance(s, URIRef):
                raise CompileError(f"a blank-node shape with {p}: name it (aimsh:<RULE-ID>)")
            top.add(s)
    for s in shapes.subjects(AIMS.ruleId, None):
        if isinstance(s, URIRef) and s not in top:
            raise CompileError(f"shape <{s}> carries aims:ruleId but has no target the compiler "
                               "knows")
    checks: list[Check] = []
    for shape in sorted(top, key=str):
        remote = {c.key: c.sparql for c in _compile_node_shape(shapes, shape, remote=True)}
        checks.extend(replace(c, remote_sparql=remote[c.key])
                      for c in _compile_node_shape(shapes, shape))
    keys = [c.key for c in checks]
    assert len(keys) == len(set(keys)), "check keys must be unique"
    return checks


@cache
def checks() -> list[Check]:
    """The checks of shapes/ (compiled once per process)."""
    return compile_shapes(resources.shapes())


# --- running ------------------------------------------------------------------------------------


def run_check(store: Store, check: Check, as_of: date,
              focus: Sequence[Node] | None = None) -> Iterator[RawResult]:
    """Run one check (optionally only on the given focus nodes) and yield raw results."""
    if focus is not None:
        for start in range(0, len(focus), CHUNK):
            yield from _results(store, check, check.query(
                as_of, focus[start:start + CHUNK], remote=store.kind == "remote"))
        return
    yield from _results(store, check, check.query(as_of, remote=store.kind == "remote"))


def _results(store: Store, check: Check, sparql: str) -> Iterator[RawResult]:
    for row in store.query(sparql).rows:
        this = row[0]
        if this is None:
            continue
        value = row[1] if check.has_value else (this if check.value_is_focus else None)
        yield RawResult(source_shape=check.shape, focus=this, severity=check.severity,
                        path=check.path, value=value, component=check.component)


def selected(rules: Sequence[str] | None) -> list[Check]:
    """The checks of the given rule ids (all when None); NotFound for an unknown id."""
    all_checks = checks()
    if not rules:
        return all_checks
    known = {c.rule for c in all_checks}
    unknown = [r for r in rules if r not in known]
    if unknown:
        raise NotFound(f"unknown rule id {', '.join(unknown)}; `aims rules` lists them")
    wanted = set(rules)
    return [c for c in all_checks if c.rule in wanted]


def raw_results(store: Store, *, as_of: date, rules: Sequence[str] | None = None,
                focus: Sequence[Node] | None = None) -> list[RawResult]:
    """Every raw result of the (selected) checks, run inside the store."""
    out: list[RawResult] = []
    for check in selected(rules):
        out.extend(run_check(store, check, as_of, focus))
    return out


# --- labels and owners for the report, fetched for the finding nodes only ----------------------

_FACTS = """
SELECT ?s ?p ?o WHERE {
    ?s ?p ?o .
    FILTER (?p IN (rdfs:label, aims:identifier, rdf:type, aims:businessOwner,
                   aims:accountableOwner, aims:owner, aims:author, aims:concernsSystem))
}
"""
_FACT_PREFIXES = (f"PREFIX rdfs: <{RDFS}>\nPREFIX rdf: <{RDF}>\n"
                  f"PREFIX aims: <{AIMS._NS}>\n")
_OWNER_PROPS = {AIMS.businessOwner, AIMS.accountableOwner, AIMS.owner, AIMS.author,
                AIMS.concernsSystem}


class Facts:
    """The few facts labels and owners need, for given nodes only, answering the two graph calls
    mapper.rules.results.label / owner make (`objects`, `transitive_objects`), from dicts."""

    def __init__(self) -> None:
        self._by: dict[tuple[Node, Node], list[Node]] = defaultdict(list)
        self._up: dict[Node, set[Node]] = defaultdict(set)
        for sub, sup in resources.ontology().subject_objects(RDFS.subClassOf):
            self._up[sub].add(sup)

    def add(self, s: Node, p: Node, o: Node) -> None:
        self._by[(s, p)].append(o)

    def objects(self, s: Node, p: Node) -> Iterator[Node]:
        return iter(self._by.get((s, p), ()))

    def transitive_objects(self, s: Node, p: Node) -> Iterator[Node]:
        assert p == RDFS.subClassOf
        seen: set[Node] = set()
        todo = [s]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            yield node
            todo.extend(self._up.get(node, ()))


def report_facts(store: Store, nodes: Iterable[Node]) -> Facts:
    """Labels, types and owner links of these nodes, their owners and their systems' owners."""
    facts = Facts()
    frontier: set[Node] = {n for n in nodes if isinstance(n, URIRef)}
    seen: set[Node] = set()
    for _ in range(3):  # node -> owner / system -> its business owner -> labels
        frontier -= seen
        if not frontier:
            break
        seen |= frontier
        found: set[Node] = set()
        ordered = sorted(frontier, key=str)
        for start in range(0, len(ordered), 2000):
            chunk = ordered[start:start + 2000]
            sparql = _FACT_PREFIXES + _FACTS.replace(
                "?s ?p ?o .", "VALUES ?s { " + " ".join(_n3(n) for n in chunk) + " } ?s ?p ?o .")
            for s, p, o in store.query(sparql).rows:
                assert s is not None and p is not None and o is not None
                facts.add(s, p, o)
                if p in _OWNER_PROPS and isinstance(o, URIRef):
                    found.add(o)
        frontier = found
    return facts


@dataclass(frozen=True)
class _Constants:
    rule: str
    clauses: list[str]
    template: str
    path: Node | None
    path_text: str | None
    source: str


@cache
def _constants(source_shape: Node, path: Node | None) -> _Constants | None:
    """What build_report derives from the shapes for a source shape: the same helpers, once."""
    shapes = resources.shapes()
    rule_shape = C._rule_shape(shapes, source_shape)
    if rule_shape is None:
        return None
    rule_id = str(shapes.value(rule_shape, AIMS.ruleId))
    if isinstance(path, BNode):
        path = shapes.value(source_shape, SH.path) or path
    template = shapes.value(source_shape, SH.message) or shapes.value(rule_shape, SH.message)
    clauses = sorted({C.clause_notation(c) for c in shapes.objects(rule_shape, AIMS.clause)},
                     key=C._clause_key) or C._catalogue()[rule_id].clauses
    return _Constants(
        rule=rule_id, clauses=clauses,
        template=str(template) if template is not None else f"{rule_id} not met",
        path=path, path_text=V.path_text(shapes, path) if path is not None else None,
        source=C._text(source_shape))


def to_report(store: Store, raw: Sequence[RawResult], *, as_of: date,
              rules: Sequence[str] | None = None) -> Report:
    """Raw results as the engine-neutral Report: mapper.rules.results.build_report's conversion
    (its label, owner and message functions), with the per-shape work done once per shape and
    labels and owners read from the store for the finding nodes only (tests/test_compiled.py
    checks the JSON equals the pyshacl engine's)."""
    nodes: set[Node] = set()
    for r in raw:
        nodes.add(r.focus)
        if r.value is not None:
            nodes.add(r.value)
    facts: Any = report_facts(store, nodes)
    wanted = set(rules) if rules else None
    labels: dict[Node, str] = {}

    def label(node: Node) -> str:
        if node not in labels:
            labels[node] = V.label(facts, node)
        return labels[node]

    found: dict[tuple[Any, ...], Finding] = {}
    for r in raw:
        const = _constants(r.source_shape, r.path)
        if const is None or (wanted is not None and const.rule not in wanted):
            continue
        value = None if r.value == r.focus else r.value
        focus_label = label(r.focus)
        message = V.render_message(const.template, this=focus_label,
                                   value=label(value) if value is not None else "")
        finding = Finding(
            rule=const.rule, clause=list(const.clauses), severity=r.severity,
            focus=C._text(r.focus), focus_label=focus_label, path=const.path_text,
            value=None if value is None else C._text(value), owner=V.owner(facts, r.focus),
            message=message, source_shape=const.source,
            component=None if r.component is None else str(r.component),
            focus_term=r.focus, value_term=r.value, path_term=const.path,
        )
        key = (finding.rule, finding.focus, finding.path, finding.value, finding.source_shape)
        found.setdefault(key, finding)
    order = {s: i for i, s in enumerate(C.SEVERITIES)}
    ordered = sorted(found.values(), key=lambda f: (
        order.get(f.severity, 9), C._rule_key(f.rule), f.focus_label, f.focus, f.path or "",
        f.value or ""))
    return Report(as_of=as_of, findings=ordered)


def validate(store: Store, *, as_of: date, rules: Sequence[str] | None = None,
             system: str | None = None) -> Report:
    """Run the rules inside the store as compiled SPARQL; the same Report as pyshacl's engine.

    >>> from mapper.store import open_store
    >>> report = validate(open_store("memory"), as_of=date(2026, 6, 30), rules=["PROC-01"])
    >>> report.conforms, len(report.findings), report.findings[0].rule
    (False, 10, 'PROC-01')
    """
    rule_ids = list(dict.fromkeys(rules)) if rules else None
    focus = concerned_nodes(store, find_system(store, system)) if system else None
    raw = raw_results(store, as_of=as_of, rules=rule_ids, focus=focus)
    return to_report(store, raw, as_of=as_of, rules=rule_ids)


def by_check(raw: Iterable[RawResult]) -> dict[Node, list[RawResult]]:
    """Raw results grouped by source shape (for diagnostics)."""
    grouped: dict[Node, list[RawResult]] = defaultdict(list)
    for r in raw:
        grouped[r.source_shape].append(r)
    return grouped
