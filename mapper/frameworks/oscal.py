"""OSCAL out and in, through compliance-trestle's OSCAL models (never a hand-written schema).

- `assessment_results(store, as_of)`: the assessment as OSCAL assessment results: one result
  whose period is the as-of date; every finding of the report becomes an OSCAL finding (target:
  the ISO/IEC 42001 clause or control, state not-satisfied) with one observation (the rule's
  message, method TEST: the rules are automated tests of the graph); every evidence file of the
  store becomes a back-matter resource with its location and SHA-256 hash, and an observation
  links the evidence of the node it concerns.
- `poam(store, as_of)`: a plan of action and milestones: one item per open corrective action
  (owner, due date as the risk deadline) and one per open finding (owner: the person the
  assessment routes it to; no due date until a corrective action sets one).
- `read_catalog(path)`: an OSCAL catalog (JSON, YAML or XML-free JSON) as a SKOS concept scheme
  (groups and controls, enhancements as narrower concepts), ready to load as a framework.

UUIDs are version-5 UUIDs of stable keys, so exporting the same store twice gives the same
document except for `last-modified`.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from rdflib import DCTERMS, RDF, SKOS, Graph, Literal, Namespace, URIRef

from mapper.errors import InputError
from mapper.questions import queries
from mapper.questions.queries import text
from mapper.rules.assessment import Assessment, assess
from mapper.store import Store

NS = "https://aims-graph.org/ns/oscal"
"""The namespace of the AIMS Graph properties (props) in the OSCAL documents."""

_ROOT = uuid.UUID("6f0d3c8e-3d0b-5b6f-9a53-6a1c2b3e4d5f")



def _module(name: str) -> Any:
    """A trestle module, typed loosely: its pydantic models take enum values as strings."""
    import importlib

    return importlib.import_module(name)


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_ROOT, "|".join(str(p) for p in parts)))


def _stamp(day: date, end: bool = False) -> datetime:
    return datetime.combine(day, time(23, 59, 59) if end else time(0, 0), tzinfo=UTC)


def _token(notation: str) -> str:
    """A clause notation as an OSCAL token: 'A.6.2.5' stays, '8.1' -> 'clause-8.1'."""
    return notation if notation[:1].isalpha() else f"clause-{notation}"


def _metadata(title: str, as_of: date, parties: dict[str, str]) -> Any:
    _m = _module("trestle.oscal")
    OSCAL_VERSION = _m.OSCAL_VERSION
    _m = _module("trestle.oscal.common")
    Metadata = _m.Metadata
    Parties = _m.Parties
    Role = _m.Role

    return Metadata(
        title=title, last_modified=datetime.now(UTC).replace(microsecond=0),
        version=f"as-of-{as_of.isoformat()}", oscal_version=OSCAL_VERSION,
        roles=[Role(id="owner", title="Person responsible for the finding or action")],
        parties=[Parties(uuid=uid, type="person", name=name)
                 for name, uid in sorted(parties.items())] or None)


def _evidence(store: Store) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    files: dict[str, dict[str, str]] = {}
    held: dict[str, list[str]] = {}
    for r in queries.run(store, "evidence-files").dicts():
        iri = str(r["evidence"])
        files.setdefault(iri, {"label": text(r["label"]), "location": text(r["location"]),
                               "hash": text(r["hash"]), "date": text(r["date"])})
        if r["holder"] is not None:
            held.setdefault(str(r["holder"]), []).append(iri)
    return files, held


def assessment_results(store: Store, *, as_of: date,
                       verdict: Assessment | None = None) -> Any:
    """The assessment as an OSCAL AssessmentResults model (trestle)."""
    _m = _module("trestle.oscal.assessment_results")
    AssessmentResults = _m.AssessmentResults
    ImportAp = _m.ImportAp
    Result = _m.Result
    _m = _module("trestle.oscal.common")
    BackMatter = _m.BackMatter
    ControlSelection = _m.ControlSelection
    Finding = _m.Finding
    FindingTarget = _m.FindingTarget
    Hash = _m.Hash
    IncludeAll = _m.IncludeAll
    ObjectiveStatus = _m.ObjectiveStatus
    Observation = _m.Observation
    Property = _m.Property
    RelatedObservation = _m.RelatedObservation
    RelevantEvidence = _m.RelevantEvidence
    Resource = _m.Resource
    ReviewedControls = _m.ReviewedControls
    Rlink = _m.Rlink

    verdict = verdict or assess(store, as_of=as_of)
    files, held = _evidence(store)
    resources = []
    for iri, file in sorted(files.items()):
        rlinks = None
        if file["location"]:
            rlinks = [Rlink(href=file["location"], hashes=[
                Hash(algorithm="SHA-256", value=file["hash"])] if file["hash"] else None)]
        resources.append(Resource(
            uuid=_uuid("evidence", iri), title=file["label"] or iri, rlinks=rlinks,
            props=[Property(name="aims-iri", ns=NS, value=iri)]
            + ([Property(name="record-date", ns=NS, value=file["date"])] if file["date"]
               else [])))
    parties: dict[str, str] = {}
    observations, findings = [], []
    for i, f in enumerate(verdict.findings):
        key = (f.rule, f.focus, f.value or "", f.path or "")
        obs_uuid = _uuid("observation", *key)
        evidence = [RelevantEvidence(href=f"#{_uuid('evidence', e)}",
                                     description=files[e]["label"] or e)
                    for e in sorted(set(held.get(f.focus, [])))]
        observations.append(Observation(
            uuid=obs_uuid, title=f"{f.rule}: {f.focus_label}", description=f.message,
            methods=["TEST"], collected=_stamp(as_of),
            relevant_evidence=evidence or None,
            props=[Property(name="focus", ns=NS, value=f.focus)]))
        person = verdict.person(i)
        props = [Property(name="rule", ns=NS, value=f.rule),
                 Property(name="severity", ns=NS, value=f.severity.lower()),
                 Property(name="responsible-person", ns=NS, value=person)]
        if verdict.routes.get(i) is not None:
            parties.setdefault(person, _uuid("party", person))
        target = _token(f.clause[0]) if f.clause else "clause-4.4"
        findings.append(Finding(
            uuid=_uuid("finding", *key), title=f"{f.rule} {f.focus_label}",
            description=f.message, props=props,
            target=FindingTarget(type="objective-id", target_id=target,
                                 status=ObjectiveStatus(state="not-satisfied")),
            related_observations=[RelatedObservation(observation_uuid=obs_uuid)]))
    summary = verdict.summary
    result = Result(
        uuid=_uuid("result", as_of),
        title=f"ISO/IEC 42001 AIMS completeness rules as of {as_of.isoformat()}",
        description=(f"{summary['violations']} violations and {summary['warnings']} warnings "
                     f"of the AIMS Graph rules; {summary['systems_passing_all_gates']} of "
                     f"{summary['systems_in_scope']} in-scope AI systems passed all four "
                     "gates."),
        start=_stamp(as_of), end=_stamp(as_of, end=True),
        reviewed_controls=ReviewedControls(control_selections=[
            ControlSelection(include_all=IncludeAll())]),
        observations=observations or None, findings=findings or None,
        props=[Property(name="conforms", ns=NS, value=str(summary["conforms"]).lower())])
    return AssessmentResults(
        uuid=_uuid("assessment-results", as_of),
        metadata=_metadata(f"AIMS Graph assessment results as of {as_of.isoformat()}", as_of,
                           parties),
        import_ap=ImportAp(href="https://aims-graph.org/shapes",
                           remarks="The assessment plan is the AIMS Graph rule catalogue "
                                   "(shapes/), run as of the result's start date."),
        results=[result], back_matter=BackMatter(resources=resources) if resources else None)


def poam(store: Store, *, as_of: date, verdict: Assessment | None = None) -> Any:
    """Open corrective actions and open findings as an OSCAL PlanOfActionAndMilestones."""
    _m = _module("trestle.oscal.common")
    AssociatedRisk = _m.AssociatedRisk
    Finding = _m.Finding
    FindingTarget = _m.FindingTarget
    ObjectiveStatus = _m.ObjectiveStatus
    Origin = _m.Origin
    OriginActor = _m.OriginActor
    Property = _m.Property
    Risk = _m.Risk
    _m = _module("trestle.oscal.poam")
    Origination = _m.Origination
    PlanOfActionAndMilestones = _m.PlanOfActionAndMilestones
    PoamItem = _m.PoamItem
    RelatedFinding = _m.RelatedFinding

    verdict = verdict or assess(store, as_of=as_of)
    parties: dict[str, str] = {}
    items, risks, findings = [], [], []

    def actors(person: str) -> list[Any] | None:
        if not person or person == "(no one)":
            return None
        uid = parties.setdefault(person, _uuid("party", person))
        return [OriginActor(type="party", actor_uuid=uid, role_id="owner")]

    def origin(person: str) -> list[Any] | None:
        found = actors(person)
        return [Origin(actors=found)] if found else None

    def origination(person: str) -> list[Any] | None:
        found = actors(person)
        return [Origination(actors=found)] if found else None

    for r in queries.result_dicts(queries.run(store, "report-corrective-actions",
                                              {"as_of": as_of})):
        if (r["status"] or "").lower() != "open":
            continue
        due = r["due"]
        risk_uuid = _uuid("risk", r["action"])
        risks.append(Risk(
            uuid=risk_uuid, title=r["label"] or r["action"],
            description=f"Trigger: {r['trigger_label'] or 'not recorded'}.",
            statement=f"Root cause: {r['root_cause'] or 'not recorded'}.", status="open",
            deadline=_stamp(date.fromisoformat(str(due)), end=True) if due else None,
            origins=origin(r["owner_label"] or "")))
        props = [Property(name="kind", ns=NS, value="corrective-action"),
                 Property(name="aims-iri", ns=NS, value=r["action"])]
        if r["owner_label"]:
            props.append(Property(name="owner", ns=NS, value=r["owner_label"]))
        if due:
            props.append(Property(name="due-date", ns=NS, value=str(due)))
        items.append(PoamItem(
            uuid=_uuid("poam-item", r["action"]), title=r["label"] or r["action"],
            description=(f"Open corrective action {r['identifier'] or ''}, due "
                         f"{due or 'date not set'}" + (" (overdue)" if r["overdue"] else "")
                         ).replace("  ", " "),
            props=props, related_risks=[AssociatedRisk(risk_uuid=risk_uuid)],
            origins=origination(r["owner_label"] or "")))
    for i, f in enumerate(verdict.findings):
        key = (f.rule, f.focus, f.value or "", f.path or "")
        person = verdict.person(i)
        finding_uuid = _uuid("finding", *key)
        findings.append(Finding(
            uuid=finding_uuid, title=f"{f.rule} {f.focus_label}", description=f.message,
            target=FindingTarget(type="objective-id",
                                 target_id=_token(f.clause[0]) if f.clause else "clause-4.4",
                                 status=ObjectiveStatus(state="not-satisfied"))))
        items.append(PoamItem(
            uuid=_uuid("poam-item", *key), title=f"{f.rule} {f.focus_label}",
            description=f.message,
            props=[Property(name="kind", ns=NS, value="open-finding"),
                   Property(name="severity", ns=NS, value=f.severity.lower()),
                   Property(name="owner", ns=NS, value=person)],
            related_findings=[RelatedFinding(finding_uuid=finding_uuid)],
            origins=origination(person)))
    return PlanOfActionAndMilestones(
        uuid=_uuid("poam", as_of),
        metadata=_metadata(f"AIMS Graph plan of action and milestones as of "
                           f"{as_of.isoformat()}", as_of, parties),
        risks=risks or None, findings=findings or None, poam_items=items)


def write(model: Any, out: Path) -> Path:
    """An OSCAL model as JSON (trestle's serialisation, wrapped in its root key)."""
    try:
        model.oscal_write(out)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from None
    return out


# --- catalogs in ---------------------------------------------------------------------------------


def is_catalog(path: Path) -> bool:
    """True for a .json file whose top-level key is "catalog" (an OSCAL catalog)."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    return re.match(r'\s*\{\s*"catalog"\s*:', head) is not None


def read_catalog(path: Path) -> tuple[Graph, str]:
    """An OSCAL catalog file as a SKOS concept scheme; the scheme IRI."""
    _m = _module("trestle.oscal.catalog")
    Catalog = _m.Catalog

    try:
        catalog = Catalog.oscal_read(path)
    except Exception as exc:  # trestle raises pydantic and its own errors: name the file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a valid OSCAL catalog ({first})") from None
    if catalog is None:
        raise InputError(f"{path}: not found or empty")
    scheme_ns = Namespace(f"urn:uuid:{catalog.uuid}#")
    scheme = URIRef(f"urn:uuid:{catalog.uuid}")
    g = Graph()
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, SKOS.prefLabel, Literal(catalog.metadata.title)))
    g.add((scheme, DCTERMS.source, Literal(f"OSCAL catalog {path.name}, version "
                                           f"{catalog.metadata.version}")))

    def add(node: Any, parent: URIRef | None) -> None:
        concept = scheme_ns[node.id]
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.inScheme, scheme))
        g.add((concept, SKOS.notation, Literal(node.id)))
        g.add((concept, SKOS.prefLabel, Literal(node.title)))
        if parent is None:
            g.add((scheme, SKOS.hasTopConcept, concept))
        else:
            g.add((concept, SKOS.broader, parent))
        for child in (getattr(node, "groups", None) or []) + (
                getattr(node, "controls", None) or []):
            add(child, concept)

    for top in (catalog.groups or []) + (catalog.controls or []):
        add(top, None)
    return g, str(scheme)


def load_catalog(store: Store, path: Path) -> dict[str, Any]:
    """Read an OSCAL catalog and put it into its own store graph (replacing an earlier load)."""
    g, scheme = read_catalog(path)
    graph = f"urn:aims:graph:framework:{scheme.removeprefix('urn:uuid:')}"
    store.drop_graph(graph)
    store.load(g.serialize(format="nt", encoding="utf-8"), format="nt", graph=graph)
    concepts = sum(1 for _ in g.subjects(RDF.type, SKOS.Concept))
    return {"scheme": scheme, "graph": graph, "concepts": concepts,
            "title": str(g.value(URIRef(scheme), SKOS.prefLabel))}
