"""The demo organisation's two forms: Turtle and the AIMS workbook (examples/meridian/workbook/).

The workbook is written from the Turtle by `aims export` (the aims-workbook mapping read
backwards) and must (1) give the same validation findings, on the same focus IRIs, as the
Turtle; (2) stay current with the Turtle (re-exported and compared cell by cell); (3) be a fixed
point: ingest -> export -> ingest gives the same graph again.
"""

from __future__ import annotations

import doctest
import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from rdflib import RDF, Graph, URIRef

import mapper.report.export
from mapper.ingest import IngestRejected, expand_paths, ingest
from mapper.ingest.mapping import absolute_iri
from mapper.report.export import data_graph, export_graph, export_workbook, read_cells
from mapper.rules.validate import validate
from mapper.store import Store, open_store
from tests.fixtures.demo import DEMO_DIR, demo_as_of, demo_store  # noqa: F401 (fixture)

WORKBOOK = DEMO_DIR / "workbook" / "workbook.xlsx"
REGENERATE = ("rm -rf /tmp/meridian-store && aims ingest examples/meridian --store "
              "/tmp/meridian-store && aims export --store /tmp/meridian-store --out "
              "examples/meridian/workbook/workbook.xlsx")
AIMS = "https://aims-graph.org/ns#"


def findings(store: Store) -> Counter[tuple[str, str, str]]:
    report = validate(store, as_of=demo_as_of())
    return Counter((f.rule, f.focus, f.severity) for f in report.findings)


@pytest.fixture(scope="module")
def workbook_store() -> Store:
    store = open_store("memory")
    [result] = ingest(store, WORKBOOK)
    assert result.mapping == "aims-workbook" and not result.rejected
    return store


def test_doctests() -> None:
    assert doctest.testmod(mapper.report.export).failed == 0


def test_workbook_gives_the_turtle_findings(demo_store: Store,  # noqa: F811
                                            workbook_store: Store) -> None:
    turtle = findings(demo_store)
    workbook = findings(workbook_store)
    assert sum(turtle.values()) == 42  # EXPECTED.md
    only_turtle = sorted((turtle - workbook).elements())
    only_workbook = sorted((workbook - turtle).elements())
    assert (only_turtle, only_workbook) == ([], [])


def test_committed_workbook_is_current(demo_store: Store, tmp_path: Path) -> None:  # noqa: F811
    fresh = export_workbook(demo_store, tmp_path / "fresh.xlsx")
    assert fresh.left_out == {"aims:Evidence": 24, "aims:Record": 1}
    committed, current = read_cells(WORKBOOK), read_cells(tmp_path / "fresh.xlsx")
    assert list(committed) == list(current), f"sheets differ; regenerate: {REGENERATE}"
    for sheet in current:
        assert committed[sheet] == current[sheet], (
            f"sheet {sheet!r} of {WORKBOOK.name} is out of date; regenerate: {REGENERATE}")


def test_workbook_keeps_the_turtle_iris_and_records(demo_store: Store,  # noqa: F811
                                                    workbook_store: Store) -> None:
    turtle, workbook = data_graph(demo_store), data_graph(workbook_store)
    typed = {s for s in turtle.subjects() if str(s).startswith("https://meridian.example/")}
    kept = {s for s in workbook.subjects() if str(s).startswith("https://meridian.example/")}
    # every node keeps its IRI but the evidence files (47: those linked from a release
    # approval, impact assessment or review become its sub-nodes, the others have no register)
    # and the one generic record
    lost = typed - kept
    evidence = set(turtle.subjects(RDF.type, URIRef(AIMS + "Evidence")))
    assert len(evidence) == 47 and lost - evidence == {
        URIRef("https://meridian.example/aims/rec-inventory-export-2026q2")}
    claims = URIRef("https://meridian.example/aims/sys-claims-triage")
    for p, o in turtle.predicate_objects(claims):
        assert (claims, p, o) in workbook, (p, o)
    assert len(workbook) > 0.75 * len(turtle)


def test_workbook_round_trip_is_a_fixed_point(workbook_store: Store, tmp_path: Path) -> None:
    export_workbook(workbook_store, tmp_path / "again.xlsx")
    again = open_store("memory")
    ingest(again, tmp_path / "again.xlsx")
    first, second = data_graph(workbook_store), data_graph(again)
    assert set(first) == set(second)


def test_export_of_minted_iris_writes_ids_only(tmp_path: Path) -> None:
    store = open_store("memory")
    ingest(store, Path(__file__).parent / "data" / "ingest" / "systems.csv")
    sheet = next(s for s in export_graph(data_graph(store)).sheets if s.table.name == "ai-systems")
    rows = [dict(zip(sheet.header, row, strict=True)) for row in sheet.rows]
    assert [r["System ID"] for r in rows] == ["SYS-1", "SYS-2", "SYS-3"]
    assert all(r["IRI"] is None for r in rows)  # minted from the ID: no IRI needed
    assert all(not (r["Business owner (person ID)"] or "").startswith("http") for r in rows)


def test_iri_cells_name_nodes_directly(tmp_path: Path) -> None:
    import openpyxl

    from mapper.ingest.template import write_template

    path = write_template(tmp_path / "w.xlsx")
    book = openpyxl.load_workbook(path)
    people = book["People"]
    iri_col = [c.value for c in people[1]].index("IRI")
    row = ["P-1", "Ada", None, None, None] + [None] * (iri_col - 5) + ["urn:x:ada"]
    people.append(row)
    systems = book["AI systems"]
    systems.append(["SYS-1", "Router", "internal", "Routes", "urn:x:ada"])
    book.save(path)
    store = open_store("memory")
    ingest(store, path)
    graph = data_graph(store)
    ada = URIRef("urn:x:ada")
    assert (ada, URIRef(AIMS + "identifier"), None) in graph
    assert (URIRef("https://aims-graph.org/id/ai-system/sys-1"), URIRef(AIMS + "businessOwner"),
            ada) in graph
    people.append(["P-2", "Bob"] + [None] * (iri_col - 2) + ["not an iri"])
    book.save(path)
    with pytest.raises(IngestRejected, match="not an IRI"):
        ingest(open_store("memory"), path)
    assert absolute_iri("https://x.example/a b") is None


def test_folder_ingest_reads_only_the_turtle() -> None:
    files = expand_paths([DEMO_DIR])
    assert files and all(f.suffix == ".ttl" for f in files)
    assert WORKBOOK.is_file()


def test_cli_export_and_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    from mapper.cli import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["aims", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().out

    store = str(tmp_path / "store")
    code, out = run("ingest", str(WORKBOOK), "--store", store)
    assert code == 0 and "344 records" in out
    code, out = run("export", "--out", str(tmp_path / "x.xlsx"), "--store", store,
                    "--format", "json")
    assert code == 0 and json.loads(out)["rows"] == 344
    code, _ = run("export", "--out", str(tmp_path / "x.csv"), "--store", store)
    assert code == 2
    code, out = run("export", "--help")
    assert "Example: aims" in out


def test_graph_equality_helper_sees_differences() -> None:
    """The fixed-point test compares triple sets: make sure a changed literal shows."""
    a = Graph().parse(data="<urn:a> <urn:p> 'x' .", format="turtle")
    b = Graph().parse(data="<urn:a> <urn:p> 'y' .", format="turtle")
    assert set(a) != set(b)
