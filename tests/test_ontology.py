"""The model (ontology/) is complete, its catalogue matches ISO/IEC 42001:2023, its alignments
use only checked external terms, and the shapes and queries use only terms it declares."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib import namespace as rns
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, ORG, PROV, SKOS
from rdflib.term import Node

from mapper import resources

AIMS = "https://aims-graph.org/ns#"
ISO = "https://aims-graph.org/iso42001#"
SCHEME = URIRef(ISO + "ISO42001")
SH = "http://www.w3.org/ns/shacl#"

ONTOLOGY_DIR = resources.data_dir("ontology")


def words(text: str) -> list[str]:
    return text.split()


CLAUSES = words("""
4 4.1 4.2 4.3 4.4 5 5.1 5.2 5.3 6 6.1 6.1.1 6.1.2 6.1.3 6.1.4 6.2 6.3
7 7.1 7.2 7.3 7.4 7.5 7.5.1 7.5.2 7.5.3 8 8.1 8.2 8.3 8.4
9 9.1 9.2 9.2.1 9.2.2 9.3 9.3.1 9.3.2 9.3.3 10 10.1 10.2
""")

CONTROLS = words("""
A.2.2 A.2.3 A.2.4 A.3.2 A.3.3 A.4.2 A.4.3 A.4.4 A.4.5 A.4.6 A.5.2 A.5.3 A.5.4 A.5.5
A.6.1.2 A.6.1.3 A.6.2.2 A.6.2.3 A.6.2.4 A.6.2.5 A.6.2.6 A.6.2.7 A.6.2.8
A.7.2 A.7.3 A.7.4 A.7.5 A.7.6 A.8.2 A.8.3 A.8.4 A.8.5 A.9.2 A.9.3 A.9.4 A.10.2 A.10.3 A.10.4
""")

GROUPS = words("A.2 A.3 A.4 A.5 A.6 A.6.1 A.6.2 A.7 A.8 A.9 A.10")

MINIMUM_PROCESSES = words("""
IntakeAndInventory RiskAndImpactAssessment DataAndDesignControls BuildBuyGovernance
ChangeAndReleaseManagement MonitoringAndPerformanceReview IncidentManagement
CorrectiveActionAndImprovement TrainingAndCompetency RecordsAndDocumentControl
""")

# Every external IRI alignments.ttl may use: each was checked against the vocabulary's published
# Turtle with the search tool (where: see the comment at the top of ontology/alignments.ttl).
CHECKED_EXTERNAL = {
    # PROV-O (w3c/ns prov-o.ttl)
    "http://www.w3.org/ns/prov#Agent", "http://www.w3.org/ns/prov#Person",
    "http://www.w3.org/ns/prov#Organization", "http://www.w3.org/ns/prov#Entity",
    "http://www.w3.org/ns/prov#wasAttributedTo", "http://www.w3.org/ns/prov#wasRevisionOf",
    # W3C ORG (w3c/ns org.ttl)
    "http://www.w3.org/ns/org#FormalOrganization", "http://www.w3.org/ns/org#OrganizationalUnit",
    "http://www.w3.org/ns/org#Role", "http://www.w3.org/ns/org#Post",
    "http://www.w3.org/ns/org#memberOf", "http://www.w3.org/ns/org#subOrganizationOf",
    "http://www.w3.org/ns/org#holds", "http://www.w3.org/ns/org#headOf",
    # DCTERMS
    "http://purl.org/dc/terms/creator", "http://purl.org/dc/terms/replaces",
    "http://purl.org/dc/terms/identifier", "http://purl.org/dc/terms/description",
    "http://purl.org/dc/terms/date", "http://purl.org/dc/terms/dateAccepted",
    "http://purl.org/dc/terms/conformsTo",
    # DPV 2.1 (w3c/dpv 2.1/dpv/modules/*)
    "https://w3id.org/dpv#Entity", "https://w3id.org/dpv#NaturalPerson",
    "https://w3id.org/dpv#Organisation", "https://w3id.org/dpv#OrganisationalUnit",
    "https://w3id.org/dpv#LegalEntity", "https://w3id.org/dpv#ThirdParty",
    "https://w3id.org/dpv#RecordsOfActivities", "https://w3id.org/dpv#Policy",
    "https://w3id.org/dpv#Standard", "https://w3id.org/dpv#Audit",
    "https://w3id.org/dpv#ReviewProcedure", "https://w3id.org/dpv#StaffTraining",
    "https://w3id.org/dpv#MonitoringPolicy", "https://w3id.org/dpv#hasParty",
    "https://w3id.org/dpv#hasResponsibleEntity", "https://w3id.org/dpv#ApprovalProcedure",
    "https://w3id.org/dpv#IncidentManagementProcedures", "https://w3id.org/dpv#RiskAssessment",
    "https://w3id.org/dpv#ImpactAssessment", "https://w3id.org/dpv#RiskLevel",
    "https://w3id.org/dpv#hasRiskLevel", "https://w3id.org/dpv#Severity",
    "https://w3id.org/dpv#hasSeverity",
    # DPV AI / RISK / TECH extensions (w3c/dpv 2.1/ai, 2.1/risk, 2.1/tech)
    "https://w3id.org/dpv/ai#AISystem",
    "https://w3id.org/dpv/risk#HighRisk", "https://w3id.org/dpv/risk#VeryHighSeverity",
    "https://w3id.org/dpv/risk#HighSeverity", "https://w3id.org/dpv/risk#ModerateSeverity",
    "https://w3id.org/dpv/risk#LowSeverity",
    "https://w3id.org/dpv/tech#Supplier", "https://w3id.org/dpv/tech#hasSupplier",
    "https://w3id.org/dpv/tech#hasOwner",
    # AIRO 1.0 (DelaramGlp/airo airo.owl)
    "https://w3id.org/airo#AISystem", "https://w3id.org/airo#AIProvider",
    "https://w3id.org/airo#AILifecyclePhase", "https://w3id.org/airo#hasLifecyclePhase",
    "https://w3id.org/airo#isProvidedBy", "https://w3id.org/airo#RiskControl",
    "https://w3id.org/airo#Documentation", "https://w3id.org/airo#Severity",
}

MAPPING_PREDICATES = {RDFS.subClassOf, RDFS.subPropertyOf, SKOS.exactMatch, SKOS.closeMatch}
PROPERTY_TYPES = {OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}

# Properties whose values deliberately span unrelated classes (a role OR a person; any subject).
OPEN_RANGE = {"assignee", "escalatesTo", "decisionSubject"}

# Namespaces a shape may use besides aims:/iso: (standard vocabularies, not ours to declare).
STANDARD_NAMESPACES = (
    str(RDF), str(RDFS), str(OWL), str(rns.XSD), str(SKOS), str(DCTERMS), str(PROV), str(ORG), SH,
)


@cache
def onto() -> Graph:
    return resources.ontology()


@cache
def file_graph(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


def aims_terms(*types: URIRef) -> list[URIRef]:
    found = {
        s for t in types for s in onto().subjects(RDF.type, t)
        if isinstance(s, URIRef) and str(s).startswith(AIMS)
    }
    return sorted(found, key=str)


def declared(iri: URIRef) -> bool:
    return (iri, RDF.type, None) in onto()


def local(iri: Node) -> str:
    return str(iri).rsplit("#", 1)[-1]


# --- the model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term", aims_terms(OWL.Class, *PROPERTY_TYPES), ids=lambda t: local(t)
)
def test_every_class_and_property_has_label_and_definition(term: URIRef) -> None:
    assert onto().value(term, RDFS.label), f"{local(term)} has no rdfs:label"
    assert onto().value(term, SKOS.definition), f"{local(term)} has no skos:definition"


def test_every_named_individual_has_label_and_definition() -> None:
    classes = set(aims_terms(OWL.Class))
    missing = [
        local(s) for s, cls in onto().subject_objects(RDF.type)
        if cls in classes and str(s).startswith(AIMS)
        and not (onto().value(s, RDFS.label) and onto().value(s, SKOS.definition))
    ]
    assert not missing, f"individuals without label/definition: {missing}"


def test_properties_have_ranges_and_declared_domains() -> None:
    problems = []
    for prop in aims_terms(OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        ranges = list(onto().objects(prop, RDFS.range))
        if not ranges and local(prop) not in OPEN_RANGE:
            problems.append(f"{local(prop)}: no rdfs:range")
        for cls in list(onto().objects(prop, RDFS.domain)) + ranges:
            if str(cls).startswith(AIMS) and not declared(URIRef(str(cls))):
                problems.append(f"{local(prop)}: domain/range {local(cls)} is not declared")
        if (prop, RDF.type, OWL.DatatypeProperty) in onto():
            bad = [r for r in ranges if not str(r).startswith(str(rns.XSD)) and r != RDFS.Literal]
            if bad:
                problems.append(f"{local(prop)}: datatype property with class range {bad}")
        if (prop, RDF.type, OWL.ObjectProperty) in onto():
            bad = [r for r in ranges if str(r).startswith(str(rns.XSD))]
            if bad:
                problems.append(f"{local(prop)}: object property with datatype range {bad}")
    assert not problems, "\n".join(problems)


def test_date_properties_are_xsd_date() -> None:
    dates = [
        p for p in aims_terms(OWL.DatatypeProperty)
        if local(p).endswith("Date") or local(p) in {"activeFrom", "asOf"}
    ]
    assert len(dates) >= 10
    wrong = {local(p): list(onto().objects(p, RDFS.range)) for p in dates
             if list(onto().objects(p, RDFS.range)) != [rns.XSD.date]}
    assert not wrong, f"date properties without range xsd:date: {wrong}"
    for p in aims_terms(OWL.DatatypeProperty):
        for r in onto().objects(p, RDFS.range):
            assert r != rns.XSD.dateTime or local(p) not in dates, local(p)


def test_model_node_types_exist() -> None:
    needed = words("""Organisation OrgUnit Person Role ScopeStatement ScopeExclusion Process
        ProcessInteraction ResponsibilityAssignment AISystem InternalAISystem ThirdPartyAISystem
        ThirdParty DueDiligence Control Gate Record Evidence IntakeRecord RiskClassification
        ImpactAssessment ReleaseApproval MonitoringPlan MonitoringReview MonitoringAlert Incident
        CorrectiveAction Exception ManagementReview TrainingRecord Document Policy Standard
        Procedure GovernanceCommittee DecisionLog Decision""")
    missing = [n for n in needed if (URIRef(AIMS + n), RDF.type, OWL.Class) not in onto()]
    assert not missing


def test_minimum_processes_exist_and_serve_clauses() -> None:
    found = {local(s) for s in onto().subjects(RDF.type, URIRef(AIMS + "MinimumProcess"))}
    assert found == set(MINIMUM_PROCESSES)
    for name in MINIMUM_PROCESSES:
        served = list(onto().objects(URIRef(AIMS + name), URIRef(AIMS + "servesClause")))
        assert served, f"{name} serves no clause"
        for concept in served:
            assert (concept, RDF.type, SKOS.Concept) in onto(), f"{name}: {concept} unknown"


def test_lifecycle_chain_and_improvement_loop() -> None:
    nxt = URIRef(AIMS + "lifecycleNext")
    chain = ["IntakeAndInventory"]
    while True:
        following = list(onto().objects(URIRef(AIMS + chain[-1]), nxt))
        if not following:
            break
        assert len(following) == 1 and local(following[0]) not in chain
        chain.append(local(following[0]))
    assert chain == ["IntakeAndInventory", "RiskAndImpactAssessment", "BuildBuyGovernance",
                     "ChangeAndReleaseManagement", "MonitoringAndPerformanceReview",
                     "CorrectiveActionAndImprovement"]
    loop = set(onto().objects(URIRef(AIMS + "CorrectiveActionAndImprovement"),
                              URIRef(AIMS + "feedsBackTo")))
    assert URIRef(AIMS + "IntakeAndInventory") in loop


def test_no_owl_imports() -> None:
    assert not list(onto().triples((None, OWL.imports, None)))


# --- the ISO/IEC 42001 catalogue -------------------------------------------------------------


def concepts() -> dict[str, URIRef]:
    return {
        str(onto().value(c, SKOS.notation)): c
        for c in onto().subjects(RDF.type, SKOS.Concept)
        if str(c).startswith(ISO)
    }


def test_catalogue_has_the_clauses() -> None:
    clauses = {n for n in concepts() if not n.startswith("A.")}
    assert clauses == set(CLAUSES)


def test_catalogue_has_exactly_38_controls() -> None:
    graph = onto()
    with_children = {o for o in graph.objects(None, SKOS.broader)}
    controls = [n for n, c in concepts().items()
                if n.startswith("A.") and c not in with_children]
    pattern = re.compile(r"^A\.(\d+\.\d+|6\.[12]\.\d+)$")
    assert all(pattern.match(n) for n in controls), controls
    assert len(controls) == 38
    assert sorted(controls) == sorted(CONTROLS)
    members = set(graph.objects(URIRef(ISO + "AnnexAControls"), SKOS.member))
    assert {concepts()[n] for n in CONTROLS} == members
    groups = {n for n, c in concepts().items() if n.startswith("A.") and c in with_children}
    assert groups == set(GROUPS)


@pytest.mark.parametrize("notation", CLAUSES + GROUPS + CONTROLS)
def test_catalogue_concept_shape(notation: str) -> None:
    graph = onto()
    iri = URIRef(ISO + (notation if notation.startswith("A.") else f"clause-{notation}"))
    assert (iri, RDF.type, SKOS.Concept) in graph
    assert str(graph.value(iri, SKOS.notation)) == notation
    labels = list(graph.objects(iri, SKOS.prefLabel))
    assert len(labels) == 1 and 0 < len(str(labels[0])) <= 80
    assert (iri, SKOS.inScheme, SCHEME) in graph
    parent = notation.rsplit(".", 1)[0]
    if parent in ("A",) or "." not in notation:
        assert (iri, SKOS.topConceptOf, SCHEME) in graph
        assert (SCHEME, SKOS.hasTopConcept, iri) in graph
        assert graph.value(iri, SKOS.broader) is None
    else:
        expected = URIRef(ISO + (parent if parent.startswith("A.") else f"clause-{parent}"))
        assert list(graph.objects(iri, SKOS.broader)) == [expected]


def test_catalogue_short_titles() -> None:
    titles = {n: str(onto().value(c, SKOS.prefLabel)) for n, c in concepts().items()}
    assert titles["4.4"] == "AI management system"
    assert titles["6.1.4"] == "AI system impact assessment"
    assert titles["A.6.2.5"] == "AI system deployment"
    assert titles["A.10.3"] == "Suppliers"


def iso_iris(graph: Graph) -> Iterator[URIRef]:
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef) and str(term).startswith(ISO):
                yield term


def test_every_iso_iri_in_ontology_exists() -> None:
    known = set(onto().subjects(RDF.type, None))
    for path in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        unknown = {str(i) for i in iso_iris(file_graph(path)) if i not in known}
        assert not unknown, f"{path.name} uses catalogue IRIs that do not exist: {unknown}"


# --- alignments -------------------------------------------------------------------------------


def test_alignments_use_only_checked_external_terms() -> None:
    graph = file_graph(ONTOLOGY_DIR / "alignments.ttl")
    external: set[str] = set()
    for s, p, o in graph:
        if p == RDF.type and o == OWL.Ontology:
            continue
        if p in (RDFS.label, RDFS.comment):
            continue
        assert p in MAPPING_PREDICATES, f"unexpected predicate {p}"
        assert isinstance(s, URIRef) and str(s).startswith(AIMS), s
        assert declared(s), f"alignments.ttl maps {local(s)}, which aims.ttl does not declare"
        assert isinstance(o, URIRef) and not str(o).startswith((AIMS, ISO)), (s, p, o)
        if p == RDFS.subClassOf:
            assert (s, RDF.type, OWL.Class) in onto(), f"{local(s)} is not a class"
        if p == RDFS.subPropertyOf:
            assert any((s, RDF.type, t) in onto() for t in PROPERTY_TYPES), local(s)
        external.add(str(o))
    unchecked = external - CHECKED_EXTERNAL
    assert not unchecked, f"alignments.ttl uses unchecked external IRIs: {sorted(unchecked)}"
    # every vocabulary the design names is aligned to
    for ns in ("http://www.w3.org/ns/prov#", "http://www.w3.org/ns/org#",
               "http://purl.org/dc/terms/", "https://w3id.org/dpv#", "https://w3id.org/dpv/ai#",
               "https://w3id.org/dpv/risk#", "https://w3id.org/dpv/tech#",
               "https://w3id.org/airo#"):
        assert any(e.startswith(ns) for e in external), f"nothing aligned to {ns}"


def test_checked_w3c_terms_exist_in_rdflib_closed_namespaces() -> None:
    # A second, offline check for PROV-O, ORG and DCTERMS: rdflib generates these closed
    # namespaces from the published vocabularies, and a missing term raises AttributeError.
    for iri in CHECKED_EXTERNAL:
        for ns in (PROV, ORG, DCTERMS):
            if iri.startswith(str(ns)):
                getattr(ns, iri[len(str(ns)):])


# --- shapes and queries agree with the ontology ----------------------------------------------

SHAPE_FILES = sorted(resources.data_dir("shapes").glob("*.ttl"))
QUERY_FILES = resources.query_files()
TOKEN = re.compile(r"(?<![\w/#:.-])(aims|iso):([A-Za-z_][\w.-]*[\w])")
FULL_IRI = re.compile(r"<(https://aims-graph\.org/(?:ns|iso42001)#[^>]+)>")


def path_properties(graph: Graph, path: Node) -> Iterator[Node]:
    """Every property IRI inside a SHACL property path."""
    if isinstance(path, URIRef):
        yield path
        return
    if not isinstance(path, BNode):
        return
    if (path, RDF.first, None) in graph:
        for item in Collection(graph, path):
            yield from path_properties(graph, item)
        return
    for key in ("inversePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath"):
        for inner in graph.objects(path, URIRef(SH + key)):
            yield from path_properties(graph, inner)
    for alternatives in graph.objects(path, URIRef(SH + "alternativePath")):
        yield from path_properties(graph, alternatives)


def term_known(iri: str) -> bool:
    if iri.startswith((AIMS, ISO)):
        return declared(URIRef(iri))
    return iri.startswith(STANDARD_NAMESPACES)


def tokens_in(text: str) -> set[str]:
    found = {(AIMS if p == "aims" else ISO) + name for p, name in TOKEN.findall(text)}
    found |= set(FULL_IRI.findall(text))
    return found


@pytest.mark.parametrize("path", SHAPE_FILES, ids=lambda p: p.name)
def test_shapes_use_declared_classes_and_paths(path: Path) -> None:
    graph = file_graph(path)
    problems = []
    for key in ("targetClass", "class"):
        for cls in graph.objects(None, URIRef(SH + key)):
            if not ((cls, RDF.type, OWL.Class) in onto() or not str(cls).startswith(AIMS)):
                problems.append(f"sh:{key} {local(cls)} is not a class of ontology/")
            if not term_known(str(cls)):
                problems.append(f"sh:{key} {cls} is unknown")
    for key in ("targetSubjectsOf", "targetObjectsOf"):
        for prop in graph.objects(None, URIRef(SH + key)):
            if not term_known(str(prop)):
                problems.append(f"sh:{key} {local(prop)} is not declared in ontology/")
    for shape_path in graph.objects(None, URIRef(SH + "path")):
        for prop in path_properties(graph, shape_path):
            if not term_known(str(prop)):
                problems.append(f"sh:path uses {local(prop)}, not declared in ontology/")
            elif str(prop).startswith(AIMS) and not any(
                (prop, RDF.type, t) in onto() for t in PROPERTY_TYPES
            ):
                problems.append(f"sh:path uses {local(prop)}, which is not a property")
    for s, p, o in graph:
        for term in (s, p, o):
            if isinstance(term, URIRef) and str(term).startswith((AIMS, ISO)) \
                    and not declared(term):
                problems.append(f"{term} is not declared in ontology/")
            if isinstance(term, Literal):
                for iri in tokens_in(str(term)):
                    if not declared(URIRef(iri)):
                        problems.append(f"a SPARQL/message string uses {iri}, not declared")
    assert not problems, f"{path.name}:\n" + "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_queries_use_declared_terms(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    unknown = sorted(iri for iri in tokens_in(text) if not declared(URIRef(iri)))
    assert not unknown, f"{path.name} uses terms ontology/ does not declare: {unknown}"


def test_shape_checker_catches_an_undeclared_path(tmp_path: Path) -> None:
    # the agreement test must be able to fail: a shape with a misspelled path and class
    bad = tmp_path / "bad.shapes.ttl"
    bad.write_text("""
        @prefix aims: <https://aims-graph.org/ns#> . @prefix sh: <http://www.w3.org/ns/shacl#> .
        <urn:s> a sh:NodeShape ; sh:targetClass aims:AISystm ;
          sh:property [ sh:path ( aims:businessOwner [ sh:inversePath aims:holdRole ] ) ] ;
          sh:sparql [ sh:select "SELECT $this WHERE { $this aims:concernSystem ?x }" ] .
    """, encoding="utf-8")
    with pytest.raises(AssertionError) as failure:
        test_shapes_use_declared_classes_and_paths(bad)
    message = str(failure.value)
    assert "AISystm" in message and "holdRole" in message and "concernSystem" in message
