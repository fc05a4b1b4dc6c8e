"""The /sparql endpoint: protocol forms, formats, read-only refusals, time and size limits."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, URIRef

from mapper.store import Store
from tests.fixtures.api import auth, make_client

PREFIX = "PREFIX aims: <https://aims-graph.org/ns#>\n"
CLASSES = PREFIX + ("SELECT ?c WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> "
                    "FILTER(isIRI(?c)) } ORDER BY ?c")


def _get(client: TestClient, key: str, query: str, accept: str | None = None) -> httpx.Response:
    headers = auth(key) | ({"Accept": accept} if accept else {})
    return client.get("/sparql", params={"query": query}, headers=headers)


def test_select_json_by_get_post_form_and_post_body(
    api_client: TestClient, api_keys: dict[str, str], demo_store: Store
) -> None:
    expected = [str(r[0]) for r in demo_store.query(CLASSES).rows]
    reader = auth(api_keys["reader"])
    answers = [
        api_client.get("/sparql", params={"query": CLASSES}, headers=reader),
        api_client.post("/sparql", data={"query": CLASSES}, headers=reader),
        api_client.post("/sparql", content=CLASSES.encode(),
                        headers=reader | {"Content-Type": "application/sparql-query"}),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        body = response.json()
        assert body["head"]["vars"] == ["c"]
        assert [b["c"]["value"] for b in body["results"]["bindings"]] == expected
    assert len(expected) > 20


def test_result_formats_xml_csv_tsv(api_client: TestClient, api_keys: dict[str, str]) -> None:
    key = api_keys["reader"]
    query = CLASSES + " LIMIT 3"
    xml = _get(api_client, key, query, "application/sparql-results+xml")
    ns = "{http://www.w3.org/2005/sparql-results#}"
    uris = [u.text for u in ET.fromstring(xml.content).iter(ns + "uri")]
    assert len(uris) == 3
    table = _get(api_client, key, query, "text/csv")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == ["c"] and [r[0] for r in rows[1:]] == uris
    tsv = _get(api_client, key, query, "text/tab-separated-values")
    lines = tsv.text.splitlines()
    assert lines[0] == "?c" and lines[1:] == [f"<{u}>" for u in uris]


def test_ask_and_construct_formats(api_client: TestClient, api_keys: dict[str, str]) -> None:
    key = api_keys["reader"]
    yes = _get(api_client, key, PREFIX + "ASK { aims:AISystem a ?type }")
    no = _get(api_client, key, PREFIX + "ASK { aims:AISystem a aims:NoSuchThing }")
    assert yes.json() == {"head": {}, "boolean": True}
    assert no.json() == {"head": {}, "boolean": False}
    construct = PREFIX + ("CONSTRUCT { ?c a aims:Thing } "
                          "WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> }")
    ttl = _get(api_client, key, construct)
    assert ttl.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=ttl.text, format="turtle")
    jsonld = _get(api_client, key, construct, "application/ld+json")
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    other = Graph().parse(data=jsonld.text, format="json-ld")
    assert len(graph) == len(other) > 20
    rdfxml = _get(api_client, key, construct, "application/rdf+xml")
    assert len(Graph().parse(data=rdfxml.text, format="xml")) == len(graph)


@pytest.mark.parametrize("query, words", [
    ("DROP ALL", "read-only"),
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "read-only"),
    ("LOAD <http://example.org/data.ttl>", "read-only"),
    ("SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <http://example.org/sparql> { ?o ?q ?r } } }",
     "SERVICE"),
    ("SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE SILENT <http://example.org/s> "
     "{ ?s ?x ?y } } }", "SERVICE"),
    ("SELECT * WHERE { ?s ?p ", "syntax error"),
])
def test_refused_with_clear_400(
    api_client: TestClient, api_keys: dict[str, str], demo_store: Store, query: str, words: str
) -> None:
    before = len(list(demo_store.quads()))
    for response in (_get(api_client, api_keys["admin"], query),
                     api_client.post("/sparql", data={"query": query},
                                     headers=auth(api_keys["admin"]))):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "bad_query" and words in body["message"]
        assert set(body) == {"error", "message", "ref"}
    assert len(list(demo_store.quads())) == before


def test_syntax_error_names_line_and_column(api_client: TestClient,
                                            api_keys: dict[str, str]) -> None:
    body = _get(api_client, api_keys["reader"], "SELECT ?s\nWHERE { ?s ?p }").json()
    assert body["ref"].startswith("query:2:")


def test_unacceptable_format_is_406(api_client: TestClient, api_keys: dict[str, str]) -> None:
    response = _get(api_client, api_keys["reader"], CLASSES, "image/png")
    assert response.status_code == 406


def test_missing_query_and_wrong_body_type(api_client: TestClient,
                                           api_keys: dict[str, str]) -> None:
    reader = auth(api_keys["reader"])
    assert api_client.get("/sparql", headers=reader).status_code == 400
    wrong = api_client.post("/sparql", content=b"{}", headers=reader | {
        "Content-Type": "application/json"})
    assert wrong.status_code == 415 and wrong.json()["error"] == "unsupported_media_type"


HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_query_over_time_limit_is_stopped(demo_store: Store, tmp_path: Path,
                                          api_keys: dict[str, str]) -> None:
    with make_client(demo_store, tmp_path / "apikeys.json", sparql_timeout=1.0,
                     sparql_workers=1) as client:
        key = api_keys["reader"]
        assert _get(client, key, CLASSES).status_code == 200
        runner = client.app.state.aims.sparql  # type: ignore[attr-defined]
        worker = runner._workers[0]
        started = time.monotonic()
        response = _get(client, key, HEAVY)
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "query_timeout"
        assert "time limit" in response.json()["message"]
        assert response.headers["Retry-After"] == "1"
        assert elapsed < 5
        # the worker running it is gone (killed), not left computing
        assert worker.proc.poll() is not None
        assert _get(client, key, CLASSES).status_code == 200
        assert worker not in runner._workers


def test_result_size_limit(demo_store: Store, tmp_path: Path, api_keys: dict[str, str]) -> None:
    with make_client(demo_store, tmp_path / "apikeys.json", sparql_max_results=5) as client:
        key = api_keys["reader"]
        over = _get(client, key, CLASSES)
        assert over.status_code == 400 and "more than 5" in over.json()["message"]
        ok = _get(client, key, CLASSES + " LIMIT 5")
        assert len(ok.json()["results"]["bindings"]) == 5
        graph = _get(client, key, "CONSTRUCT WHERE { ?s ?p ?o }")
        assert graph.status_code == 400


def test_queries_see_writes(api_client: TestClient, api_keys: dict[str, str]) -> None:
    query = "ASK { <urn:test:new> <urn:test:p> 'v' }"
    assert _get(api_client, api_keys["reader"], query).json()["boolean"] is False
    state = api_client.app.state.aims  # type: ignore[attr-defined]
    with state.writing() as store:
        store.add_quads([(URIRef("urn:test:new"), URIRef("urn:test:p"), Literal("v"),
                          "urn:test:graph")])
    assert _get(api_client, api_keys["reader"], query).json()["boolean"] is True


def test_default_graph_uri_restricts_the_dataset(api_client: TestClient,
                                                 api_keys: dict[str, str]) -> None:
    query = "ASK { ?c a <http://www.w3.org/2002/07/owl#Class> }"
    headers = auth(api_keys["reader"])
    only_onto = api_client.get("/sparql", params={
        "query": query, "default-graph-uri": "urn:aims:graph:ontology"}, headers=headers)
    elsewhere = api_client.get("/sparql", params={
        "query": query, "default-graph-uri": "urn:nothing"}, headers=headers)
    assert json.loads(only_onto.text)["boolean"] is True
    assert json.loads(elsewhere.text)["boolean"] is False
