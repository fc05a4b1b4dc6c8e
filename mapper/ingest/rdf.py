"""RDF reader: Turtle, N-Triples, JSON-LD and RDF/XML into one named graph (N-Quads bytes).

Safety: JSON-LD never fetches a remote context (a context given by URL is refused: inline
it), and RDF/XML with a DOCTYPE or ENTITY declaration is refused before parsing, so no
external entity is ever resolved. Parsing is pyoxigraph's (fast, and a syntax error comes with
its line and column).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, BinaryIO

import pyoxigraph as ox

from mapper.errors import InputError
from mapper.ingest import terms
from mapper.ingest.json import parse_json
from mapper.ingest.limits import SHUTDOWN, Limits, json_depth
from mapper.ingest.literals import XSD, ZonelessTimestamp, problem, timestamp

FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".turtle": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".json-ld": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".xml": ox.RdfFormat.RDF_XML,
}
MEDIA = {
    ox.RdfFormat.TURTLE: "text/turtle",
    ox.RdfFormat.N_TRIPLES: "application/n-triples",
    ox.RdfFormat.JSON_LD: "application/ld+json",
    ox.RdfFormat.RDF_XML: "application/rdf+xml",
}
_CHUNK = 20_000
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _remote_contexts(node: Any, source: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("@context", "@import"):
                items = value if isinstance(value, list) else [value]
                for item in items:
                    if isinstance(item, str):
                        raise InputError(
                            f"{source}: JSON-LD context {item!r} is a remote reference; AIMS "
                            "Graph never fetches remote contexts: inline the context object"
                        )
                    _remote_contexts(item, source)
            else:
                _remote_contexts(value, source)
    elif isinstance(node, list):
        for item in node:
            _remote_contexts(item, source)


def looks_like_jsonld(data: bytes, limits: Limits | None = None) -> bool:
    """True for a .json file that is JSON-LD (has @context or @graph at its top)."""
    limits = limits or Limits()
    if json_depth(data, stop_at=limits.max_depth)[0] > limits.max_depth:
        return False  # the JSON reader refuses it, naming the limit
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(doc, dict) and ("@context" in doc or "@graph" in doc)


def check_safe(data: bytes, fmt: ox.RdfFormat, source: str, limits: Limits | None = None) -> None:
    """Refuse remote JSON-LD contexts and XML DTDs (no network, no entity expansion)."""
    if fmt == ox.RdfFormat.JSON_LD:
        _remote_contexts(parse_json(data, source, kind="JSON-LD", limits=limits), source)
    if fmt == ox.RdfFormat.RDF_XML and _DTD.search(data):
        raise InputError(
            f"{source}: RDF/XML with a DOCTYPE or ENTITY declaration is refused (external "
            "entities are never resolved); remove the declaration"
        )


def _line_of(data: bytes, text: str) -> int | None:
    """The line where a literal's text first appears in the file (parsers give no
    positions per triple); None when it is written escaped."""
    pos = data.find(text.encode("utf-8"))
    return None if pos < 0 else data.count(b"\n", 0, pos) + 1


@dataclass
class RdfRead:
    """What reading one RDF file gave: distinct triples and subjects, warnings."""

    triples: int
    subjects: int
    warnings: list[str] = field(default_factory=list)


def read_rdf(data: bytes, source: str, fmt: ox.RdfFormat, sink: BinaryIO, *,
             limits: Limits | None = None, lenient: bool = False,
             zone: tzinfo | None = None) -> RdfRead:
    """Parse RDF bytes and write its triples to `sink` as N-Triples, chunk by chunk.

    Each literal is held to `max_literal` characters; a typed literal whose text is not of
    its type (literals.py) is refused, or with `lenient` kept as written and counted in a
    warning. An `xsd:dateTime` is normalised as tabular ingest normalises a timestamp
    (literals.timestamp): a zoned one is written in UTC, a zone-less one takes `zone` (the
    --timezone) or is refused naming its line and property, midnight without a zone is a date.

    >>> import io
    >>> out = io.BytesIO()
    >>> read_rdf(b'<http://e/a> <http://e/p> "x" .', "a.nt", ox.RdfFormat.N_TRIPLES, out).triples
    1
    >>> out.getvalue().decode().strip()
    '<http://e/a> <http://e/p> "x" .'
    """
    limits = limits or Limits()
    if not data.strip():
        raise InputError(f"{source}: the file is empty; nothing to load")
    if b"\x00" in data[:8192]:
        raise InputError(f"{source}: this is a binary file, not RDF text")
    check_safe(data, fmt, source, limits)
    seen: set[int] = set()
    subjects: set[int] = set()
    ill: list[str] = []
    unknown: dict[str, int] = {}
    chunk: list[ox.Triple] = []
    try:
        for q in ox.parse(data, format=fmt, base_iri="urn:aims:batch:pending/",
                          without_named_graphs=True, rename_blank_nodes=True):
            triple = q.triple
            key = hash(triple)
            if key in seen:
                continue
            seen.add(key)
            subjects.add(hash(q.subject))
            obj = q.object
            if isinstance(obj, ox.Literal):
                _check_literal(obj, data, source, limits, lenient, ill)
                if obj.datatype.value == _DATETIME and problem(obj.value, _DATETIME) is None:
                    obj = _normalised(obj, q.predicate, data, source, zone)
                    triple = ox.Triple(q.subject, q.predicate, obj)
            for term in (q.subject, q.predicate, obj):
                if isinstance(term, ox.NamedNode) and term.value.startswith(terms.NS):
                    local = terms.undefined(term.value)
                    if local is not None:
                        unknown[local] = unknown.get(local, 0) + 1
            chunk.append(triple)
            if len(chunk) >= _CHUNK:
                sink.write(ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES) or b"")
                chunk = []
                SHUTDOWN.check()
    except SyntaxError as exc:
        raise InputError(f"{source}: syntax error: {exc.args[0] if exc.args else exc}") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{source}: cannot parse ({exc})") from None
    if chunk:
        sink.write(ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES) or b"")
    if not seen:
        raise InputError(f"{source}: no triples in the file; nothing to load")
    warnings = []
    if unknown:
        shown = "; ".join(terms.describe(k, n) for k, n in sorted(unknown.items())[:8])
        more = f"; and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        if not lenient:
            first = min(unknown, key=lambda k: _line_of(data, k) or 0)
            line = _line_of(data, first)
            where = f"{source}, line {line}" if line else source
            raise InputError(
                f"{where}: {len(unknown)} term(s) in the aims: namespace that the ontology "
                f"does not define: {shown}{more}; correct them (aims ontology terms lists the "
                "model), or load them as written with --lenient")
        warnings.append(f"{len(unknown)} term(s) in the aims: namespace that the ontology does "
                        f"not define, loaded as written (--lenient): {shown}{more}")
    if ill:
        shown = "; ".join(ill[:5]) + ("; ..." if len(ill) > 5 else "")
        warnings.append(f"{len(ill)} literal(s) not of their datatype, loaded as written "
                        f"(--lenient): {shown}")
    return RdfRead(triples=len(seen), subjects=len(subjects), warnings=warnings)


_DATETIME = XSD + "dateTime"


def _normalised(obj: ox.Literal, predicate: ox.NamedNode, data: bytes, source: str,
                zone: tzinfo | None) -> ox.Literal:
    try:
        lexical, kind = timestamp(obj.value, zone)
    except ZonelessTimestamp as exc:
        # the whole literal first: its text may begin a longer (zoned) one elsewhere
        line = next((n for n in (_line_of(data, q + obj.value + q) for q in ('"', "'", ">"))
                     if n), None) or _line_of(data, obj.value)
        where = f"line {line}" if line else "a literal"
        raise InputError(
            f"{source}, {where}, {_short(predicate.value)}: {exc}; write it with its zone "
            "(Z or +hh:mm), or name the zone with --timezone (e.g. --timezone "
            "America/New_York)") from None
    if lexical == obj.value and kind == "dateTime":
        return obj
    return ox.Literal(lexical, datatype=ox.NamedNode(XSD + kind))


def _short(iri: str) -> str:
    return "aims:" + iri[len(terms.NS):] if iri.startswith(terms.NS) else f"<{iri}>"


def _check_literal(obj: ox.Literal, data: bytes, source: str, limits: Limits, lenient: bool,
                   ill: list[str]) -> None:
    value = obj.value
    if len(value) > limits.max_literal:
        line = _line_of(data, value[:200])
        where = f"{source}, line {line}" if line else source
        raise limits.exceeded("max_literal", where, f"a literal of {len(value):,} characters")
    why = problem(value, obj.datatype.value)
    if why is None:
        return
    line = _line_of(data, value)
    where = f"line {line}" if line else "a literal"
    if not lenient:
        raise InputError(f"{source}, {where}: {why}; write a value of that type (or drop "
                         "the datatype), or load it as written with --lenient")
    if len(ill) < 6:
        ill.append(f"{where}: {why}")
    else:
        ill.append("")
