"""The store contract: the same tests on the memory, embedded and remote (Virtuoso) backends."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef

from mapper.errors import QueryError, StoreUnavailable
from mapper.resources import ONTOLOGY_GRAPH
from mapper.store import META_GRAPH, Quad, Store, open_store
from mapper.store.remote import RemoteStore, query_form
from tests.fixtures.remote import TEST_MAX_ROWS, Virtuoso

EX = "urn:test:ex#"
G1 = "urn:test:graph:one"
G2 = "urn:test:graph:two"
INJECTION = 'x" } ; DROP ALL ; #'

TURTLE = f"""
@prefix ex: <{EX}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:sys1 a ex:System ; ex:name "Chatbot" ; ex:owner ex:alice ; ex:since "2025-01-31"^^xsd:date .
ex:sys2 a ex:System ; ex:name "Scoring" ; ex:owner ex:bob .
""".encode()


def ex(name: str) -> URIRef:
    return URIRef(EX + name)


def data_triples(store: Store, graph: str) -> set[tuple[object, object, object]]:
    return {(s, p, o) for s, p, o, _ in store.quads(graph)}


def test_ontology_loaded(store: Store) -> None:
    assert store.query("ASK { ?c a <http://www.w3.org/2002/07/owl#Class> }").boolean
    assert ONTOLOGY_GRAPH in store.graphs()
    assert sum(1 for _ in store.quads(ONTOLOGY_GRAPH)) > 100


def test_load_and_add_quads_into_named_graphs(store: Store) -> None:
    store.load(TURTLE, format="turtle", graph=G1)
    store.add_quads([(ex("sys3"), RDF.type, ex("System"), G2)])
    assert {G1, G2} <= set(store.graphs())
    assert (ex("sys1"), ex("name"), Literal("Chatbot")) in data_triples(store, G1)
    assert data_triples(store, G2) == {(ex("sys3"), RDF.type, ex("System"))}
    assert len(data_triples(store, G1)) == 7


def test_load_nt(store: Store) -> None:
    store.load(f"<{EX}a> <{EX}b> \"c\" .\n".encode(), format="nt", graph=G1)
    assert data_triples(store, G1) == {(ex("a"), ex("b"), Literal("c"))}


def test_query_with_bindings(store: Store) -> None:
    store.load(TURTLE, format="turtle", graph=G1)
    result = store.query(
        "SELECT ?name WHERE { ?s ?p ?name }", bindings={"s": ex("sys1"), "p": ex("name")}
    )
    assert result.kind == "select" and result.variables == ["name"]
    assert result.rows == [(Literal("Chatbot"),)]
    named = store.query(
        f"SELECT ?s WHERE {{ ?s <{EX}name> ?n }}", bindings={"n": Literal("Scoring")}
    )
    assert named.dicts() == [{"s": ex("sys2")}]


def test_injection_attempt_is_only_a_literal(store: Store) -> None:
    store.load(TURTLE, format="turtle", graph=G1)
    sparql = f"SELECT ?s WHERE {{ ?s <{EX}name> ?n }}"
    assert store.query(sparql, bindings={"n": Literal(INJECTION)}).rows == []
    assert len(data_triples(store, G1)) == 7  # nothing dropped
    store.add_quads([(ex("odd"), ex("name"), Literal(INJECTION), G2)])
    assert store.query(sparql, bindings={"n": Literal(INJECTION)}).rows == [(ex("odd"),)]
    with pytest.raises(QueryError):
        store.query(sparql, bindings={"n": URIRef("urn:x> } ; DROP ALL ; #")})
    assert G1 in store.graphs()


def test_ask_and_construct(store: Store) -> None:
    store.load(TURTLE, format="turtle", graph=G1)
    assert store.query(f"ASK {{ <{EX}sys1> <{EX}owner> <{EX}alice> }}").boolean is True
    assert store.query(f"ASK {{ <{EX}sys1> <{EX}owner> <{EX}bob> }}").boolean is False
    result = store.query(
        f"CONSTRUCT {{ ?s <{EX}ownedBy> ?o }} WHERE {{ ?s <{EX}owner> ?o }}",
        bindings={"o": ex("bob")},
    )
    assert result.kind == "graph" and result.graph is not None
    assert set(result.graph) == {(ex("sys2"), ex("ownedBy"), ex("bob"))}


def test_default_graph_is_the_union_of_named_graphs(store: Store) -> None:
    store.add_quads([(ex("sys1"), ex("owner"), ex("alice"), G1),
                     (ex("alice"), ex("name"), Literal("Alice"), G2)])
    rows = store.query(f"SELECT ?n WHERE {{ <{EX}sys1> <{EX}owner>/<{EX}name> ?n }}").rows
    assert rows == [(Literal("Alice"),)]
    # the ontology graph is part of the union too, so class hierarchies work in queries
    assert store.query(
        "ASK { ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?d }"
    ).boolean


def test_drop_graph(store: Store) -> None:
    store.load(TURTLE, format="turtle", graph=G1)
    store.add_quads([(ex("sys3"), RDF.type, ex("System"), G2)])
    store.drop_graph(G1)
    store.drop_graph("urn:test:graph:never-there")  # no error
    assert G1 not in store.graphs() and G2 in store.graphs()
    assert not store.query(f"ASK {{ <{EX}sys1> ?p ?o }}").boolean
    assert data_triples(store, G2) == {(ex("sys3"), RDF.type, ex("System"))}


def test_update(store: Store) -> None:
    store.update(f"INSERT DATA {{ GRAPH <{G1}> {{ <{EX}a> <{EX}b> <{EX}c> }} }}")
    assert data_triples(store, G1) == {(ex("a"), ex("b"), ex("c"))}
    store.update(f"DELETE WHERE {{ GRAPH <{G1}> {{ <{EX}a> ?p ?o }} }}")
    assert data_triples(store, G1) == set()


def test_syntax_errors_are_query_errors(store: Store) -> None:
    with pytest.raises(QueryError):
        store.query("SELECT ?x WHERE { ?x ?p }")
    with pytest.raises(QueryError):
        store.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> } }")


def test_to_graph_excludes_ontology_and_meta(store: Store) -> None:
    store.load(TURTLE, format="turtle", graph=G1)
    store.add_quads([(ex("sys3"), RDF.type, ex("System"), G2)])
    graph = store.to_graph()
    expected = Graph()
    expected.parse(data=TURTLE, format="turtle")
    expected.add((ex("sys3"), RDF.type, ex("System")))
    assert set(graph) == set(expected)
    with_ontology = store.to_graph(include_ontology=True)
    assert len(with_ontology) == len(graph) + sum(1 for _ in store.quads(ONTOLOGY_GRAPH))
    assert META_GRAPH in store.graphs()  # present, but never part of the data


ROUND_TRIP = [
    Literal("plain"),
    Literal("Zürich – 日本語 – emoji 🙂"),
    Literal('quotes " and \\ backslash\nnew line\ttab'),
    Literal("Gestion des risques", lang="fr"),
    Literal("colour", lang="en-gb"),
    Literal("2025-01-31", datatype=XSD.date),
    Literal("2025-03-01T10:00:00+02:00", datatype=XSD.dateTime),
    Literal("2025-03-01T10:00:00Z", datatype=XSD.dateTime),
    Literal("42", datatype=XSD.integer),
    Literal("true", datatype=XSD.boolean),
    Literal("false", datatype=XSD.boolean),
    Literal("x", datatype=URIRef("urn:test:datatype")),
    Literal(INJECTION),
]


def test_literals_round_trip_exactly(store: Store) -> None:
    quads: list[Quad] = [(ex(f"s{i}"), ex("value"), lit, G1) for i, lit in enumerate(ROUND_TRIP)]
    store.add_quads(quads)
    back = {s: o for s, _, o, _ in store.quads(G1)}
    for i, lit in enumerate(ROUND_TRIP):
        got = back[ex(f"s{i}")]
        assert isinstance(got, Literal)
        assert (str(got), got.language, got.datatype) == (str(lit), lit.language, lit.datatype)
        # queries hand back the same terms, and find them by value
        rows = store.query(f"SELECT ?s WHERE {{ ?s <{EX}value> ?o }}", bindings={"o": lit}).rows
        assert rows == [(ex(f"s{i}"),)], lit


def test_xsd_string_comes_back_plain(store: Store) -> None:
    store.add_quads([(ex("s"), ex("p"), Literal("typed", datatype=XSD.string), G1)])
    (_, _, o, _), = store.quads(G1)
    assert isinstance(o, Literal) and o == Literal("typed") and o.datatype is None


def test_blank_nodes_keep_their_structure_in_large_batches(store: Store) -> None:
    if isinstance(store, RemoteStore):
        store.chunk = 40  # force the staged path with many requests
    quads: list[Quad] = []
    for i in range(150):
        node = BNode()
        quads += [(ex(f"sys{i}"), ex("contact"), node, G1),
                  (node, ex("email"), Literal(f"owner{i}@example.org"), G1)]
    quads += [(ex("sys0"), ex("note"), Literal("in the second graph"), G2)]
    store.add_quads(quads)
    assert len(data_triples(store, G1)) == 300
    rows = store.query(f"SELECT ?s ?m WHERE {{ ?s <{EX}contact>/<{EX}email> ?m }}").rows
    assert sorted((str(s), str(m)) for s, m in rows) == sorted(
        (f"{EX}sys{i}", f"owner{i}@example.org") for i in range(150)
    )
    assert not any(g.startswith("urn:aims:staging:") for g in store.graphs())


def test_reading_graphs_larger_than_a_page(store: Store) -> None:
    count = TEST_MAX_ROWS * 2 + 37
    store.add_quads((ex(f"s{i}"), ex("n"), Literal(i), G1) for i in range(count))
    assert len(data_triples(store, G1)) == count
    assert len(store.to_graph()) == count


def test_failed_add_quads_adds_nothing(store: Store) -> None:
    good: list[Quad] = [(ex(f"s{i}"), ex("p"), Literal(i), G1) for i in range(2000)]
    bad: Quad = (ex("x"), ex("p"), URIRef("not an iri"), G1)
    with pytest.raises((ValueError, TypeError)):
        store.add_quads([*good, bad])
    assert G1 not in store.graphs()
    with pytest.raises((ValueError, TypeError)):
        store.add_quads([*good[:3], (ex("x"), ex("p"), object(), G1)])  # type: ignore[list-item]
    assert G1 not in store.graphs()


def test_load_syntax_error_adds_nothing(store: Store) -> None:
    with pytest.raises(SyntaxError):
        store.load(TURTLE + b"\nex:broken ex:p .", format="turtle", graph=G1)
    assert G1 not in store.graphs()


# --- backend-specific -------------------------------------------------------------------------


def test_embedded_store_persists(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s")) as first:
        first.load(TURTLE, format="turtle", graph=G1)
    with open_store(str(tmp_path / "s")) as again:
        assert again.kind == "embedded"
        assert len(data_triples(again, G1)) == 7


def test_embedded_store_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "s"
    holder = textwrap.dedent(f"""
        import sys, time
        from mapper.store import open_store
        store = open_store({str(path)!r})
        print("ready", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreUnavailable, match=r"held by pid \d+"):
            open_store(str(path))
    finally:
        proc.communicate("", timeout=30)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_remote_unreachable_is_store_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/sparql"
    monkeypatch.delenv("AIMS_STORE_UPDATE", raising=False)
    with pytest.raises(StoreUnavailable, match=url.replace(".", r"\.")):
        open_store(url)


@pytest.mark.remote
def test_remote_wrong_password(virtuoso: Virtuoso) -> None:
    store = RemoteStore(virtuoso.query_url, update_url=virtuoso.update_url, user="dba",
                        password="wrong", ensure_ontology=False)
    with pytest.raises(StoreUnavailable, match="AIMS_STORE_PASSWORD"):
        store.update("INSERT DATA { GRAPH <urn:test:g> { <urn:a> <urn:b> <urn:c> } }")
    store.close()


@pytest.mark.remote
@pytest.mark.parametrize("auth", ["digest", "auto"])
def test_remote_auth_schemes(virtuoso: Virtuoso, auth: str) -> None:
    with RemoteStore(virtuoso.query_url, update_url=virtuoso.update_url, user="dba",
                     password="dba", auth=auth, ensure_ontology=False) as store:
        store.add_quads([(ex("a"), ex("b"), Literal(auth), "urn:test:graph:auth")])
        assert data_triples(store, "urn:test:graph:auth") == {(ex("a"), ex("b"), Literal(auth))}
        store.drop_graph("urn:test:graph:auth")


@pytest.mark.remote
def test_remote_graph_store_protocol_bulk_path(remote_store: Store, virtuoso: Virtuoso) -> None:
    store = remote_store
    assert isinstance(store, RemoteStore)
    store.gsp_url = virtuoso.query_url.replace("/sparql", "/sparql-graph-crud-auth")
    store.chunk = 100
    node = BNode()
    quads: list[Quad] = [(ex(f"s{i}"), ex("n"), Literal(f"é{i}"), G1) for i in range(1000)]
    quads += [(ex("s0"), ex("contact"), node, G1), (node, ex("email"), Literal("a@b"), G1)]
    store.add_quads(quads)
    assert len(data_triples(store, G1)) == 1002
    assert store.query(f"ASK {{ <{EX}s0> <{EX}contact>/<{EX}email> 'a@b' }}").boolean
    assert not any(g.startswith("urn:aims:staging:") for g in store._all_graphs())


@pytest.mark.remote
def test_remote_truncated_select_is_an_error(remote_store: Store) -> None:
    store = remote_store
    store.add_quads((ex(f"s{i}"), ex("n"), Literal(i), G1) for i in range(TEST_MAX_ROWS + 5))
    with pytest.raises(QueryError, match="row limit"):
        store.query(f"SELECT ?s WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")
    limited = store.query(f"SELECT ?s WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }} LIMIT 10")
    assert len(limited.rows) == 10


@pytest.mark.remote
def test_remote_hides_server_system_graphs(remote_store: Store) -> None:
    store = remote_store
    assert all(not g.startswith("http://www.openlinksw.com/") for g in store.graphs())
    assert set(store.graphs()) == {ONTOLOGY_GRAPH, META_GRAPH}


def test_query_form() -> None:
    assert query_form("# ASK\nPREFIX a: <urn:select#> SELECT * WHERE {}") == "select"
    assert query_form("DESCRIBE <urn:x>") == "describe"
    with pytest.raises(QueryError):
        query_form("INSERT DATA {}")


def test_load_nquads_into_several_graphs(store: Store) -> None:
    data = (f'<{EX}a> <{EX}b> "one" <{G1}> .\n'
            f'<{EX}a> <{EX}b> "two"@en <{G2}> .\n').encode()
    store.load_nquads(data)
    assert data_triples(store, G1) == {(ex("a"), ex("b"), Literal("one"))}
    assert data_triples(store, G2) == {(ex("a"), ex("b"), Literal("two", lang="en"))}
    with pytest.raises(SyntaxError):
        store.load_nquads(f'<{EX}c> <{EX}b> "x" <{G1}> .\n<{EX}c> <{EX}b> .\n'.encode())
    assert data_triples(store, G1) == {(ex("a"), ex("b"), Literal("one"))}


@pytest.mark.remote
def test_remote_paging_falls_back_to_ordered_pages(
    remote_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = remote_store
    assert isinstance(store, RemoteStore)
    count = TEST_MAX_ROWS * 2 + 11
    store.add_quads((ex(f"s{i}"), ex("n"), Literal(i), G1) for i in range(count))
    real = store._rows
    seen: list[str] = []

    def unstable(sparql: str) -> Any:  # a server whose unordered pages overlap
        seen.append(sparql)
        if "OFFSET" in sparql and "ORDER BY" not in sparql:
            sparql = sparql[: sparql.index("OFFSET")] + "OFFSET 0"
        return real(sparql)

    monkeypatch.setattr(store, "_rows", unstable)
    assert len(data_triples(store, G1)) == count
    assert any("ORDER BY" in q for q in seen)
