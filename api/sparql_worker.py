"""The /sparql worker process: checks and runs one query at a time on its own store snapshot.

pyoxigraph cannot interrupt a running query, so queries run here, in a process the API kills
when the time limit passes (api/sparql.py). The read-only check happens here too: rdflib's
SPARQL parser (pyparsing) is not thread-safe and costs CPU, so parsing in the workers keeps it
off the server's threads, in parallel across workers, and under the same time limit.

The worker reads frames from stdin and writes frames to stdout: a frame is a 4-byte big-endian
length and the payload; a request is one JSON frame, an answer a JSON header frame and a body
frame. Requests: {"op": "open", "kind": "disk"|"nquads", "path"} loads a snapshot;
{"op": "query", "query", "accept", "max", "default_graph", "named_graphs"} runs a query.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import sys
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from mapper.errors import QueryError
from mapper.questions.queries import check_read_only

_XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC = {_XSD + t for t in ("integer", "decimal", "double", "float", "int", "long")}
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
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    text: str = term.value if hasattr(term, "value") else str(term)
    numeric = isinstance(term, ox.Literal) and term.datatype.value in _NUMERIC
    # A spreadsheet runs a cell starting with = + - @ as a formula: neutralise non-numbers.
    if not numeric and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


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
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_csv_cell(t) for t in row] for row in rows)
        return buf.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines.extend("\t".join("" if t is None else str(t) for t in row) for row in rows)
        return ("\n".join(lines) + "\n").encode("utf-8")
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


def _open(request: dict[str, Any]) -> ox.Store:
    if request["kind"] == "disk":
        return ox.Store.read_only(request["path"])
    store = ox.Store()
    store.bulk_load(path=request["path"], format=ox.RdfFormat.N_QUADS)
    return store


def run_query(store: ox.Store, request: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Check, negotiate and run one query request; the answer header and body."""
    form = check_query(request["query"])
    graph_form = form in ("construct", "describe")
    offers, default = (GRAPH_TYPES, "turtle") if graph_form else (RESULT_TYPES, "json")
    fmt = negotiate(request.get("accept"), offers, default)
    if fmt is None:
        return {"ok": False, "error": "not_acceptable",
                "message": f"cannot answer a {form.upper()} query as {request.get('accept')}; "
                           f"acceptable: {', '.join(offers)}"}, b""
    options: dict[str, Any] = {}
    if request.get("default_graph") or request.get("named_graphs"):
        options["default_graph"] = [ox.NamedNode(g) for g in request.get("default_graph") or []]
        options["named_graphs"] = [ox.NamedNode(g) for g in request.get("named_graphs") or []]
        if not options["default_graph"]:
            options["default_graph"] = ox.DefaultGraph()
        if not request.get("named_graphs"):
            del options["named_graphs"]
    else:
        options["use_default_graph_as_union"] = True
    result = store.query(request["query"], **options)
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
    while (frame := read_frame(stdin)) is not None:
        request = json.loads(frame)
        body = b""
        try:
            if request["op"] == "open":
                store = _open(request)
                header: dict[str, Any] = {"ok": True}
            elif store is None:
                header = {"ok": False, "error": "internal", "message": "no snapshot open"}
            else:
                header, body = run_query(store, request)
        except Refused as exc:
            header = {"ok": False, "error": "bad_query", "message": exc.message, "ref": exc.ref}
        except SyntaxError as exc:
            header = {"ok": False, "error": "bad_query", "message": f"SPARQL syntax error: {exc}"}
        except TooMany:
            header = {"ok": False, "error": "too_many",
                      "message": f"the answer has more than {request['max']} results"}
        except (OSError, ValueError, TypeError) as exc:
            header = {"ok": False, "error": "failed", "message": str(exc)}
        write_frame(stdout, json.dumps(header).encode("utf-8"))
        write_frame(stdout, body)


if __name__ == "__main__":
    main()
