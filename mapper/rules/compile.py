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
  sh:in, sh:nodeKind, sh:node, sh:qualifiedValueShape with sh:qualifiedMinCount /
  sh:qualifiedMaxCount, nested sh:property (inside sh:node / qualified value shapes);
  paths: predicates, sh:inversePath, sh:alternativePath, sequences, sh:zeroOrMorePath,
  sh:oneOrMorePath, sh:zeroOrOnePath;
- SHACL-SPARQL: sh:sparql on node shapes (SELECT of `$this` and optionally `?value`), with the
  as-of date bound where the query reads it (`?run aims:asOf ?asOf`) and never NOW().

The as-of date is written into the query as an RDF term (rdflib `n3()` of a `date`, the same
escaping `store.bind_values` uses), at every place the shape reads it, including inside
sub-patterns where a top-level VALUES block would not reach.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from typing import Any

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.term import Node

from mapper import resources
from mapper.errors import NotFound
from mapper.rules import catalogue as C
from mapper.rules import results as V
from mapper.rules.results import Finding, RawResult, Report, concerned_nodes, find_system
from mapper.store import Store
from mapper.vocab import AIMS

AS_OF_SLOT = "{{AS_OF}}"
"""Where the as-of date term goes in a compiled query."""

FOCUS_SLOT = "{{FOCUS}}"
"""Where a VALUES block on ?this goes when a run is restricted to given focus nodes."""

CHUNK = 400
"""Focus nodes per VALUES block when a run is restricted to given nodes."""


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
    remote_sparql: str = ""  # the same check for a remote endpoint (see `for_remote`)

    def query(self, as_of: date, focus: Sequence[Node] | None = None, *,
              remote: bool = False) -> str:
        """The runnable SELECT for a date (and optionally only these focus nodes); `remote`
        picks the form sent to a remote SPARQL endpoint."""
        text = self.remote_sparql if remote and self.remote_sparql else self.sparql
        text = text.replace(AS_OF_SLOT, Literal(as_of).n3())
        if focus is None:
            return text.replace(FOCUS_SLOT, "")
        values = " ".join(_n3(n) for n in focus)
        return text.replace(FOCUS_SLOT, f"VALUES ?this {{ {values} }}")


def _n3(node: Node) -> str:
    if isinstance(node, URIRef | Literal):
        return node.n3()
    raise CompileError(f"cannot bind {node!r} as a focus node")


SH_SPARQL_TARGET = SH.SPARQLTarget

_NODE_SHAPE_KEYS = {
    SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target,
    SH.property, SH.sparql, SH.severity, SH.message, SH.description, SH.name,
    SH["class"], SH.datatype, SH.pattern, SH.flags, SH.hasValue, SH["in"], SH.nodeKind, SH.node,
}
_PROPERTY_SHAPE_KEYS = {
    SH.path, SH.minCount, SH.maxCount, SH["class"], SH.datatype, SH.pattern, SH.flags,
    SH.hasValue, SH["in"], SH.nodeKind, SH.node, SH.qualifiedValueShape, SH.qualifiedMinCount,
    SH.qualifiedMaxCount, SH.severity, SH.message, SH.description, SH.name, SH.order,
    SH.group, SH.property,
}
_IGNORED_NAMESPACES = (str(AIMS._NS), str(RDFS), "http://www.w3.org/2004/02/skos/core#")

_RDF_TYPE_PATH = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
_CLASS_PATH = re.compile(
    r"(?:\ba|rdf:type|<http://www\.w3\.org/1999/02/22-rdf-syntax-ns#type>)\s*/\s*"
    r"(?:rdfs:subClassOf|<http://www\.w3\.org/2000/01/rdf-schema#subClassOf>)\*\s+"
    r"(?P<cls>[A-Za-z][\w-]*:[\w-]+|<[^<>\s]+>)")
_CASTABLE = {XSD.date, XSD.dateTime, XSD.integer, XSD.decimal, XSD.boolean, XSD.double,
             XSD.float, XSD.string, XSD.time, XSD.gYear}


class _Vars:
    def __init__(self, *, anti_joins: bool = True) -> None:
        self.n = 0
        self.anti_joins = anti_joins  # False for the remote form (see `for_remote`)

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
        return f"<{path}>"
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
            tests.append(f"EXISTS {{ {x} a {k} . {k} <{RDFS.subClassOf}>* <{c}> }}")
        return "(" + " && ".join(tests) + ")"
    if component == SH.datatype:
        dt = shapes.value(shape, SH.datatype)
        if dt == RDF.langString:
            return f"(isLiteral({x}) && LANG({x}) != \"\")"
        test = f"(isLiteral({x}) && DATATYPE({x}) = <{dt}>"
        if dt in _CASTABLE and dt != XSD.string:
            test += f" && COALESCE(DATATYPE(<{dt}>(STR({x}))) = <{dt}>, false)"
        return test + ")"
    if component == SH.pattern:
        pattern = Literal(str(shapes.value(shape, SH.pattern))).n3()
        flags = shapes.value(shape, SH.flags)
        args = f"STR({x}), {pattern}" + (f", {Literal(str(flags)).n3()}" if flags else "")
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
    raise CompileError(f"shape {_where(shape)}: component {component} is not compiled")


_PER_VALUE = (SH["class"], SH.datatype, SH.pattern, SH["in"], SH.nodeKind, SH.node)


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
                 SH["in"], SH.nodeKind, SH.node, SH.qualifiedMinCount, SH.qualifiedMaxCount):
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


# --- SPARQL text handling ----------------------------------------------------------------------

_TOKENS = re.compile(
    r"(?P<str>'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")"
    r"|(?P<iri><[^<>\"{}|^`\\\s]*>)"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)",
    re.DOTALL,
)
_AS_OF = re.compile(
    r"(?P<run>[?$][A-Za-z_]\w*)\s+(?:aims:asOf|<https://aims-graph\.org/ns#asOf>)\s+"
    r"(?P<var>[?$][A-Za-z_]\w*)\s*\.?")
_FORBIDDEN = re.compile(r"\b(NOW|RAND|UUID|STRUUID|BNODE|SERVICE|LOAD|GROUP\s+BY|ORDER\s+BY|"
                        r"LIMIT|OFFSET|HAVING|PREFIX|BASE)\b|\$PATH|\$currentShape|\$shapesGraph",
                        re.IGNORECASE)
_SELECT = re.compile(r"^\s*SELECT\s+(?P<distinct>DISTINCT\s+|REDUCED\s+)?(?P<vars>[^{]*?)\s*"
                     r"WHERE\s*\{(?P<body>.*)\}\s*$", re.DOTALL | re.IGNORECASE)


def _rename_vars(text: str, rename: dict[str, str]) -> str:
    """Rename variables (given without ?/$) outside strings, IRIs and comments."""
    def sub(m: re.Match[str]) -> str:
        if m.lastgroup == "var":
            name = m.group()[1:]
            return "?" + rename.get(name, name)
        return m.group()
    return _TOKENS.sub(sub, text)


def _code_only(text: str, *, keep_iris: bool = False) -> str:
    """The text with strings, comments (and IRIs) blanked, same length (to look for syntax)."""
    def blank(m: re.Match[str]) -> str:
        if m.lastgroup == "var" or (keep_iris and m.lastgroup == "iri"):
            return m.group()
        return re.sub(r"\S", " ", m.group())
    return _TOKENS.sub(blank, text)


def _variables(text: str) -> set[str]:
    return {m.group()[1:] for m in _TOKENS.finditer(text) if m.lastgroup == "var"}


def _split_class_paths(text: str, vs: _Vars) -> str:
    """`?x a/rdfs:subClassOf* C` as `?x a ?k` plus `?k rdfs:subClassOf* C` at the start of the
    enclosing group: the same solutions, but pyoxigraph then walks from the bound instance
    instead of enumerating every instance of C from the class side."""
    code = _code_only(text, keep_iris=True)
    stack: list[int] = []
    group_of: dict[int, int] = {}
    matches = list(_CLASS_PATH.finditer(code))
    starts = {m.start() for m in matches}
    for i, ch in enumerate(code):
        if i in starts:
            group_of[i] = stack[-1] + 1 if stack else 0
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            stack.pop()
    edits: list[tuple[int, int, str]] = []
    for m in matches:
        k = vs.new()
        edits.append((group_of[m.start()], group_of[m.start()],
                      f" {k} <{RDFS.subClassOf}>* {m.group('cls')} . "))
        edits.append((m.start(), m.end(), f"a {k} "))
    out = text
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + replacement + out[end:]
    return out



_NOT_EXISTS = re.compile(r"\bFILTER\s+NOT\s+EXISTS\s*\{", re.IGNORECASE)
_EXISTS_WORD = re.compile(r"\b(NOT\s+)?EXISTS\s*\{", re.IGNORECASE)


def _close(code: str, start: int) -> int:
    """Index of the bracket closing the one at `start` (code has strings/comments blanked)."""
    pairs = {"{": "}", "(": ")"}
    opening = code[start]
    depth = 0
    for i in range(start, len(code)):
        if code[i] == opening:
            depth += 1
        elif code[i] == pairs[opening]:
            depth -= 1
            if depth == 0:
                return i
    raise CompileError("unbalanced brackets in a shape's SPARQL")


def _top_level(code: str) -> tuple[str, str, str]:
    """Split a group body into (triples, filters, nested) text at its top level.

    `triples` is what binds variables in every solution (triple patterns, VALUES), `filters`
    the FILTER expressions (with their EXISTS blocks), `nested` any sub-group (OPTIONAL,
    UNION, MINUS, plain groups) and BIND.
    """
    triples: list[str] = []
    filters: list[str] = []
    nested: list[str] = []
    i = 0
    while i < len(code):
        m = re.compile(r"FILTER\b|BIND\b|\{|\(", re.IGNORECASE).search(code, i)
        if m is None:
            triples.append(code[i:])
            break
        triples.append(code[i:m.start()])
        word = m.group().upper()
        if word in ("{", "("):
            end = _close(code, m.start())
            (nested if word == "{" else triples).append(code[m.start():end + 1])
            i = end + 1
            continue
        j = _operand_start(code, m.end())
        if j >= len(code) or code[j] not in "({":
            raise CompileError("cannot read a FILTER/BIND in a shape's SPARQL")
        end = _close(code, j)
        (filters if word == "FILTER" else nested).append(code[m.start():end + 1])
        i = end + 1
    return " ".join(triples), " ".join(filters), " ".join(nested)


def _operand_start(code: str, j: int) -> int:
    """Where the bracketed operand of a FILTER/BIND/MINUS keyword ending at j opens: past
    spaces, an `EXISTS`/`NOT EXISTS`, or a function name such as `regex`."""
    while j < len(code) and code[j].isspace():
        j += 1
    exists = _EXISTS_WORD.match(code, j)
    if exists:
        return exists.end() - 1
    while j < len(code) and (code[j].isalnum() or code[j] in "_:"):
        j += 1
    while j < len(code) and code[j].isspace():
        j += 1
    return j


def _anti_joins(text: str, vs: _Vars) -> str:
    """Rewrite `FILTER NOT EXISTS { B }` in a group G as `MINUS { G' B }` at the end of G, where
    G' is G without its FILTERs and MINUS blocks, its own variables renamed.

    pyoxigraph evaluates a NOT EXISTS block once per solution without using the bound variables
    to order its joins, so a block of several patterns costs O(n^2) over n systems; MINUS is one
    hash anti-join. Same solutions: G' yields (at least) every solution of G restricted to the
    variables B shares with the rest of the query, so a solution of G' joined with B that agrees
    with a solution mu of G on those variables exists exactly when B holds for mu (substitution
    semantics). Only done when B shares a variable with G's top-level triple patterns (MINUS
    needs a shared bound variable) and B is not itself inside an EXISTS.
    """
    if not vs.anti_joins:
        return text
    while True:
        code = _code_only(text, keep_iris=True)
        candidates = [m for m in _NOT_EXISTS.finditer(code) if not _inside_exists(code, m.start())]
        candidates.sort(key=lambda m: _depth(code, m.start()), reverse=True)
        for m in candidates:
            open_at = m.end() - 1
            close_at = _close(code, open_at)
            group_start, group_end = _group_start(code, m.start()), _group_end(code, m.start())
            inner = text[open_at + 1:close_at]
            rest = text[:m.start()] + " " * (close_at + 1 - m.start()) + text[close_at + 1:]
            shared = _variables(inner) & _variables(rest)
            group = rest[group_start:group_end]
            triples, _filters, nested = _top_level(_code_only(group, keep_iris=True))
            if not shared & _variables(triples):
                continue
            context = _strip_filters(group)
            private = {v: f"{v}_m{vs.new()[3:]}" for v in sorted(_variables(context) - shared)}
            local = {v: f"{v}_m{vs.new()[3:]}" for v in sorted(_variables(inner) - shared)}
            body = f"{_rename_vars(context, private)} {_rename_vars(inner, local)}"
            # A run on given focus nodes restricts the block too (FOCUS_SLOT): it binds ?this
            # and shares a bound variable with the group, so only the block's cost changes.
            slot = FOCUS_SLOT if "this" in _variables(body) else ""
            minus = f" MINUS {{ {slot} {body} }} "
            text = rest[:group_end] + minus + rest[group_end:]
            break
        else:
            return text


def _strip_filters(group: str) -> str:
    """A group body without its top-level FILTERs and MINUS blocks (a superset of solutions)."""
    code = _code_only(group, keep_iris=True)
    out, i = [], 0
    for m in re.finditer(r"\bFILTER\b|\bMINUS\b", code, re.IGNORECASE):
        if m.start() < i or _depth(code, m.start()) != 0:
            continue
        j = _operand_start(code, m.end())
        end = _close(code, j)
        out.append(group[i:m.start()])
        i = end + 1
    out.append(group[i:])
    return " ".join(out)


def _depth(code: str, at: int) -> int:
    return code[:at].count("{") - code[:at].count("}")


def _group_start(code: str, at: int) -> int:
    """Index just after the `{` opening the group that contains position `at` (0 at top)."""
    depth = 0
    for i in range(at - 1, -1, -1):
        if code[i] == "}":
            depth += 1
        elif code[i] == "{":
            if depth == 0:
                return i + 1
            depth -= 1
    return 0


def _inside_exists(code: str, at: int) -> bool:
    return any(_close(code, m.end() - 1) > at for m in _EXISTS_WORD.finditer(code[:at]))


def _group_end(code: str, at: int) -> int:
    """Index of the `}` closing the group that contains position `at` (len when top level)."""
    depth = 0
    for i in range(at, len(code)):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            if depth == 0:
                return i
            depth -= 1
    return len(code)


@dataclass
class _Select:
    projected: list[str]
    body: str
    uses_as_of: bool


def _parse_select(text: str, where: str, component: str, vs: _Vars) -> _Select:
    """The body of a shape's SELECT, with $this as ?this and the as-of read replaced."""
    code = _code_only(text)
    bad = _FORBIDDEN.search(code)
    if bad:
        raise CompileError(f"{where}: {component} uses {bad.group().strip()}, which the compiler "
                           "does not support")
    match = _SELECT.match(text)
    if not match:
        raise CompileError(f"{where}: {component} is not a plain `SELECT ... WHERE {{ ... }}`")
    projected = match.group("vars").split()
    for v in projected:
        if not re.fullmatch(r"[?$](this|value)", v):
            raise CompileError(f"{where}: {component} selects {v}; only $this and ?value are "
                               "supported")
    body = match.group("body")
    uses_as_of = False
    while (m := _AS_OF.search(body)) is not None:
        run, var = m.group("run")[1:], m.group("var")[1:]
        body = body[: m.start()] + f"VALUES ?{var} {{ {AS_OF_SLOT} }}" + body[m.end():]
        if run in _variables(body):
            raise CompileError(f"{where}: {component} uses ?{run} beyond reading aims:asOf")
        uses_as_of = True
    if re.search(r"aims:asOf|ns#asOf>", body):
        raise CompileError(f"{where}: {component} reads aims:asOf in a form the compiler does "
                           "not bind (write `?run aims:asOf ?asOf .`)")
    body = _anti_joins(_split_class_paths(_rename_vars(body, {}), vs), vs)
    return _Select([v[1:] for v in projected], body, uses_as_of)


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


# --- targets -------------------------------------------------------------------------------------


def _targets(shapes: Graph, shape: URIRef, vs: _Vars) -> tuple[str, bool]:
    """A group pattern binding ?this to every focus node of a shape; and whether it reads as-of."""
    branches: list[str] = []
    uses_as_of = False
    for c in sorted(shapes.objects(shape, SH.targetClass), key=str):
        k = vs.new()
        branches.append(f"?this a {k} . {k} <{RDFS.subClassOf}>* <{c}> .")
    for n in sorted(shapes.objects(shape, SH.targetNode), key=str):
        branches.append(f"VALUES ?this {{ {_n3(n)} }}")
    for p in sorted(shapes.objects(shape, SH.targetSubjectsOf), key=str):
        branches.append(f"?this <{p}> {vs.new()} .")
    for p in sorted(shapes.objects(shape, SH.targetObjectsOf), key=str):
        branches.append(f"{vs.new()} <{p}> ?this .")
    for t in shapes.objects(shape, SH.target):
        if (t, RDF.type, SH_SPARQL_TARGET) not in shapes or shapes.value(t, SH.select) is None:
            raise CompileError(f"shape {_where(shape)}: component sh:target (only SPARQL "
                               "targets with sh:select are compiled)")
        select = _parse_select(str(shapes.value(t, SH.select)), f"shape {_where(shape)}",
                               "sh:target sh:select", vs)
        if select.projected != ["this"]:
            raise CompileError(f"shape {_where(shape)}: sh:target must select ?this only")
        # Inlined (not a sub-SELECT) so a VALUES block on ?this restricts it; its own
        # variables get a private suffix so they cannot meet the constraint's variables.
        own = {v: f"{v}_t{vs.new()[3:]}" for v in sorted(_variables(select.body)) if v != "this"}
        branches.append(_rename_vars(select.body, own))
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


def _slot_unions(body: str) -> str:
    """FOCUS_SLOT at the start of every UNION branch that uses ?this (outside EXISTS): pyoxigraph
    evaluates a UNION without the outer VALUES, so a focus run restricts each branch itself."""
    code = _code_only(body, keep_iris=True)
    inserts: list[int] = []
    for m in re.finditer(r"\bUNION\b", code, re.IGNORECASE):
        if _inside_exists(code, m.start()):
            continue
        after = code.index("{", m.end())
        before = code.rindex("}", 0, m.start())
        depth, start = 0, before
        while start >= 0:
            if code[start] == "}":
                depth += 1
            elif code[start] == "{":
                depth -= 1
                if depth == 0:
                    break
            start -= 1
        for open_at in (start, after):
            if "this" in _variables(body[open_at:_close(code, open_at) + 1]):
                inserts.append(open_at + 1)
    for at in sorted(set(inserts), reverse=True):
        body = body[:at] + f" {FOCUS_SLOT} " + body[at:]
    return body


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
    vs = _Vars(anti_joins=not remote)
    rule = _rule_of(shapes, shape)
    target, target_as_of = _targets(shapes, shape, vs)
    if not target:
        return []
    checks: list[Check] = []
    severity = _severity(shapes, shape)

    def add(source: Node, component: URIRef, sev: str, path: Node | None, body: str, *,
            has_value: bool, value_is_focus: bool, uses_as_of: bool, salt: str) -> None:
        full = _select(target, _slot_unions(body), has_value=has_value)
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
    for constraint in shapes.objects(shape, SH.sparql):
        text = shapes.value(constraint, SH.select)
        if text is None:
            raise CompileError(f"shape {_where(shape)}: component sh:sparql without sh:select")
        if shapes.value(constraint, SH.deactivated) is not None:
            raise CompileError(f"shape {_where(shape)}: component sh:deactivated is not compiled")
        select = _parse_select(str(text), f"shape {_where(shape)}", "sh:sparql", vs)
        has_value = "value" in select.projected
        # Constraint variables must not meet the target's private ones (suffix _t<n>).
        add(shape, SH.SPARQLConstraintComponent, severity, None, select.body,
            has_value=has_value, value_is_focus=not has_value, uses_as_of=select.uses_as_of,
            salt=hashlib.sha1(str(text).encode()).hexdigest()[:12])
    return checks


# --- the remote form ------------------------------------------------------------------------------

# `?k rdfs:subClassOf* C .` as the compiler writes it (targets, sh:class, `_split_class_paths`),
# `?k` one of its own variables (maybe renamed with a _t/_m suffix), C an IRI or prefixed name.
_SUBCLASS_CLOSURE = re.compile(
    rf"(?P<k>\?_c\w+)\s+<{re.escape(str(RDFS.subClassOf))}>\*\s+"
    r"(?P<cls><[^<>\s]+>|[A-Za-z][\w-]*:[\w-]+)(?:\s*\.)?")


def for_remote(sparql: str, shapes: Graph | None = None) -> str:
    """A compiled query as sent to a remote SPARQL endpoint (Virtuoso 7 is the one tested).

    Three changes, each giving the same solutions on the stores of this project:

    - `?k rdfs:subClassOf* C` becomes `VALUES ?k { C and its subclasses }`, the closure taken
      from the ontology (as `Facts` does for owners). Virtuoso evaluates a `*` path whose subject
      is bound row by row wrongly (mapper.questions.queries.for_backend), and the bounded
      alternation used there makes Virtuoso's SQL explode (a rule has up to 7 class tests, 5^7
      unions); subclass axioms outside the ontology graph are not followed on a remote endpoint.
    - `FILTER NOT EXISTS` stays as written (the caller compiles with `anti_joins=False`): the
      MINUS copies `_anti_joins` makes for pyoxigraph are mis-evaluated by Virtuoso (GATE-08).
    - an OPTIONAL inside an EXISTS block whose variables meet the block's other patterns only
      in variables bound outside the block becomes `{ O } UNION { FILTER NOT EXISTS { O } }`:
      Virtuoso fails on (or pushes the block's FILTER into) such an OPTIONAL (THIRD-01).

    >>> for_remote("?x a ?_c1 . ?_c1 <http://www.w3.org/2000/01/rdf-schema#subClassOf>* "
    ...            "<https://aims-graph.org/ns#DueDiligence> .")
    '?x a ?_c1 . VALUES ?_c1 { <https://aims-graph.org/ns#DueDiligence> }'
    """
    ontology = resources.ontology()
    names = _prefix_map(shapes if shapes is not None else resources.shapes())

    def closure(m: re.Match[str]) -> str:
        cls = m.group("cls")
        prefix, _, local = cls.partition(":")
        iri = URIRef(cls[1:-1] if cls.startswith("<") else names[prefix] + local)
        classes = {iri} | {c for c in ontology.transitive_subjects(RDFS.subClassOf, iri)
                           if isinstance(c, URIRef)}
        return f"VALUES {m.group('k')} {{ {' '.join(sorted(c.n3() for c in classes))} }}"

    return _optionals_in_exists(_SUBCLASS_CLOSURE.sub(closure, sparql))


_OPTIONAL = re.compile(r"\bOPTIONAL\s*\{", re.IGNORECASE)


def _optionals_in_exists(text: str) -> str:
    """`OPTIONAL { O }` inside an EXISTS block as `{ O } UNION { FILTER NOT EXISTS { O } }`.

    The same solutions when O is a flat group whose variables shared with the block's other
    patterns are all bound outside the block (substituted before the block is evaluated): then
    the left join keeps each block solution with O's solutions, or alone when O has none, and
    so does the union. Anything else is left as written.
    """
    code = _code_only(text, keep_iris=True)
    edits: dict[int, tuple[int, str] | None] = {}
    for block in _EXISTS_WORD.finditer(code):  # outer blocks first, inner ones overwrite
        start, end = block.end() - 1, _close(code, block.end() - 1)
        outside = _variables(text[:block.start()] + text[end + 1:])
        for opt in _OPTIONAL.finditer(code, start, end):
            close = _close(code, opt.end() - 1)
            inner = text[opt.end():close]
            rest = code[start + 1:opt.start()] + " " + code[close + 1:end]
            triples, _filters, nested = _top_level(rest)
            shared = _variables(inner) & _variables(triples + " " + nested)
            ok = "{" not in code[opt.end():close] and shared <= outside
            edits[opt.start()] = (close + 1, f"{{ {inner} }} UNION {{ FILTER NOT EXISTS "
                                             f"{{ {inner} }} }}") if ok else None
    for at in sorted(edits, reverse=True):
        edit = edits[at]
        if edit is not None:
            text = text[:at] + edit[1] + text[edit[0]:]
    return text


def _prefix_map(shapes: Graph) -> dict[str, str]:
    found: dict[str, str] = {}
    for decl in shapes.objects(None, SH.declare):
        prefix, ns = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
        if prefix is not None and ns is not None:
            found[str(prefix)] = str(ns)
    return found


_COMPONENT = {
    SH.minCount: SH.MinCountConstraintComponent, SH.maxCount: SH.MaxCountConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent, SH.datatype: SH.DatatypeConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent, SH.hasValue: SH.HasValueConstraintComponent,
    SH["in"]: SH.InConstraintComponent, SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
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
        checks.extend(replace(c, remote_sparql=for_remote(remote[c.key], shapes))
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
