"""mapper.rules (Report, findings, --system, --rule, as-of) and the `aims validate` CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import SH

from mapper.cli import main
from mapper.errors import NotFound
from mapper.rules.catalogue import rules
from mapper.rules.results import Report
from mapper.rules.validate import validate as _validate
from mapper.store import Store, open_store


def validate(store: Store, **options: Any) -> Report:
    """The reference engine (pyshacl): these tests pin the shapes' own semantics."""
    return _validate(store, engine="pyshacl", **options)


AS_OF = date(2026, 6, 30)
EX = "https://example.org/t/"

# Two deployed in-scope systems, one with every gate record, one with gaps; plus a process
# owned by a team (an organisation-level finding that --system must leave out).
DATA = """
@prefix aims: <https://aims-graph.org/ns#> .
@prefix ex:   <https://example.org/t/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .

ex:alice a aims:Person ; rdfs:label "Alice Owner" .
ex:bob a aims:Person ; rdfs:label "Bob Builder" .
ex:team a aims:Team ; rdfs:label "Ops Team" .
ex:proc a aims:Process ; rdfs:label "Release process" ; aims:accountableOwner ex:team .

ex:good a aims:InternalAISystem ; rdfs:label "Good System" ; aims:identifier "SYS-GOOD" ;
    aims:inScope true ; aims:lifecycleStage aims:Deployed ; aims:purpose "Scores claims." ;
    aims:businessOwner ex:alice ; aims:buildStartDate "2025-02-01"^^xsd:date ;
    aims:deploymentDate "2025-06-01"^^xsd:date .
ex:good-intake a aims:IntakeRecord ; aims:concernsSystem ex:good ;
    aims:recordDate "2025-01-01"^^xsd:date .
ex:good-rc a aims:RiskClassification ; aims:concernsSystem ex:good ;
    aims:riskLevel aims:MinimalRisk ; aims:recordDate "2025-01-15"^^xsd:date .
ex:good-ra a aims:ReleaseApproval ; aims:concernsSystem ex:good ; aims:testEvidence ex:t ;
    aims:rollbackPlan ex:r ; aims:approvedBy ex:alice ; aims:recordDate "2025-05-20"^^xsd:date .
ex:t a aims:Evidence ; rdfs:label "Test report" .
ex:r a aims:Evidence ; rdfs:label "Rollback runbook" .
ex:good-plan a aims:MonitoringPlan ; aims:concernsSystem ex:good ; aims:owner ex:alice ;
    aims:metric "accuracy" ; aims:cadenceDays 90 ; aims:escalationTrigger "accuracy < 0.9" ;
    aims:activeFrom "2025-06-01"^^xsd:date .
ex:good-review a aims:MonitoringReview ; aims:reviewOf ex:good-plan ;
    aims:recordDate "2026-06-01"^^xsd:date .

ex:bad a aims:InternalAISystem ; rdfs:label "Bad System" ; aims:identifier "SYS-BAD" ;
    aims:inScope true ; aims:lifecycleStage aims:Deployed ; aims:purpose "Prices policies." ;
    aims:businessOwner ex:bob ; aims:buildStartDate "2025-02-01"^^xsd:date ;
    aims:deploymentDate "2025-06-01"^^xsd:date .
ex:bad-rc a aims:RiskClassification ; aims:concernsSystem ex:bad ; aims:riskLevel aims:MinimalRisk ;
    aims:recordDate "2025-03-01"^^xsd:date .
ex:bad-plan a aims:MonitoringPlan ; rdfs:label "Bad plan" ; aims:concernsSystem ex:bad ;
    aims:owner ex:bob ; aims:metric "mae" ; aims:cadenceDays 30 ; aims:escalationTrigger "mae > 5" ;
    aims:activeFrom "2025-06-01"^^xsd:date .
ex:bad-ca a aims:CorrectiveAction ; rdfs:label "Fix pricing drift" ; aims:trigger ex:bad-plan ;
    aims:rootCause "drift" ; aims:owner ex:bob ; aims:status aims:Open ;
    aims:dueDate "2026-05-01"^^xsd:date .
"""


def _load(store: Store) -> Store:
    store.load(DATA.encode(), format="turtle", graph="urn:test:validate")  # type: ignore[attr-defined]
    return store


@pytest.fixture
def store() -> Iterator[Store]:
    s = _load(open_store("memory"))
    yield s
    s.close()


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    path = tmp_path / "store"
    s = _load(open_store(str(path)))
    s.close()
    return str(path)


def _rows(report_findings: list) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(f.rule, f.focus.removeprefix(EX)) for f in report_findings}


SYSTEM_RULES = ["GATE-01", "GATE-02", "GATE-03", "GATE-05", "GATE-07", "GATE-08", "IMP-04"]


def test_findings_of_the_sample(store: Store) -> None:
    report = validate(store, as_of=AS_OF, rules=SYSTEM_RULES + ["PROC-02"])
    assert _rows(report.findings) == {
        ("GATE-02", "bad"), ("GATE-03", "bad"), ("GATE-05", "bad"),
        ("GATE-08", "bad-plan"), ("IMP-04", "bad-ca"), ("PROC-02", "proc"),
    }
    assert not report.conforms
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["GATE-03"].owner == "Bob Builder"          # system -> business owner
    assert by_rule["PROC-02"].owner == "Ops Team"             # process -> accountable owner
    assert by_rule["IMP-04"].owner == "Bob Builder"           # record -> its owner
    assert by_rule["GATE-03"].clause == ["6.1.2", "8.2"]
    assert by_rule["IMP-04"].severity == "Warning"
    assert by_rule["IMP-04"].value == "2026-05-01"
    assert "Bad System" in by_rule["GATE-03"].message
    assert "Fix pricing drift" in by_rule["IMP-04"].message


def test_as_of_date_decides_time_rules(store: Store) -> None:
    early = validate(store, as_of=date(2025, 6, 20), rules=["IMP-04", "GATE-08"])
    assert _rows(early.findings) == set()
    late = validate(store, as_of=date(2026, 9, 1), rules=["IMP-04", "GATE-08"])
    assert _rows(late.findings) == {("IMP-04", "bad-ca"), ("GATE-08", "bad-plan"),
                                    ("GATE-08", "good-plan")}


def test_system_restricts_to_what_concerns_it(store: Store) -> None:
    full = validate(store, as_of=AS_OF)
    bad = validate(store, as_of=AS_OF, system="SYS-BAD")
    good = validate(store, as_of=AS_OF, system="SYS-GOOD")
    concerning_bad = {("GATE-02", "bad"), ("GATE-03", "bad"), ("GATE-05", "bad"),
                      ("GATE-08", "bad-plan"), ("IMP-04", "bad-ca")}
    assert concerning_bad <= _rows(bad.findings)
    assert {focus for _, focus in _rows(bad.findings)} <= {"bad", "bad-plan", "bad-ca", "bad-rc"}
    assert _rows(good.findings) == set()
    assert good.conforms
    assert ("PROC-02", "proc") in _rows(full.findings)
    by_iri = validate(store, as_of=AS_OF, system=EX + "bad", rules=["GATE-05"])
    assert _rows(by_iri.findings) == {("GATE-05", "bad")}


def test_unknown_rule_or_system_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="NOPE-01"):
        validate(store, as_of=AS_OF, rules=["NOPE-01"])
    with pytest.raises(NotFound, match="SYS-MISSING"):
        validate(store, as_of=AS_OF, system="SYS-MISSING")
    with pytest.raises(NotFound):
        validate(store, as_of=AS_OF, system=EX + "alice")  # a person, not an AI system


def test_report_json_shape(store: Store) -> None:
    data = validate(store, as_of=AS_OF, rules=["GATE-05", "IMP-04"]).to_dict()
    assert set(data) == {"conforms", "as_of", "summary", "findings"}
    assert data["as_of"] == "2026-06-30" and data["conforms"] is False
    assert set(data["summary"]) == {"by_severity", "by_clause", "by_rule"}
    assert data["summary"]["by_severity"] == {"Violation": 1, "Warning": 1, "Info": 0}
    assert data["summary"]["by_rule"] == {"GATE-05": 1, "IMP-04": 1}
    assert data["summary"]["by_clause"] == {"8.1": 1, "10.2": 1, "A.6.2.5": 1}
    for finding in data["findings"]:
        assert set(finding) == {"rule", "clause", "severity", "focus", "focus_label", "path",
                                "value", "owner", "message"}
    json.dumps(data)


def test_report_turtle_is_a_validation_report(store: Store) -> None:
    report = validate(store, as_of=AS_OF, rules=["GATE-02", "PROC-02"])
    graph = Graph().parse(data=report.to_turtle(), format="turtle")
    (node,) = graph.subjects(RDF.type, SH.ValidationReport)
    results = list(graph.objects(node, SH.result))
    assert len(results) == len(report.findings) == 2
    assert {graph.value(r, SH.focusNode) for r in results} == {URIRef(EX + "bad"),
                                                               URIRef(EX + "proc")}
    assert all(graph.value(r, SH.resultSeverity) == SH.Violation for r in results)
    paths = {graph.value(r, SH.resultPath) for r in results}
    assert URIRef("https://aims-graph.org/ns#accountableOwner") in paths


def test_empty_store_reports_missing_minimum_processes() -> None:
    report = validate(open_store("memory"), as_of=AS_OF)
    assert {f.rule for f in report.findings} == {"PROC-01"}
    assert len(report.findings) == 10


def test_rules_catalogue_lists_every_rule() -> None:
    catalogue = rules()
    assert catalogue[0].id == "SCOPE-01"
    assert len({r.id for r in catalogue}) == len(catalogue) == 43


# --- the CLI ----------------------------------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["aims", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_cli_validate_text_exit_1(store_path: str, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["validate", "--store", store_path, "--as-of", "2026-06-30"],
                           capsys, monkeypatch)
    assert code == 1
    assert "does NOT conform" in out
    assert "Findings by clause" in out and "Clause 8.1" in out
    assert "Who must fix what" in out and "Bob Builder (" in out


def test_cli_exit_0_when_no_violation(store_path: str, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["validate", "--store", store_path, "--as-of", "2026-06-30",
                            "--rule", "IMP-04", "--format", "json"], capsys, monkeypatch)
    assert code == 0  # a warning only
    data = json.loads(out)
    assert data["conforms"] is True
    assert [f["rule"] for f in data["findings"]] == ["IMP-04"]


def test_cli_rule_and_system(store_path: str, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["validate", "--store", store_path, "--as-of", "2026-06-30",
                            "--system", "SYS-BAD", "--rule", "GATE-05", "--rule", "GATE-03",
                            "--format", "json"], capsys, monkeypatch)
    assert code == 1
    rows = {(f["rule"], f["focus"]) for f in json.loads(out)["findings"]}
    assert rows == {("GATE-05", EX + "bad"), ("GATE-03", EX + "bad")}
    code, out, _ = run_cli(["validate", "--store", store_path, "--as-of", "2026-06-30",
                            "--system", "SYS-GOOD", "--format", "json"], capsys, monkeypatch)
    assert code == 0 and json.loads(out)["findings"] == []


def test_cli_turtle(store_path: str, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["validate", "--store", store_path, "--as-of", "2026-06-30",
                            "--rule", "GATE-02", "--format", "turtle"], capsys, monkeypatch)
    assert code == 1
    graph = Graph().parse(data=out, format="turtle")
    assert len(set(graph.subjects(RDF.type, SH.ValidationResult))) == 1


@pytest.mark.parametrize("argv, needle", [
    (["--as-of", "30/06/2026"], "--as-of"),
    (["--as-of", "2026-02-30"], "--as-of"),
    (["--rule", "NOPE-01"], "NOPE-01"),
    (["--system", "SYS-MISSING"], "SYS-MISSING"),
    (["--format", "xml"], "xml"),
])
def test_cli_bad_input_exit_2(argv: list[str], needle: str, store_path: str,
                              capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run_cli(["validate", "--store", store_path, *argv], capsys, monkeypatch)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err and out == ""


def test_cli_rules(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["rules", "--format", "json"], capsys, monkeypatch)
    assert code == 0
    data = json.loads(out)
    assert {"id": "GATE-03", "clause": ["6.1.2", "8.2"], "severity": "Violation",
            "description": next(r.description for r in rules() if r.id == "GATE-03"),
            "gate": "risk", "activity": "implement"} in data
    code, out, _ = run_cli(["rules"], capsys, monkeypatch)
    assert code == 0 and "MAINT-04" in out
