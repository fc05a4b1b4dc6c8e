"""Every input format normalises dates the same way (issue 18, Dates): a date stays an
`xsd:date`; a timestamp with a zone becomes an `xsd:dateTime` in UTC; a timestamp without a
zone is refused naming where it is (row and column for a table, line and property for RDF)
unless --timezone (or, for a table, the mapping's `timezone:`) names the zone."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from mapper.errors import InputError
from mapper.ingest import IngestRejected, ingest
from mapper.store import Store, open_store

XSD = "http://www.w3.org/2001/XMLSchema#"
DEPLOYED = "https://aims-graph.org/ns#deploymentDate"

MAPPING = """
name: dates-test
tables:
  - name: systems
    columns:
      id: {headers: [ID]}
      name: {headers: [Name]}
      deployed: {headers: [Deployed]}
    key: [id]
    nodes:
      - id: system
        kind: ai-system
        class: aims:AISystem
        props:
          rdfs:label: {column: name}
          aims:deploymentDate: {column: deployed, type: date}
"""
HEADER = ["ID", "Name", "Deployed"]
ZONED = [["1", "Dated", "2025-03-01"], ["2", "Zoned", "2025-03-01T23:30:00-10:00"]]
ZONELESS = [["3", "Zoneless", "2025-03-01 10:30"]]
WANT = [("2025-03-01", XSD + "date"), ("2025-03-02T09:30:00Z", XSD + "dateTime")]
NEW_YORK = ("2025-03-01T15:30:00Z", XSD + "dateTime")  # 10:30 EST


def _dates(store: Store) -> list[tuple[str, str]]:
    return sorted(store.select_text(  # type: ignore[attr-defined]
        f"SELECT ?o (DATATYPE(?o) AS ?t) WHERE {{ GRAPH ?g {{ ?s <{DEPLOYED}> ?o }} }}"))


def _csv(tmp: Path, rows: list[list[object]]) -> Path:
    path = tmp / "systems.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in [HEADER, *rows]) + "\n",
                    encoding="utf-8")
    return path


def _json(tmp: Path, rows: list[list[object]]) -> Path:
    path = tmp / "systems.json"
    path.write_text(json.dumps({"systems": [dict(zip(HEADER, r, strict=True)) for r in rows]}),
                    encoding="utf-8")
    return path


def _xlsx(tmp: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "systems"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    path = tmp / "systems.xlsx"
    book.save(path)
    return path


# a spreadsheet holds a date as a day, a zoned time as text, and a zone-less time as a
# date-time cell (Excel has no zones)
XLSX_ZONED = [["1", "Dated", date(2025, 3, 1)], ["2", "Zoned", "2025-03-01T23:30:00-10:00"]]
XLSX_ZONELESS = [["3", "Zoneless", datetime(2025, 3, 1, 10, 30)]]
TABLES = {
    "csv": (_csv, ZONED, ZONELESS, "row 2"),
    "json": (_json, ZONED, ZONELESS, "row 1"),
    "xlsx": (_xlsx, XLSX_ZONED, XLSX_ZONELESS, "row 2"),
}


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_table_dates_stay_dates_and_zoned_timestamps_become_utc(
        kind: str, tmp_path: Path, mapping: Path) -> None:
    write, zoned, _, _ = TABLES[kind]
    store = open_store("memory")
    ingest(store, write(tmp_path, zoned), mapping=mapping)
    assert _dates(store) == WANT


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_table_zoneless_timestamp_is_refused_unless_a_zone_is_named(
        kind: str, tmp_path: Path, mapping: Path) -> None:
    write, _, zoneless, row = TABLES[kind]
    store = open_store("memory")
    path = write(tmp_path, zoneless)
    with pytest.raises(IngestRejected) as err:
        ingest(store, path, mapping=mapping)
    message = str(err.value)
    assert row in message and "deployed" in message, message
    assert "no time zone" in message and "--timezone" in message
    assert _dates(store) == []  # nothing half-written
    ingest(store, path, mapping=mapping, timezone="America/New_York")
    assert _dates(store) == [NEW_YORK]


def test_table_mapping_timezone_names_the_zone(tmp_path: Path, mapping: Path) -> None:
    mapping.write_text(MAPPING + "timezone: America/New_York\n", encoding="utf-8")
    store = open_store("memory")
    ingest(store, _xlsx(tmp_path, XLSX_ZONELESS), mapping=mapping)
    assert _dates(store) == [NEW_YORK]


PREFIXES = """@prefix aims: <https://aims-graph.org/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
TURTLE = PREFIXES + """<https://example.org/d/s1> aims:deploymentDate "2025-03-01"^^xsd:date .
<https://example.org/d/s2> aims:deploymentDate "2025-03-01T23:30:00-10:00"^^xsd:dateTime .
"""


def test_turtle_dates_stay_dates_and_zoned_timestamps_become_utc(tmp_path: Path) -> None:
    path = tmp_path / "dates.ttl"
    path.write_text(TURTLE + '<https://example.org/d/s3> aims:deploymentDate '
                    '"2025-03-01T09:30:00Z"^^xsd:dateTime .\n', encoding="utf-8")
    store = open_store("memory")
    ingest(store, path)
    assert _dates(store) == sorted([*WANT, ("2025-03-01T09:30:00Z", XSD + "dateTime")])


def test_turtle_zoneless_timestamp_is_refused_unless_a_zone_is_named(tmp_path: Path) -> None:
    path = tmp_path / "dates.ttl"
    # the zone-less text also begins the zoned literal on line 4: the message names line 6
    path.write_text(TURTLE + "\n" + '<https://example.org/d/s3> aims:deploymentDate '
                    '"2025-03-01T23:30:00"^^xsd:dateTime .\n', encoding="utf-8")
    store = open_store("memory")
    with pytest.raises(InputError) as err:
        ingest(store, path)
    message = str(err.value)
    assert "dates.ttl, line 6, aims:deploymentDate" in message, message
    assert "no time zone" in message and "--timezone" in message
    assert _dates(store) == []  # nothing half-written
    ingest(store, path, timezone="America/New_York")
    assert _dates(store) == sorted([*WANT, ("2025-03-02T04:30:00Z", XSD + "dateTime")])


def test_turtle_midnight_without_a_zone_is_the_date(tmp_path: Path) -> None:
    path = tmp_path / "dates.ttl"
    path.write_text(PREFIXES + '<https://example.org/d/s1> '
                    'aims:deploymentDate "2025-03-01T00:00:00"^^xsd:dateTime .\n',
                    encoding="utf-8")
    store = open_store("memory")
    ingest(store, path)
    assert _dates(store) == [("2025-03-01", XSD + "date")]


def test_jsonld_timestamps_are_normalised_and_a_zoneless_one_refused(tmp_path: Path) -> None:
    def doc(stamp: str) -> str:
        return json.dumps({"@id": "https://example.org/d/s1", DEPLOYED: {
            "@value": stamp, "@type": XSD + "dateTime"}})

    path = tmp_path / "dates.jsonld"
    path.write_text(doc("2025-03-01T23:30:00-10:00"), encoding="utf-8")
    store = open_store("memory")
    ingest(store, path)
    assert _dates(store) == [("2025-03-02T09:30:00Z", XSD + "dateTime")]
    path.write_text(doc("2025-03-01T10:30:00"), encoding="utf-8")
    with pytest.raises(InputError, match=r"dates.jsonld, line 1, aims:deploymentDate: "
                       r"'2025-03-01T10:30:00' has a time but no time zone"):
        ingest(open_store("memory"), path)
