"""Record-level writes: one record of any AIMS class, as JSON named by the ontology's terms.

A record is `{"type": "CorrectiveAction", "id": "CA-7", "label": "...", <property>: value}`,
where `type` is an aims: class and every other field an aims: property, by local name (or
`label`, `identifier`). The JSON Schema of that body is generated from the ontology
(`record_schema`), so the API's OpenAPI document cannot drift from it.

Every write is an ingest batch of its own (mapper.ingest: provenance, `aims batches`, the one
change path that keeps the stored findings current): the record's whole current description
is written as the source `record-<slug>.ttl`, so the next write of the same record replaces
that batch, and a value another batch gives a single-valued property is replaced in the same
commit (on_conflict="replace"). `etag` is a digest of everything the store says about the
record, for If-Match against lost updates.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, Literal, URIRef
from rdflib.namespace import SKOS

from mapper import resources
from mapper.errors import InputError, NotFound
from mapper.ingest import BatchResult, commit, prepare, terms
from mapper.ingest.batches import drop_batch, list_batches
from mapper.ingest.mapping import DEFAULT_BASE
from mapper.ingest.values import slug
from mapper.store import Store
from mapper.store.terms import sparql_iri, sparql_term

AIMS = "https://aims-graph.org/ns#"
_BUILT_IN = {"label": str(RDFS.label), "identifier": AIMS + "identifier"}
_JSON_TYPES: dict[str, dict[str, Any]] = {
    str(XSD.date): {"type": "string", "format": "date"},
    str(XSD.dateTime): {"type": "string", "format": "date-time"},
    str(XSD.boolean): {"type": "boolean"},
    str(XSD.integer): {"type": "integer"},
    str(XSD.nonNegativeInteger): {"type": "integer", "minimum": 0},
    str(XSD.decimal): {"type": "number"},
    str(XSD.anyURI): {"type": "string", "format": "uri"},
}


class Exists(InputError):
    """The record exists (create), or other batches describe it too (delete)."""


@dataclass(frozen=True)
class Term:
    """An aims: property as a record field."""

    name: str
    iri: str
    range: str | None
    is_object: bool
    definition: str


@cache
def _classes() -> dict[str, str]:
    onto = resources.ontology()
    return {str(c)[len(AIMS):]: str(c) for c in onto.subjects(RDF.type, OWL.Class)
            if isinstance(c, URIRef) and str(c).startswith(AIMS)}


@cache
def fields() -> dict[str, Term]:
    """Every aims: property the ontology defines, as a field name -> Term."""
    onto = resources.ontology()
    out: dict[str, Term] = {}
    for kind, is_object in ((OWL.ObjectProperty, True), (OWL.DatatypeProperty, False)):
        for prop in onto.subjects(RDF.type, kind):
            if not (isinstance(prop, URIRef) and str(prop).startswith(AIMS)):
                continue
            rng = onto.value(prop, RDFS.range)
            text = onto.value(prop, SKOS.definition) or onto.value(prop, RDFS.comment) or ""
            name = str(prop)[len(AIMS):]
            out[name] = Term(name, str(prop), None if rng is None else str(rng), is_object,
                             " ".join(str(text).split()))
    return dict(sorted(out.items()))


@cache
def enumerations() -> dict[str, dict[str, str]]:
    """Range classes whose members the ontology lists (aims:Status: Open, Closed, ...): the
    class IRI -> {local name: member IRI}."""
    onto = resources.ontology()
    ranges = {t.range for t in fields().values() if t.is_object and t.range}
    out: dict[str, dict[str, str]] = {}
    for rng in sorted(r for r in ranges if r):
        members = {str(m)[len(AIMS):]: str(m) for m in onto.subjects(RDF.type, URIRef(rng))
                   if isinstance(m, URIRef) and str(m).startswith(AIMS)}
        if members:
            out[rng] = dict(sorted(members.items()))
    return out


def _member(term: Term, value: str) -> str | None:
    """The member of an enumerated range a value names (local name, any case), if any."""
    members = enumerations().get(term.range or "")
    if not members:
        return None
    by_key = {k.lower(): v for k, v in members.items()}
    found = by_key.get(value.strip().lower()) or (value if value in members.values() else None)
    if found is None:
        raise InputError(f"{term.name}: {value!r} is not one of {', '.join(members)}",
                         ref=term.name)
    return found


def record_schema() -> dict[str, Any]:
    """The JSON Schema of a record body, generated from the ontology's classes and properties."""
    props: dict[str, Any] = {
        "type": {"type": "string", "enum": sorted(_classes()),
                 "description": "The record's aims: class (local name)."},
        "id": {"type": "string", "minLength": 1,
               "description": "The record's identifier, or its full IRI."},
        "label": {"type": "string", "minLength": 1, "description": "rdfs:label."},
    }
    for name, term in fields().items():
        members = enumerations().get(term.range or "")
        if members:
            value: dict[str, Any] = {"type": "string", "enum": list(members)}
        elif term.is_object:
            value = {"type": "string", "minLength": 1,
                                     "description": "An IRI or identifier of a "
                                     + (term.range or "node")[len(AIMS):] + "."}
        else:
            value = dict(_JSON_TYPES.get(term.range or "", {"type": "string"}))
        schema: dict[str, Any] = {
            "anyOf": [value, {"type": "array", "items": value, "minItems": 1}]}
        if term.definition:
            schema["description"] = term.definition
        props[name] = schema
    return {"type": "object", "properties": props, "required": ["type", "id"],
            "additionalProperties": False}


def _unknown(name: str, known: list[str], *, what: str = "field", ref: str | None = None
             ) -> InputError:
    close = terms.closest(name, known)  # the one suggester ingest uses too
    hint = (f"; did you mean {close!r}?" if close
            else f"; {what}s are aims: {'class' if what == 'type' else 'property'} names")
    return InputError(f"unknown {what} {name!r}{hint}", ref=ref or name)


def subject_of(store: Store, ref: str) -> URIRef:
    """The record an id names: a full IRI, else the node whose aims:identifier it is."""
    if ref.startswith(("http://", "https://", "urn:")):
        return URIRef(ref)
    rows = store.query(
        "SELECT DISTINCT ?s WHERE { ?s <https://aims-graph.org/ns#identifier> ?id } LIMIT 2",
        bindings={"id": Literal(ref)}).rows
    if len(rows) == 1 and isinstance(rows[0][0], URIRef):
        return rows[0][0]
    if rows:
        raise InputError(f"identifier {ref!r} names more than one record; give its IRI",
                         ref=ref)
    raise NotFound(f"no record {ref!r}; give an identifier or IRI of a record", ref=ref)


def _lines(store: Store, subject: URIRef) -> list[tuple[str, str, str]]:
    rows = store.select_text(
        "SELECT ?p ?o ?kind WHERE { GRAPH ?g { " + sparql_iri(str(subject)) + " ?p ?o } "
        "FILTER(STRSTARTS(STR(?g), 'urn:aims:batch:')) "
        "BIND(IF(isIRI(?o), 'iri', CONCAT(DATATYPE(?o), '@', LANG(?o))) AS ?kind) }")
    return sorted({(p, o, k or "") for p, o, k in rows if p and o is not None})


def etag(store: Store, subject: URIRef) -> str:
    """A digest of what the store's batches say about the record (changes with every write)."""
    lines = _lines(store, subject)
    if not lines:
        raise NotFound(f"no record {subject}", ref=str(subject))
    return hashlib.sha256(json.dumps(lines, ensure_ascii=True).encode()).hexdigest()[:32]


def read(store: Store, subject: URIRef) -> dict[str, Any]:
    """The record as JSON: type, id, label and its aims: fields (lists when several)."""
    lines = _lines(store, subject)
    if not lines:
        raise NotFound(f"no record {subject}", ref=str(subject))
    out: dict[str, Any] = {"id": str(subject)}
    types: list[str] = []
    by_name = {t.iri: t.name for t in fields().values()} | {v: k for k, v in _BUILT_IN.items()}
    for p, o, _ in lines:
        if p == str(RDF.type) and o.startswith(AIMS):
            types.append(o[len(AIMS):])
        elif p in by_name:
            name = by_name[p]
            term = fields().get(name)
            members = enumerations().get(term.range or "") if term else None
            if members and o in members.values():
                o = o[len(AIMS):]
            out.setdefault(name, []).append(o)
    out = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in out.items()}
    out["type"] = types[0] if len(types) == 1 else types
    return out


def _turtle(subject: URIRef, kind: str, values: dict[str, list[Any]],
            refs: dict[str, URIRef]) -> str:
    lines = [f"{sparql_iri(str(subject))} a {sparql_iri(kind)} ."]
    for name, items in values.items():
        term = fields().get(name)
        iri = _BUILT_IN.get(name) or (term.iri if term else None)
        assert iri is not None
        for item in items:
            if term is not None and term.is_object:
                obj = sparql_iri(str(refs[str(item)]))
            elif term is not None and term.range in _JSON_TYPES and term.range != str(XSD.anyURI):
                obj = sparql_term(Literal(str(item).lower() if isinstance(item, bool)
                                          else str(item), datatype=URIRef(term.range)))
            else:
                obj = sparql_term(Literal(str(item)))
            lines.append(f"{sparql_iri(str(subject))} {sparql_iri(iri)} {obj} .")
    return "\n".join(lines) + "\n"


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and value >= schema.get(
            "minimum", value)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str) and len(value) >= schema.get("minLength", 0)


def check_fields(body: Any, *, patch: bool = False) -> None:
    """Refuse (InputError naming the field) what the record schema does not allow: an unknown
    field with the closest name, a value of the wrong JSON type. Run before anything else, so
    a malformed body is a 422 whatever the state of the record."""
    if not isinstance(body, dict):
        raise InputError("a record is a JSON object", ref="body")
    schema = record_schema()["properties"]
    known = sorted(schema)
    for name, value in body.items():
        if name not in schema:
            raise _unknown(name, known)
        if value is None and patch and name not in ("type", "id"):
            continue
        if name == "type" and isinstance(value, str) and value not in _classes():
            raise _unknown(value, sorted(_classes()), what="type", ref="type")
        field = schema[name]
        if "anyOf" in field:
            single = field["anyOf"][0]
            items = value if isinstance(value, list) and value else [value]
            ok = all(_fits(v, single) for v in items)
        else:
            ok = _fits(value, field)
        if not ok:
            want = (field.get("anyOf") or [field])[0]
            raise InputError(f"{name}: {value!r} is not a valid value (expected "
                             f"{want.get('format') or want.get('type')}"
                             + (f" from {', '.join(want['enum'][:8])}" if "enum" in want
                                else "") + ")", ref=name)


def write(store: Store, body: dict[str, Any], *, actor: str, patch_of: URIRef | None = None,
          ) -> tuple[URIRef, list[BatchResult]]:
    """Create (patch_of None) or change one record; returns its IRI and the batch written.

    A create of a record that exists is refused; a patch replaces the fields it gives (a
    list replaces every value of the field; null removes the field).
    """
    check_fields(body, patch=patch_of is not None)
    current: dict[str, Any] = {}
    if patch_of is not None:
        current = {k: v for k, v in read(store, patch_of).items() if k != "id"}
        subject = patch_of
    else:
        ref = str(body.get("id") or "").strip()
        if not ref:
            raise InputError("a record needs an `id`", ref="id")
        if not body.get("type"):
            raise InputError("a record needs a `type` (an aims: class)", ref="type")
        if ref.startswith(("http://", "https://", "urn:")):
            subject = URIRef(ref)
        else:
            subject = URIRef(f"{DEFAULT_BASE}{slug(str(body['type']))}/{slug(ref)}")
        if _lines(store, subject):
            raise Exists(f"record {subject} exists; PATCH /v1/records/{{id}} changes it",
                         ref="id")
        if not ref.startswith(("http://", "https://", "urn:")):
            current["identifier"] = ref
    merged = {**current, **{k: v for k, v in body.items() if k != "id"}}
    merged = {k: v for k, v in merged.items() if v is not None}
    kind_name = merged.pop("type", None)
    if isinstance(kind_name, list):
        kind_name = kind_name[0]
    if kind_name not in _classes():
        raise _unknown(str(kind_name), sorted(_classes()), what="type", ref="type") \
            if kind_name else InputError("a record needs a `type`", ref="type")
    values = {k: (v if isinstance(v, list) else [v]) for k, v in merged.items()}
    for name, items in values.items():
        for item in items:
            if isinstance(item, dict | list) or not str(item).strip():
                raise InputError(f"{name}: give a non-empty text, number or date, not "
                                 f"{item!r}", ref=name)
            try:
                str(item).encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"{name}: the text holds an unpaired surrogate (not Unicode)",
                                 ref=name) from None
    for name, items in values.items():
        term = fields().get(name)
        if term is not None and term.range == str(XSD.date):
            for item in items:
                try:
                    date.fromisoformat(str(item))
                except ValueError:
                    raise InputError(f"{name}: {item!r} is not a date; write YYYY-MM-DD",
                                     ref=name) from None
    refs: dict[str, URIRef] = {}
    for name, items in values.items():
        term = fields().get(name)
        if term is None or not term.is_object:
            continue
        for item in items:
            text = str(item)
            member = _member(term, text)
            try:
                refs[text] = URIRef(member) if member else (
                    URIRef(text) if text.startswith(("http://", "https://", "urn:"))
                    else subject_of(store, text))
            except NotFound:
                raise InputError(f"{name}: {text!r} names no record in the store; give the "
                                 "identifier or IRI of an existing one", ref=name) from None
    text = _turtle(subject, _classes()[kind_name], values, refs)
    digest = hashlib.sha256(str(subject).encode()).hexdigest()[:8]
    name = f"record-{slug(str(subject).rsplit('/', 1)[-1])}-{digest}.ttl"
    with tempfile.TemporaryDirectory(prefix="aims-record-") as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        with prepare([path]) as preparation:
            results = commit(store, preparation, actor=actor, on_conflict="replace")
    return subject, results


def delete(store: Store, subject: URIRef, *, when: Any) -> str:
    """Drop the record's own batch; a record other batches describe is refused (drop those)."""
    graphs = {str(row[0]) for row in store.select_text(
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { " + sparql_iri(str(subject)) + " ?p ?o } "
        "FILTER(STRSTARTS(STR(?g), 'urn:aims:batch:')) }")}
    if not graphs:
        raise NotFound(f"no record {subject}", ref=str(subject))
    own = [b for b in list_batches(store) if b.graph in graphs and b.status == "current"
           and b.source.startswith("record-")]
    if len(graphs) > len(own):
        others = sorted(g for g in graphs if g not in {b.graph for b in own})
        raise Exists(f"record {subject} is also described by {', '.join(map(str, others))}; "
                     "drop those batches (DELETE /v1/batches/{id})", ref=str(subject))
    for batch in own:
        drop_batch(store, batch.id, when=when)
    return str(subject)
