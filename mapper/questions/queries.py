"""The named query library: load the .rq files of queries/, parse their headers, run them.

Every query file opens with a header of `#+ ` lines that together are one YAML mapping
(format documented in queries/README.md)::

    #+ name: expired-exceptions
    #+ summary: Exceptions still active past their expiry date as of a date.
    #+ params:
    #+   - name: as_of
    #+     type: date
    #+     default: today
    #+ columns: [exception, label, expiry]

Parameters are bound as RDF terms through `Store.query(bindings=...)`: substituted on the parsed
query, sub-SELECTs and nested groups included (mapper.store.sparql.bind_values), never pasted
into the query text. A broken header is a ResourceError for the packaged files and
a QueryError for a user's own file; it is never skipped with a warning.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.term import Node

from mapper import resources
from mapper.errors import InputError, NotFound, QueryError, ResourceError
from mapper.store import QueryResult, Store
from mapper.store.terms import TermError, sparql_iri

PARAM_TYPES = ("iri", "string", "date", "integer", "boolean")
"""The parameter types a header may declare."""

PREFIXES = {
    "aims": "https://aims-graph.org/ns#",
    "iso": "https://aims-graph.org/iso42001#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "urn": "urn:",
}
"""Prefixes accepted in an `iri` parameter value (`aims:Deployed`)."""

_HEADER_KEYS = {"name", "summary", "description", "params", "columns"}
_PARAM_KEYS = {"name", "type", "required", "default", "description"}
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Param:
    """One declared query parameter."""

    name: str
    type: str
    required: bool = False
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class NamedQuery:
    """A query file: its header and its SPARQL text."""

    name: str
    summary: str
    sparql: str
    params: tuple[Param, ...] = ()
    columns: tuple[str, ...] = ()
    description: str = ""
    path: Path | None = field(default=None, compare=False)
    remote: str | None = field(default=None, compare=False)
    """The text sent to a remote store instead, from queries/remote/NAME.rq when that exists
    (the same rows in a form Virtuoso can plan; see queries/README.md)."""

    def text_for(self, kind: str) -> str:
        """The SPARQL to send to a backend of `kind` (memory, embedded or remote)."""
        sparql = self.remote if kind == "remote" and self.remote is not None else self.sparql
        return for_backend(sparql, kind)

    def param(self, name: str) -> Param:
        """The parameter called `name`; InputError naming the known ones otherwise."""
        for param in self.params:
            if param.name == name:
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise InputError(f"query {self.name} has no parameter {name!r} (parameters: {known})")


# --- headers ---------------------------------------------------------------------------------


def split_header(text: str) -> tuple[str, str]:
    """Split a query file into its header (YAML, `#+ ` prefixes removed) and the SPARQL body.

    >>> split_header("#+ name: x\\n#+ summary: y\\nSELECT * WHERE {}\\n")
    ('name: x\\nsummary: y', 'SELECT * WHERE {}\\n')
    """
    lines = text.splitlines(keepends=True)
    header: list[str] = []
    index = 0
    while index < len(lines) and lines[index].startswith("#+"):
        line = lines[index].rstrip("\r\n")
        if line != "#+" and not line.startswith("#+ "):
            raise ValueError(f"line {index + 1}: a header line starts with '#+ ' "
                             "(hash, plus, space)")
        header.append(line[3:])
        index += 1
    return "\n".join(header), "".join(lines[index:])


def parse_query_text(text: str, *, source: str, expect_name: str | None = None) -> NamedQuery:
    """Parse a query file's text; ValueError with a one-line reason when the header is bad.

    >>> q = parse_query_text(
    ...     "#+ name: demo\\n#+ summary: A demo.\\n#+ params:\\n#+   - {name: n, type: integer}\\n"
    ...     "#+ columns: [x]\\nSELECT ?x WHERE { BIND(?n AS ?x) }", source="demo.rq")
    >>> q.name, q.params[0].type, q.columns
    ('demo', 'integer', ('x',))
    """
    header_text, body = split_header(text)
    if not header_text.strip():
        raise ValueError("no header: start the file with '#+ name: ...' and '#+ summary: ...'")
    try:
        header = yaml.safe_load(header_text)
    except yaml.YAMLError as exc:
        raise ValueError(f"header is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(header, dict):
        raise ValueError("header must be a YAML mapping of name, summary, params, columns")
    unknown = set(header) - _HEADER_KEYS
    if unknown:
        raise ValueError(f"unknown header key(s) {sorted(unknown)}; "
                         f"allowed: {sorted(_HEADER_KEYS)}")
    name = header.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError("header 'name' must be lower-case words joined by '-' (e.g. trace-system)")
    if expect_name is not None and name != expect_name:
        raise ValueError(f"header name {name!r} differs from the file name {expect_name!r}")
    summary = header.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise ValueError("header 'summary' must be a non-empty one-line text")
    description = header.get("description", "")
    if not isinstance(description, str):
        raise ValueError("header 'description' must be text")
    columns = header.get("columns", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ValueError("header 'columns' must be a list of variable names")
    raw_params = header.get("params", []) or []
    if not isinstance(raw_params, list):
        raise ValueError("header 'params' must be a list of {name, type, ...} mappings")
    params = tuple(_parse_param(raw, body) for raw in raw_params)
    if len({p.name for p in params}) != len(params):
        raise ValueError("header 'params' declares a parameter twice")
    if not body.strip():
        raise ValueError("the file has a header but no query")
    return NamedQuery(
        name=name, summary=" ".join(summary.split()), sparql=body, params=params,
        columns=tuple(columns), description=" ".join(description.split()),
        path=Path(source),
    )


def _parse_param(raw: object, body: str) -> Param:
    if not isinstance(raw, dict):
        raise ValueError("each entry of 'params' must be a mapping with name and type")
    unknown = set(raw) - _PARAM_KEYS
    if unknown:
        raise ValueError(f"unknown parameter key(s) {sorted(unknown)}; "
                         f"allowed: {sorted(_PARAM_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _PARAM_NAME.fullmatch(name):
        raise ValueError(f"parameter name {name!r} must be lower-case letters, digits and '_'")
    kind = raw.get("type")
    if kind not in PARAM_TYPES:
        raise ValueError(f"parameter {name}: type {kind!r} is not one of {', '.join(PARAM_TYPES)}")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise ValueError(f"parameter {name}: 'required' must be true or false")
    default = raw.get("default")
    if default is not None:
        default = default.isoformat() if isinstance(default, date) else str(default)
        if required:
            raise ValueError(f"parameter {name}: a required parameter cannot have a default")
        if default != "today" or kind != "date":
            try:
                coerce(Param(name, kind), default)
            except InputError as exc:
                raise ValueError(f"parameter {name}: bad default: {exc.message}") from None
    if not re.search(rf"\?{re.escape(name)}\b", body):
        raise ValueError(f"parameter {name} is declared but the query never uses ?{name}")
    description = raw.get("description", "")
    return Param(name=name, type=kind, required=required, default=default,
                 description=" ".join(str(description).split()))


def load_query(path: Path) -> NamedQuery:
    """Parse one packaged .rq file; ResourceError naming the file when its header is bad."""
    remote_path = path.parent / "remote" / path.name
    try:
        query = parse_query_text(path.read_text(encoding="utf-8"), source=str(path),
                                 expect_name=path.stem)
        if remote_path.is_file():  # packaged text, not parsed here (tests check it is a query)
            query = replace(query, remote=remote_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResourceError(f"{exc}", ref=str(path)) from None
    return query


@cache
def catalogue() -> dict[str, NamedQuery]:
    """Every named query of queries/, by name (parsed once).

    >>> "trace-system" in catalogue()
    True
    """
    queries = [load_query(path) for path in resources.query_files()]
    return {q.name: q for q in queries}


def get(name: str) -> NamedQuery:
    """The named query `name`; NotFound with the closest names otherwise.

    >>> get("expired-exceptions").params[0].name
    'as_of'
    """
    queries = catalogue()
    if name in queries:
        return queries[name]
    close = difflib.get_close_matches(name, list(queries), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `aims query --list` shows them"
    raise NotFound(f"no query named {name!r}{hint}")


# --- parameters ------------------------------------------------------------------------------


def expand_iri(value: str) -> URIRef:
    """An IRI from `<...>`, an absolute IRI or a known prefixed name (`aims:Deployed`).

    >>> expand_iri("aims:Deployed")
    rdflib.term.URIRef('https://aims-graph.org/ns#Deployed')
    """
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and prefix != "urn" and not local.startswith("//"):
        text = PREFIXES[prefix] + local
    if not _SCHEME.match(text) or re.search(r"[<>\"{}|^`\\\s]", text):
        raise InputError(f"{value!r} is not an IRI; write a full IRI (https://...) or aims:Name")
    return URIRef(text)


def coerce(param: Param, value: object, *, today: date | None = None) -> Node:
    """A parameter value (text from the command line, or a Python value) as an RDF term.

    >>> coerce(Param("as_of", "date"), "2026-06-30")
    rdflib.term.Literal('2026-06-30', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#date'))
    >>> coerce(Param("n", "integer"), "7").toPython()
    7
    """
    kind = param.type
    if isinstance(value, URIRef | Literal):
        if kind == "iri" and not isinstance(value, URIRef):
            raise InputError(f"parameter {param.name} needs an IRI, not {value!r}")
        return value
    text = value.isoformat() if isinstance(value, date) else str(value)
    if kind == "iri":
        return expand_iri(text)
    if kind == "string":
        return Literal(text)
    if kind == "date":
        if text == "today":
            return Literal(today or date.today())
        try:
            return Literal(date.fromisoformat(text.strip()))
        except ValueError:
            raise InputError(f"parameter {param.name}: {text!r} is not a date; "
                             "write it as YYYY-MM-DD") from None
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d+", text.strip()):
            raise InputError(f"parameter {param.name}: {text!r} is not a whole number")
        return Literal(int(text), datatype=XSD.integer)
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise InputError(f"parameter {param.name}: {text!r} is not true or false")
        return Literal(lowered in ("true", "1", "yes"))
    raise ResourceError(f"parameter {param.name}: unknown type {kind!r}")


def bindings_for(
    query: NamedQuery, params: Mapping[str, object] | None = None, *, today: date | None = None
) -> dict[str, Node]:
    """The VALUES bindings for a query run: values coerced, defaults filled, required checked.

    >>> q = get("expired-exceptions")
    >>> bindings_for(q, {"as_of": "2026-06-30"})["as_of"].toPython()
    datetime.date(2026, 6, 30)
    """
    given = dict(params or {})
    bindings: dict[str, Node] = {}
    for name, value in given.items():
        param = query.param(name)
        if value is None:
            continue
        bindings[name] = coerce(param, value, today=today)
    for param in query.params:
        if param.name in bindings:
            continue
        if param.required:
            raise InputError(f"query {query.name} needs --param {param.name}=<{param.type}>")
        if param.default is not None:
            bindings[param.name] = coerce(param, param.default, today=today)
    return bindings


def parse_param_options(options: list[str] | None) -> dict[str, str]:
    """`k=v` command-line options as a dict; InputError for a malformed one.

    >>> parse_param_options(["as_of=2026-06-30", "system=aims:x"])
    {'as_of': '2026-06-30', 'system': 'aims:x'}
    """
    result: dict[str, str] = {}
    for option in options or []:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--param {option!r}: write it as NAME=VALUE")
        if name.strip() in result:
            raise InputError(f"--param {name.strip()} is given twice")
        result[name.strip()] = value
    return result


# --- running ---------------------------------------------------------------------------------

SUBCLASS_DEPTH = 4
"""How deep a remote endpoint follows rdfs:subClassOf for `a/rdfs:subClassOf*` (see below)."""

_TYPE_CLOSURE = re.compile(r"(?<![\w:/|(])a/rdfs:subClassOf\*")


def for_backend(sparql: str, kind: str) -> str:
    """The query text to send to a backend of `kind` (memory, embedded or remote).

    Virtuoso 7 evaluates a `*` property path wrongly once its subject is bound row by row
    (inside EXISTS, OPTIONAL, UNION branches or joins it reuses the first row's closure), so on
    a remote endpoint `a/rdfs:subClassOf*` is sent as the alternation of its first
    SUBCLASS_DEPTH + 1 steps: the same answers for class hierarchies up to that depth
    (the ontology's deepest is 2) on every SPARQL 1.1 server.

    >>> for_backend("?x a/rdfs:subClassOf* aims:Record", "remote")[:48]
    '?x (a|a/rdfs:subClassOf|a/rdfs:subClassOf/rdfs:s'
    >>> for_backend("?x a/rdfs:subClassOf* aims:Record", "memory")
    '?x a/rdfs:subClassOf* aims:Record'
    """
    if kind != "remote":
        return sparql
    steps = ["a" + "/rdfs:subClassOf" * depth for depth in range(SUBCLASS_DEPTH + 1)]
    return _TYPE_CLOSURE.sub("(" + "|".join(steps) + ")", sparql)



def run(
    store: Store, name: str | NamedQuery, params: Mapping[str, object] | None = None, *,
    today: date | None = None,
) -> QueryResult:
    """Run a named query with its parameters bound safely.

    >>> from mapper.store import open_store
    >>> run(open_store("memory"), "expired-exceptions", {"as_of": "2026-06-30"}).rows
    []
    """
    query = get(name) if isinstance(name, str) else name
    bindings = bindings_for(query, params, today=today)
    return store.query(query.text_for(store.kind), bindings=bindings)


def check_read_only(sparql: str, *, source: str = "query") -> str:
    """The form of a read-only query (select, ask, construct, describe); QueryError otherwise.

    Parsed with rdflib's SPARQL parser: an update (INSERT, DELETE, LOAD, CLEAR, ...) or a
    SERVICE clause anywhere in the algebra is refused before anything runs. The CLI's
    `--file` and the API's /sparql endpoint both use this one check.

    >>> check_read_only("SELECT * WHERE { ?s ?p ?o }")
    'select'
    >>> check_read_only("DROP ALL")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mapper.errors.QueryError: query: read-only: SPARQL updates are refused here (...); ...
    """
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    if not sparql.strip():
        raise QueryError("the query is empty", ref=source)
    try:
        parsed = parseQuery(sparql)
    except ParseException as exc:
        try:
            parseUpdate(sparql)
        except ParseException:
            raise QueryError(f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: "
                             f"{exc.msg}", ref=f"{source}:{exc.lineno}:{exc.col}") from None
        raise QueryError("read-only: SPARQL updates are refused here (INSERT, DELETE, LOAD, "
                         "CLEAR, ...); only SELECT, ASK, CONSTRUCT and DESCRIBE queries run",
                         ref=source) from None
    try:
        algebra = translateQuery(parsed).algebra
    except Exception as exc:  # noqa: BLE001 - rdflib raises bare Exceptions for bad queries
        raise QueryError(f"SPARQL query cannot be evaluated: {exc}", ref=source) from None
    if _contains_service(algebra) or _contains_service(parsed):
        raise QueryError("SERVICE (federated query) is refused: only this store is queried",
                         ref=source)
    forms = {"SelectQuery": "select", "AskQuery": "ask", "ConstructQuery": "construct",
             "DescribeQuery": "describe"}
    return forms[algebra.name]


def _contains_service(node: object) -> bool:
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                return True
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def load_user_query(path: Path) -> NamedQuery:
    """A user's own .rq file: optional header, read-only check; QueryError/InputError when bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the query file: {exc}", ref=str(path)) from None
    if text.startswith("#+"):
        try:
            query = parse_query_text(text, source=str(path))
        except ValueError as exc:
            raise QueryError(str(exc), ref=str(path)) from None
    else:
        query = NamedQuery(name=path.stem, summary="user query", sparql=text, path=path)
    check_read_only(query.sparql, source=str(path))
    return query


# --- rows as plain values --------------------------------------------------------------------


MANY_CHUNK = 2000
"""IRIs bound at once by `run_many`."""


def run_many(store: Store, name: str, nodes: Iterable[Node], *, variable: str = "node"
             ) -> list[tuple[Node | None, ...]]:
    """The rows of a named query for many IRIs of one variable, bound as VALUES blocks of
    MANY_CHUNK (a plain lookup pattern stays linear that way; `run` binds one value). Blank
    nodes and IRIs no query could hold are left out.

    >>> from mapper.store import open_store
    >>> run_many(open_store("memory"), "node-labels", [URIRef("urn:x")])
    [(rdflib.term.URIRef('urn:x'), None, None)]
    """
    iris = sorted({str(n) for n in nodes if isinstance(n, URIRef)})
    terms = []
    for iri in iris:
        with contextlib.suppress(TermError):
            terms.append(sparql_iri(iri))
    sparql = get(name).text_for(store.kind)
    head, brace, tail = sparql.partition("WHERE {")
    if not brace:
        raise QueryError(f"query {name} has no 'WHERE {{' to bind ?{variable} in")
    rows: list[tuple[Node | None, ...]] = []
    for start in range(0, len(terms), MANY_CHUNK):
        values = " ".join(terms[start:start + MANY_CHUNK])
        rows += store.query(f"{head}WHERE {{ VALUES ?{variable} {{ {values} }}{tail}").rows
    return rows


def plain(value: Node | None) -> Any:
    """An RDF term as a plain Python value for JSON (IRIs and dates as text).

    >>> plain(Literal(3)), plain(Literal(True)), plain(URIRef("urn:x")), plain(None)
    (3, True, 'urn:x', None)
    >>> plain(Literal(date(2026, 6, 30)))
    '2026-06-30'
    """
    if value is None:
        return None
    if isinstance(value, Literal):
        python = value.toPython()
        if isinstance(python, bool | int | float | str):
            return python
        if isinstance(python, Decimal):
            return float(python)
        if isinstance(python, date):
            return python.isoformat()
        return str(value)
    if isinstance(value, BNode):
        return f"_:{value}"
    return str(value)


def text(value: Node | None) -> str:
    """An RDF term as the string a golden file or a table cell holds ('' for unbound).

    >>> text(Literal(True)), text(None), text(Literal("2026-01-02", datatype=XSD.date))
    ('true', '', '2026-01-02')
    """
    if value is None:
        return ""
    if isinstance(value, Literal) and value.datatype == XSD.boolean:
        return "true" if value.toPython() else "false"
    return str(value)


def result_dicts(result: QueryResult) -> list[dict[str, Any]]:
    """SELECT rows as dicts of plain values (JSON-ready)."""
    return [{v: plain(cell) for v, cell in zip(result.variables, row, strict=True)}
            for row in result.rows]


def result_table(result: QueryResult) -> tuple[list[str], list[list[str]]]:
    """SELECT rows as (columns, rows of strings) for tables and CSV."""
    return list(result.variables), [[text(cell) for cell in row] for row in result.rows]


__all__ = [
    "NamedQuery", "Param", "bindings_for", "catalogue", "check_read_only", "run_many",
    "coerce", "for_backend", "get", "load_query", "load_user_query", "parse_param_options",
    "parse_query_text", "plain", "result_dicts", "result_table", "run", "split_header", "text",
]
