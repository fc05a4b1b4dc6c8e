"""Crosswalks: other frameworks as SKOS schemes, SSSOM mapping sets as typed store edges, and
the coverage of a framework's requirements by what the organisation has.

`load(store)` puts ontology/frameworks/*.ttl (the schemes) and every
ontology/frameworks/mappings/*.sssom.tsv (read with sssom-py) into one named graph,
`urn:aims:graph:frameworks`: each mapping is a direct edge (`iso:A.6.2.8 skos:closeMatch
euaia:Art.12`) and an owl:Axiom carrying its justification, source, author and comment, part of
its mapping set (dcterms:isPartOf), so SPARQL can ask either.

`coverage(store, framework, as_of)` reads the mappings (queries/framework-mappings.rq) and the
state of each ISO/IEC 42001 concept from the assessment and the Statement of Applicability:

- an Annex A control is `implemented` when its SoA line is applicable and not failing, `gap`
  when applicable and failing, `excluded` or `undecided` otherwise;
- a clause is `implemented` when the rules that serve it pass (or only warn), `gap` when one
  fails, and, for a clause no rule serves, `evidenced` when a record addresses it, else
  `no evidence`.

A requirement is `covered` when an exactMatch or closeMatch maps it to an implemented (or
evidenced) concept, `partly covered` through a broadMatch or narrowMatch, `informed` when only
relatedMatch mappings reach such concepts, `gap` when it is mapped but none of its concepts is
implemented, and `not mapped` without mappings. A relatedMatch never covers: it only says where
to look.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import DCTERMS, OWL, RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef

from mapper import resources
from mapper.errors import InputError, NotFound
from mapper.questions import queries
from mapper.questions.queries import text
from mapper.rules.assessment import Assessment, assess
from mapper.store import Store

GRAPH = "urn:aims:graph:frameworks"
"""The store graph that holds the framework schemes and the mappings."""

SSSOM = Namespace("https://w3id.org/sssom/")
NIST = Namespace("https://aims-graph.org/nist-ai-rmf#")
EUAIA = Namespace("https://aims-graph.org/eu-ai-act#")

PREDICATES = ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")
"""The SKOS mapping types, strongest first."""

_COVERS = {"exactMatch": "covered", "closeMatch": "covered", "broadMatch": "partly covered",
           "narrowMatch": "partly covered", "relatedMatch": "informed"}
_RANK = {"covered": 0, "partly covered": 1, "informed": 2, "gap": 3, "not mapped": 4}
_HAS = ("implemented", "evidenced")


@dataclass(frozen=True)
class Framework:
    """A framework the crosswalks reach: its name on the command line and its scheme."""

    name: str
    title: str
    scheme: URIRef


FRAMEWORKS = {
    "nist-ai-rmf": Framework("nist-ai-rmf", "NIST AI RMF 1.0", NIST["AIRMF"]),
    "eu-ai-act": Framework("eu-ai-act", "EU AI Act (Regulation (EU) 2024/1689)",
                           EUAIA["AIAct"]),
}


def framework(name: str) -> Framework:
    """The framework by its command-line name; NotFound naming the known ones."""
    found = FRAMEWORKS.get(name)
    if found is None:
        raise NotFound(f"unknown framework {name!r}; use one of {', '.join(FRAMEWORKS)}")
    return found


def folder() -> Path:
    return resources.data_dir("ontology") / "frameworks"


# --- loading -------------------------------------------------------------------------------------


def _mapping_graph(path: Path, concepts: set[URIRef]) -> tuple[Graph, int]:
    """One SSSOM TSV (read with sssom-py) as edges plus owl:Axiom records."""
    from sssom.parsers import parse_sssom_table

    try:
        msdf = parse_sssom_table(str(path))
    except Exception as exc:  # sssom-py raises many kinds; name the file
        raise InputError(f"{path.name}: not a readable SSSOM TSV ({exc})") from exc
    meta = msdf.metadata
    set_id = URIRef(str(meta.get("mapping_set_id") or ""))
    if not str(set_id).startswith(("http://", "https://")):
        raise InputError(f"{path.name}: the metadata has no mapping_set_id IRI; add one")
    g = Graph()
    g.add((set_id, RDF.type, SSSOM.MappingSet))
    for key, prop in (("mapping_set_title", DCTERMS.title),
                      ("mapping_set_description", DCTERMS.description),
                      ("license", DCTERMS.license)):
        if meta.get(key):
            g.add((set_id, prop, Literal(str(meta[key]))))
    for source in meta.get("mapping_set_source") or []:
        g.add((set_id, DCTERMS.source, Literal(str(source))))
    for creator in meta.get("creator_label") or []:
        g.add((set_id, DCTERMS.creator, Literal(str(creator))))
    records = msdf.df.to_dict("records")
    for row_no, row in enumerate(records, start=2):
        where = f"{path.name} row {row_no} (after the metadata)"
        try:
            s, p, o = (URIRef(msdf.converter.expand_strict(str(row[k])))
                       for k in ("subject_id", "predicate_id", "object_id"))
        except Exception:
            raise InputError(f"{where}: a CURIE has a prefix missing from the curie_map; "
                             "add it to the metadata") from None
        if str(p).removeprefix(str(SKOS)) not in PREDICATES or not str(p).startswith(str(SKOS)):
            raise InputError(f"{where}: predicate_id {row['predicate_id']} is not a SKOS "
                             "mapping type (exactMatch, closeMatch, broadMatch, narrowMatch, "
                             "relatedMatch)")
        for column, term in (("subject_id", s), ("object_id", o)):
            if term not in concepts:
                raise InputError(f"{where}: {column} {row[column]} is in no loaded scheme "
                                 "(ontology/iso42001.ttl, ontology/frameworks/*.ttl)")
        g.add((s, p, o))
        axiom = URIRef(f"{set_id}/m-" + hashlib.sha1(f"{s} {p} {o}".encode()).hexdigest()[:16])
        g.add((axiom, RDF.type, OWL.Axiom))
        g.add((axiom, OWL.annotatedSource, s))
        g.add((axiom, OWL.annotatedProperty, p))
        g.add((axiom, OWL.annotatedTarget, o))
        g.add((axiom, DCTERMS.isPartOf, set_id))
        justification = str(row.get("mapping_justification") or "")
        if justification:
            g.add((axiom, SSSOM.mapping_justification,
                   URIRef(msdf.converter.expand(justification) or justification)))
        for key, prop in (("mapping_source", SSSOM.mapping_source),
                          ("author_label", SSSOM.author_label),
                          ("creator_label", SSSOM.creator_label),
                          ("comment", RDFS.comment)):
            value = row.get(key)
            if value is not None and str(value) not in ("", "nan"):
                g.add((axiom, prop, Literal(str(value))))
    return g, len(records)


@cache
def framework_graph() -> tuple[Graph, dict[str, int]]:
    """The schemes and every mapping set as one graph, with the mapping count per file."""
    base = folder()
    graph = Graph()
    for path in sorted(base.glob("*.ttl")):
        graph.parse(path, format="turtle")
    concepts = {c for c in graph.subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef)}
    concepts |= {c for c in resources.ontology().subjects(RDF.type, SKOS.Concept)
                 if isinstance(c, URIRef)}
    counts: dict[str, int] = {}
    for path in sorted((base / "mappings").glob("*.sssom.tsv")):
        g, n = _mapping_graph(path, concepts)
        graph += g
        counts[path.name] = n
    return graph, counts


def load(store: Store) -> dict[str, int]:
    """Replace the frameworks graph of the store with the schemes and mappings; the counts."""
    graph, counts = framework_graph()
    data = graph.serialize(format="nt", encoding="utf-8")
    store.drop_graph(GRAPH)
    store.load(data, format="nt", graph=GRAPH)
    return {"triples": len(graph), **counts}


def loaded(store: Store) -> bool:
    return GRAPH in store.graphs()


def counts(store: Store) -> list[dict[str, Any]]:
    """Mappings per set, framework, type and justification (queries/crosswalk-counts.rq)."""
    return queries.result_dicts(queries.run(store, "crosswalk-counts"))


# --- coverage ------------------------------------------------------------------------------------


@dataclass
class Mapping:
    iso: str
    iso_notation: str
    predicate: str  # exactMatch ...
    mapping_set: str
    set_title: str
    justification: str
    source: str
    comment: str
    iso_status: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"iso": self.iso_notation, "iso_iri": self.iso,
                "predicate": f"skos:{self.predicate}",
                "effect": _COVERS[self.predicate], "iso_status": self.iso_status,
                "mapping_set": self.mapping_set, "set_title": self.set_title,
                "justification": self.justification, "source": self.source,
                "comment": self.comment}


@dataclass
class Requirement:
    iri: str
    notation: str
    label: str
    definition: str
    mappings: list[Mapping] = field(default_factory=list)
    status: str = "not mapped"
    findings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"requirement": self.notation, "iri": self.iri, "label": self.label,
                "definition": self.definition, "status": self.status,
                "mappings": [m.to_dict() for m in self.mappings], "findings": self.findings}


@dataclass
class Coverage:
    framework: Framework
    as_of: date
    requirements: list[Requirement]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.status for r in self.requirements)
        return {"requirements": len(self.requirements),
                **{status: found.get(status, 0) for status in _RANK}}

    @property
    def has_gaps(self) -> bool:
        return any(r.status == "gap" for r in self.requirements)

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework.name, "title": self.framework.title,
                "as_of": self.as_of.isoformat(), "counts": self.counts,
                "requirements": [r.to_dict() for r in self.requirements]}

    def rows(self) -> list[list[Any]]:
        return [[r.notation, r.definition if r.label == r.notation and r.definition else r.label,
                 r.status,
                 "; ".join(f"{m.iso_notation} {m.predicate} ({m.iso_status})"
                           for m in r.mappings),
                 ", ".join(sorted({f["rule"] for f in r.findings}))]
                for r in self.requirements]


COLUMNS = ["requirement", "label", "status", "mapped_to", "findings"]


def iso_states(store: Store, verdict: Assessment) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Per ISO/IEC 42001 concept IRI: its state and the open findings that concern it."""
    from mapper.frameworks import soa

    states: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    by_notation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i, f in enumerate(verdict.findings):
        for clause in f.clause:
            by_notation[clause].append({"rule": f.rule, "severity": f.severity,
                                        "message": f.message, "owner": verdict.person(i)})
    for line in soa.build(store, as_of=verdict.as_of, assessment=verdict).lines:
        if line.decision == "applicable":
            state = "gap" if line.status == "fail" else "implemented"
        else:
            state = line.decision
        own = [{"rule": f.rule, "severity": f.severity, "message": f.message,
                "owner": f.owner} for f in line.findings]
        states[line.control] = (state, own + [x for x in by_notation.get(line.notation, [])
                                              if x not in own])
    evidence = {r["clause"]: int(r["records"] or 0)
                for r in queries.result_dicts(queries.run(store, "evidence-by-clause"))}
    clause_status = {c["clause"]: c["status"] for c in verdict.clauses}
    for iri, records in evidence.items():
        if iri in states:
            continue
        notation = iri.rsplit("clause-", 1)[-1]
        status = clause_status.get(notation)
        if status is None:
            state = "evidenced" if records else "no evidence"
        else:
            state = "gap" if status == "fail" else "implemented"
        states[iri] = (state, by_notation.get(notation, []))
    return states


def coverage(store: Store, name: str, *, as_of: date) -> Coverage:
    """The coverage of a framework's requirements through the mappings, as of a date."""
    fw = framework(name)
    if not loaded(store):
        raise NotFound("the store holds no framework mappings; run `aims frameworks load`")
    verdict = assess(store, as_of=as_of)
    states = iso_states(store, verdict)
    requirements: dict[str, Requirement] = {}
    for r in queries.result_dicts(queries.run(store, "framework-mappings",
                                              {"scheme": fw.scheme})):
        req = requirements.setdefault(r["requirement"], Requirement(
            r["requirement"], r["notation"] or "", r["label"] or "", r["definition"] or ""))
        if not r["iso"]:
            continue
        predicate = str(r["predicate"]).rsplit("#", 1)[-1]
        state, _ = states.get(r["iso"], ("no evidence", []))
        req.mappings.append(Mapping(
            iso=r["iso"], iso_notation=r["iso_notation"] or r["iso"], predicate=predicate,
            mapping_set=r["mapping_set"] or "", set_title=r["set_title"] or "",
            justification=(r["justification"] or "").rsplit("/", 1)[-1],
            source=r["source"] or "", comment=r["comment"] or "", iso_status=state))
    for req in requirements.values():
        req.mappings.sort(key=lambda m: (PREDICATES.index(m.predicate), m.iso_notation))
        if not req.mappings:
            continue
        reached = [_COVERS[m.predicate] for m in req.mappings if m.iso_status in _HAS]
        req.status = min(reached, key=_RANK.__getitem__) if reached else "gap"
        seen: set[tuple[str, str]] = set()
        for m in req.mappings:
            for f in states.get(m.iso, ("", []))[1]:
                key = (f["rule"], f["message"])
                if key not in seen:
                    seen.add(key)
                    req.findings.append({**f, "via": m.iso_notation})
    ordered = sorted(requirements.values(), key=lambda r: _order(r.notation))
    return Coverage(fw, as_of, ordered)


def _order(notation: str) -> tuple[Any, ...]:
    head, _, tail = notation.replace("Art. ", "Art ").partition(" ")
    numbers = []
    for part in tail.split("."):
        numbers.append(int(part) if part.isdigit() else _roman(part))
    functions = ["GOVERN", "MAP", "MEASURE", "MANAGE", "Art", "Annex"]
    return (functions.index(head) if head in functions else 9, numbers)


def _roman(text_: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
    total = 0
    for i, ch in enumerate(text_):
        v = values.get(ch, 0)
        total += -v if i + 1 < len(text_) and values.get(text_[i + 1], 0) > v else v
    return total


def requirements_of(store: Store, iso_notations: list[str]) -> list[dict[str, str]]:
    """The requirements of other frameworks mapped to these ISO/IEC 42001 notations (for
    findings and traces): framework, requirement, mapping type."""
    if not loaded(store) or not iso_notations:
        return []
    out = []
    for fw in FRAMEWORKS.values():
        for r in queries.result_dicts(queries.run(store, "framework-mappings",
                                                  {"scheme": fw.scheme})):
            if r["iso"] and (r["iso_notation"] or "") in iso_notations:
                out.append({"framework": fw.name, "requirement": r["notation"],
                            "iso": r["iso_notation"],
                            "predicate": "skos:" + str(r["predicate"]).rsplit("#", 1)[-1]})
    return out


__all__ = ["FRAMEWORKS", "GRAPH", "Coverage", "coverage", "counts", "framework", "load",
           "loaded", "requirements_of", "text"]
