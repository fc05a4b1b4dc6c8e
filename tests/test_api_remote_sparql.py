"""/sparql on a remote store (issue 18): a real `aims serve` over the session's Virtuoso, queried
with SPARQLWrapper. The same read-only check, nesting limit, result limit, dataset clause and
CSV neutralising as on the embedded store; the query itself runs on Virtuoso."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from rdflib import Literal, URIRef
from SPARQLWrapper import CSV, JSON, SPARQLWrapper

from mapper.store.remote import RemoteStore
from tests.fixtures.api import auth
from tests.fixtures.remote import TEST_MAX_ROWS, Virtuoso, start_virtuoso
from tests.test_api_hostile import FORMULA, Server, launch, stop

pytestmark = pytest.mark.remote

GRAPH_A, GRAPH_B = "urn:test:remote-sparql:a", "urn:test:remote-sparql:b"
SIZE = 300


def _store(virtuoso: Virtuoso) -> RemoteStore:
    return RemoteStore(virtuoso.query_url, update_url=virtuoso.update_url, user=virtuoso.user,
                       password=virtuoso.password, auth="digest", page_size=TEST_MAX_ROWS,
                       ensure_ontology=False)


@pytest.fixture(scope="module")
def server(virtuoso: Virtuoso, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = _store(virtuoso)
    quads = [(URIRef(f"urn:test:rs{i}"), URIRef("urn:test:rp"), Literal(f"v{i}"), GRAPH_A)
             for i in range(SIZE)]
    quads += [(URIRef("urn:test:rs-b"), URIRef("urn:test:rp"), Literal("b"), GRAPH_B),
              (URIRef("urn:test:rs-b"), URIRef("urn:test:label"), Literal(FORMULA), GRAPH_B)]
    store.add_quads(quads)
    env = virtuoso.env() | {"AIMS_STORE_PAGE_SIZE": str(TEST_MAX_ROWS),
                            "AIMS_SPARQL_MAX_RESULTS": "100", "AIMS_SPARQL_TIMEOUT": "20"}
    running = launch(tmp_path_factory.mktemp("remote-sparql"), virtuoso.query_url, env)
    yield running
    stop(running)
    for graph in (GRAPH_A, GRAPH_B):
        store.drop_graph(graph)
    store.close()


def _wrapper(server: Server, query: str, *, fmt: str = JSON,
             default: tuple[str, ...] = ()) -> object:
    client = SPARQLWrapper(server.url + "/sparql")
    client.addCustomHttpHeader("Authorization", f"Bearer {server.key('reader')}")
    for graph in default:
        client.addDefaultGraph(graph)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client.query().convert()


def _subjects(result: object) -> set[str]:
    assert isinstance(result, dict)
    return {row["s"]["value"] for row in result["results"]["bindings"]}


def test_select_ask_construct_run_on_the_remote_store(server: Server) -> None:
    rows = _wrapper(server, "SELECT ?s WHERE { ?s <urn:test:rp> ?o } LIMIT 50")
    assert len(_subjects(rows)) == 50
    ask = _wrapper(server, "ASK { <urn:test:rs-b> <urn:test:rp> 'b' }")
    assert isinstance(ask, dict) and ask["boolean"] is True
    graph = server.sparql("reader", "CONSTRUCT WHERE { <urn:test:rs-b> ?p ?o }",
                          headers={"Accept": "application/n-triples"})
    assert graph.status_code == 200 and graph.text.count("\n") == 2, graph.text


def test_dataset_clause_and_protocol_graphs_on_the_remote_store(server: Server) -> None:
    assert _subjects(_wrapper(server, "SELECT ?s FROM <urn:none> WHERE { ?s ?p ?o }")) == set()
    scoped = _wrapper(server, f"SELECT DISTINCT ?s FROM <{GRAPH_B}> WHERE {{ ?s ?p ?o }}")
    assert _subjects(scoped) == {"urn:test:rs-b"}
    by_parameter = _wrapper(server, "SELECT DISTINCT ?s WHERE { ?s <urn:test:rp> ?o }",
                            default=(GRAPH_B,))
    assert _subjects(by_parameter) == {"urn:test:rs-b"}


@pytest.mark.parametrize(("query", "words"), [
    ("INSERT DATA { <urn:x> <urn:y> <urn:z> }", "read-only"),
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE " + "{ " * 3000 + "?s ?p ?o " + "} " * 3000, "64 deep"),
    (f"SELECT ?s WHERE {{ ?s <urn:test:rp> ?o }} LIMIT {SIZE}", "more than 100"),
])
def test_same_checks_and_limits_as_the_embedded_store(server: Server, query: str,
                                                      words: str) -> None:
    response = httpx.post(f"{server.url}/sparql", data={"query": query}, timeout=60,
                          headers=auth(server.key("reader")))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_query" and words in response.json()["message"]


def test_csv_from_the_remote_store_is_neutralised(server: Server) -> None:
    body = _wrapper(server, "SELECT ?l WHERE { <urn:test:rs-b> <urn:test:label> ?l }", fmt=CSV)
    assert isinstance(body, bytes)
    assert body.decode().splitlines() == ["l", f"'{FORMULA}"]


def test_an_unreachable_store_is_a_503_that_names_nothing(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """A private Virtuoso stopped under a running server: /sparql and a named query answer
    503 with a generic message and a reference; the endpoint's address is only in the log."""
    folder = tmp_path_factory.mktemp("remote-down")
    with start_virtuoso(folder / "virtuoso") as private:
        running = launch(folder, private.query_url, private.env())
        try:
            assert running.sparql("reader", "ASK {}").status_code == 200
        except BaseException:
            stop(running)
            raise
    try:
        address = private.query_url.split("/sparql")[0].removeprefix("http://")
        for response in (running.sparql("reader", "ASK {}"),
                         httpx.get(f"{running.url}/v1/queries/ai-systems", timeout=60,
                                   headers=auth(running.key("reader")))):
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["error"] == "store_unavailable" and address not in response.text
            assert body["ref"] and len(body["ref"]) == 12
            log = running.log.read_text(errors="replace")
            assert any(body["ref"] in line and address in line for line in log.splitlines())
    finally:
        stop(running)
