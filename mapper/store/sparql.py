"""SPARQL as a parse tree: parse (cached between processes), bind parameters on the tree,
write the tree back as text. The named queries (mapper.questions.queries) and the compiled
engine (mapper.rules.compile) bind and rewrite queries here, never on their text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.term import Node

from mapper.errors import QueryError
from mapper.store.terms import TermError, sparql_iri, sparql_string, sparql_term

_log = logging.getLogger(__name__)


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AGGREGATES = {"Aggregate_Count": "COUNT", "Aggregate_Sum": "SUM", "Aggregate_Min": "MIN",
               "Aggregate_Max": "MAX", "Aggregate_Avg": "AVG", "Aggregate_Sample": "SAMPLE",
               "Aggregate_GroupConcat": "GROUP_CONCAT"}
_BINARY = {"ConditionalOrExpression": "||", "ConditionalAndExpression": "&&"}


def _items(node: Any, key: str) -> list[Any]:
    """A parse-tree value that may be one item, a list of them, or absent, as a list."""
    value = dict.get(node, key)
    if value is None:
        return []
    if isinstance(value, list | tuple) or type(value).__name__ == "ParseResults":
        return list(value)
    return [value]


_ARGUMENT_ORDER = {
    "Builtin_REGEX": ("text", "pattern", "flags"),
    "Builtin_SUBSTR": ("arg", "start", "length"),
    "Builtin_REPLACE": ("arg", "pattern", "replacement", "flags"),
}
"""Built-in calls whose parse-tree keys do not sort in argument order."""


class SparqlWriter:
    """Query text from rdflib's SPARQL parse tree (`parseQuery`), with bound variables replaced.

    `bindings` maps a variable name to the SPARQL text of its term. A node the writer does not
    know raises QueryError rather than being written wrongly. Subclasses add node kinds of their
    own (mapper.rules.compile writes its run-time slots this way).

    >>> from rdflib.plugins.sparql.parser import parseQuery
    >>> SparqlWriter({"o": '"x"'}).query(parseQuery("SELECT ?s WHERE { ?s ?p ?o }"))
    'SELECT ?s WHERE { VALUES (?o) { ("x") } ?s ?p "x" . }'
    """

    def __init__(self, bindings: Mapping[str, str] | None = None, *,
                 unordered: bool = False) -> None:
        self.bindings = dict(bindings or {})
        self.unordered = unordered
        """Leave out the outer query's ORDER BY (unless it has a LIMIT or OFFSET)."""
        self._outer: Any = None

    # --- terms and expressions ---------------------------------------------------------------

    def var(self, v: Variable) -> str:
        return self.bindings.get(str(v), f"?{v}")

    def defined(self, v: Variable, how: str) -> str:
        """A variable the query assigns itself (AS ?x, VALUES ?x): it cannot also be bound."""
        if str(v) in self.bindings:
            raise QueryError(f"cannot bind ?{v}: the query sets it itself ({how})")
        return f"?{v}"

    def term(self, node: Any) -> str:
        if isinstance(node, Variable):
            return self.var(node)
        if isinstance(node, BNode):
            return f"_:{node}"
        if isinstance(node, URIRef | Literal):
            try:
                return sparql_term(node)
            except TermError as exc:
                raise QueryError(str(exc)) from None
        if isinstance(node, str) and node == "UNDEF":
            return "UNDEF"
        name = getattr(node, "name", None)
        if name == "pname":
            return f"{dict.get(node, 'prefix') or ''}:{dict.get(node, 'localname') or ''}"
        if name == "literal":
            text = sparql_string(str(dict.get(node, "string")))
            lang, datatype = dict.get(node, "lang"), dict.get(node, "datatype")
            if lang:
                return f"{text}@{lang}"
            return f"{text}^^{self.term(datatype)}" if datatype is not None else text
        return self.expr(node)

    def expr(self, node: Any) -> str:
        name = getattr(node, "name", None)
        if name is None or name in ("pname", "literal"):
            return self.term(node)
        if name in _BINARY:
            parts = [node["expr"], *_items(node, "other")]
            if len(parts) == 1:
                return self.expr(parts[0])
            return "(" + f" {_BINARY[name]} ".join(self.expr(p) for p in parts) + ")"
        if name == "RelationalExpression":
            op = dict.get(node, "op")
            if op is None:
                return self.expr(node["expr"])
            if op in ("IN", "NOT IN"):
                listed = ", ".join(self.expr(e) for e in _items(node, "other"))
                return f"({self.expr(node['expr'])} {op} ({listed}))"
            return f"({self.expr(node['expr'])} {op} {self.expr(node['other'])})"
        if name in ("AdditiveExpression", "MultiplicativeExpression"):
            ops, others = _items(node, "op"), _items(node, "other")
            if not ops:
                return self.expr(node["expr"])
            text = self.expr(node["expr"])
            for op, other in zip(ops, others, strict=True):
                text += f" {op} {self.expr(other)}"
            return f"({text})"
        if name in ("UnaryNot", "UnaryMinus", "UnaryPlus"):
            sign = {"UnaryNot": "!", "UnaryMinus": "-", "UnaryPlus": "+"}[name]
            return f"({sign}{self.expr(node['expr'])})"
        if name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            word = "EXISTS" if name == "Builtin_EXISTS" else "NOT EXISTS"
            return f"{word} {self.group(node['graph'])}"
        if name == "Builtin_BOUND" and str(node["arg"]) in self.bindings:
            return "true"  # a bound parameter is bound
        if name.startswith("Builtin_"):
            # Named arguments in the call's order, not the tree's key order (a tree read back
            # from the parse cache has its keys sorted: REGEX(pattern, text) would be wrong).
            keys = _ARGUMENT_ORDER.get(name) or list(node)
            args = [self.expr(a) for key in keys for a in _items(node, key)]
            return f"{name[len('Builtin_'):]}({', '.join(args)})"
        if name == "Function":
            listed = ", ".join(self.expr(a) for a in _items(node, "expr"))
            distinct = "DISTINCT " if dict.get(node, "distinct") else ""
            return f"{self.term(node['iri'])}({distinct}{listed})"
        if name in _AGGREGATES:
            distinct = "DISTINCT " if dict.get(node, "distinct") else ""
            inner = node["vars"]
            arg = "*" if inner == "*" else self.expr(inner)
            separator = dict.get(node, "separator")
            tail = f"; SEPARATOR={sparql_string(str(separator))}" if separator is not None else ""
            return f"{_AGGREGATES[name]}({distinct}{arg}{tail})"
        return self.other_expr(node)

    def other_expr(self, node: Any) -> str:
        raise QueryError(f"cannot bind parameters in this query: {node.name} is not supported")

    # --- paths and triples ---------------------------------------------------------------------

    def path(self, node: Any) -> str:
        name = getattr(node, "name", None)
        if name == "PathAlternative":
            items = [self.path(p) for p in _items(node, "part")]
            return items[0] if len(items) == 1 else "(" + "|".join(items) + ")"
        if name == "PathSequence":
            items = [self.path(p) for p in _items(node, "part")]
            return items[0] if len(items) == 1 else "(" + "/".join(items) + ")"
        if name == "PathElt":
            part, mod = node["part"], dict.get(node, "mod") or ""
            inner = self.path(part)
            return f"({inner}){mod}" if mod and inner.startswith(("(", "!", "^")) \
                else f"{inner}{mod}"
        if name == "PathEltOrInverse":
            return f"^({self.path(node['part'])})"
        if name == "PathNegatedPropertySet":
            parts = _items(node, "part")
            if any(getattr(p, "name", None) == "InversePath" for p in parts):
                raise QueryError("cannot bind parameters in a query with an inverse path "
                                 "inside a negated property set (!^p)")
            return "!(" + "|".join(self.term(p) for p in parts) + ")"
        if name is None or name == "pname":
            return self.term(node)
        raise QueryError(f"cannot bind parameters in this query: path {name} is not supported")

    def triples(self, flat: Iterable[Any]) -> list[str]:
        items = list(flat)
        return [f"{self.term(items[i])} {self.path(items[i + 1])} {self.term(items[i + 2])} ."
                for i in range(0, len(items), 3)]

    # --- graph patterns --------------------------------------------------------------------

    def group(self, node: Any, first: str = "") -> str:
        """A `{ ... }` group; `first` goes at its start (the VALUES of bound variables)."""
        if getattr(node, "name", None) == "SubSelect":
            inner = "{ " + self.select(node) + " }"
            return "{ " + first + " " + inner + " }" if first else inner
        parts = [self.part(p) for p in _items(node, "part")]
        return "{ " + " ".join([first, *parts] if first else parts) + " }"

    def part(self, node: Any) -> str:
        name = node.name
        if name == "TriplesBlock":
            return " ".join(t for flat in _items(node, "triples") for t in self.triples(flat))
        if name == "Filter":
            return f"FILTER ({self.expr(node['expr'])})"
        if name == "OptionalGraphPattern":
            return f"OPTIONAL {self.group(node['graph'])}"
        if name == "MinusGraphPattern":
            # MINUS joins on shared variables: keep a bound one shared (as a VALUES block would).
            graph = node["graph"]
            used = sorted(n for n in self.bindings if Variable(n) in _variables_of(graph))
            return f"MINUS {self.group(graph, self.values_block(used))}"
        if name == "GroupOrUnionGraphPattern":
            return " UNION ".join(self.group(g) for g in _items(node, "graph"))
        if name == "GraphGraphPattern":
            return f"GRAPH {self.term(node['term'])} {self.group(node['graph'])}"
        if name == "ServiceGraphPattern":
            silent = "SILENT " if dict.get(node, "silent") else ""
            return f"SERVICE {silent}{self.term(node['term'])} {self.group(node['graph'])}"
        if name == "Bind":
            return f"BIND ({self.expr(node['expr'])} AS {self.defined(node['var'], 'BIND')})"
        if name in ("InlineData", "ValuesClause"):
            return self.inline_data(node)
        return self.other_part(node)

    def other_part(self, node: Any) -> str:
        raise QueryError(f"cannot bind parameters in this query: {node.name} is not supported")

    def inline_data(self, node: Any) -> str:
        names = [self.defined(v, "VALUES") for v in _items(node, "var")]
        rows = []
        for value in _items(node, "value"):
            if isinstance(value, list | tuple) or type(value).__name__ == "ParseResults":
                rows.append("(" + " ".join(self.term(t) for t in value) + ")")
            else:
                rows.append(self.term(value) if len(names) == 1 else f"({self.term(value)})")
        if len(names) == 1 and all(not r.startswith("(") for r in rows):
            return f"VALUES {names[0]} {{ {' '.join(rows)} }}"
        return f"VALUES ({' '.join(names)}) {{ {' '.join(rows)} }}"

    def values_block(self, names: Sequence[str]) -> str:
        if not names:
            return ""
        return (f"VALUES ({' '.join('?' + n for n in names)}) "
                f"{{ ({' '.join(self.bindings[n] for n in names)}) }}")

    # --- queries -----------------------------------------------------------------------------

    def modifiers(self, node: Any) -> str:
        out: list[str] = []
        group = dict.get(node, "groupby")
        if group is not None:
            conditions = []
            for c in _items(group, "condition"):
                if isinstance(c, Variable):
                    conditions.append(f"?{c}")  # stays the (outer VALUES-bound) variable
                elif getattr(c, "name", None) == "GroupAs":
                    conditions.append(f"({self.expr(c['expr'])} AS "
                                      f"{self.defined(c['var'], 'GROUP BY ... AS')})")
                else:
                    conditions.append(f"({self.expr(c)})")
            out.append("GROUP BY " + " ".join(conditions))
        having = dict.get(node, "having")
        if having is not None:
            out.append("HAVING " + " ".join(f"({self.expr(c)})"
                                            for c in _items(having, "condition")))
        order = dict.get(node, "orderby")
        if order is not None and self.unordered and node is self._outer and dict.get(
                node, "limitoffset") is None:
            order = None
        if order is not None:
            conditions = []
            for c in _items(order, "condition"):
                expr = dict.get(c, "expr") if getattr(c, "name", None) == "OrderCondition" else c
                direction = dict.get(c, "order") if getattr(c, "name", None) else None
                if direction:
                    conditions.append(f"{direction}({self.expr(expr)})")
                elif isinstance(expr, Variable):
                    conditions.append(f"?{expr}")
                else:
                    conditions.append(f"({self.expr(expr)})")
            out.append("ORDER BY " + " ".join(conditions))
        limits = dict.get(node, "limitoffset")
        if limits is not None:
            for key in ("limit", "offset"):
                if dict.get(limits, key) is not None:
                    out.append(f"{key.upper()} {int(str(limits[key]))}")
        values = dict.get(node, "valuesClause")
        if values is not None and dict.get(values, "var") is not None:
            out.append(self.inline_data(values))
        return (" " + " ".join(out)) if out else ""

    def datasets(self, node: Any) -> str:
        out = []
        for clause in _items(node, "datasetClause"):
            if dict.get(clause, "default") is not None:
                out.append(f"FROM {self.term(clause['default'])}")
            else:
                out.append(f"FROM NAMED {self.term(clause['named'])}")
        return (" ".join(out) + " ") if out else ""

    def select(self, node: Any, first: str = "") -> str:
        head = "SELECT "
        if dict.get(node, "modifier"):
            head += f"{node['modifier']} "
        projection = []
        for item in _items(node, "projection"):
            if dict.get(item, "evar") is not None:
                projection.append(f"({self.expr(item['expr'])} AS "
                                  f"{self.defined(item['evar'], 'SELECT ... AS')})")
            else:
                projection.append(f"?{item['var']}")  # the outer VALUES block binds it
        head += " ".join(projection) if projection else "*"
        return (f"{head} {self.datasets(node)}WHERE {self.group(node['where'], first)}"
                f"{self.modifiers(node)}")

    def query(self, parsed: Any) -> str:
        """The whole query (prologue and query form), bound variables replaced."""
        prologue, form = parsed[0], parsed[1]
        lines = []
        for decl in prologue:
            if decl.name == "Base":
                lines.append(f"BASE {sparql_iri(str(decl['iri']))}")
            else:
                lines.append(f"PREFIX {dict.get(decl, 'prefix') or ''}: "
                             f"{sparql_iri(str(decl['iri']))}")
        first = self.values_block(sorted(self.bindings))
        self._outer = form
        if form.name == "SelectQuery":
            body = self.select(form, first)
        elif form.name == "AskQuery":
            body = f"ASK {self.datasets(form)}WHERE {self.group(form['where'], first)}" \
                   f"{self.modifiers(form)}"
        elif form.name == "ConstructQuery":
            where = form["where"]
            template = _items(form, "template") if dict.get(form, "template") is not None else [
                flat for part in _items(where, "part") for flat in _items(part, "triples")]
            triples = " ".join(t for flat in template for t in self.triples(flat))
            body = (f"CONSTRUCT {{ {triples} }} {self.datasets(form)}WHERE "
                    f"{self.group(where, first)}{self.modifiers(form)}")
        elif form.name == "DescribeQuery":
            described = _items(form, "var")
            what = " ".join(self.term(v) for v in described) if described else "*"
            where = dict.get(form, "where")
            body = f"DESCRIBE {what} {self.datasets(form)}"
            if where is not None:
                body += f"WHERE {self.group(where, first)}"
            body += self.modifiers(form)
        else:
            raise QueryError(f"cannot bind parameters in a {form.name}")
        return "\n".join([*lines, body])


def _variables_of(node: Any) -> set[Variable]:
    """Every variable named anywhere in a parse-tree node."""
    found: set[Variable] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, Variable):
            found.add(item)
        elif isinstance(item, dict):
            todo.extend(dict.values(item))
        elif isinstance(item, list | tuple) or type(item).__name__ == "ParseResults":
            todo.extend(item)
    return found


_PARSING = threading.Lock()


def parse_sparql(sparql: str) -> Any:
    """rdflib's parse tree of a query; pyparsing's ParseException for a syntax error.

    Parsed on a thread of its own: while backtracking, pyparsing leaves reference cycles through
    the frames that called it, which would keep the caller's locals (an open store among them:
    pyoxigraph then keeps the store's lock) alive until the garbage collector happens to run.
    One parse at a time (pyparsing's packrat cache is shared and not thread-safe); parses are
    cached, so the server's threads rarely meet here.
    """
    from rdflib.plugins.sparql.parser import parseQuery

    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append(parseQuery(sparql))
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread as it is
            exc.__traceback__ = None
            outcome.append(exc)

    with _PARSING:
        thread = threading.Thread(target=work, name="sparql-parse", daemon=True)
        thread.start()
        thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _encode(node: Any) -> Any:
    name: str | None = getattr(node, "name", None)  # rdflib's CompValue: an OrderedDict, named
    if isinstance(node, Variable):
        return {"v": str(node)}
    if isinstance(node, URIRef):
        return {"u": str(node)}
    if isinstance(node, Literal):
        return {"l": str(node), "t": str(node.datatype) if node.datatype else None,
                "g": node.language}
    if isinstance(node, BNode):
        return {"b": str(node)}
    if isinstance(node, dict) and name is not None:
        return {"n": name, "k": {k: _encode(v) for k, v in dict.items(node)}}
    if isinstance(node, list | tuple) or type(node).__name__ == "ParseResults":
        return [_encode(v) for v in node]
    if isinstance(node, str):
        return node
    raise TypeError(f"cannot keep {node!r} in a parse cache")


def _decode(data: Any) -> Any:
    if isinstance(data, list):
        return [_decode(v) for v in data]
    if isinstance(data, str):
        return data
    if "v" in data:
        return Variable(data["v"])
    if "u" in data:
        return URIRef(data["u"])
    if "l" in data:
        return Literal(data["l"], lang=data["g"],
                       datatype=URIRef(data["t"]) if data["t"] else None)
    if "b" in data:
        return BNode(data["b"])
    from rdflib.plugins.sparql.parserutils import CompValue  # loaded once a tree is needed

    return CompValue(data["n"], **{k: _decode(v) for k, v in data["k"].items()})


class ParseCache:
    """Parse trees kept between processes, as JSON in the user's cache folder
    ($XDG_CACHE_HOME/aims-graph, else ~/.cache/aims-graph).

    rdflib's (pyparsing) SPARQL parser needs 20-60 ms a query, more than running most of them;
    a process would pay it again for every query it binds and every shape SELECT it compiles.
    Entries are keyed by the caller (a digest of the text and whatever else shaped the tree)
    within a file named for the user (`name`), the caller's `version` and rdflib's version.
    Only ever a cache: a file that cannot be read, parsed or decoded is ignored, one that cannot
    be written is not written; `get` returns a fresh copy the caller may change.
    """

    LIMIT = 2000
    """Entries kept per file (the oldest go first)."""

    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version
        self._entries: dict[str, Any] | None = None

    def file(self) -> Path:
        import rdflib

        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "aims-graph" / \
            f"{self.name}-{self.version}-rdflib-{rdflib.__version__}.json"

    def _all(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                data = json.loads(self.file().read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._entries = data if isinstance(data, dict) else {}
        return self._entries

    def get(self, key: str) -> Any:
        """The tree kept under `key` (a fresh copy), None when there is none or it is damaged."""
        entry = self._all().get(key)
        if entry is None:
            return None
        try:
            return _decode(entry)
        except (KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, tree: Any) -> None:
        entries = self._all()
        entries[key] = _encode(tree)
        while len(entries) > self.LIMIT:
            del entries[next(iter(entries))]
        path = self.file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
            partial.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
            os.replace(partial, path)
        except OSError as exc:
            _log.debug("parse tree not cached at %s: %s", path, exc)

    def clear(self) -> None:
        """Forget what was read (tests point XDG_CACHE_HOME elsewhere and start again)."""
        self._entries = None


_QUERY_TREES = ParseCache("bound-queries", "1")


@lru_cache(maxsize=256)
def parse_query(sparql: str) -> Any:
    """rdflib's parse tree of a query (cached by text, in the process and between processes);
    QueryError naming line and column.

    The tree is shared: readers must not change it (SparqlWriter only reads).
    """
    from pyparsing import ParseException

    key = hashlib.sha256(sparql.encode()).hexdigest()
    known = _QUERY_TREES.get(key)
    if isinstance(known, list) and len(known) == 2:
        return known
    try:
        tree = parse_sparql(sparql)
    except ParseException as exc:
        raise QueryError(f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: "
                         f"{exc.msg}") from None
    _QUERY_TREES.put(key, tree)
    return tree


def _term_text(name: str, term: Node) -> str:
    if not _VARIABLE.fullmatch(name):
        raise QueryError(f"not a valid variable name: {name!r}")
    if not isinstance(term, URIRef | Literal):
        raise QueryError(f"only IRIs and literals can be bound as parameters, not {term!r}")
    try:
        return sparql_term(term)
    except TermError as exc:
        raise QueryError(str(exc)) from None


def bind_values(sparql: str, bindings: Mapping[str, Node] | None) -> str:
    """The query with each bound variable replaced by its term, on the parsed query.

    The term replaces the variable wherever the query names it, sub-SELECTs, FILTERs and EXISTS
    blocks included, and a VALUES block at the top of the outer WHERE clause keeps the variable
    itself in the results. Terms are written by mapper.store.terms.sparql_term, never pasted as
    query text; the same text serves every backend.

    >>> print(bind_values("SELECT ?x WHERE { ?x ?p ?o }", {"o": Literal('x" } ; DROP ALL ; #')}))
    SELECT ?x WHERE { VALUES (?o) { ("x\\" } ; DROP ALL ; #") } ?x ?p "x\\" } ; DROP ALL ; #" . }
    """
    if not bindings:
        return sparql
    terms = {name: _term_text(name, term) for name, term in sorted(bindings.items())}
    template = _bound_template(sparql, tuple(terms))
    return _SLOT.sub(lambda m: terms[m.group(1)], template)


@lru_cache(maxsize=64)
def without_order(sparql: str) -> str:
    """The query without its outer ORDER BY (kept when a LIMIT or OFFSET needs it), for a
    caller that orders the rows itself: sorting 86,000 rows of a large estate cost pyoxigraph
    more than finding them (responsible-person at 10,000 systems on disk: 21 s, 9 s without).

    >>> without_order("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s")
    'SELECT ?s WHERE { ?s ?p ?o . }'
    """
    return SparqlWriter(unordered=True).query(parse_query(sparql))


_TOKEN = os.urandom(8).hex()
_SLOT = re.compile("\x00" + _TOKEN + r":([A-Za-z_][A-Za-z0-9_]*)\x00")
"""A bound variable's place in a written template: a NUL-delimited per-process token that no
query text holds, replaced in one pass (a term's own text is never searched again)."""


@lru_cache(maxsize=512)
def _bound_template(sparql: str, names: tuple[str, ...]) -> str:
    """The query written once per set of bound variables, a slot where each term goes: the
    tree is walked once, not on every run (2 ms a run for the larger queries)."""
    return SparqlWriter({n: f"\x00{_TOKEN}:{n}\x00" for n in names}).query(parse_query(sparql))
