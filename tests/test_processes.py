"""The process map: graph, analysis (agreeing with the PROC rules) and the drawings."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from mapper.errors import InputError
from mapper.questions import processes
from mapper.store import Store, open_store
from tests.test_queries import EX, load_acme

AIMS = "https://aims-graph.org/ns#"


@pytest.fixture
def acme() -> Iterator[Store]:
    store = open_store("memory")
    load_acme(store)
    yield store
    store.close()


def _drop(store: Store, local: str) -> None:
    store.update("DELETE WHERE { GRAPH ?g { <" + EX + local + "> ?p ?o } }")


@pytest.fixture
def acme_map(acme: Store) -> processes.ProcessMap:
    return processes.build(acme)


def test_graph(acme_map: processes.ProcessMap) -> None:
    graph = acme_map.graph
    assert graph.number_of_nodes() == 7 and graph.number_of_edges() == 6
    assert graph.nodes[EX + "p-risk"]["owners"][0]["label"] == "Alice Ames"
    records = graph.edges[EX + "p-ca", EX + "p-risk"]["records"]
    assert [r["label"] for r in records] == ["corrective action"]


def test_problems(acme_map: processes.ProcessMap) -> None:
    found = {(p.kind, p.rule, p.focus) for p in acme_map.problems}
    assert found == {
        ("missing-process", "PROC-01", AIMS + "DataAndDesignControls"),
        ("missing-process", "PROC-01", AIMS + "IncidentManagement"),
        ("missing-process", "PROC-01", AIMS + "RecordsAndDocumentControl"),
        ("island", "PROC-04", EX + "p-training"),
        ("unconsumed", "PROC-05", EX + "hand-4"),
        ("owner-concentration", None, EX + "carol"),
        ("single-point", None, EX + "p-risk"),
        ("single-point", None, EX + "p-buildbuy"),
        ("single-point", None, EX + "p-release"),
        ("single-point", None, EX + "p-monitor"),
    }


def test_lifecycle_gap_and_open_loop(acme: Store) -> None:
    _drop(acme, "hand-6")
    _drop(acme, "hand-3")
    problems = processes.build(acme).problems
    kinds = {(p.kind, p.focus) for p in problems}
    assert ("no-feedback", EX + "p-ca") in kinds
    assert ("lifecycle-gap", EX + "p-buildbuy") in kinds
    assert ("broken-chain", AIMS + "IntakeAndInventory") in kinds


def test_mermaid_escapes_labels(acme: Store) -> None:
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    acme.update("DELETE WHERE { GRAPH ?g { <" + EX + "p-training> " + label + " ?l } }")
    acme.update("INSERT DATA { GRAPH <urn:test:x> { <" + EX + "p-training> " + label
                + ' "Train <b>\\"#1\\"</b> & co" } }')
    text = processes.to_mermaid(processes.build(acme))
    assert text.startswith("flowchart LR\n")
    line = next(li for li in text.splitlines() if "Train" in li)
    assert '"' not in line.split('["', 1)[1].rsplit('"]', 1)[0]
    assert "<b>" not in line and "#lt;b#gt;" in line and "#38;" in line
    assert "-.->" in text  # the unconsumed hand-off is dashed


def test_dot_and_json(acme_map: processes.ProcessMap) -> None:
    dot = processes.to_dot(acme_map)
    assert "rankdir=TB" in dot and "constraint=false" in dot  # rows; the feedback edge
    data = processes.to_json(acme_map)
    assert {"nodes", "edges", "problems", "lifecycle", "feedback"} <= set(data)
    json.dumps(data)


def test_svg(acme_map: processes.ProcessMap) -> None:
    svg = processes.to_svg(acme_map)
    assert svg.lstrip().startswith("<?xml") and "Risk assessment" in svg


def test_svg_without_graphviz(acme_map: processes.ProcessMap,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="install it"):
        processes.to_svg(acme_map)


PROC_RULES = {"PROC-01", "PROC-02", "PROC-04", "PROC-05", "PROC-06"}


def _rule_foci(store: Store) -> set[tuple[str, str]]:
    from datetime import date

    from mapper.rules import validate

    report = validate.validate(store, as_of=date(2026, 6, 30))
    return {(f.rule, str(f.focus)) for f in report.findings if f.rule in PROC_RULES}


def _graph_foci(store: Store) -> set[tuple[str, str]]:
    return {(str(p.rule), p.focus) for p in processes.build(store).problems
            if p.rule in PROC_RULES}


def test_agrees_with_the_proc_rules(acme: Store) -> None:
    assert _graph_foci(acme) == _rule_foci(acme)


def test_agrees_with_the_proc_rules_on_a_broken_lifecycle(acme: Store) -> None:
    _drop(acme, "hand-6")
    _drop(acme, "hand-3")
    found = _graph_foci(acme)
    assert ("PROC-06", EX + "p-ca") in found
    assert found == _rule_foci(acme)


def test_cli_map(acme: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mapper.cli import app

    folder = tmp_path / "store"
    store = open_store(str(folder))
    load_acme(store)
    store.close()
    runner = CliRunner()
    done = runner.invoke(app, ["map", "--store", str(folder)])
    assert done.exit_code == 0 and done.output.startswith("flowchart LR")
    out = tmp_path / "map.json"
    done = runner.invoke(app, ["map", "--format", "json", "--out", str(out), "--store",
                               str(folder)])
    assert done.exit_code == 0
    assert len(json.loads(out.read_text())["nodes"]) == 7
