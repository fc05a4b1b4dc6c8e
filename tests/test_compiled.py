"""The compiled engine (mapper.rules.compile) against the pyshacl reference, finding for finding.

Differential: the same multiset of (rule, focus, path, value, severity) and the same JSON report
on the demo organisation, on every rule's passing and failing case, on a synthetic organisation
with planted defects and on small random AIMS graphs (hypothesis). Coverage: every shape compiles,
and a shape using something the compiler does not support fails, naming shape and component.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from mapper import resources
from mapper.rules import compile as compiled
from mapper.rules.catalogue import rules
from mapper.rules.results import Report
from mapper.rules.validate import validate
from mapper.store import Store, open_store
from mapper.vocab import AIMS
from tests.fixtures.demo import demo_as_of

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "rules").glob("*/*.ttl"))
EX = "https://example.org/r/"


def keys(report: Report) -> Counter[tuple[Any, ...]]:
    return Counter((f.rule, f.focus, f.path, f.value, f.severity) for f in report.findings)


def assert_same(store: Store, as_of: date, **options: Any) -> Report:
    reference = validate(store, as_of=as_of, engine="pyshacl", **options)
    fast = validate(store, as_of=as_of, engine="sparql", **options)
    only_ref, only_fast = keys(reference) - keys(fast), keys(fast) - keys(reference)
    assert not only_ref and not only_fast, f"pyshacl only: {only_ref}; compiled only: {only_fast}"
    assert fast.to_dict() == reference.to_dict()
    return fast


# --- coverage --------------------------------------------------------------------------------


def test_every_shape_with_a_target_compiles_and_every_rule_has_checks() -> None:
    checks = compiled.compile_shapes(resources.shapes())
    assert {c.rule for c in checks} == {r.id for r in rules()}
    shapes = resources.shapes()
    from rdflib.namespace import SH

    targeted = {s for p in (SH.targetClass, SH.target, SH.targetSubjectsOf)
                for s in shapes.subjects(p, None)}
    assert targeted == {c.node_shape for c in checks}


def _with(extra: str) -> Graph:
    graph = Graph()
    graph += resources.shapes()
    graph.parse(data="@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                     "@prefix aims: <https://aims-graph.org/ns#> .\n"
                     "@prefix aimsh: <https://aims-graph.org/shapes#> .\n" + extra,
                format="turtle")
    return graph


@pytest.mark.parametrize(("extra", "component"), [
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:property [ sh:path aims:dueDate ; sh:lessThan aims:closureDate ] .", "lessThan"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:closed true .", "closed"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:property [ sh:path aims:owner ; sh:uniqueLang true ] .", "uniqueLang"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { $this aims:dueDate ?d FILTER (?d < NOW()) }' ] .",
     "NOW"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:sparql [ sh:select 'SELECT $this (COUNT(?x) AS ?n) WHERE { $this aims:owner ?x }' ] .",
     "sh:sparql"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:property [ sh:path aims:owner ; sh:qualifiedValueShape [ sh:sparql [ sh:select "
     "'SELECT $this WHERE { }' ] ] ; sh:qualifiedMinCount 1 ] .", "sh:sparql"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { $this aims:owner ?x } GROUP BY $this' ] .",
     "GROUP BY"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { ?run aims:asOf ?d . ?run aims:owner $this }' "
     "] .", "beyond reading aims:asOf"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { SERVICE <http://x/> { $this ?p ?o } }' ] .",
     "SERVICE"),
    ("aimsh:X-01 a sh:NodeShape ; aims:ruleId 'X-01' ; sh:targetClass aims:Process ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { $this aims:owner $PATH }' ] .", "$PATH"),
])
def test_unsupported_component_fails_naming_shape_and_component(extra: str,
                                                                 component: str) -> None:
    with pytest.raises(compiled.CompileError) as error:
        compiled.compile_shapes(_with(extra))
    message = str(error.value)
    assert "X-01" in message or "blank-node shape" in message
    assert component in message


# --- differential: demo, rule cases, synthetic organisation -----------------------------------


def test_demo_same_findings_as_pyshacl(demo_store: Store) -> None:
    report = assert_same(demo_store, demo_as_of())
    assert len(report.findings) > 10


def test_demo_system_runs_same_as_pyshacl(demo_store: Store) -> None:
    rows = demo_store.query(
        "PREFIX aims: <https://aims-graph.org/ns#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"
        " SELECT ?id WHERE { ?s a/rdfs:subClassOf* aims:AISystem ; aims:identifier ?id }").rows
    for (key,) in sorted(rows, key=str)[:4]:
        assert_same(demo_store, demo_as_of(), system=str(key))
    assert_same(demo_store, demo_as_of(), rules=["GATE-05", "IMP-04"])


def _case_as_of(path: Path) -> date:
    match = re.search(r"^# as-of: (\d{4}-\d{2}-\d{2})$", path.read_text(encoding="utf-8"),
                      re.MULTILINE)
    return date.fromisoformat(match.group(1)) if match else date(2026, 6, 30)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_rule_case_same_as_pyshacl(path: Path) -> None:
    store = open_store("memory")
    store.load(path.read_bytes(), format="turtle", graph="urn:test:case")  # type: ignore[attr-defined]
    assert_same(store, _case_as_of(path))


def synthetic_org(n: int) -> tuple[str, set[tuple[str, str]]]:
    """bench/validate.py's generator (organisation with planted defects)."""
    spec = importlib.util.spec_from_file_location("bench_validate", ROOT / "bench" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_validate", module)
    spec.loader.exec_module(module)
    return module.synthetic_org(n)  # type: ignore[no-any-return]


def test_synthetic_organisation_same_as_pyshacl_and_plants_found() -> None:
    text, planted = synthetic_org(120)
    store = open_store("memory")
    store.load(text.encode(), format="turtle", graph="urn:test:synthetic")  # type: ignore[attr-defined]
    report = assert_same(store, date(2026, 6, 30))
    assert planted <= {(f.rule, f.focus) for f in report.findings}


# --- differential: small random AIMS graphs ---------------------------------------------------

CLASSES = ["InternalAISystem", "ThirdPartyAISystem", "IntakeRecord", "RiskClassification",
           "ImpactAssessment", "ReleaseApproval", "MonitoringPlan", "MonitoringReview",
           "MonitoringAlert", "Incident", "CorrectiveAction", "Exception", "DueDiligence",
           "TrainingRecord", "Policy", "ManagementReview", "ReviewAction", "AuditFinding",
           "InternalAudit", "AuditProgramme", "Decision", "Contract", "Person", "Role",
           "ThirdParty", "Process", "ProcessInteraction", "Gate", "GovernanceCommittee",
           "ScopeStatement", "ScopeExclusion", "Organisation", "RecordType", "OrgUnit", "Team",
           "InventoryAttestation", "ChangeRecord"]
ENUMS = ["Deployed", "Proposed", "Piloting", "HighRisk", "LimitedRisk", "Open", "Closed",
         "Active", "TopManagement", "ApprovalAuthority", "ProcessAccountability", "GateApprover",
         "SecurityArea", "PrivacyArea", "ReliabilityArea", "SubcontractorArea", "IncidentsInput",
         "MonitoringInput", "AuditsInput", "ExceptionsInput", "CorrectiveActionsInput",
         "IntakeAndInventory", "RiskAndImpactAssessment", "ChangeAndReleaseManagement",
         "CorrectiveActionAndImprovement"]
LINKS = ["concernsSystem", "businessOwner", "supplier", "contract", "excludes", "approvedBy",
         "owner", "author", "trigger", "reviewOf", "assessesParty", "trainee", "forRole",
         "holdsRole", "attendee", "hasAction", "underProgramme", "hasFinding", "decisionSubject",
         "decidedBy", "inLog", "decisionLog", "charter", "accountableOwner", "fromProcess",
         "toProcess", "handsOver", "inputRecord", "outputRecord", "retainsRecord",
         "approverRole", "escalatesTo", "testEvidence", "rollbackPlan", "minutes", "ledTo",
         "noActionDecision", "verification", "supersedes", "changeApproval", "communication",
         "partOf", "memberOf", "headOf", "forUnit", "attestedBy"]
ENUM_LINKS = ["lifecycleStage", "riskLevel", "status", "roleKind", "coversArea", "reviewInput",
              "processType"]
DATES = ["recordDate", "approvalDate", "buildStartDate", "procurementDate", "deploymentDate",
         "completionDate", "containmentDate", "dueDate", "expiryDate", "activeFrom",
         "nextReviewDate", "periodStart", "periodEnd"]
TEXTS = ["purpose", "justification", "rationale", "compensatingControl", "rootCause", "version",
         "metric", "escalationTrigger", "triage", "label", "statement"]
NUMBERS = ["cadenceDays", "cycleMonths", "observedValue", "threshold",
           "attestationCadenceMonths"]
DAYS = [date(2025, 1, 1), date(2025, 6, 30), date(2026, 1, 15), date(2026, 6, 29),
        date(2026, 7, 1)]
NODES = [URIRef(f"{EX}n{i}") for i in range(8)]
_RECORDS = ["IntakeRecord", "RiskClassification", "ImpactAssessment", "ReleaseApproval",
            "MonitoringPlan", "MonitoringReview", "Incident", "CorrectiveAction", "Exception",
            "DueDiligence", "TrainingRecord", "ManagementReview", "Decision", "Contract",
            "AuditFinding", "MonitoringAlert", "InventoryAttestation"]
ROLES = [["InternalAISystem", "ThirdPartyAISystem"], ["InternalAISystem", "ThirdPartyAISystem"],
         _RECORDS, _RECORDS, _RECORDS, _RECORDS,
         ["Person", "GovernanceCommittee", "ThirdParty", "OrgUnit", "Organisation"]]
"""The classes node n<i> is drawn from (the rest: any class), so facts often meet."""


def _object(kind: str, pick: int) -> Any:
    if kind == "link":
        return NODES[pick % len(NODES)]
    if kind == "enum":
        return AIMS[ENUMS[pick % len(ENUMS)]]
    if kind == "date":
        day = DAYS[pick % len(DAYS)].isoformat()
        forms = {7: f"{day}T00:00:00Z", 8: f"{day}T23:30:00-10:00", 9: f"{day}T12:00:00",
                 10: f"{day}T01:00:00+14:00"}
        if pick in forms:  # zoned (UTC and offsets), and zone-less
            return Literal(forms[pick], datatype=XSD.dateTime)
        if pick == 11:  # a date with an offset
            return Literal(f"{day}-10:00", datatype=XSD.date)
        return Literal(DAYS[pick % len(DAYS)])
    if kind == "text":
        return Literal(["x", " ", "ok", "", "\u200b", "\u00a0x", "\ufeff\u3000"][pick % 7])
    if kind == "class":
        return AIMS[CLASSES[pick % len(CLASSES)]]
    if kind == "number":
        return Literal([1, 12, 90, 200][pick % 4])
    return Literal(pick % 2 == 0)


_PREDICATES = ([(p, "link") for p in LINKS] + [(p, "enum") for p in ENUM_LINKS]
               + [(p, "date") for p in DATES] + [(p, "text") for p in TEXTS]
               + [(p, "number") for p in NUMBERS] + [("inScope", "bool"), ("type", "class")])

_CORE = [i for i, (name, _kind) in enumerate(_PREDICATES) if name in (
    "concernsSystem", "inScope", "recordDate", "lifecycleStage", "riskLevel", "businessOwner",
    "supplier", "approvedBy", "testEvidence", "rollbackPlan", "deploymentDate", "buildStartDate",
    "trigger", "status", "dueDate", "type", "reviewOf", "activeFrom", "cadenceDays")]
"""Predicates drawn more often, so that random facts meet in the rules' patterns."""


@st.composite
def aims_graphs(draw: st.DrawFn, max_triples: int = 40, typed: bool = True,
                core_only: bool = False) -> list[tuple[Any, Any, Any]]:
    """A small random AIMS graph: typed nodes (unless `typed` is false: then types come only
    among the facts) and links drawn from the shapes' vocabulary (`core_only`: only the
    predicates most rules read)."""
    triples: list[tuple[Any, Any, Any]] = []
    for i, node in enumerate(NODES if typed else []):
        pool = ROLES[i] if i < len(ROLES) else CLASSES
        for cls in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2)):
            triples.append((node, RDF.type, AIMS[cls]))
    predicate = st.sampled_from(_CORE) if core_only else st.one_of(
        st.integers(0, len(_PREDICATES) - 1), st.sampled_from(_CORE))
    facts = draw(st.lists(st.tuples(st.integers(0, len(NODES) - 1), predicate,
                                    st.integers(0, 40)), max_size=max_triples))
    for s, p, o in facts:
        name, kind = _PREDICATES[p]
        special = {"label": RDFS.label, "type": RDF.type}
        predicate = special[name] if name in special else AIMS[name]
        triples.append((NODES[s], predicate, _object(kind, o)))
    return triples


def load_triples(store: Store, triples: list[tuple[Any, Any, Any]], graph: str) -> None:
    store.add_quads([(s, p, o, graph) for s, p, o in triples])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aims_graphs(), st.sampled_from([date(2026, 6, 30), date(2025, 12, 31)]))
def test_random_graphs_same_as_pyshacl(triples: list[tuple[Any, Any, Any]], as_of: date) -> None:
    store = open_store("memory")
    load_triples(store, triples, "urn:test:random")
    assert_same(store, as_of)


# --- the parse cache ---------------------------------------------------------------------------


def _no_parse(text: str) -> None:
    raise AssertionError("parsed although the cache holds the tree")


def test_parsed_shape_sparql_cached_between_processes_gives_the_same_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The normalised trees kept in the cache folder compile to exactly the checks a fresh parse
    gives; a damaged cache file is ignored and written anew."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shapes = resources.shapes()

    def texts() -> dict[str, tuple[str, str]]:
        compiled._TREES.clear()
        return {c.key: (c.sparql, c.remote_sparql) for c in compiled.compile_shapes(shapes)}

    try:
        fresh = texts()
        [cache_file] = (tmp_path / "aims-graph").glob("shape-sparql-*.json")
        with monkeypatch.context() as m:  # answered from the file: nothing is parsed
            m.setattr(compiled, "parse_sparql", _no_parse)
            assert texts() == fresh
        cache_file.write_text('{"not": "a tree"', encoding="utf-8")
        assert texts() == fresh
        assert json.loads(cache_file.read_text(encoding="utf-8"))
    finally:
        compiled._TREES.clear()
