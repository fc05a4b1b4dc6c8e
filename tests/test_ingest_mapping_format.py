"""The mapping format: tolerant header matching, aliases, duplicate headers by position,
declared columns that match no header (warning, or an error under `strict: true`), unknown
values by value with counts; each on a small file written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapper.errors import InputError
from mapper.ingest import ingest
from mapper.ingest.mapping import fit, load_mapping
from mapper.store import open_store

AIMS = "https://aims-graph.org/ns#"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"

MAPPING = """
name: format-test
values:
  stage:
    unknown: warn
    map: {deployed: aims:Deployed, pilot: aims:Piloting}
tables:
  - name: systems
    columns:
      id: {headers: [System ID], aliases: [Identifier, Ref No]}
      name: {headers: [Name]}
      reviewed: {headers: ["Has the system been reviewed? Practice: Independent Review"]}
      stage: {headers: [Stage]}
      first_date: {headers: [Date]}
      second_date: {headers: [Date], occurrence: 2}
    key: [id]
    nodes:
      - id: system
        kind: ai-system
        class: aims:AISystem
        props:
          rdfs:label: name
          aims:description: reviewed
          aims:lifecycleStage: {column: stage, map: stage}
          aims:buildStartDate: {column: first_date, type: date}
          aims:deploymentDate: {column: second_date, type: date}
"""


def _mapping(tmp: Path, extra: str = "") -> Path:
    path = tmp / "m.yaml"
    path.write_text(extra + MAPPING, encoding="utf-8")
    return path


def _values(store, predicate: str) -> list[str]:
    rows = store.select_text(f"SELECT ?o WHERE {{ GRAPH ?g {{ ?s <{predicate}> ?o }} }}")
    return sorted(str(r[0]) for r in rows)


def test_headers_match_despite_case_spacing_punctuation_and_a_tail(tmp_path: Path) -> None:
    mapping = load_mapping(_mapping(tmp_path))
    table = mapping.tables[0]
    header = ["system_id", "  NAME:", "Has the system been reviewed?", "stage\u00a4", "Notes"]
    found = fit(table, header)
    assert found.index == {"id": 0, "name": 1, "reviewed": 2, "stage": 3}
    assert found.unused == ["Notes"]
    assert found.by_head == {"Has the system been reviewed?": "reviewed"}
    # the other way round: the file's header carries a tail the mapping does not
    longer = fit(table, ["System ID", "Name", "Has the system been reviewed? Practice: "
                         "Independent Review (Q12)"])
    assert longer.index["reviewed"] == 2


def test_a_short_head_is_never_matched_by_its_tail(tmp_path: Path) -> None:
    """'Stage: current' is not 'Stage' with a tail: a head keeps at least three words."""
    table = load_mapping(_mapping(tmp_path)).tables[0]
    found = fit(table, ["System ID", "Stage: current"])
    assert "stage" not in found.index and found.unused == ["Stage: current"]


def test_aliases_and_duplicate_headers_by_occurrence(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text("Ref No,Name,Date,Date\nS-1,Alpha,2024-01-15,2024-06-01\n", encoding="utf-8")
    store = open_store("memory")
    [res] = ingest(store, data, mapping=_mapping(tmp_path))
    assert res.records == 1
    assert _values(store, AIMS + "buildStartDate") == ["2024-01-15"]
    assert _values(store, AIMS + "deploymentDate") == ["2024-06-01"]
    ids = store.select_text(f"SELECT ?s WHERE {{ GRAPH ?g {{ ?s a <{AIMS}AISystem> }} }}")
    assert [str(r[0]) for r in ids] == ["https://aims-graph.org/id/ai-system/s-1"]


def test_a_declared_column_matching_no_header_is_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text("System ID,Name\nS-1,Alpha\n", encoding="utf-8")
    [res] = ingest(open_store("memory"), data, mapping=_mapping(tmp_path))
    [warning] = [w for w in res.warnings if "match no header" in w]
    assert warning.startswith("4 column(s) of mapping format-test match no header")
    for label in ("'Stage'", "'Date'", "'Has the system been reviewed?"):
        assert label in warning


def test_a_declared_column_matching_no_header_is_an_error_under_strict(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text("System ID,Name,Stage,Date,Date,Has the system been reviewed\n"
                    "S-1,Alpha,pilot,,,yes\n", encoding="utf-8")
    mapping = _mapping(tmp_path, "strict: true\n")
    store = open_store("memory")
    [res] = ingest(store, data, mapping=mapping)  # every column found: fine
    assert res.records == 1 and not [w for w in res.warnings if "match no header" in w]
    data.write_text("System ID,Name,Stage\nS-1,Alpha,pilot\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        ingest(open_store("memory"), data, mapping=mapping)
    message = str(info.value)
    assert "is strict" in message and "'Date'" in message and "aliases" in message


def test_unknown_values_are_reported_by_value_with_counts(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    rows = "".join(f"S-{i},N{i},{stage}\n" for i, stage in enumerate(
        ["deployed", "sunset", "Sunset", "sunset", "on hold", "pilot"]))
    data.write_text("System ID,Name,Stage\n" + rows, encoding="utf-8")
    store = open_store("memory")
    [res] = ingest(store, data, mapping=_mapping(tmp_path))
    [warning] = [w for w in res.warnings if "does not know" in w]
    assert warning == ("stage: 4 value(s) the mapping does not know, left out: 'sunset' (2), "
                       "'Sunset' (1), 'on hold' (1)")
    assert _values(store, AIMS + "lifecycleStage") == [AIMS + "Deployed", AIMS + "Piloting"]


@pytest.mark.parametrize("header,column", [
    ("High-Impact Status", "is_high_impact"), ("Impact Classification", "is_high_impact"),
    ("Use Case Identifier", "id"), ("agency_bureau", "agency_bureau"),
    ("development_stage", "development_stage"),
    ("Has an AI impact assessment been completed for this AI use case?",
     "hi_assessment_completed"),
])
def test_the_omb_mapping_knows_the_header_variants(header: str, column: str) -> None:
    table = load_mapping("omb-ai-inventory-2025").tables[0]
    found = fit(table, ["Use Case Name", header])
    assert found.index.get(column) == 1, found


def test_an_omb_variant_file_keeps_risk_and_stage(tmp_path: Path) -> None:
    data = tmp_path / "agency.csv"
    data.write_text("agency,Use Case Identifier,use_case_name,High-Impact Status,"
                    "Development Stage\nXYZ,12,Benefit triage,High-impact,Deployed\n",
                    encoding="utf-8")
    store = open_store("memory")
    [res] = ingest(store, data, mapping="omb-ai-inventory-2025")
    assert res.records == 1
    assert _values(store, AIMS + "riskLevel") == [AIMS + "HighRisk"]
    assert _values(store, AIMS + "lifecycleStage") == [AIMS + "Deployed"]
    assert _values(store, AIMS + "identifier") == ["12"]
