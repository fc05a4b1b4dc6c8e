"""Identity across sources: keys scoped by their organisation, conflicts between batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapper.cli import app
from mapper.errors import InputError
from mapper.ingest import ingest
from mapper.store import open_store

AIMS = "https://aims-graph.org/ns#"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _write(folder: Path, name: str, rows: list[tuple[str, str, str]],
           agency: str | None = None) -> Path:
    head = ("Agency," if agency else "") + "Use Case ID,Use Case Name,Stage of Development\n"
    body = "".join((f"{agency}," if agency else "") + f"{i},{n},{s}\n" for i, n, s in rows)
    path = folder / name
    path.write_text(head + body, encoding="utf-8")
    return path


def _labels(store, iri: str) -> set[str]:
    return {row[0] for row in store.select_text(
        f"SELECT ?l WHERE {{ GRAPH ?g {{ <{iri}> <{LABEL}> ?l }} }}")}


def test_numeric_ids_without_agency_are_refused_naming_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed"), ("36", "OCR", "Pilot")])
    store = open_store("memory")
    before = len(list(store.quads()))
    with pytest.raises(InputError) as err:
        ingest(store, path)
    text = str(err.value)
    assert "a.csv" in text and "--scope" in text and "row 2 ('35')" in text
    assert "(agency?, id)" in text and "nothing was loaded" in text
    assert len(list(store.quads())) == before


def test_scope_keeps_two_agencies_numeric_ids_apart(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed")])
    b = _write(tmp_path, "b.csv", [("35", "Fraud model", "Pilot")])
    store = open_store("memory")
    ra = ingest(store, a, scope="DOL")[0]
    rb = ingest(store, b, scope="OPM")[0]
    assert (ra.merged, rb.merged, rb.conflicts) == (0, 0, [])
    base = "https://aims-graph.org/id/ai-system/"
    assert _labels(store, base + "dol-35") == {"Chatbot"}
    assert _labels(store, base + "opm-35") == {"Fraud model"}


def test_an_agency_column_scopes_without_scope(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed")], agency="DOL")
    b = _write(tmp_path, "b.csv", [("35", "Fraud model", "Pilot")], agency="OPM")
    store = open_store("memory")
    assert [ingest(store, p)[0].merged for p in (a, b)] == [0, 0]


def test_ids_that_name_their_agency_need_no_scope(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("DOL-35", "Chatbot", "Deployed")])
    assert ingest(open_store("memory"), a)[0].records == 1


def test_a_conflict_names_both_sources_and_rows_and_warns_by_default(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("1", "Other", "Pilot"), ("35", "Chatbot", "Deployed")])
    b = _write(tmp_path, "b.csv", [("35", "Chat bot v2", "Deployed")])
    store = open_store("memory")
    ingest(store, a, scope="DOL")
    res = ingest(store, b, scope="DOL")[0]
    assert res.merged == 1 and len(res.conflicts) == 1
    c = res.conflicts[0]
    assert (c["value"], c["source"], c["row"]) == ("Chat bot v2", "b.csv", 2)
    assert (c["other_value"], c["other_source"], c["other_row"]) == ("Chatbot", "a.csv", 3)
    assert any("conflict on" in w and "a.csv row 3" in w and "b.csv row 2" in w
               for w in res.warnings)
    iri = "https://aims-graph.org/id/ai-system/dol-35"
    assert _labels(store, iri) == {"Chatbot", "Chat bot v2"}  # warn keeps both, and says so


def test_on_conflict_fail_writes_nothing_and_replace_keeps_only_the_new(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed")])
    b = _write(tmp_path, "b.csv", [("35", "Chat bot v2", "Deployed")])
    store = open_store("memory")
    ingest(store, a, scope="DOL")
    before = len(list(store.quads()))
    with pytest.raises(InputError, match=r"1 conflict\(s\).*nothing was loaded"):
        ingest(store, b, scope="DOL", on_conflict="fail")
    assert len(list(store.quads())) == before
    res = ingest(store, b, scope="DOL", on_conflict="replace")[0]
    assert len(res.conflicts) == 1
    assert _labels(store, "https://aims-graph.org/id/ai-system/dol-35") == {"Chat bot v2"}


def test_same_values_merge_without_conflict(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed")])
    b = _write(tmp_path, "b.csv", [("35", "Chatbot", "Deployed"), ("40", "New", "Pilot")])
    store = open_store("memory")
    ingest(store, a, scope="DOL")
    res = ingest(store, b, scope="DOL")[0]
    assert (res.merged, res.conflicts) == (1, [])


def test_cli_json_reports_merged_and_conflicts(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed")])
    b = _write(tmp_path, "b.csv", [("35", "Chat bot v2", "Deployed")])
    db = str(tmp_path / "store")
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(a), "--scope", "DOL", "--store", db])
    assert first.exit_code == 0, first.output
    out = runner.invoke(app, ["ingest", str(b), "--scope", "DOL", "--store", db,
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert (data[0]["merged"], data[0]["conflicts"]) == (1, 1)


def test_json_errors_are_an_object_on_stdout_with_exit_2(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", [("35", "Chatbot", "Deployed")])
    out = CliRunner().invoke(app, ["ingest", str(a), "--store", "memory", "--format", "json"])
    assert out.exit_code == 2
    error = json.loads(out.stdout)["error"]
    assert error["file"] == "a.csv" and error["code"] == "invalid_input"
    assert error["fix"].startswith("Pass --scope ORGANISATION")
    bad = tmp_path / "bad.csv"
    bad.write_text("Use Case ID,Use Case Name,Stage of Development\nDOL-1,A,Pilot\n"
                   "DOL-1,B,Pilot\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["ingest", str(bad), "--store", "memory", "--format", "json"])
    assert out.exit_code == 2
    error = json.loads(out.stdout)["error"]
    assert (error["file"], error["row"], error["column"]) == ("bad.csv", 2, "agency, id")
    assert "--skip-invalid" in error["fix"] and error["rejected"][0]["value"] == "dol-1"
