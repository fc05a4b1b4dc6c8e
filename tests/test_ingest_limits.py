"""What an input may cost: each bound of mapper/ingest/limits.py met by a file the test writes
(a zip bomb workbook, a sheet lying about its size, a line without end, JSON nested 100,000
deep, an overlong literal), through the library, the CLI (exit 2, one line) and the API (413);
duplicate keys reported once per group in linear time; ill-typed literals refused or, with
--lenient, loaded with a warning."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from rdflib import URIRef

from mapper.errors import InputError
from mapper.ingest import IngestRejected, LimitExceeded, Limits, ingest, prepare
from mapper.ingest.limits import json_depth
from mapper.store import Store, open_store
from tests.fixtures.api import auth, make_client, make_keys
from tests.test_ingest_real import REAL

AIMS_BIN = Path(sys.executable).with_name("aims")
SYSTEMS_HEADER = "System ID,Name,Type,Purpose,In scope,Lifecycle stage,Deployment date\n"


@pytest.fixture
def store() -> Store:
    return open_store("memory")


def _systems_csv(path: Path, n: int, *, key: str | None = None) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write(SYSTEMS_HEADER)
        for i in range(n):
            out.write(f"{key or f'SYS-{i}'},System {i},internal,Purpose {i},yes,deployed,"
                      "2025-01-01\n")
    return path


def _workbook(path: Path, rows: int) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "AI systems"
    sheet.append(SYSTEMS_HEADER.strip().split(","))
    for i in range(rows):
        sheet.append([f"SYS-{i}", f"System {i}", "internal", f"Purpose {i}", "yes",
                      "deployed", "2025-01-01"])
    book.save(path)
    return path


def _rewrite_sheet(path: Path, change: object) -> Path:
    """Rewrite the first sheet's XML of a workbook with `change(xml) -> xml`."""
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = change(parts[name])  # type: ignore[operator]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for part, data in parts.items():
            dst.writestr(part, data)
    return path


def _zip_bomb(path: Path) -> Path:
    """A small workbook whose sheet inflates to 40 MB: the rows end in a run of blanks, the
    sheet declares no dimension."""
    _workbook(path, 3)

    def inflate(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension[^>]*/>", b"", xml)
        return xml.replace(b"</sheetData>", b" " * 40_000_000 + b"</sheetData>")

    return _rewrite_sheet(path, inflate)


# --- workbooks ------------------------------------------------------------------------------


def test_zip_bomb_workbook_is_refused_before_it_inflates(tmp_path: Path, store: Store) -> None:
    bomb = _zip_bomb(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < 200_000
    start = time.perf_counter()
    with pytest.raises(LimitExceeded) as info:
        ingest(store, bomb)
    assert time.perf_counter() - start < 2
    assert info.value.limit == "max_ratio"
    message = str(info.value)
    assert "bomb.xlsx [xl/worksheets/sheet1.xml]" in message
    assert "AIMS_INGEST_MAX_RATIO" in message and "inflates" in message
    assert not [g for g in store.graphs() if g.startswith("urn:aims:batch:")]


def test_workbook_inflated_size_is_bounded(tmp_path: Path, store: Store) -> None:
    book = _workbook(tmp_path / "book.xlsx", 200)
    with pytest.raises(LimitExceeded) as info:
        ingest(store, book, limits=Limits(max_unzipped=20_000))
    assert info.value.limit == "max_unzipped" and "AIMS_INGEST_MAX_UNZIPPED" in str(info.value)
    [res] = ingest(store, book)  # the default is far above a real workbook
    assert res.records == 200


def test_sheet_rows_are_counted_not_taken_from_its_dimension(tmp_path: Path,
                                                             store: Store) -> None:
    def lie(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:B2"/>', xml)

    book = _rewrite_sheet(_workbook(tmp_path / "liar.xlsx", 60), lie)
    [res] = ingest(store, book)
    assert res.records == 60  # not cut at the declared two rows
    with pytest.raises(LimitExceeded) as info:
        ingest(open_store("memory"), book, limits=Limits(max_rows=40))
    assert info.value.limit == "max_rows"
    assert "liar.xlsx [sheet AI systems], row 41: more than 40 rows" in str(info.value)


def test_sheet_cells_are_bounded(tmp_path: Path, store: Store) -> None:
    book = _workbook(tmp_path / "cells.xlsx", 30)
    with pytest.raises(LimitExceeded) as info:
        ingest(store, book, limits=Limits(max_cells=100))
    assert info.value.limit == "max_cells" and ", row 15: more than 100 cells" in str(info.value)


# --- CSV ------------------------------------------------------------------------------------


def test_csv_line_without_end_is_refused_early(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(SYSTEMS_HEADER)
        out.write("SYS-1,System," + "x" * 3_000_000)  # 3 MB, no line end
    with pytest.raises(LimitExceeded) as info:
        ingest(store, path)
    assert info.value.limit == "max_line"
    assert str(info.value).startswith("long.csv, line 2: a line longer than 1,000,000 "
                                      "characters")


def test_csv_overlong_literal_names_line_and_column(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "literal.csv"
    path.write_text(SYSTEMS_HEADER + "SYS-1,System 1,internal,Purpose,yes,deployed,2025-01-01\n"
                    + 'SYS-2,System 2,internal,"' + "p" * 150_000 + '",yes,deployed,\n',
                    encoding="utf-8")
    with pytest.raises(LimitExceeded) as info:
        ingest(store, path)
    assert info.value.limit == "max_literal"
    assert "literal.csv, line 3: a value longer than 100,000 characters" in str(info.value)


def test_csv_rows_and_cells_are_bounded(tmp_path: Path, store: Store) -> None:
    path = _systems_csv(tmp_path / "rows.csv", 50)
    with pytest.raises(LimitExceeded) as info:
        ingest(store, path, limits=Limits(max_rows=20))
    assert "rows.csv, line 21: more than 20 rows" in str(info.value)
    wide = tmp_path / "wide.csv"
    wide.write_text(SYSTEMS_HEADER + "SYS-1" + ",x" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(LimitExceeded) as info:
        ingest(store, wide, limits=Limits(max_cells=1000))
    assert info.value.limit == "max_cells"


# --- JSON and RDF ---------------------------------------------------------------------------


def test_deep_json_is_refused_without_recursion(tmp_path: Path, store: Store) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for name in ("deep.json", "deep.jsonld"):
        (tmp_path / name).write_bytes(deep)
        with pytest.raises(LimitExceeded) as info:
            ingest(store, tmp_path / name)
        assert info.value.limit == "max_depth"
        assert f"{name}, line 1: JSON nested more than 64 deep" in str(info.value)
    assert json_depth(b'{"a": "[[[[", "b": [{"c": 1}]}') == (3, 1)


def test_real_files_stay_far_within_the_defaults() -> None:
    """The defaults are chosen so that no real inventory meets them."""
    from mapper.ingest.xlsx import check_zip

    oscal = sorted((REAL / "nist-oscal-examples").glob("*.json"))
    assert max(json_depth(f.read_bytes())[0] for f in oscal) * 4 < Limits().max_depth
    tight = Limits(max_ratio=Limits().max_ratio // 5, max_unzipped=Limits().max_unzipped // 20)
    for book in sorted(REAL.rglob("*.xlsx")):
        check_zip(book, book.name, tight)  # passes with a fifth of the ratio, 1/20 the size


def test_turtle_overlong_literal_is_refused(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "long.ttl"
    path.write_text('@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                    '<https://example.org/a> rdfs:label "short" .\n'
                    '<https://example.org/b> rdfs:comment "' + "c" * 120_000 + '" .\n',
                    encoding="utf-8")
    with pytest.raises(LimitExceeded) as info:
        ingest(store, path)
    assert info.value.limit == "max_literal"
    assert "long.ttl, line 3: a literal of 120,000 characters" in str(info.value)


# --- settings -------------------------------------------------------------------------------


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_env({"AIMS_INGEST_MAX_ROWS": "1_000", "AIMS_INGEST_MAX_RATIO": "5"})
    assert (limits.max_rows, limits.max_ratio, limits.max_depth) == (1000, 5, 64)
    with pytest.raises(InputError, match=r"\$AIMS_INGEST_MAX_LINE='ten' must be a whole"):
        Limits.from_env({"AIMS_INGEST_MAX_LINE": "ten"})


def test_cli_names_the_limit_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = _systems_csv(tmp_path / "inventory.csv", 30)
    env = dict(os.environ, AIMS_STORE=str(tmp_path / "store"), AIMS_INGEST_MAX_ROWS="10")
    done = subprocess.run([str(AIMS_BIN), "ingest", str(path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "inventory.csv, line 11: more than 10 rows" in lines[0]
    assert "AIMS_INGEST_MAX_ROWS" in lines[0]
    bomb = _zip_bomb(tmp_path / "bomb.xlsx")
    done = subprocess.run([str(AIMS_BIN), "ingest", str(bomb)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "AIMS_INGEST_MAX_RATIO" in done.stderr


def test_api_answers_413_naming_the_limit(tmp_path: Path, store: Store) -> None:
    keys = make_keys(tmp_path / "apikeys.json")
    bomb = _zip_bomb(tmp_path / "bomb.xlsx").read_bytes()
    with make_client(store, tmp_path / "apikeys.json") as client:
        response = client.post(
            "/v1/ingest", params={"filename": "bomb.xlsx"}, content=bomb,
            headers=auth(keys["contributor"]) | {"Content-Type": "application/vnd."
                                                 "openxmlformats-officedocument.spreadsheetml."
                                                 "sheet"})
        assert response.status_code == 413, response.text
        body = response.json()
        assert body["error"] == "too_large" and "AIMS_INGEST_MAX_RATIO" in body["message"]
        deep = client.post("/v1/ingest", params={"filename": "deep.json"},
                           content=b"[" * 5000 + b"]" * 5000,
                           headers=auth(keys["contributor"]) | {
                               "Content-Type": "application/json"})
        assert deep.status_code == 413 and "AIMS_INGEST_MAX_DEPTH" in deep.json()["message"]
        assert client.get("/v1/batches", headers=auth(keys["reader"])).json() == []


# --- duplicate keys: one pass, one report per group -----------------------------------------


@pytest.mark.parametrize("n", [2_000, 8_000])
def test_duplicate_keys_are_reported_once_per_group(tmp_path: Path, store: Store,
                                                    n: int) -> None:
    path = _systems_csv(tmp_path / f"dup-{n}.csv", n, key="SYS-SAME")
    start = time.perf_counter()
    with pytest.raises(IngestRejected) as info:
        ingest(store, path)
    seconds = time.perf_counter() - start
    [group] = info.value.rejected
    assert (group["row"], group["count"]) == (2, n)
    assert group["rows"] == list(range(2, 10))  # the first few, not all
    assert f"duplicate key: {n:,} rows share it".replace(",", "") in str(info.value)
    assert len(str(info.value)) < 600  # the message does not grow with the group
    assert seconds < 0.5 + n / 4000  # linear: well under a second per 4,000 rows
    [res] = ingest(store, path, skip_invalid=True)
    assert res.records == 0 and res.rejected[0]["count"] == n


def test_skip_invalid_records_the_group_in_the_provenance(tmp_path: Path,
                                                          store: Store) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(SYSTEMS_HEADER + "".join(
        f"{'SYS-D' if i % 2 else f'SYS-{i}'},System {i},internal,P,yes,deployed,\n"
        for i in range(40)), encoding="utf-8")
    [res] = ingest(store, path, skip_invalid=True)
    assert res.records == 20
    [group] = res.rejected
    assert group["count"] == 20 and group["row"] == 3
    rejected = store.query(
        "SELECT ?n WHERE { GRAPH ?g { ?b <https://aims-graph.org/ns#rowsRejected> ?n } }",
        bindings={"g": URIRef("urn:aims:graph:provenance")})
    assert int(str(rejected.rows[0][0])) == 20


# --- ill-typed literals ---------------------------------------------------------------------

ALERTS = """\
Alert ID,System ID,Date,Observed value,Threshold,Triage note
ALERT-301,SYS-CLAIMS-TRIAGE,2026-03-02,0.31,0.25,Drift on claim amounts
ALERT-302,SYS-CLAIMS-TRIAGE,2026-03-09,=cmd|' /C calc'!A0,0.25,Pasted from a spreadsheet
ALERT-303,SYS-CLAIMS-TRIAGE,2026-02-30,0.28,0.25,Date typed by hand
"""

TURTLE = """\
@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://example.org/aims/alert-9> a aims:MonitoringAlert ;
    rdfs:label "Alert 9" ;
    aims:observedValue "=cmd|' /C calc'!A0"^^xsd:decimal ;
    aims:recordDate "2026-13-01"^^xsd:date .
"""


def test_ill_typed_csv_values_are_refused_by_row_and_column(tmp_path: Path,
                                                             store: Store) -> None:
    path = tmp_path / "alerts.csv"
    path.write_text(ALERTS, encoding="utf-8")
    with pytest.raises(IngestRejected) as info:
        ingest(store, path)
    message = str(info.value)
    assert "alerts.csv, row 3, column observed_value: value \"=cmd|' /C calc'!A0\"" in message
    assert "is not a number" in message
    assert "alerts.csv, row 4, column alert_date: value '2026-02-30'" in message


def test_lenient_loads_ill_typed_csv_values_as_text_with_a_warning(tmp_path: Path,
                                                                   store: Store) -> None:
    path = tmp_path / "alerts.csv"
    path.write_text(ALERTS, encoding="utf-8")
    [res] = ingest(store, path, lenient=True)
    assert res.records == 3 and not res.rejected
    assert any("observed_value: 1 row(s) were not a valid decimal; loaded as text (--lenient)"
               " (rows 3)" in w for w in res.warnings), res.warnings
    found = store.query("SELECT ?v WHERE { ?a <https://aims-graph.org/ns#observedValue> ?v "
                        "FILTER(STR(?v) = \"=cmd|' /C calc'!A0\") }")
    [[value]] = found.rows
    assert value.datatype is None  # plain text, never a number  # type: ignore[union-attr]


def test_ill_typed_turtle_literal_is_refused_naming_the_line(tmp_path: Path,
                                                             store: Store) -> None:
    path = tmp_path / "alert.ttl"
    path.write_text(TURTLE, encoding="utf-8")
    with pytest.raises(InputError) as info:
        ingest(store, path)
    assert str(info.value).startswith(
        "alert.ttl, line 7: \"=cmd|' /C calc'!A0\" is not a decimal number (xsd:decimal)")
    assert "--lenient" in str(info.value)
    assert not [g for g in store.graphs() if g.startswith("urn:aims:batch:")]
    [res] = ingest(store, path, lenient=True)
    assert res.triples == 4
    [warning] = res.warnings
    assert warning.startswith("2 literal(s) not of their datatype, loaded as written")
    assert "line 8: '2026-13-01' is not a date" in warning


def test_cli_and_api_take_lenient(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "alert.ttl"
    path.write_text(TURTLE, encoding="utf-8")
    env = dict(os.environ, AIMS_STORE=str(tmp_path / "store"))
    refused = subprocess.run([str(AIMS_BIN), "ingest", str(path)], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "alert.ttl, line 7:" in refused.stderr
    loaded = subprocess.run([str(AIMS_BIN), "ingest", str(path), "--lenient"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert "warning: 2 literal(s) not of their datatype" in loaded.stdout
    keys = make_keys(tmp_path / "apikeys.json")
    with make_client(store, tmp_path / "apikeys.json") as client:
        headers = auth(keys["contributor"]) | {"Content-Type": "text/turtle"}
        no = client.post("/v1/ingest", params={"filename": "alert.ttl"},
                         content=TURTLE.encode(), headers=headers)
        assert no.status_code == 422 and "line 7" in no.json()["message"]
        yes = client.post("/v1/ingest", params={"filename": "alert.ttl", "lenient": "true",
                                                "verdict": "false"},
                          content=TURTLE.encode(), headers=headers)
        assert yes.status_code == 200, yes.text
        assert "literal(s) not of their datatype" in yes.json()["batches"][0]["warnings"][0]


def test_prepare_touches_no_store(tmp_path: Path) -> None:
    path = _systems_csv(tmp_path / "systems.csv", 10)
    with prepare(path) as preparation:
        [p] = preparation.prepared
        assert p.result.records == 10 and p.triples.is_file()
        folder = preparation.folder
    assert not folder.exists()  # the spool is removed with the preparation
    json.dumps(p.result.as_dict())
