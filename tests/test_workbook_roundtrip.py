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
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

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
    assert fresh.left_out == {}
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
    # every node keeps its IRI, the 47 evidence files (the Evidence sheet) and the one
    # generic record (Other records) included
    evidence = set(turtle.subjects(RDF.type, URIRef(AIMS + "Evidence")))
    assert len(evidence) == 47 and evidence <= kept
    assert typed == kept
    claims = URIRef("https://meridian.example/aims/sys-claims-triage")
    for p, o in turtle.predicate_objects(claims):
        assert (claims, p, o) in workbook, (p, o)
    assert set(workbook) == set(turtle)


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
    assert code == 0 and "399 records" in out
    code, out = run("export", "--out", str(tmp_path / "x.xlsx"), "--store", store,
                    "--format", "json")
    assert code == 0 and json.loads(out)["rows"] == 399
    assert json.loads(out)["left_out"] == {} and json.loads(out)["left_out_properties"] == {}
    code, _ = run("export", "--out", str(tmp_path / "x.csv"), "--store", store)
    assert code == 2
    code, out = run("export", "--help")
    assert "Example: aims" in out


def test_graph_equality_helper_sees_differences() -> None:
    """The fixed-point test compares triple sets: make sure a changed literal shows."""
    a = Graph().parse(data="<urn:a> <urn:p> 'x' .", format="turtle")
    b = Graph().parse(data="<urn:a> <urn:p> 'y' .", format="turtle")
    assert set(a) != set(b)


def _assert_isomorphic(before: Graph, after: Graph) -> None:
    """The two data graphs are the same graph; else the triples only on each side."""
    if isomorphic(before, after):
        return
    _, only_before, only_after = graph_diff(to_isomorphic(before), to_isomorphic(after))
    shown = [f"- {t}" for t in sorted(only_before, key=str)[:15]]
    shown += [f"+ {t}" for t in sorted(only_after, key=str)[:15]]
    raise AssertionError(f"{len(only_before)} triple(s) lost, {len(only_after)} invented:\n"
                         + "\n".join(shown))


def test_demo_export_leaves_nothing_out_and_ingests_back_isomorphic(
        demo_store: Store, tmp_path: Path) -> None:  # noqa: F811
    """The demo's Turtle -> `aims export` -> `aims ingest` into a fresh store: the same data
    graph (ingest provenance aside), every node in some sheet, every value written as is."""
    result = export_workbook(demo_store, tmp_path / "demo.xlsx")
    assert result.left_out == {} and result.left_out_properties == {}
    assert result.warnings == []
    fresh = open_store("memory")
    [loaded] = ingest(fresh, tmp_path / "demo.xlsx")
    assert not loaded.rejected and not loaded.warnings
    _assert_isomorphic(data_graph(demo_store), data_graph(fresh))


AWKWARD = ["semi; colon", "line\nbreak", "back\\slash", r"escape \; \n \s \u0041 as typed",
           " spaces at both ends ", "=HYPERLINK(\"https://x.example\")", "none", "[\"a\"]",
           "tab\there", "\\", ";", "carriage\r\nreturn"]


def test_values_with_separators_escapes_and_formulas_round_trip(tmp_path: Path) -> None:
    """Multi-value cells holding the separator, line breaks, backslashes and the escape
    sequences themselves come back value for value; single-valued cells keep ';', line
    breaks and backslashes as typed, and a leading '=' stays text, never a formula."""
    import openpyxl

    base = "https://aims-graph.org/id/"
    aims = AIMS
    graph = Graph()
    plan = URIRef(base + "monitoring-plan/mp-1")
    graph.add((plan, RDF.type, URIRef(aims + "MonitoringPlan")))
    graph.add((plan, URIRef(aims + "identifier"), Literal("MP-1")))
    graph.add((plan, URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
               Literal("Plan; with\nbreaks \\ and =formula")))
    for value in AWKWARD:
        graph.add((plan, URIRef(aims + "metric"), Literal(value)))
    exc = URIRef(base + "exception/exc-1")
    graph.add((exc, RDF.type, URIRef(aims + "Exception")))
    graph.add((exc, URIRef(aims + "identifier"), Literal("EXC-1")))
    graph.add((exc, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("Exc 1")))
    graph.add((exc, URIRef(aims + "rationale"), Literal("=1+1; a\\b\nnext line")))
    graph.add((exc, URIRef(aims + "compensatingControl"), Literal("one; two \\; three")))
    result = export_graph(graph)
    assert result.left_out == {}
    from mapper.report.export import write_workbook

    path = write_workbook(result, tmp_path / "awkward.xlsx")
    book = openpyxl.load_workbook(path)  # not data_only: a formula would show as one
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)
    store = open_store("memory")
    [loaded] = ingest(store, path)
    assert not loaded.rejected
    back = data_graph(store)
    assert set(back.objects(plan, URIRef(aims + "metric"))) == {Literal(v) for v in AWKWARD}
    _assert_isomorphic(graph, back)
    # a single-valued cell is not escaped: what it cannot give back is named, not dropped
    graph.add((exc, URIRef(aims + "description"), Literal(" padded ")))
    [warning] = export_graph(graph).warnings
    assert "' padded '" in warning and "reads back differently" in warning


def test_evidence_sheet_links_back_and_sub_nodes_stay_in_their_row(tmp_path: Path) -> None:
    """A release's test evidence given as a location in its row stays there on export (its
    IRI is the one the row mints); evidence with a hash, or named from the Evidence sheet,
    is an Evidence row linked back by 'Test evidence for'; both ingest back the same."""
    import openpyxl

    from mapper.ingest.template import write_template

    path = write_template(tmp_path / "w.xlsx")
    book = openpyxl.load_workbook(path)

    def append(sheet: str, **cells: str) -> None:
        ws = book[sheet]
        header = [c.value for c in ws[1]]
        ws.append([cells.get(h or "") for h in header])

    append("AI systems", **{"System ID": "SYS-1", "Name": "Router"})
    append("Release approvals", **{"Release approval ID": "REL-1", "System ID": "SYS-1",
                                   "Test evidence location": "https://dms.example/t1.pdf"})
    append("Release approvals", **{"Release approval ID": "REL-2", "System ID": "SYS-1"})
    append("Evidence", **{"Evidence ID": "EV-1", "Title": "Test report; run 2",
                          "Location": "https://dms.example/t2.pdf", "SHA-256": "ab" * 32,
                          "Test evidence for (release approval IDs)": "REL-2; REL-1",
                          "Evidence for (record IRIs)":
                              "https://aims-graph.org/id/ai-system/sys-1"})
    book.save(path)
    first = open_store("memory")
    [loaded] = ingest(first, path)
    assert not loaded.rejected
    graph = data_graph(first)
    rel1 = URIRef("https://aims-graph.org/id/release-approval/rel-1")
    rel2 = URIRef("https://aims-graph.org/id/release-approval/rel-2")
    ev1 = URIRef("https://aims-graph.org/id/evidence/ev-1")
    test_evidence = URIRef(AIMS + "testEvidence")
    assert set(graph.objects(rel1, test_evidence)) == {
        ev1, URIRef(str(rel1) + "/test-evidence")}
    assert (rel2, test_evidence, ev1) in graph
    assert (URIRef("https://aims-graph.org/id/ai-system/sys-1"), URIRef(AIMS + "evidence"),
            ev1) in graph

    result = export_graph(graph)
    assert result.left_out == {} and result.warnings == []
    sheets = {s.table.title: [dict(zip(s.header, r, strict=True)) for r in s.rows]
              for s in result.sheets}
    [evidence] = sheets["Evidence"]
    assert evidence["Test evidence for (release approval IDs)"] == "REL-1; REL-2"
    assert evidence["Title"] == "Test report; run 2" and evidence["IRI"] is None
    releases = {r["Release approval ID"]: r for r in sheets["Release approvals"]}
    assert releases["REL-1"]["Test evidence location"] == "https://dms.example/t1.pdf"
    assert releases["REL-2"]["Test evidence location"] is None

    # the sub-node gets a hash: its row cannot say that, so it moves to the Evidence sheet
    sub = URIRef(str(rel1) + "/test-evidence")
    graph.add((sub, URIRef(AIMS + "fileHash"), Literal("cd" * 32)))
    again = export_graph(graph)
    rows = {s.table.title: [dict(zip(s.header, r, strict=True)) for r in s.rows]
            for s in again.sheets}
    moved = next(r for r in rows["Evidence"] if r["IRI"] == str(sub))
    assert moved["SHA-256"] == "cd" * 32
    assert moved["Test evidence for (release approval IDs)"] == "REL-1"
    assert next(r for r in rows["Release approvals"]
                if r["Release approval ID"] == "REL-1")["Test evidence location"] is None
    from mapper.report.export import write_workbook

    fresh = open_store("memory")
    [back] = ingest(fresh, write_workbook(again, tmp_path / "again.xlsx"))
    assert not back.rejected
    _assert_isomorphic(graph, data_graph(fresh))


def test_inverse_needs_a_column_naming_nodes(tmp_path: Path) -> None:
    from mapper.ingest.mapping import MappingError, load_mapping

    path = tmp_path / "m.yaml"
    path.write_text("""
name: inverse-test
tables:
  - name: evidence
    columns: {id: {headers: [ID]}, note: {headers: [Note]}}
    key: [id]
    nodes:
      - id: evidence
        kind: evidence
        class: aims:Evidence
        props:
          aims:evidence: {column: note, inverse: true}
""", encoding="utf-8")
    with pytest.raises(MappingError, match="inverse: true .* ref: KIND or type: iri"):
        load_mapping(path)


def test_properties_no_column_holds_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A record in a sheet keeps only what the sheet's columns hold: the rest is counted per
    property and sheet, in the result and in `aims export`'s output."""
    from mapper.cli import main

    graph = Graph().parse(data="""@prefix aims: <https://aims-graph.org/ns#> .
        <https://aims-graph.org/id/release-approval/r-1> a aims:ReleaseApproval ;
            aims:identifier "R-1" ; aims:fileHash "ab" .
        <https://aims-graph.org/id/release-approval/r-2> a aims:ReleaseApproval ;
            aims:identifier "R-2" ; aims:fileHash "cd" ;
            <http://www.w3.org/2000/01/rdf-schema#label> "Freigabe"@de .""",
                          format="turtle")
    result = export_graph(graph)
    assert result.left_out_properties == {"aims:fileHash on Release approvals": 2}
    assert result.warnings == [
        "Release approvals: 1 value(s) of rdfs:label carry a language tag @de, which the "
        "column does not keep (it reads string values)"]
    store = tmp_path / "store"
    opened = open_store(str(store))
    opened.load(graph.serialize(format="nt").encode(), format="nt",  # type: ignore[attr-defined]
                graph="urn:test:releases")
    opened.close()
    monkeypatch.setattr(sys, "argv", ["aims", "export", "--out", str(tmp_path / "x.xlsx"),
                                      "--store", str(store)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code in (0, None)
    assert ("left out (no column holds them), records with: aims:fileHash on Release "
            "approvals 2" in capsys.readouterr().out)
