"""The /sparql worker process: checks and runs one query at a time on its own store snapshot.

pyoxigraph cannot interrupt a running query, so queries run here, in a process the API kills
when the time limit passes (api/sparql.py). The read-only check happens here too: rdflib's
SPARQL parser (pyparsing) is not thread-safe and costs CPU, so parsing in the workers keeps it
off the server's threads, in parallel across workers, and under the same time limit.

Memory: on `hello` the worker caps its own address space (RLIMIT_AS) at what it uses then plus
the configured allowance, and again after each snapshot it opens; a query that needs more
fails an allocation (Python: MemoryError, answered `resource_limit`; Rust: the process aborts,
which the API also reports as `resource_limit`), and the server itself is never at risk.
Where RLIMIT_AS cannot be set, `hello` says so and the API watches the worker's RSS instead.

The dataset (SPARQL 1.1 Protocol): `default-graph-uri` / `named-graph-uri` win; else the
query's own FROM / FROM NAMED; else the default graph is the union of all graphs.

On a remote store the worker checks the query the same way and passes it to the remote
endpoint (mapper.store.remote), then bounds and re-serialises the answer like a local one.

The worker reads frames from stdin and writes frames to stdout: a frame is a 4-byte big-endian
length and the payload; a request is one JSON frame, an answer a JSON header frame and a body
frame. Requests: {"op": "hello", "memory_mb"} sets the memory cap; {"op": "open", "kind":
"disk"|"nquads", "path"} loads a snapshot; {"op": "query", "query", "accept", "max",
"default_graph", "named_graphs", "dataset_in_query", "remote"} runs a query.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from mapper.errors import MapperError, QueryError, StoreUnavailable
from mapper.questions.queries import check_read_only
from mapper.tabular import csv_text, neutralise, tsv_text

_XSD = "http://www.w3.org/2001/XMLSchema#"
_RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}

RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/ld+json": "jsonld",
    "application/n-triples": "nt",
    "text/plain": "nt",
    "application/rdf+xml": "rdfxml",
}
MEDIA = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdfxml": "application/rdf+xml",
}

Term = Any  # a pyoxigraph term or None


class TooMany(Exception):
    """More results than the limit allows."""


class Refused(Exception):
    """A query that must not run: syntax error, update, SERVICE; `ref` says where."""

    def __init__(self, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.message, self.ref = message, ref


def negotiate(accept: str | None, offers: dict[str, str], default: str) -> str | None:
    """The format key of the best offered media type for an Accept header, None if none fits.

    >>> negotiate("text/csv;q=0.5, application/sparql-results+xml", RESULT_TYPES, "json")
    'xml'
    >>> negotiate("image/png", RESULT_TYPES, "json") is None
    True
    """
    if not accept or not accept.strip():
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media, quality = fields[0].lower(), 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in offers:
            ranked.append((quality, -position, offers[media]))
        elif media in ("*/*", "application/*", "text/*"):
            ranked.append((quality - 0.001, -position, default))
    return max(ranked)[2] if ranked else None


# --- the read-only check --------------------------------------------------------------------


def check_query(text: str) -> str:
    """The form of a read-only query; Refused otherwise (mapper.questions.queries.check_read_only).

    >>> check_query("SELECT * WHERE { ?s ?p ?o }")
    'select'
    >>> check_query("LOAD <http://example.org/x>")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    api.sparql_worker.Refused: read-only: SPARQL updates are refused here ...
    """
    try:
        return check_read_only(text)
    except QueryError as exc:
        raise Refused(exc.message, exc.ref) from None


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame, or None at end of stream."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return stream.read(size)


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    """Write one frame and flush."""
    stream.write(struct.pack(">I", len(payload)) + payload)
    stream.flush()


# --- SPARQL 1.1 results serialisations (JSON, XML, CSV, TSV) ----------------------------------


def _json_term(term: Term) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != _XSD + "string":
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}


def _xml_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != _XSD + "string":
            dt = quoteattr(term.datatype.value)
            return f"<literal datatype={dt}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def _csv_cell(term: Term) -> str:
    """The CSV form (SPARQL 1.1 CSV results): the bare text; mapper.tabular neutralises it."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    text: str = term.value if hasattr(term, "value") else str(term)
    return text


_NT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r",
                             "\t": "\\t"})


def _tsv_cell(term: Term) -> str:
    """The TSV form (SPARQL 1.1 TSV results: terms in Turtle syntax), a literal's text
    neutralised inside its quotes, since a spreadsheet unquotes it before it runs it."""
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        quoted = '"' + neutralise(term.value).translate(_NT_ESCAPES) + '"'
        if term.language:
            return f"{quoted}@{term.language}"
        if term.datatype.value != _XSD + "string":
            return f"{quoted}^^<{term.datatype.value}>"
        return quoted
    return str(term)


def serialize_solutions(variables: Sequence[str], rows: Sequence[Sequence[Term]],
                        fmt: str) -> bytes:
    """SELECT results in one of the SPARQL 1.1 result formats."""
    if fmt == "json":
        bindings = [
            {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
            for row in rows
        ]
        doc = {"head": {"vars": list(variables)}, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
                 "<head>", *(f"<variable name={quoteattr(v)}/>" for v in variables),
                 "</head><results>"]
        for row in rows:
            parts.append("<result>")
            parts.extend(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                         for v, t in zip(variables, row, strict=True) if t is not None)
            parts.append("</result>")
        parts.append("</results></sparql>\n")
        return "".join(parts).encode("utf-8")
    if fmt == "csv":
        return csv_text(variables, ([_csv_cell(t) for t in row] for row in rows)).encode("utf-8")
    if fmt == "tsv":
        return tsv_text(["?" + v for v in variables],
                        ([_tsv_cell(t) for t in row] for row in rows)).encode("utf-8")
    raise ValueError(f"unknown results format {fmt}")


def serialize_boolean(value: bool, fmt: str) -> bytes:
    """ASK results in one of the SPARQL 1.1 result formats."""
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if fmt == "xml":
        return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
                ).encode()
    if fmt == "csv":
        return f"_askResult\r\n{'true' if value else 'false'}\r\n".encode()
    return f"?_askResult\n{'true' if value else 'false'}\n".encode()


def _bounded(items: Iterable[Any], limit: int) -> list[Any]:
    out = []
    for item in items:
        out.append(item)
        if len(out) > limit:
            raise TooMany
    return out


# --- the worker loop -----------------------------------------------------------------------


def _vm_size() -> int | None:
    """This process's address space in bytes (Linux /proc), None where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class _MemoryCap:
    """RLIMIT_AS at the address space in use plus an allowance, re-set after each open."""

    def __init__(self) -> None:
        self.allowance: int | None = None

    def lift(self) -> None:
        if self.allowance is None:
            return
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))

    def set(self, megabytes: int | None = None) -> bool:
        """Cap the address space; False where it cannot be done (the API then watches RSS)."""
        if megabytes is not None:
            self.allowance = megabytes * 1024 * 1024
        used = _vm_size()
        if self.allowance is None or used is None:
            return False
        try:
            import resource

            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            soft = used + self.allowance
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        except (ImportError, AttributeError, ValueError, OSError):
            self.allowance = None
            return False
        return True


_CAP = _MemoryCap()


def _open(request: dict[str, Any]) -> ox.Store:
    _CAP.lift()
    try:
        if request["kind"] == "disk":
            return ox.Store.read_only(request["path"])
        store = ox.Store()
        store.bulk_load(path=request["path"], format=ox.RdfFormat.N_QUADS)
        return store
    finally:
        _CAP.set()


def _dataset(request: dict[str, Any]) -> dict[str, Any]:
    """pyoxigraph's dataset options: the protocol's parameters, else the query's own FROM /
    FROM NAMED (pyoxigraph honours them when given no options), else the union of all graphs."""
    default, named = request.get("default_graph"), request.get("named_graphs")
    if default is not None or named is not None:
        return {"default_graph": [ox.NamedNode(g) for g in default or []],
                "named_graphs": [ox.NamedNode(g) for g in named or []]}
    if request.get("dataset_in_query"):
        return {}
    return {"use_default_graph_as_union": True}


_REMOTES: dict[str, Any] = {}


def _remote_query(request: dict[str, Any], form: str) -> Any:
    """Run the checked query on the remote endpoint; a pyoxigraph result (solutions, boolean
    or triples) parsed from its answer."""
    from mapper.store.remote import RemoteStore

    url = request["remote"]
    if url not in _REMOTES:
        _REMOTES[url] = RemoteStore.from_settings(url, ensure_ontology=False)
    store = _REMOTES[url]
    graph_form = form in ("construct", "describe")
    accept = "application/n-triples, text/turtle;q=0.5" if graph_form else \
        "application/sparql-results+json"
    response = store.protocol_query(request["query"], accept=accept,
                                    default_graphs=request.get("default_graph"),
                                    named_graphs=request.get("named_graphs"))
    if "x-sparql-maxrows" in response.headers:
        raise QueryError(f"the remote SPARQL endpoint cut the answer at its own row limit "
                         f"({response.headers['x-sparql-maxrows']}); add a LIMIT")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if graph_form:
            fmt = ox.RdfFormat.TURTLE if media == "text/turtle" else ox.RdfFormat.N_TRIPLES
            return ox.parse(response.content, format=fmt)
        return ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as exc:
        raise StoreUnavailable(f"unreadable answer from {url} ({media}): {exc}") from exc


def run_query(store: ox.Store | None, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Check, negotiate and run one query request; the answer header and body."""
    form = check_query(request["query"])
    graph_form = form in ("construct", "describe")
    offers, default = (GRAPH_TYPES, "turtle") if graph_form else (RESULT_TYPES, "json")
    fmt = negotiate(request.get("accept"), offers, default)
    if fmt is None:
        return {"ok": False, "error": "not_acceptable",
                "message": f"cannot answer a {form.upper()} query as {request.get('accept')}; "
                           f"acceptable: {', '.join(offers)}"}, b""
    if request.get("remote"):
        result = _remote_query(request, form)
    elif store is None:
        return {"ok": False, "error": "internal", "message": "no snapshot open"}, b""
    else:
        result = store.query(request["query"], **_dataset(request))
    limit = int(request["max"])
    answer: dict[str, Any] = {"ok": True, "form": form, "media": MEDIA[fmt]}
    if isinstance(result, ox.QueryBoolean):
        return answer | {"count": 1}, serialize_boolean(bool(result), fmt)
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = _bounded(([sol[v] for v in variables] for sol in result), limit)
        return answer | {"count": len(rows)}, serialize_solutions(variables, rows, fmt)
    triples = _bounded(result, limit)
    body = ox.serialize(triples, format=_RDF_FORMATS[fmt]) or b""
    return answer | {"count": len(triples)}, body


def main() -> None:
    """Serve requests from stdin until it closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    store: ox.Store | None = None
    # the read-only check recurses per nesting level; the API bounds the depth first
    # (api/sparql_text.py), so this only leaves room for that bound
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    while (frame := read_frame(stdin)) is not None:
        request = json.loads(frame)
        body = b""
        try:
            if request["op"] == "hello":
                limited = _CAP.set(int(request.get("memory_mb") or 0) or None)
                header: dict[str, Any] = {"ok": True, "limited": limited, "pid": os.getpid()}
            elif request["op"] == "open":
                store = None  # the old snapshot's memory is given back before the new one loads
                store = _open(request)
                header = {"ok": True}
            else:
                header, body = run_query(store, request)
        except MemoryError:
            body = b""
            header = {"ok": False, "error": "resource_limit",
                      "message": "the query needed more memory than a SPARQL worker may use"}
        except RecursionError:
            header = {"ok": False, "error": "bad_query",
                      "message": "the query is nested too deeply to check; flatten it"}
        except Refused as exc:
            header = {"ok": False, "error": "bad_query", "message": exc.message, "ref": exc.ref}
        except SyntaxError as exc:
            header = {"ok": False, "error": "bad_query", "message": f"SPARQL syntax error: {exc}"}
        except TooMany:
            header = {"ok": False, "error": "too_many",
                      "message": f"the answer has more than {request['max']} results"}
        except StoreUnavailable as exc:
            header = {"ok": False, "error": "unavailable", "message": str(exc)}
        except MapperError as exc:  # QueryError from the remote endpoint
            header = {"ok": False, "error": "bad_query", "message": exc.message, "ref": exc.ref}
        except (OSError, ValueError, TypeError) as exc:
            header = {"ok": False, "error": "failed", "message": str(exc)}
        write_frame(stdout, json.dumps(header).encode("utf-8"))
        write_frame(stdout, body)


if __name__ == "__main__":
    main()
