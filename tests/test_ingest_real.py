"""Real data acceptance (../shared/data/real/): the OMB 2025 inventory (CSV and XLSX), OMB's
consolidated COTS list, and seven agencies' own files."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from rdflib import URIRef

from mapper.errors import InputError
from mapper.ingest import IngestRejected, ingest
from mapper.store import open_store


def _real_data() -> Path:
    """The shared real-data folder: $AIMS_REAL_DATA, ../shared beside the checkout, or /work."""
    candidates = [Path(os.environ["AIMS_REAL_DATA"])] if os.environ.get("AIMS_REAL_DATA") else []
    candidates += [Path(__file__).resolve().parents[2] / "shared" / "data" / "real",
                   Path("/work/shared/data/real")]
    for candidate in candidates:
        if (candidate / "us-fed-ai-inventory-2025").is_dir():
            return candidate
    raise RuntimeError(
        "the real data folder (shared/data/real) was not found; set AIMS_REAL_DATA to it"
    )


REAL = _real_data()
OMB = REAL / "us-fed-ai-inventory-2025"
AGENCIES = REAL / "us-fed-agency-files"
OPM = AGENCIES / "office-of-personnel-management" / "ai_use_case_inventory_opm_2025.csv"
OPM_MAPPING = Path(__file__).resolve().parents[1] / "examples" / "opm" / "opm-mapping.yaml"



def _triples(path: Path) -> set[tuple[object, ...]]:
    store = open_store("memory")
    [res] = ingest(store, path, skip_invalid=True)
    return {(s, p, o) for s, p, o, _ in store.quads(res.graph)}


def test_omb_csv_every_use_case_accounted_for() -> None:
    store = open_store("memory")
    path = OMB / "2025_individually_reported_AI_use_cases.csv"
    with pytest.raises(IngestRejected) as info:
        ingest(store, path)
    assert "doj-doj-0357" in str(info.value) and "nothing was loaded" in str(info.value)
    [res] = ingest(store, path, skip_invalid=True)
    single = {r["row"] for r in res.rejected if "count" not in r}
    grouped = sum(r["count"] for r in res.rejected if "count" in r)
    assert res.mapping == "omb-ai-inventory-2025"
    assert res.records + len(single) + grouped == 3611
    duplicates = {r["value"] for r in res.rejected if "duplicate key" in r["reason"]}
    assert {"doj-doj-0357", "doj-doj-0160"} <= duplicates
    assert any("had no value" in w and "use_case_name" in w for w in res.warnings)
    systems = store.query(
        "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a/<http://www.w3.org/2000/01/rdf-schema#"
        "subClassOf>* <https://aims-graph.org/ns#AISystem> ; "
        "<https://aims-graph.org/ns#inScope> true }")
    assert int(str(systems.rows[0][0])) == res.records


def test_high_impact_without_assessment_is_true() -> None:
    """The graph answers GATE-04's question the same way the file does."""
    path = OMB / "2025_individually_reported_AI_use_cases.csv"
    store = open_store("memory")
    ingest(store, path, skip_invalid=True)
    found = store.query("""
        PREFIX aims: <https://aims-graph.org/ns#>
        SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {
          ?r aims:concernsSystem ?s ; aims:riskLevel aims:HighRisk .
          FILTER NOT EXISTS { ?ia a aims:ImpactAssessment ; aims:concernsSystem ?s } }""")
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    bad = {("DOJ", "DOJ-0357"), ("DOJ", "DOJ-0160")}
    expected = sum(
        1 for r in rows
        if r["is_high_impact"] == "High-impact" and r["hi_assessment_completed"] != "Yes"
        and (r["agency"], r["id"]) not in bad and r["use_case_name"].strip()
    )
    assert int(str(found.rows[0][0])) == expected > 300


@pytest.mark.slow
def test_omb_csv_and_xlsx_give_the_same_graph() -> None:
    a = _triples(OMB / "2025_individually_reported_AI_use_cases.csv")
    b = _triples(OMB / "2025_individually_reported_AI_use_cases.xlsx")
    assert len(a) > 40_000
    assert a == b, (len(a - b), len(b - a))


def test_cots_products_and_suppliers() -> None:
    store = open_store("memory")
    [res] = ingest(store, OMB / "2025_consolidated_COTS_AI_use_cases.csv")
    assert res.mapping == "omb-cots-2025" and res.records > 400
    microsoft = store.query(
        "ASK { ?s a <https://aims-graph.org/ns#ThirdPartyAISystem> ; "
        "<https://aims-graph.org/ns#supplier> ?m . ?m a <https://aims-graph.org/ns#ThirdParty> }",
    )
    assert microsoft.boolean
    assert URIRef("https://aims-graph.org/id/third-party/microsoft") in {
        s for s, *_ in store.quads(res.graph)}


AGENCY_FILES = sorted(p for p in AGENCIES.glob("*/*") if p.suffix in (".csv", ".xlsx")
                      and p != OPM)


@pytest.mark.parametrize("path", AGENCY_FILES, ids=[p.parent.name for p in AGENCY_FILES])
def test_agency_files_ingest_with_the_omb_mapping(path: Path) -> None:
    store = open_store("memory")
    [res] = ingest(store, path, mapping="omb-ai-inventory-2025", skip_invalid=True)
    assert res.records > 0 and res.records + len({r["row"] for r in res.rejected}) >= res.records
    if "department-of-justice" in path.parent.name:
        assert res.sheets == ["Reportable AI Use Cases"]
    if path.parent.name in ("department-of-state", "department-of-health-and-human-services"):
        assert res.encoding == "cp1252"


def test_opm_needs_its_own_mapping() -> None:
    store = open_store("memory")
    with pytest.raises(InputError) as info:
        ingest(store, OPM, mapping="omb-ai-inventory-2025")
    message = str(info.value)
    assert "missing 'Use Case Name'" in message and "Tool/Application Name" in message
    [res] = ingest(store, OPM, mapping=OPM_MAPPING)
    assert res.records == 5 and not res.rejected
    high = store.query("ASK { ?r <https://aims-graph.org/ns#riskLevel> "
                       "<https://aims-graph.org/ns#LimitedRisk> }")
    assert high.boolean
