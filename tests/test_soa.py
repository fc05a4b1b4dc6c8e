"""The Statement of Applicability: `aims soa`, its pack section and workbook sheet, on the demo.

The demo's SoA (examples/meridian/soa.ttl) plants four gaps (EXPECTED.md): A.9.4 undecided
(SOA-01), A.8.5 excluded without justification (SOA-02), A.4.6 included with nothing
implementing it (SOA-03, and SOA-04 for its missing evidence), A.2.2 with stale evidence
(SOA-04). Every line's status must be the one its SOA findings give.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mapper.cli import main
from mapper.frameworks import soa
from mapper.ingest.template import write_template
from mapper.report import gather
from mapper.rules.assessment import assess
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of, demo_store, load_demo  # noqa: F401 (fixture)


def _by_control(s: soa.Soa) -> dict[str, soa.SoaLine]:
    return {line.notation: line for line in s.lines}


def test_demo_soa_lines(demo_store: Store) -> None:  # noqa: F811
    s = soa.build(demo_store, as_of=demo_as_of())
    lines = _by_control(s)
    assert len(s.lines) == 38 and [line.notation for line in s.lines][:3] == [
        "A.2.2", "A.2.3", "A.2.4"]
    assert s.counts == {"controls": 38, "applicable": 35, "excluded": 2, "undecided": 1,
                        "pass": 34, "warn": 1, "fail": 3}
    assert lines["A.9.4"].decision == "undecided" and lines["A.9.4"].status == "fail"
    assert [f.rule for f in lines["A.9.4"].findings] == ["SOA-01"]
    assert lines["A.8.5"].decision == "excluded" and lines["A.8.5"].status == "fail"
    assert sorted(f.rule for f in lines["A.4.6"].findings) == ["SOA-03", "SOA-04"]
    assert lines["A.2.2"].status == "warn"
    assert lines["A.2.2"].latest_evidence_date == "2025-06-20"
    customers = lines["A.10.4"]
    assert customers.decision == "excluded" and customers.status == "pass"
    assert "no AI system" in customers.justification
    review = lines["A.2.4"]
    assert review.cadence_days == 180 and review.latest_evidence_date == "2026-03-18"
    assert review.latest_evidence == "AIMS management review 2026"
    impact = lines["A.5.2"]
    assert {"Risk classification: Fraud Detection Model"} <= set(impact.applicable_because)
    assert "Gate 2: risk classification" in impact.implemented_by
    assert lines["A.6.2.8"].implemented_by == ["AIMS Document and Records Control Procedure",
                                              "Inference event logging"]


def test_statuses_are_the_assessments_soa_findings(demo_store: Store) -> None:  # noqa: F811
    verdict = assess(demo_store, as_of=demo_as_of())
    s = soa.build(demo_store, as_of=demo_as_of(), assessment=verdict)
    soa_findings = [f for f in verdict.findings if f.rule.startswith("SOA-")]
    listed = [f for line in s.lines for f in line.findings]
    assert sorted(map(id, listed)) == sorted(map(id, soa_findings))
    for line in s.lines:
        worst = ("fail" if any(f.severity == "Violation" for f in line.findings)
                 else "warn" if line.findings else "pass")
        assert line.status == worst, line.notation


def test_before_the_soa_was_decided_every_control_fails(demo_store: Store) -> None:  # noqa: F811
    s = soa.build(demo_store, as_of=date(2025, 12, 31))
    assert s.counts["undecided"] == 38 and s.counts["fail"] == 38
    assert {f.rule for line in s.lines for f in line.findings} == {"SOA-01"}
    assert all(f.focus == "https://meridian.example/aims/org-meridian"
               for f in s.lines[0].findings)


def test_a_later_decision_supersedes_an_earlier_one(demo_store: Store) -> None:  # noqa: F811
    demo_store.load(b"""
        @prefix aims: <https://aims-graph.org/ns#> .
        @prefix iso: <https://aims-graph.org/iso42001#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        <urn:x:a85> a aims:ApplicabilityDecision ; aims:decisionSubject iso:A.8.5 ;
            aims:applicable false ; aims:recordDate "2026-05-01"^^xsd:date ;
            aims:decidedBy <https://meridian.example/aims/committee-ai> ;
            aims:justification "Covered by the group-wide disclosure policy." .
        """, format="turtle", graph="urn:test:later")  # type: ignore[attr-defined]
    line = _by_control(soa.build(demo_store, as_of=demo_as_of()))["A.8.5"]
    assert (line.decision_iri, line.status) == ("urn:x:a85", "pass")
    assert line.justification == "Covered by the group-wide disclosure policy."
    before = _by_control(soa.build(demo_store, as_of=date(2026, 4, 30)))["A.8.5"]
    assert before.decision_iri == "https://meridian.example/aims/soa-a-8-5"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("soa") / "store"
    store = open_store(str(path))
    load_demo(store)
    store.close()
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["aims", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_formats(demo_folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = ("soa", "--store", demo_folder, "--as-of", "2026-06-30")
    code, out, _ = _run(capsys, monkeypatch, *base, "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["counts"]["controls"] == 38
    assert data["controls"][0]["control"] == "A.2.2"
    code, out, _ = _run(capsys, monkeypatch, *base, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == soa.COLUMNS and len(rows) == 38
    assert {r["control"]: r["status"] for r in rows}["A.8.5"] == "fail"
    code, out, _ = _run(capsys, monkeypatch, *base)
    assert "38 controls: 35 applicable, 2 excluded, 1 undecided" in out
    xlsx = tmp_path / "soa.xlsx"
    code, _, err = _run(capsys, monkeypatch, *base, "--format", "xlsx", "--out", str(xlsx))
    sheet = load_workbook(xlsx).active
    assert sheet is not None and "wrote" in err
    values = list(sheet.iter_rows(values_only=True))
    assert values[1] == tuple(soa.COLUMNS) and len(values) == 40
    code, _, err = _run(capsys, monkeypatch, *base, "--format", "xlsx")
    assert code == 2 and "--out" in err
    code, out, _ = _run(capsys, monkeypatch, "soa", "--help")
    assert code == 0 and "Example: aims soa" in out


def test_pack_and_workbook_template(demo_store: Store, tmp_path: Path) -> None:  # noqa: F811
    context = gather(demo_store, as_of=demo_as_of())
    assert context["soa"]["counts"]["fail"] == 3
    assert ("soa", "5. Statement of Applicability") in context["sections"]
    book = load_workbook(write_template(tmp_path / "t.xlsx"))
    assert "Statement of Applicability" in book.sheetnames
    header = [c.value for c in book["Statement of Applicability"][1]]
    assert header[:3] == ["SoA line ID", "Annex A control", "Applicable"]
