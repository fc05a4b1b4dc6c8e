"""Ingest: readers, mappings, batches with provenance, bad input and the CLI (small files)."""

from __future__ import annotations

import doctest
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Literal, URIRef

import mapper.ingest
import mapper.ingest.csv
import mapper.ingest.json
import mapper.ingest.mapping
import mapper.ingest.rdf
import mapper.ingest.template
import mapper.ingest.values
from mapper.errors import InputError, NotFound
from mapper.ingest import IngestRejected, ingest
from mapper.ingest.batches import PROVENANCE_GRAPH, drop_batch, list_batches
from mapper.ingest.mapping import MappingError, load_mapping
from mapper.ingest.values import DateProblem, parse_date, slug
from mapper.store import Store, open_store

DATA = Path(__file__).parent / "data" / "ingest"
SYS = "https://aims-graph.org/id/ai-system/"
AIMS = "https://aims-graph.org/ns#"


@pytest.fixture
def store() -> Store:
    return open_store("memory")


def snapshot(store: Store) -> set[tuple[object, ...]]:
    return set(store.quads())


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    from mapper.cli import main

    monkeypatch.setattr(sys, "argv", ["aims", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# --- values and doctests ---------------------------------------------------------------------


@pytest.mark.parametrize("module", [
    mapper.ingest.values, mapper.ingest.mapping, mapper.ingest.csv, mapper.ingest.json,
    mapper.ingest.rdf, mapper.ingest.template, mapper.ingest,
])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-03-01", "2025-03-01"), ("2025-03-01 00:00:00", "2025-03-01"),
    ("2025-03-01T10:00:00+02:00", "2025-03-01"), ("01/03/2025", "2025-03-01"),
    ("1.3.2025", "2025-03-01"), ("3 March 2025", "2025-03-03"), ("March 3, 2025", "2025-03-03"),
    (45717, "2025-03-01"), ("45717", "2025-03-01"),
])
def test_dates(value: object, expected: str) -> None:
    assert parse_date(value).__getitem__(0).isoformat() == expected  # type: ignore[arg-type]


def test_partial_dates_need_permission() -> None:
    assert parse_date("Q2 2024", partial=True)[0].isoformat() == "2024-04-01"
    assert parse_date("01/2024", partial=True)[0].isoformat() == "2024-01-01"
    with pytest.raises(DateProblem):
        parse_date("01/2024")
    with pytest.raises(DateProblem, match="February 2025 has 28 days"):
        parse_date("31/02/2025")
    with pytest.raises(DateProblem, match="no month 13"):
        parse_date("13/01/2025", order="MDY")


def test_slug_is_stable() -> None:
    assert slug("SYS-007") == slug(" sys 007 ") == "sys-007"
    assert slug("日本") == slug("日本") and slug("日本").startswith("h")


# --- tabular ingest --------------------------------------------------------------------------


def test_workbook_csv_loads_with_stable_iris(store: Store) -> None:
    [res] = ingest(store, DATA / "systems.csv")
    assert (res.status, res.mapping, res.records) == ("loaded", "aims-workbook", 3)
    graph = {(s, p, o) for s, p, o, _ in store.quads(res.graph)}
    sys1 = URIRef(SYS + "sys-1")
    assert (sys1, URIRef(AIMS + "lifecycleStage"), URIRef(AIMS + "Deployed")) in graph
    assert (sys1, URIRef(AIMS + "inScope"), Literal(True)) in graph
    deployment = [o for s, p, o in graph if s == sys1 and p == URIRef(AIMS + "deploymentDate")]
    assert deployment == [Literal("2025-03-01", datatype=URIRef(
        "http://www.w3.org/2001/XMLSchema#date"))]
    assert (URIRef(SYS + "sys-2"), URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            URIRef(AIMS + "ThirdPartyAISystem")) in graph
    assert res.triples == len(graph)


def test_unchanged_replaced_and_provenance(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "systems.csv"
    path.write_bytes((DATA / "systems.csv").read_bytes())
    [first] = ingest(store, path, actor="alice")
    before = snapshot(store)
    [again] = ingest(store, path, actor="alice")
    assert again.status == "unchanged" and again.batch == first.batch
    assert snapshot(store) == before
    path.write_text(path.read_text().replace("Credit scorer", "Credit scorer 2"))
    [second] = ingest(store, path, actor="bob")
    assert (second.status, second.replaced) == ("replaced", first.batch)
    assert first.graph not in store.graphs() and second.graph in store.graphs()
    names = [str(o) for s, p, o, _ in store.quads(second.graph) if str(p).endswith("label")]
    assert "Credit scorer 2" in names and "Credit scorer" not in names
    rows = {b.id: b for b in list_batches(store)}
    assert rows[first.batch].status == "superseded"
    assert rows[second.batch].status == "current"
    assert rows[second.batch].revision_of == first.batch
    assert rows[second.batch].actor == "bob" and rows[second.batch].mapping == "aims-workbook"
    ask = store.query(
        "ASK { GRAPH ?g { ?new <http://www.w3.org/ns/prov#wasRevisionOf> ?old . "
        "?old <http://www.w3.org/ns/prov#invalidatedAtTime> ?t } }",
        bindings={"g": URIRef(PROVENANCE_GRAPH)})
    assert ask.boolean


def test_drop_batch(store: Store) -> None:
    from datetime import UTC, datetime

    [res] = ingest(store, DATA / "systems.csv")
    drop_batch(store, res.batch, when=datetime.now(UTC))
    assert res.graph not in store.graphs()
    assert [b.status for b in list_batches(store)] == ["dropped"]
    with pytest.raises(NotFound):
        drop_batch(store, "nope", when=datetime.now(UTC))
    [again] = ingest(store, DATA / "systems.csv")
    assert again.status == "loaded" and again.batch != res.batch


def test_invalid_rows_abort_or_are_recorded(store: Store) -> None:
    before = snapshot(store)
    with pytest.raises(IngestRejected) as info:
        ingest(store, [DATA / "systems.csv", DATA / "duplicate_key.csv"])
    assert snapshot(store) == before  # not even the valid file was written
    [group] = info.value.rejected  # one report for the rows sharing the key
    assert (group["row"], group["count"], group["rows"]) == (2, 2, [2, 4])
    assert "duplicate key: 2 rows share it (rows 2, 4)" in str(info.value)
    [res] = ingest(store, DATA / "duplicate_key.csv", skip_invalid=True)
    assert res.records == 1 and [r["rows"] for r in res.rejected] == [[2, 4]]
    found = store.query(
        "SELECT ?row ?reason WHERE { GRAPH ?g { ?b <https://aims-graph.org/ns#rejectedRow> ?r . "
        "?r <https://aims-graph.org/ns#rowNumber> ?row ; <https://aims-graph.org/ns#reason> "
        "?reason } } ORDER BY ?row", bindings={"g": URIRef(PROVENANCE_GRAPH)})
    assert [int(str(r[0])) for r in found.rows] == [2]  # the group, by its first row


def test_json_records_and_object_holding_them(store: Store, tmp_path: Path) -> None:
    records = [{"System ID": "J-1", "Name": "From JSON", "In scope": True}]
    (tmp_path / "a.json").write_text(json.dumps({"systems": records}))
    [res] = ingest(store, tmp_path / "a.json")
    assert res.records == 1 and res.mapping == "aims-workbook"
    assert any(s == URIRef(SYS + "j-1") for s, *_ in store.quads(res.graph))


def test_workbook_xlsx_several_registers(store: Store, tmp_path: Path) -> None:
    import openpyxl

    from mapper.ingest.template import write_template

    path = write_template(tmp_path / "w.xlsx")
    book = openpyxl.load_workbook(path)
    book["People"].append(["P-1", "Ada", "ada@example.org", None, "R-1"])
    book["Roles"].append(["R-1", "Chief Risk Officer", "top management; approval authority"])
    book["AI systems"].append(["SYS-9", "Router", "internal", "Routes", "P-1", "yes", "deployed",
                               None, None, 45717])
    book.save(path)
    [res] = ingest(store, path)
    assert sorted(res.sheets) == ["AI systems", "People", "Roles"]
    assert res.records == 3
    owner = store.query(
        "SELECT ?n WHERE { ?s <https://aims-graph.org/ns#businessOwner> ?p . "
        "?p <http://www.w3.org/2000/01/rdf-schema#label> ?n ; "
        "<https://aims-graph.org/ns#holdsRole>/<https://aims-graph.org/ns#roleKind> "
        "<https://aims-graph.org/ns#TopManagement> }")
    assert [str(r[0]) for r in owner.rows] == ["Ada"]
    date = store.query("SELECT ?d WHERE { ?s <https://aims-graph.org/ns#deploymentDate> ?d }")
    assert str(date.rows[0][0]) == "2025-03-01"  # Excel serial 45717


def test_template_has_validation_lists(tmp_path: Path) -> None:
    import openpyxl

    from mapper.ingest.template import write_template

    book = openpyxl.load_workbook(write_template(tmp_path / "w.xlsx"))
    sheet = book["AI systems"]
    assert [c.value for c in sheet[1]][:2] == ["System ID", "Name"]
    assert sheet.data_validations.dataValidation, "no drop-down lists"
    assert book["Lists"].sheet_state == "hidden"


# --- RDF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["good.nt", "good.jsonld", "good.rdf"])
def test_rdf_formats(store: Store, name: str) -> None:
    [res] = ingest(store, DATA / name)
    assert res.triples == 1 and res.mapping is None
    [(s, _, o, g)] = list(store.quads(res.graph))
    assert str(s) == "http://example.org/a" and str(o).startswith("from ")


def test_folder_skips_unrecognised_files(store: Store, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# notes")
    (tmp_path / "a.ttl").write_text('<urn:x:a> <urn:x:p> "1" .')
    (tmp_path / "b.nt").write_text('<urn:x:b> <urn:x:p> "2" .\n')
    results = ingest(store, tmp_path)
    assert [r.source for r in results] == ["a.ttl", "b.nt"]


# --- bad input: one clear line, exit 2, store unchanged ----------------------------------------


def _binary(tmp: Path) -> Path:
    path = tmp / "data.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.csv"
    path.write_bytes(b"")
    return path


def _xlsx(tmp: Path) -> Path:
    from mapper.ingest.template import write_template

    return write_template(tmp / "w.xlsx")


BAD: list[tuple[Callable[[Path], Path], list[str], str]] = [
    (lambda t: DATA / "broken_quote.csv", [], r"broken_quote.csv, line 3: broken CSV"),
    (lambda t: DATA / "bad_date.csv", [],
     r"row 3, column deployment_date: value '31/02/2025': '31/02/2025' is not a real date"),
    (lambda t: DATA / "unknown_enum.csv", [], r"row 2, column lifecycle_stage: value 'Flying'"),
    (lambda t: DATA / "bad.ttl", [], r"bad.ttl: syntax error: .*line 3 column"),
    (lambda t: DATA / "remote_context.jsonld", [], r"never fetches remote contexts"),
    (lambda t: DATA / "entity.rdf", [], r"external\s+entities are never resolved"),
    (_empty, [], r"empty.csv: the file is empty"),
    (_binary, [], r"data.csv: this is a binary file"),
    (lambda t: DATA / "systems.csv", ["--mapping", str(DATA / "missing_column.yaml")],
     r"column 'name' is not under 'columns'"),
    (lambda t: DATA / "systems.csv", ["--mapping", str(DATA / "needs_owner.yaml")],
     r"missing 'Owner'\. Expected columns: .*Found: System ID; Name"),
    (lambda t: DATA / "systems.csv", ["--mapping", "no-such-mapping"], r"no mapping named"),
    (_xlsx, ["--sheet", "Nope"], r"no sheet named 'Nope'; sheets: README"),
]


@pytest.mark.parametrize(("make", "extra", "message"), BAD,
                         ids=[m for _, _, m in BAD])
def test_bad_input_cli(make: Callable[[Path], Path], extra: list[str], message: str,
                       tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    location = str(tmp_path / "store")
    seed = DATA / "good.nt"
    code, _, _ = run_cli(["ingest", str(seed), "--store", location], capsys, monkeypatch)
    assert code == 0
    with open_store(location) as st:
        before = snapshot(st)
    code, out, err = run_cli(["ingest", str(make(tmp_path)), *extra, "--store", location],
                             capsys, monkeypatch)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert re.search(message, err, re.DOTALL), err
    with open_store(location) as st:
        assert snapshot(st) == before


def test_mapping_with_unknown_term_is_refused(tmp_path: Path) -> None:
    text = (DATA / "needs_owner.yaml").read_text().replace("aims:AISystem", "aims:AISystm")
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(MappingError, match="aims:AISystm is not in the ontology"):
        load_mapping(tmp_path / "m.yaml")


def test_cli_json_and_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    location = str(tmp_path / "store")
    code, out, _ = run_cli(["ingest", str(DATA / "duplicate_key.csv"), "--skip-invalid",
                            "--format", "json", "--store", location], capsys, monkeypatch)
    assert code == 0
    [doc] = json.loads(out)
    assert {"batch", "records", "triples", "rejected", "warnings"} <= set(doc)
    assert doc["rejected"][0]["row"] == 2 and doc["rejected"][0]["column"] == "system_id"
    code, out, _ = run_cli(["batches", "--format", "json", "--store", location], capsys,
                           monkeypatch)
    assert code == 0 and json.loads(out)[0]["batch"] == doc["batch"]
    code, out, _ = run_cli(["batches", "drop", doc["batch"], "--store", location], capsys,
                           monkeypatch)
    assert code == 0 and "dropped" in out
    code, _, err = run_cli(["batches", "drop", "nope", "--store", location], capsys,
                           monkeypatch)
    assert code == 2 and "no batch 'nope'" in err


def test_cli_template(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["template", "--out", str(tmp_path / "t.xlsx")], capsys, monkeypatch)
    assert code == 0 and (tmp_path / "t.xlsx").is_file()


def test_input_errors_are_input_errors() -> None:
    assert issubclass(IngestRejected, InputError)
    assert issubclass(MappingError, InputError)
