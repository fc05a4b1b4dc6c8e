"""The audit pack (`aims report`): files, self-containment, escaping, reproducibility, registers.

The browser checks (console, network, layout, PDF) are in test_report_browser.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from mapper.errors import NotFound
from mapper.questions import queries
from mapper.questions import trace as tracing
from mapper.report import SECTIONS, ReportResult, build_report, gather, register_rows
from mapper.rules.assessment import assess
from mapper.store import Store, open_store
from mapper.vocab import AIMS
from tests.fixtures.api import AIMS as AIMS_SCRIPT
from tests.fixtures.demo import demo_as_of, load_demo

EVIL = "<script>alert(1)</script>"
FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")"
REPORT_QUERIES = sorted(name for name in queries.catalogue() if name.startswith("report-"))


@pytest.fixture(scope="module")
def demo() -> Iterator[Store]:
    store = open_store("memory")
    load_demo(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def pack(demo: Store, tmp_path_factory: pytest.TempPathFactory) -> ReportResult:
    return build_report(demo, out=tmp_path_factory.mktemp("pack"), as_of=demo_as_of())


@pytest.fixture(scope="module")
def html(pack: ReportResult) -> str:
    return pack.index.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def context(demo: Store) -> dict[str, Any]:
    return gather(demo, as_of=demo_as_of())


# --- the files -------------------------------------------------------------------------------


def test_pack_has_its_four_files(pack: ReportResult) -> None:
    for path in (pack.index, pack.findings_json, pack.findings_csv, pack.graph_ttl):
        assert path.is_file() and path.stat().st_size > 0, path
        assert path.parent == pack.out


def test_graph_hash_is_printed_and_matches_the_file(pack: ReportResult, html: str) -> None:
    digest = hashlib.sha256(pack.graph_ttl.read_bytes()).hexdigest()
    assert digest == pack.data_hash
    assert html.count(digest) >= 2  # on the cover and in the appendix


def test_findings_json_is_the_validation_report(demo: Store, pack: ReportResult) -> None:
    expected = assess(demo, as_of=demo_as_of()).validation_dict()
    assert json.loads(pack.findings_json.read_text(encoding="utf-8")) == expected
    assert expected["findings"], "the demo has planted gaps"
    assert pack.conforms is expected["conforms"]


def test_findings_csv_has_one_row_per_finding(pack: ReportResult) -> None:
    data = json.loads(pack.findings_json.read_text(encoding="utf-8"))
    rows = list(csv.DictReader(io.StringIO(pack.findings_csv.read_text(encoding="utf-8"))))
    assert len(rows) == len(data["findings"])
    assert [(r["rule"], r["focus"]) for r in rows] == [
        (f["rule"], f["focus"]) for f in data["findings"]]
    assert rows[0]["clause"] == "; ".join(data["findings"][0]["clause"])


def test_graph_ttl_is_the_store_data(demo: Store, pack: ReportResult) -> None:
    from rdflib import Graph
    from rdflib.compare import isomorphic

    reread = Graph().parse(data=pack.graph_ttl.read_bytes(), format="turtle")
    assert isomorphic(reread, demo.to_graph())


# --- self-contained, sections, escaping -------------------------------------------------------

_FETCHING = re.compile(
    r"""(?:\b(?:src|href|srcset|poster|data|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import)|(?:<link\b)|(?:<script\b)|(?:<iframe\b)""",
    re.IGNORECASE,
)


def test_index_fetches_nothing(html: str) -> None:
    assert _FETCHING.findall(html) == []
    assert "<style>" in html and "<svg" in html
    # the only absolute URLs left are XML namespace names, which browsers never fetch
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    allowed = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    fetchable = {u for u in urls if u not in allowed
                 and not re.search(rf"(?:>|\s){re.escape(u)}", html)}  # text is not a fetch
    assert fetchable == set()


def test_fetch_check_catches_external_resources() -> None:
    for bad in ('<img src="https://x.example/a.png">', "<link rel=stylesheet href=//cdn/x.css>",
                "<div style=\"background:url('http://x/y')\">", "<script>1</script>"):
        assert _FETCHING.findall(bad), bad


def test_every_section_heading_in_order(html: str) -> None:
    found = re.findall(r'<section id="([a-z]+)">\s*(?:<h1>.*?</h1>\s*<p[^>]*>.*?</p>\s*)?'
                       r"<h2>(.*?)</h2>", html, re.DOTALL)
    assert found == [(sid, title) for sid, title in SECTIONS]


def test_print_rules_for_a4(html: str) -> None:
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", html)
    assert "break-before: page" in html and "thead { display: table-header-group; }" in html


def test_process_map_is_inline_svg(html: str) -> None:
    lifecycle = html.split('<section id="lifecycle">', 1)[1].split("</section>", 1)[0]
    assert '<svg class="process-map"' in lifecycle
    assert "<!DOCTYPE svg" not in html and "<?xml" not in html


@pytest.fixture(scope="module")
def evil_pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportResult, str]:
    """The demo with a system, its owner and a process named as markup or a formula."""
    store = open_store("memory")
    load_demo(store)
    claims = URIRef("https://meridian.example/aims/sys-claims-triage")
    owner = URIRef("https://meridian.example/aims/p-hannah-schmidt")
    rogue = URIRef("https://meridian.example/aims/sys-rogue")
    # the demo's labels live in its batch graphs: remove them there, so the markup is the
    # only label (with two, which one a face shows is not the point of this test)
    store.update(f"DELETE WHERE {{ GRAPH ?g {{ <{claims}> <{RDFS.label}> ?l }} }}")
    store.update(f"DELETE WHERE {{ GRAPH ?g {{ <{owner}> <{RDFS.label}> ?l }} }}")
    store.add_quads([
        (claims, RDFS.label, Literal(EVIL), "urn:test:evil"),
        (owner, RDFS.label, Literal(EVIL + " owner"), "urn:test:evil"),
        # out of scope, no exclusion: SCOPE-03 names it by its label
        (rogue, RDF.type, AIMS.InternalAISystem, "urn:test:evil"),
        (rogue, RDFS.label, Literal(FORMULA), "urn:test:evil"),
        (rogue, AIMS.identifier, Literal("SYS-ROGUE"), "urn:test:evil"),
        (rogue, AIMS.inScope, Literal(False), "urn:test:evil"),
    ])
    result = build_report(store, out=tmp_path_factory.mktemp("evil"), as_of=demo_as_of(),
                          systems=["SYS-CLAIMS-TRIAGE"])
    store.close()
    return result, result.index.read_text(encoding="utf-8")


def test_markup_in_data_is_shown_as_text(evil_pack: tuple[ReportResult, str]) -> None:
    result, html = evil_pack
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    traces = html.split('<section id="traces">', 1)[1].split("</section>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in traces  # the traced system's label
    timeline = traces.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "&lt;script&gt;" in timeline  # escaped inside the SVG chart too
    assert result.systems == ["SYS-CLAIMS-TRIAGE"]


def test_csv_cells_cannot_run_as_formulas(evil_pack: tuple[ReportResult, str]) -> None:
    result, _ = evil_pack
    rows = list(csv.DictReader(io.StringIO(result.findings_csv.read_text(encoding="utf-8"))))
    rogue = [r for r in rows if r["focus"].endswith("sys-rogue")]
    assert rogue, "SCOPE-03 should name the out-of-scope system"
    assert all(r["focus_label"] == "'" + FORMULA for r in rogue)
    for row in rows:
        for cell in row.values():
            assert not cell or cell[0] not in "=+-@\t\r", cell


# --- reproducible ----------------------------------------------------------------------------


def test_same_data_same_pack(demo: Store, pack: ReportResult, tmp_path: Path) -> None:
    again = build_report(demo, out=tmp_path / "again", as_of=demo_as_of())
    for name in ("graph.ttl", "findings.json", "findings.csv"):
        assert (again.out / name).read_bytes() == (pack.out / name).read_bytes(), name
    # the page differs only where it repeats the --out folder of the command that made it
    first = pack.index.read_text(encoding="utf-8").replace(str(pack.out), "OUT")
    second = again.index.read_text(encoding="utf-8").replace(str(again.out), "OUT")
    assert first == second


def test_rebuilt_from_graph_ttl_gives_the_same_findings(pack: ReportResult, tmp_path: Path
                                                         ) -> None:
    store = open_store("memory")
    store.load(pack.graph_ttl.read_bytes(), format="turtle", graph="urn:test:reloaded")
    again = build_report(store, out=tmp_path / "rebuilt", as_of=demo_as_of())
    assert again.data_hash == pack.data_hash
    assert again.findings_json.read_bytes() == pack.findings_json.read_bytes()
    assert again.systems == pack.systems


def test_as_of_changes_the_verdict_not_the_data(demo: Store, pack: ReportResult, tmp_path: Path
                                                ) -> None:
    later = build_report(demo, out=tmp_path / "later", as_of=date(2030, 1, 1))
    assert later.data_hash == pack.data_hash
    assert later.violations > pack.violations  # reviews, trainings and documents lapse


# --- what the sections say -------------------------------------------------------------------


def test_default_traces_are_the_highest_risk_deployed_systems(
        demo: Store, context: dict[str, Any]) -> None:
    inventory = {r["system"]: r for r in context["inventory"]}
    traced = [t["trace"] for t in context["traces"]]
    assert len(traced) == 3
    deployed = [r for r in inventory.values() if r["in_scope"] and r["stage"] == "deployed"]
    top = max(int(r["risk_rank"]) for r in deployed)
    for trace in traced:
        row = inventory[trace.system]
        assert row["in_scope"] and row["stage"] == "deployed"
        assert int(row["risk_rank"]) == top and trace.high_risk


def test_unknown_system_writes_nothing(demo: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no AI system matches"):
        build_report(demo, out=tmp_path / "pack", as_of=demo_as_of(), systems=["SYS-NO-SUCH-THING"])
    assert not (tmp_path / "pack").exists()


def test_traces_show_missing_links_and_evidence(context: dict[str, Any], html: str) -> None:
    for item in context["traces"]:
        trace = item["trace"]
        for gap in trace.gaps:
            assert _escaped(gap.message) in html
        for step in trace.steps:
            for digest in step.evidence:
                assert digest in html
    assert any(t["trace"].gaps for t in context["traces"])


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_funnel_accounts_for_every_in_scope_system(demo: Store, context: dict[str, Any]) -> None:
    funnel = context["funnel"]
    seen: list[str] = []
    for gate in funnel["gates"]:
        seen += [s["identifier"] for s in gate["failed"] + gate["waiting"]]
    gaps = tracing.gap_report(demo, as_of=demo_as_of())
    assert len(seen) + funnel["passed_all"] == funnel["total"] == gaps.summary["systems_in_scope"]
    assert len(seen) == len(set(seen))  # each system leaves the funnel once at most
    assert funnel["passed_all"] == gaps.summary["systems_passing_all_gates"]
    for stage, gate in zip(funnel["stages"], funnel["gates"], strict=True):
        assert stage.failed == len(gate["failed"]) and stage.not_reached == len(gate["waiting"])


def test_registers_highlight_what_the_named_queries_flag(demo: Store, context: dict[str, Any],
                                                         html: str) -> None:
    as_of = demo_as_of()
    expired = {r["exception"] for r in queries.result_dicts(
        queries.run(demo, "expired-exceptions", {"as_of": as_of}))}
    overdue = {r["action"] for r in queries.result_dicts(
        queries.run(demo, "overdue-corrective-actions", {"as_of": as_of}))}
    untrained = {(r["person"], r["role"]) for r in queries.result_dicts(
        queries.run(demo, "untrained-role-holders", {"as_of": as_of}))}
    assert expired and overdue and untrained, "the demo plants each of these"
    assert {x["exception"] for x in context["exceptions"] if x["expired"]} == expired
    assert {a["action"] for a in context["corrective_actions"] if a["overdue"]} == overdue
    assert {(t["person"], t["role"]) for t in context["training"]
            if t["status"] != "valid"} == untrained
    registers = html.split('<section id="registers">', 1)[1].split("</section>", 1)[0]
    for row in context["exceptions"]:
        if row["expired"]:
            assert re.search(r'<tr class="bad"><td><b>' + re.escape(_escaped(row["identifier"])),
                             registers)


def test_findings_by_clause_add_up(context: dict[str, Any]) -> None:
    report = context["report"]
    per_clause = {r["clause"]: r["violations"] + r["warnings"] + r["info"]
                  for group in context["by_clause"].values() for r in group}
    assert per_clause == report.summary["by_clause"]
    owners = sum(o["violations"] + o["warnings"] for o in context["by_owner"])
    assert owners == sum(1 for f in report.findings if f.severity != "Info")


def test_appendix_lists_every_rule(context: dict[str, Any], html: str) -> None:
    appendix = html.split('<section id="appendix">', 1)[1]
    from mapper.rules.catalogue import rules

    for rule in rules():
        assert f'<td class="nowrap">{rule.id}</td>' in appendix
    assert "aims report --out" in appendix and "--as-of 2026-06-30" in appendix


@pytest.mark.parametrize("backend", ["memory", "embedded"])
def test_report_queries_give_the_same_rows_on_both_local_backends(backend: str, tmp_path: Path
                                                                    ) -> None:
    store = open_store("memory" if backend == "memory" else str(tmp_path / "store"))
    load_demo(store)
    reference = open_store("memory")
    load_demo(reference)
    for name in REPORT_QUERIES:
        query = queries.get(name)
        params = {"as_of": demo_as_of()} if any(p.name == "as_of" for p in query.params) else {}
        assert queries.run(store, query, params).variables == list(query.columns), name
        assert register_rows(store, name, **params) == register_rows(reference, name, **params)
        assert register_rows(store, name, **params) == register_rows(store, name, **params)
    store.close()


# --- the command -----------------------------------------------------------------------------


def test_cli_writes_the_pack_and_prints_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    store = open_store(str(folder))
    load_demo(store)
    store.close()
    done = subprocess.run(
        [str(AIMS_SCRIPT), "report", "--out", "pack", "--as-of", "2026-06-30",
         "--systems", "SYS-UW-PRICING, SYS-CLAIMS-TRIAGE", "--store", str(folder)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(Path("pack") / "index.html")
    html = (tmp_path / "pack" / "index.html").read_text(encoding="utf-8")
    assert "SYS-UW-PRICING &middot;" in html and "SYS-CLAIMS-TRIAGE &middot;" in html
    assert "--systems SYS-UW-PRICING,SYS-CLAIMS-TRIAGE" in html
    bad = subprocess.run([str(AIMS_SCRIPT), "report", "--out", "p2", "--as-of", "30/06/2026",
                          "--store", str(folder)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "p2").exists()
