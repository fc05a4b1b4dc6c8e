"""RDF reader: Turtle, N-Triples, JSON-LD and RDF/XML into one named graph (N-Quads bytes).

Safety: JSON-LD never fetches a remote context (a context given by URL is refused: inline
it), and RDF/XML with a DOCTYPE or ENTITY declaration is refused before parsing, so no
external entity is ever resolved. Parsing is pyoxigraph's (fast, and a syntax error comes with
its line and column).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pyoxigraph as ox

from mapper.errors import InputError
from mapper.ingest.json import parse_json

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


def looks_like_jsonld(data: bytes) -> bool:
    """True for a .json file that is JSON-LD (has @context or @graph at its top)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(doc, dict) and ("@context" in doc or "@graph" in doc)


def check_safe(data: bytes, fmt: ox.RdfFormat, source: str) -> None:
    """Refuse remote JSON-LD contexts and XML DTDs (no network, no entity expansion)."""
    if fmt == ox.RdfFormat.JSON_LD:
        _remote_contexts(parse_json(data, source, kind="JSON-LD"), source)
    if fmt == ox.RdfFormat.RDF_XML and _DTD.search(data):
        raise InputError(
            f"{source}: RDF/XML with a DOCTYPE or ENTITY declaration is refused (external "
            "entities are never resolved); remove the declaration"
        )


def read_rdf(data: bytes, source: str, fmt: ox.RdfFormat,
             graph: str) -> tuple[bytes, int, int]:
    """N-Quads bytes of the file's triples placed in `graph`, how many triples and subjects.

    >>> nq, n, _ = read_rdf(b'<http://e/a> <http://e/p> "x" .', "a.nt", ox.RdfFormat.N_TRIPLES,
    ...                  "urn:g")
    >>> n, nq.decode().strip()
    (1, '<http://e/a> <http://e/p> "x" <urn:g> .')
    """
    if not data.strip():
        raise InputError(f"{source}: the file is empty; nothing to load")
    if b"\x00" in data[:8192]:
        raise InputError(f"{source}: this is a binary file, not RDF text")
    check_safe(data, fmt, source)
    name = ox.NamedNode(graph)
    try:
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, name)
            for q in ox.parse(data, format=fmt, base_iri=graph + "/",
                              without_named_graphs=True, rename_blank_nodes=True)
        ]
    except SyntaxError as exc:
        raise InputError(f"{source}: syntax error: {exc.args[0] if exc.args else exc}") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{source}: cannot parse ({exc})") from None
    if not quads:
        raise InputError(f"{source}: no triples in the file; nothing to load")
    out = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    assert out is not None
    return out, len(set(quads)), len({q.subject for q in quads})
