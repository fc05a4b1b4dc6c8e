"""The read routes answer what the core answers: validate, rules, gaps, systems, trace,
processes, process map, named queries."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH

from mapper.questions import processes, trace
from mapper.rules import catalogue
from mapper.rules.assessment import assess
from mapper.store import Store
from tests.fixtures.api import auth
from tests.fixtures.demo import demo_as_of


@pytest.fixture
def reader(api_keys: dict[str, str]) -> dict[str, str]:
    return auth(api_keys["reader"])


def _same(data: object) -> object:
    return json.loads(json.dumps(data, default=str))


def test_validate_json_equals_core_and_turtle_is_a_shacl_report(
    api_client: TestClient, reader: dict[str, str], demo_store: Store
) -> None:
    as_of = demo_as_of()
    expected = assess(demo_store, as_of=as_of).validation_dict()
    got = api_client.get("/v1/validate", params={"as_of": as_of.isoformat()}, headers=reader)
    assert got.status_code == 200
    assert got.json() == _same(expected)
    ttl = api_client.get("/v1/validate", params={"as_of": as_of.isoformat()},
                         headers=reader | {"Accept": "text/turtle"})
    assert ttl.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=ttl.text, format="turtle")
    [report] = graph.subjects(predicate=SH.conforms)
    assert graph.value(report, SH.conforms) == Literal(expected["conforms"])
    assert len(list(graph.objects(report, SH.result))) == len(expected["findings"])


def test_validate_filters_and_unknowns(api_client: TestClient, reader: dict[str, str],
                                       demo_store: Store) -> None:
    rule = catalogue.rules()[0].id
    got = api_client.get("/v1/validate", params={"as_of": "2026-06-30", "rule": rule},
                         headers=reader).json()
    assert {f["rule"] for f in got["findings"]} <= {rule}
    assert api_client.get("/v1/validate", params={"rule": "NO-SUCH-RULE"},
                          headers=reader).status_code == 404
    assert api_client.get("/v1/validate", params={"system": "NO-SUCH-SYSTEM"},
                          headers=reader).status_code == 404
    bad = api_client.get("/v1/validate", params={"as_of": "30.06.2026"}, headers=reader)
    assert bad.status_code == 422 and bad.json()["ref"] == "query.as_of"


def test_rules(api_client: TestClient, reader: dict[str, str]) -> None:
    got = api_client.get("/v1/rules", headers=reader).json()
    assert got == [r.to_dict() for r in catalogue.rules()]


def test_gaps_systems_and_trace_equal_core(api_client: TestClient, reader: dict[str, str],
                                           demo_store: Store) -> None:
    as_of = demo_as_of()
    gaps = api_client.get("/v1/gaps", params={"as_of": as_of.isoformat()}, headers=reader)
    assert gaps.json() == _same(trace.gap_report(demo_store, as_of=as_of).to_dict())
    systems = api_client.get("/v1/systems", headers=reader).json()
    assert systems == _same(trace.inventory(demo_store))
    first = systems[0]
    for key in (first["identifier"], first["system"]):
        one = api_client.get(f"/v1/systems/{key}", headers=reader)
        assert one.status_code == 200 and one.json()["system"] == first["system"]
        traced = api_client.get(f"/v1/systems/{key}/trace",
                                params={"as_of": as_of.isoformat()}, headers=reader)
        assert traced.json() == _same(
            trace.trace_system(demo_store, first["system"], as_of=as_of).to_dict())
    missing = api_client.get("/v1/systems/NO-SUCH-SYSTEM/trace", headers=reader)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_processes_and_map_formats(api_client: TestClient, reader: dict[str, str],
                                   demo_store: Store) -> None:
    expected = processes.to_json(processes.build(demo_store))
    assert api_client.get("/v1/processes", headers=reader).json() == _same(expected["nodes"])
    assert api_client.get("/v1/process-map", headers=reader).json() == _same(expected)
    mermaid = api_client.get("/v1/process-map", params={"format": "mermaid"}, headers=reader)
    assert mermaid.text.startswith("flowchart")
    dot = api_client.get("/v1/process-map", params={"format": "dot"}, headers=reader)
    assert "digraph" in dot.text


def test_named_queries_json_csv_and_errors(api_client: TestClient, reader: dict[str, str],
                                           demo_store: Store) -> None:
    listed = api_client.get("/v1/queries", headers=reader).json()
    assert "ai-systems" in [q["name"] for q in listed]
    got = api_client.get("/v1/queries/ai-systems", headers=reader).json()
    assert len(got["rows"]) == len(trace.inventory(demo_store)) > 0
    table = api_client.get("/v1/queries/ai-systems", headers=reader | {"Accept": "text/csv"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == got["columns"] and len(rows) == len(got["rows"]) + 1
    assert api_client.get("/v1/queries/no-such-query", headers=reader).status_code == 404
    unknown = api_client.get("/v1/queries/ai-systems", params={"bogus": "1"}, headers=reader)
    assert unknown.status_code == 422


def test_csv_cells_cannot_run_as_formulas(api_client: TestClient, reader: dict[str, str],
                                          demo_store: Store) -> None:
    state = api_client.app.state.aims  # type: ignore[attr-defined]
    with state.writing() as store:
        store.add_quads([(URIRef("https://example.org/aims/evil"),
                          URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                          URIRef("https://aims-graph.org/ns#InternalAISystem"), "urn:t:evil"),
                         (URIRef("https://example.org/aims/evil"),
                          URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
                          Literal("=HYPERLINK(\"http://x\")"), "urn:t:evil")])
    table = api_client.get("/v1/queries/ai-systems", headers=reader | {"Accept": "text/csv"})
    cells = [c for row in csv.reader(io.StringIO(table.text)) for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells
    assert not any(c.startswith("=") for c in cells)
