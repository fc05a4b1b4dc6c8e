"""The demo organisation reports exactly the planted gaps of examples/meridian/EXPECTED.md."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from mapper.cli import main
from mapper.rules.catalogue import rules
from mapper.rules.results import concerned_nodes, find_system
from mapper.rules.validate import validate
from mapper.store import Store, open_store
from tests.fixtures.demo import DEMO_DIR, demo_as_of, load_demo

Row = tuple[str, str, str]


def expected_rows() -> set[Row]:
    """(rule, focus IRI, severity) of every row of the EXPECTED.md table."""
    text = (DEMO_DIR / "EXPECTED.md").read_text(encoding="utf-8")
    rows = {
        (m.group(1), m.group(2), m.group(3))
        for m in re.finditer(
            r"^\|\s*([A-Z]+-\d{2})\s*\|\s*<?(\S+?)>?\s*\|\s*(Violation|Warning|Info)\s*\|",
            text, re.MULTILINE,
        )
    }
    assert rows, "EXPECTED.md lists no findings"
    return rows


@pytest.mark.parametrize("engine", ["pyshacl", "auto"])
def test_demo_reports_exactly_the_planted_gaps(demo_store: Store, engine: str) -> None:
    """pyshacl is the reference; `auto` is what `aims validate` runs by default."""
    started = time.perf_counter()
    report = validate(demo_store, as_of=demo_as_of(), engine=engine)
    elapsed = time.perf_counter() - started
    found = {(f.rule, f.focus, f.severity) for f in report.findings}
    expected = expected_rows()
    assert not expected - found, f"missing: {sorted(expected - found)}"
    assert not found - expected, f"extra: {sorted(found - expected)}"
    assert elapsed < 10, f"demo validation took {elapsed:.1f} s"


def test_every_planted_rule_is_a_catalogue_rule() -> None:
    ids = {r.id for r in rules()}
    assert {rule for rule, _, _ in expected_rows()} <= ids


def test_demo_findings_read_well(demo_store: Store) -> None:
    report = validate(demo_store, as_of=demo_as_of(), engine="pyshacl")
    for finding in report.findings:
        assert finding.focus_label and not finding.focus_label.startswith("http"), finding
        assert "{" not in finding.message and finding.focus_label in finding.message
    owners = {f.rule: f.owner for f in report.findings}
    assert owners["GATE-04"]  # a system finding names its business owner
    assert owners["PROC-03"]  # a process finding names its accountable owner


def test_demo_system_run_matches_the_full_run(demo_store: Store) -> None:
    """--system gives the full run's findings on the nodes that concern the system."""
    as_of = demo_as_of()
    full = {(f.rule, f.focus)
            for f in validate(demo_store, as_of=as_of, engine="pyshacl").findings}
    for key in ("SYS-CHURN-PREDICT", "SYS-UW-PRICING", "SYS-FRAUD-DETECT", "SYS-CLAIMS-TRIAGE"):
        nodes = {str(n) for n in concerned_nodes(demo_store, find_system(demo_store, key))}
        one = {(f.rule, f.focus) for f in validate(demo_store, as_of=as_of, system=key,
                                                   engine="pyshacl").findings}
        assert one == {row for row in full if row[1] in nodes}, key


def test_cli_json_on_the_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(str(tmp_path / "store"))
    load_demo(store)
    store.close()
    monkeypatch.setattr("sys.argv", ["aims", "validate", "--store", str(tmp_path / "store"),
                                     "--as-of", demo_as_of().isoformat(), "--format", "json"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    data = json.loads(capsys.readouterr().out)
    found = {(f["rule"], f["focus"], f["severity"]) for f in data["findings"]}
    assert found == expected_rows()
    assert data["counts"]["by_severity"]["Violation"] == data["summary"]["violations"] == sum(
        1 for _, _, severity in expected_rows() if severity == "Violation")


def _inv(store: Store) -> set[tuple[str, str]]:
    report = validate(store, as_of=demo_as_of(), engine="auto")
    return {(f.rule, f.focus.rsplit("/", 1)[-1]) for f in report.findings
            if f.rule.startswith("INV-")}


def test_a_unit_heads_attestation_written_as_a_record_clears_the_unit(demo_store: Store) -> None:
    """What a business-unit head asked to attest does: one record (the record API's write).
    Signed by the inventory steward, Marketing's attestation is current (INV-01 clears) but
    not the head's word (INV-02 on it); the head signing it again the same day clears both."""
    from mapper import records

    before = _inv(demo_store)
    assert before == {("INV-01", "unit-marketing"), ("INV-02", "att-2026-cs"),
                      ("INV-03", "unit-claims")}
    body = {"type": "InventoryAttestation", "label": "Inventory attestation 2026: Marketing",
            "forUnit": "U-MKT", "statement": "Every AI system Marketing uses is inventoried.",
            "periodStart": "2025-06-01", "periodEnd": "2026-05-31", "recordDate": "2026-06-20"}
    records.write(demo_store, {**body, "id": "ATT-2026-MKT-STEWARD", "attestedBy": "E-1011"},
                  actor="test")
    assert _inv(demo_store) == (before - {("INV-01", "unit-marketing")}
                                | {("INV-02", "att-2026-mkt-steward")})
    records.write(demo_store, {**body, "id": "ATT-2026-MKT", "attestedBy": "E-1025"},
                  actor="test")
    assert _inv(demo_store) == {("INV-02", "att-2026-cs"), ("INV-03", "unit-claims")}
