"""Value hygiene: placeholders, entity spellings, implausible dates, timestamps and zones,
encodings and JSON-array cells, each on a small file written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapper.errors import InputError
from mapper.ingest import IngestRejected, ingest
from mapper.store import open_store

SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD = "http://www.w3.org/2001/XMLSchema#"

MAPPING = """
name: hygiene-test
nulls: [not disclosed]
tables:
  - name: systems
    columns:
      id: {headers: [ID]}
      name: {headers: [Name]}
      supplier: {headers: [Supplier]}
      deployed: {headers: [Deployed]}
    key: [id]
    nodes:
      - id: system
        kind: ai-system
        class: aims:AISystem
        props:
          rdfs:label: {column: name}
          aims:deploymentDate: {column: deployed, type: date}
          aims:supplier: {column: supplier, ref: supplier, ref_class: aims:Organisation,
                          ref_label: true}
"""


def _files(tmp: Path, rows: str, *, encoding: str = "utf-8", extra: str = "") -> tuple[Path, Path]:
    mapping = tmp / "m.yaml"
    mapping.write_text(MAPPING + extra, encoding="utf-8")
    data = tmp / "systems.csv"
    data.write_bytes(("ID,Name,Supplier,Deployed\n" + rows).encode(encoding))
    return data, mapping


def _select(store, sparql: str) -> list[tuple]:
    return store.select_text(sparql)


def _objects(store, predicate: str) -> list[tuple[str, str]]:
    return sorted(_select(store, f"SELECT ?s ?o WHERE {{ GRAPH ?g {{ ?s <{predicate}> ?o }} }}"))


def test_placeholders_are_missing_values_and_a_mapping_extends_them(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,A,[blank],\n2,B,N/A,\n3,C,unknown,TBD\n4,D,-,\n"
                                     "5,E,not disclosed,\n6,F,[],\n7,G,none,\n")
    store = open_store("memory")
    res = ingest(store, data, mapping=mapping)[0]
    assert res.records == 7
    assert _objects(store, "https://aims-graph.org/ns#supplier") == []
    assert _objects(store, "https://aims-graph.org/ns#deploymentDate") == []


def test_supplier_spellings_are_one_node_with_alt_labels(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, '1,A,"Microsoft, Inc.",\n2,B,MICROSOFT INC,\n'
                                     "3,C,microsoft  inc,\n")
    store = open_store("memory")
    ingest(store, data, mapping=mapping)
    suppliers = {o for _, o in _objects(store, "https://aims-graph.org/ns#supplier")}
    assert len(suppliers) == 1
    (node,) = suppliers
    labels = [o for s, o in _objects(store, LABEL) if s == node]
    alts = sorted(o for s, o in _objects(store, SKOS_ALT) if s == node)
    assert labels == ["Microsoft, Inc."]
    assert alts == ["MICROSOFT INC", "microsoft  inc"]


def test_json_array_cells_are_lists(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, '1,A,"[""navya"",""keolis-north-america""]",\n')
    store = open_store("memory")
    ingest(store, data, mapping=mapping)
    suppliers = sorted(o for _, o in _objects(store, "https://aims-graph.org/ns#supplier"))
    assert [s.rsplit("/", 1)[-1] for s in suppliers] == ["keolis-north-america", "navya"]
    labels = {o for _, o in _objects(store, LABEL)}
    assert "navya" in labels and not any("[" in label for label in labels)


def test_implausible_dates_are_left_out_with_value_and_row(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,A,,1905-06-15\n2,B,,1899-12-31 11:59:00\n"
                                     "3,C,,2099-01-01\n4,D,,2024-05-01\n")
    store = open_store("memory")
    res = ingest(store, data, mapping=mapping)[0]
    dates = [o for _, o in _objects(store, "https://aims-graph.org/ns#deploymentDate")]
    assert dates == ["2024-05-01"]
    text = "\n".join(res.warnings)
    assert "'1905-06-15' is before 1950" in text and "(rows 2)" in text
    assert "'1899-12-31 11:59:00' is a time of day" in text and "(rows 3)" in text
    assert "'2099-01-01' is more than 5 years after" in text


def test_timestamp_with_zone_is_utc_datetime(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,A,,2025-03-01T10:30:00+02:00\n2,B,,2025-03-01\n")
    store = open_store("memory")
    ingest(store, data, mapping=mapping)
    rows = _select(store, "SELECT ?o (DATATYPE(?o) AS ?t) WHERE { GRAPH ?g { ?s "
                   "<https://aims-graph.org/ns#deploymentDate> ?o } } ORDER BY ?o")
    assert sorted(rows) == [("2025-03-01", XSD + "date"),
                            ("2025-03-01T08:30:00Z", XSD + "dateTime")]


def test_timestamp_without_zone_is_refused_unless_a_zone_is_named(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,A,,2025-03-01 10:30\n")
    store = open_store("memory")
    with pytest.raises(IngestRejected) as err:
        ingest(store, data, mapping=mapping)
    assert "row 2" in str(err.value) and "deployed" in str(err.value)
    assert "no time zone" in str(err.value) and "--timezone" in str(err.value)
    ingest(store, data, mapping=mapping, timezone="America/New_York")
    assert [o for _, o in _objects(store, "https://aims-graph.org/ns#deploymentDate")] == [
        "2025-03-01T15:30:00Z"]


def test_mapping_timezone_names_the_zone(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,A,,2025-07-01 10:30\n", extra="timezone: Europe/Paris\n")
    store = open_store("memory")
    ingest(store, data, mapping=mapping)
    assert [o for _, o in _objects(store, "https://aims-graph.org/ns#deploymentDate")] == [
        "2025-07-01T08:30:00Z"]


def test_a_bad_timezone_is_refused(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,A,,2025-07-01\n")
    with pytest.raises(InputError, match="not a time zone name"):
        ingest(open_store("memory"), data, mapping=mapping, timezone="Mars/Olympus")


def test_encoding_is_detected_and_reported(tmp_path: Path) -> None:
    data, mapping = _files(tmp_path, "1,Coût ¤ élevé,Société Générale,\n", encoding="cp1252")
    store = open_store("memory")
    res = ingest(store, data, mapping=mapping)[0]
    assert res.encoding == "cp1252"
    assert any("charset-normalizer" in w for w in res.warnings)
    assert ("Coût ¤ élevé" in {o for _, o in _objects(store, LABEL)})
