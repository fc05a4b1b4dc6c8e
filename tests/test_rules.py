"""The rule catalogue, case by case: one passing and one failing example per rule.

Each tests/rules/<RULE-ID>/{pass,fail}*.ttl is small data with a header stating what the rule
must report, in the spirit of the W3C SHACL test manifests (compared on rule, focus, severity):

    # as-of: 2026-06-30                       (optional; this date by default)
    # expect: GATE-03 ex:sys Violation        (one line per expected finding)
    # expect: no GATE-03 finding              (passing cases)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyshacl
import pytest
from rdflib import OWL, RDF, RDFS, SKOS, XSD, Graph, Literal, URIRef
from rdflib.namespace import SH

from mapper import resources
from mapper.rules.catalogue import rules
from mapper.rules.results import Report
from mapper.rules.validate import validate as _validate
from mapper.store import Store, open_store
from mapper.vocab import AIMS


def validate(store: Store, **options: Any) -> Report:
    """The reference engine (pyshacl): these tests pin the shapes' own semantics."""
    return _validate(store, engine="pyshacl", **options)


CASES_DIR = Path(__file__).parent / "rules"
DEFAULT_AS_OF = date(2026, 6, 30)
PREFIXES = {"ex": "https://example.org/t/", "aims": "https://aims-graph.org/ns#"}


@dataclass
class Case:
    path: Path
    rule: str
    as_of: date
    expected: set[tuple[str, str, str]]


def _expand(curie: str) -> str:
    prefix, _, local = curie.partition(":")
    return PREFIXES[prefix] + local if prefix in PREFIXES else curie.strip("<>")


def load_case(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    rule = path.parent.name
    as_of_match = re.search(r"^# as-of: (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    as_of = date.fromisoformat(as_of_match.group(1)) if as_of_match else DEFAULT_AS_OF
    expected = {
        (m.group(1), _expand(m.group(2)), m.group(3))
        for m in re.finditer(
            r"^# expect: (\S+) (\S+) (Violation|Warning|Info)$", text, re.MULTILINE
        )
    }
    is_pass = path.stem.startswith("pass")
    assert is_pass == (f"# expect: no {rule} finding" in text), f"{path}: header and name disagree"
    assert is_pass or expected, f"{path}: a failing case must state its expected findings"
    assert all(r == rule for r, _, _ in expected), f"{path}: expects another rule"
    return Case(path, rule, as_of, expected)


CASE_FILES = sorted(CASES_DIR.glob("*/*.ttl"))


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_rule_case(path: Path) -> None:
    case = load_case(path)
    store = open_store("memory")
    store.load(path.read_bytes(), format="turtle", graph="urn:test:case")  # type: ignore[attr-defined]
    report = validate(store, as_of=case.as_of, rules=[case.rule])
    found = {(f.rule, f.focus, f.severity) for f in report.findings}
    assert found == case.expected
    for finding in report.findings:
        assert "{" not in finding.message, finding.message  # every placeholder filled in


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    for rule in rules():
        names = {p.stem.split("-")[0] for p in (CASES_DIR / rule.id).glob("*.ttl")}
        assert {"pass", "fail"} <= names, f"{rule.id} needs pass.ttl and fail.ttl"


def test_issue_catalogue_is_complete() -> None:
    ids = {r.id for r in rules()}
    expected = {"SCOPE-01", "SCOPE-02", "SCOPE-03", "GOV-01", "THIRD-01", "THIRD-02", "DATE-01",
                "LINK-01"}
    expected |= {f"PROC-0{i}" for i in range(1, 8)} | {f"GATE-0{i}" for i in range(1, 10)}
    expected |= {f"IMP-0{i}" for i in range(1, 8)} | {f"MAINT-0{i}" for i in range(1, 5)}
    expected |= {f"SOA-0{i}" for i in range(1, 5)} | {f"INV-0{i}" for i in range(1, 4)}
    expected |= {"SHADOW-01"}
    assert ids == expected


def test_rules_carry_clause_severity_description() -> None:
    catalogue = {r.id: r for r in rules()}
    assert catalogue["GATE-05"].clauses == ["8.1", "A.6.2.5"]
    assert catalogue["GATE-08"].severity == "Warning"
    assert catalogue["PROC-05"].severity == "Warning"
    for rule in catalogue.values():
        assert rule.clauses and rule.description, rule.id
        assert rule.severity in ("Violation", "Warning", "Info")


def test_shapes_follow_the_conventions() -> None:
    shapes = resources.shapes()
    ontology = resources.ontology()
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    for shape, rule_id in shapes.subject_objects(AIMS.ruleId):
        name = str(shape).rsplit("#", 1)[-1]
        assert name == str(rule_id) or name.startswith(f"{rule_id}-"), name
        assert (shape, RDF.type, SH.NodeShape) in shapes, name
        severity = shapes.value(shape, SH.severity)
        assert severity in (SH.Violation, SH.Warning, SH.Info), name
        clauses = set(shapes.objects(shape, AIMS.clause))
        assert clauses and clauses <= concepts, f"{name}: clause not in the catalogue"
        if (shape, SH.sparql, None) in shapes:
            assert shapes.value(shape, SH.message) is not None, f"{name}: SPARQL needs a message"
        for prop in shapes.objects(shape, SH.property):
            assert shapes.value(prop, SH.severity) == severity, f"{name}: property severity"
            assert shapes.value(prop, SH.message) is not None, f"{name}: property message"
        if name == str(rule_id):
            assert shapes.value(shape, SH.description) is not None, f"{name}: description"
    for select in shapes.objects(None, SH.select):
        assert "NOW()" not in str(select).upper().replace(" ", ""), "as-of rules never use NOW()"


def test_targets_and_paths_are_declared_in_the_ontology() -> None:
    shapes, ontology = resources.shapes(), resources.ontology()
    declared = set(ontology.subjects()) | {SKOS.Concept, OWL.Class}  # (W3C vocabularies)
    for prop in (SH.targetClass, SH.targetSubjectsOf, SH.path, SH.inversePath, SH["class"]):
        for term in shapes.objects(None, prop):
            if isinstance(term, URIRef):
                assert term in declared, f"{term} is not in ontology/"


def test_shapes_pass_shacl_shacl() -> None:
    conforms, _graph, text = pyshacl.validate(
        resources.shapes(), shacl_graph=_shacl_shacl(), advanced=True, inference="none"
    )
    assert conforms, text


def test_meta_validation_catches_a_broken_shape() -> None:
    broken = Graph()
    broken.add((AIMS.ruleId, RDF.type, SH.NodeShape))
    broken.add((AIMS.ruleId, SH.minCount, Literal("one")))
    conforms, _graph, _text = pyshacl.validate(broken, shacl_graph=_shacl_shacl())
    assert not conforms


def _shacl_shacl() -> Graph:
    path = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"
    return Graph().parse(path, format="turtle")


def test_date_rule_covers_every_date_property() -> None:
    ontology, shapes = resources.ontology(), resources.shapes()
    date_props = {p for p in ontology.subjects(RDFS.range, XSD.date) if p != AIMS.asOf}
    date_shapes = list(shapes.subjects(AIMS.ruleId, Literal("DATE-01")))
    for shape in date_shapes:  # one shape per property: target and path agree
        (target,) = shapes.objects(shape, SH.targetSubjectsOf)
        (prop,) = shapes.objects(shape, SH.property)
        assert shapes.value(prop, SH.path) == target
        assert shapes.value(prop, SH.node) == URIRef("https://aims-graph.org/shapes#DateOrZonedTimestamp")
    targets = {shapes.value(s, SH.targetSubjectsOf) for s in date_shapes}
    assert targets == date_props and len(date_shapes) == len(date_props)


def test_link_rule_covers_every_object_property_with_a_class_range() -> None:
    """LINK-01 has one shape per object property whose rdfs:range is a named class, with that
    range as its sh:class (so an ontology change that adds a link cannot skip the rule)."""
    ontology, shapes = resources.ontology(), resources.shapes()
    ranges = {p: ontology.value(p, RDFS.range)
              for p in ontology.subjects(RDF.type, OWL.ObjectProperty)
              if isinstance(ontology.value(p, RDFS.range), URIRef)}
    found = {}
    for shape in shapes.subjects(AIMS.ruleId, Literal("LINK-01")):
        (target,) = shapes.objects(shape, SH.targetSubjectsOf)
        (prop,) = shapes.objects(shape, SH.property)
        assert shapes.value(prop, SH.path) == target
        found[target] = shapes.value(prop, SH["class"])
    assert found == ranges


RELEASE_BEFORE_RISK = """
@prefix aims: <https://aims-graph.org/ns#> .
@prefix ex:   <https://example.org/t/> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
ex:alice a aims:Person .
ex:sys a aims:InternalAISystem ; aims:inScope true ; aims:lifecycleStage aims:Deployed ;
    aims:deploymentDate "2025-06-01"^^xsd:date .
ex:rc a aims:RiskClassification ; aims:concernsSystem ex:sys ; aims:recordDate RISK .
ex:ra a aims:ReleaseApproval ; aims:concernsSystem ex:sys ; aims:testEvidence ex:tests ;
    aims:rollbackPlan ex:rollback ; aims:approvedBy ex:alice ; aims:recordDate RELEASE .
"""

DATE_FORMS = {
    "date": ('"2025-03-01"^^xsd:date', '"2025-02-01"^^xsd:date'),
    "datetime-release": ('"2025-03-01"^^xsd:date', '"2025-02-01T10:00:00Z"^^xsd:dateTime'),
    "datetime-both": ('"2025-03-01T09:00:00Z"^^xsd:dateTime',
                      '"2025-02-01T10:00:00Z"^^xsd:dateTime'),
    "datetime-risk": ('"2025-03-01T09:00:00+01:00"^^xsd:dateTime', '"2025-02-01"^^xsd:date'),
    "string": ('"2025-03-01"', '"2025-02-01"'),
    "string-release": ('"2025-03-01"^^xsd:date', '"2025-02-01"^^xsd:string'),
    "datetime-naive": ('"2025-03-01"^^xsd:date', '"2025-02-01T10:00:00"^^xsd:dateTime'),
}
ZONED = {"date", "datetime-release", "datetime-both", "datetime-risk"}
"""Forms that are dates or zoned timestamps: compared, so the order rule alone fires."""


@pytest.mark.parametrize("form", sorted(DATE_FORMS))
def test_release_before_risk_is_caught_whatever_the_date_form(form: str) -> None:
    risk, release = DATE_FORMS[form]
    data = RELEASE_BEFORE_RISK.replace("RISK", risk).replace("RELEASE", release)
    store = open_store("memory")
    store.load(data.encode(), format="turtle", graph="urn:test:dates")  # type: ignore[attr-defined]
    report = validate(store, as_of=DEFAULT_AS_OF, rules=["GATE-05", "DATE-01"])
    found = {(f.rule, f.focus.rsplit("/", 1)[-1]) for f in report.findings}
    assert found & {("GATE-05", "sys"), ("DATE-01", "rc"), ("DATE-01", "ra")}, found
    assert not report.conforms
    if form in ZONED:
        assert found == {("GATE-05", "sys")}
    else:
        assert any(rule == "DATE-01" for rule, _ in found)


NON_BLANK = URIRef("https://aims-graph.org/shapes#NonBlankText")
_SAMPLE = [chr(c) for c in range(1, 0x3100)] + ["\ufeff", "\U0001f600"]


def test_every_text_rule_uses_the_one_non_blank_definition() -> None:
    """Required texts go through aimsh:NonBlankText (sh:node or a qualified value shape); a
    SPARQL rule's REGEX copy of it accepts exactly the characters the definition accepts."""
    shapes, ontology = resources.shapes(), resources.ontology()
    pattern = re.compile(str(shapes.value(NON_BLANK, SH.pattern)))
    blank = {c for c in _SAMPLE if not pattern.search(c)}
    assert {" ", "\t", "\u00a0", "\u200b", "\u2060", "\ufeff", "\u3000"} <= blank
    assert not blank & {"x", ".", "\u00e9", "\U0001f600"}
    texts = {p for p in ontology.subjects(RDFS.range, XSD.string)}
    for prop in shapes.subjects(SH.path, None):
        path = shapes.value(prop, SH.path)
        if path in texts and (shapes.value(prop, SH.minCount) or shapes.value(
                prop, SH.qualifiedMinCount)):
            uses = {shapes.value(prop, SH.node), shapes.value(prop, SH.qualifiedValueShape)}
            assert NON_BLANK in uses, f"{path} is required text without aimsh:NonBlankText"
    copies = 0
    for select in shapes.objects(None, SH.select):
        for literal in re.findall(r'REGEX\(STR\(\?\w+\), "(\[\^[^"]*)"\)', str(select)):
            text = literal.replace("\\\\", "\\")  # the SPARQL string's own escapes
            copy = re.compile(text)
            assert {c for c in _SAMPLE if not copy.search(c)} == blank, text
            copies += 1
    assert copies == 2  # GATE-07: metric and escalation trigger
