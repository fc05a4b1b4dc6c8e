"""Parameter binding on the parsed query (mapper.store.sparql.bind_values) and the project's own
term escaping (mapper.store.terms): a bound variable reaches sub-SELECTs, nested groups and
FILTERs, and any string survives binding exactly, on the embedded store and through the API."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import RDFS, Literal, URIRef

from mapper.errors import QueryError
from mapper.questions import queries
from mapper.store import Store, open_store
from mapper.store.sparql import SparqlWriter, bind_values, parse_query
from mapper.store.terms import TermError, sparql_term
from tests.fixtures.api import auth
from tests.fixtures.demo import demo_as_of, load_demo

EX = "https://example.org/b/"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store() -> Store:
    s = open_store("memory")
    s.add_quads([
        (URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "x"), EX + "g"),
        (URIRef(EX + "b"), URIRef(EX + "p"), URIRef(EX + "y"), EX + "g"),
        (URIRef(EX + "a"), URIRef(EX + "q"), Literal(1), EX + "g"),
        (URIRef(EX + "b"), URIRef(EX + "q"), Literal(2), EX + "g"),
    ])
    return s


# --- reaching every part of the query ------------------------------------------------------

SUB_SELECT = f"""
SELECT ?s ?n WHERE {{
  ?s <{EX}p> ?o .
  {{ SELECT ?s (COUNT(?v) AS ?n) WHERE {{ ?s <{EX}p> ?target . ?s <{EX}q> ?v }} GROUP BY ?s }}
}}"""


def test_a_parameter_used_inside_a_sub_select_is_bound_there(store: Store) -> None:
    # ?target is named only inside the sub-SELECT (not projected from it): an inline VALUES
    # block at the top would leave it free there and count ?s's values for every object.
    rows = store.query(SUB_SELECT, bindings={"target": URIRef(EX + "x")}).rows
    assert rows == [(URIRef(EX + "a"), Literal(1))]
    unbound = store.query(SUB_SELECT).rows
    assert sorted(str(r[0]) for r in unbound) == [EX + "a", EX + "b"]


def test_a_parameter_reaches_a_filter_and_bind_inside_nested_groups(store: Store) -> None:
    sparql = f"""SELECT ?s ?big WHERE {{
      ?s <{EX}p> ?o .
      OPTIONAL {{ ?s <{EX}q> ?v . BIND (?v >= ?min AS ?big) FILTER (?v <= ?max) }}
    }} ORDER BY ?s"""
    rows = store.query(sparql, bindings={"min": Literal(2), "max": Literal(5)}).rows
    assert rows == [(URIRef(EX + "a"), Literal(False)), (URIRef(EX + "b"), Literal(True))]


def test_the_bound_variable_stays_in_the_results(store: Store) -> None:
    rows = store.query(f"SELECT * WHERE {{ ?s <{EX}p> ?o }}",
                       bindings={"o": URIRef(EX + "y")}).dicts()
    assert rows == [{"o": URIRef(EX + "y"), "s": URIRef(EX + "b")}]
    bound = store.query(f"SELECT ?s WHERE {{ ?s <{EX}p> ?o FILTER (BOUND(?o)) }}",
                        bindings={"o": URIRef(EX + "y")}).rows
    assert bound == [(URIRef(EX + "b"),)]


def test_a_variable_the_query_assigns_cannot_be_bound(store: Store) -> None:
    with pytest.raises(QueryError, match=r"\?n: the query sets it itself"):
        store.query("SELECT ?n WHERE { BIND (1 AS ?n) }", bindings={"n": Literal(2)})


def test_every_named_query_reads_the_same_when_written_back_from_its_tree() -> None:
    """Unbound, the writer reproduces each query of queries/: same rows on the demo."""
    demo = open_store("memory")
    load_demo(demo)
    try:
        for path in sorted(glob.glob(str(ROOT / "queries" / "*.rq"))):
            query = queries.get(Path(path).stem)
            written = SparqlWriter().query(parse_query(query.sparql))
            assert sorted(map(str, demo.query(written).rows)) == \
                sorted(map(str, demo.query(query.sparql).rows)), query.name
    finally:
        demo.close()


def test_the_as_of_date_reaches_the_bind_inside_an_optional() -> None:
    """report-management-reviews judges overdue actions in a BIND inside an OPTIONAL, where a
    top-level VALUES block did not reach (every open action was then "not known")."""
    demo = open_store("memory")
    load_demo(demo)
    try:
        result = queries.run(demo, "report-management-reviews", {"as_of": demo_as_of()})
        overdue = [row["action_overdue"] for row in result.dicts()]
        assert overdue and None not in overdue
    finally:
        demo.close()


# --- escaping ---------------------------------------------------------------------------------

def test_terms_are_written_by_the_project_escaping() -> None:
    assert sparql_term(Literal('x\n\\"')) == '"x\\n\\\\\\""'
    assert sparql_term(Literal("a", lang="en-GB")) == '"a"@en-GB'
    with pytest.raises(TermError):
        sparql_term(URIRef("https://example.org/a b"))
    with pytest.raises(TermError):
        sparql_term(URIRef("https://example.org/a>"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=40) | st.text(alphabet='\\"\n\r\t\'{}#<>', max_size=12).map(
    lambda s: s + '\\"'))
def test_any_string_round_trips_through_binding(text: str) -> None:
    s = open_store("memory")
    try:
        s.add_quads([(URIRef(EX + "n"), RDFS.label, Literal(text), EX + "g")])
        echoed = s.query("SELECT ?v WHERE { { SELECT (?text AS ?v) WHERE { } } }",
                         bindings={"text": Literal(text)}).rows
        assert echoed == [(Literal(text),)]
        # in the graph written: the store holds the ontology too, whose labels ("record", a
        # constant Hypothesis finds in the code) would match as well
        found = s.query(f"SELECT ?n WHERE {{ GRAPH <{EX}g> {{ ?n <{RDFS.label}> ?text }} }}",
                        bindings={"text": Literal(text)}).rows
        assert found == [(URIRef(EX + "n"),)]
        assert "?text" not in bind_values("SELECT ?v WHERE { BIND (?text AS ?v) }",
                                          {"text": Literal(text)}).split("VALUES")[0]
    finally:
        s.close()


def test_search_labels_answers_a_value_with_a_newline_and_an_escaped_quote(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    got = api_client.get("/v1/queries/search-labels?text=x%0A%5C%22",
                         headers=auth(api_keys["reader"]))
    assert got.status_code == 200, got.text


def test_binding_keeps_no_reference_to_the_store(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """pyparsing leaves reference cycles through its callers' frames; were the query parsed on
    the caller's stack, a closed on-disk store would stay locked until the garbage collector
    ran, and the next open in the same process (the CLI tests, a server) would fail."""
    import gc

    from mapper.rules import compile as compiled

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the compiler parses too
    where = str(tmp_path / "store")
    gc.disable()
    try:
        for _ in range(2):
            compiled._TREES.clear()
            compiled.checks.cache_clear()
            s = open_store(where)
            s.query(f"SELECT ?s WHERE {{ ?s <{EX}p> ?o }}  # {tmp_path}",
                    bindings={"o": URIRef(EX + "x")})
            compiled.validate(s, as_of=demo_as_of(), rules=["PROC-01"])
            s.close()
    finally:
        gc.enable()
        compiled._TREES.clear()
        compiled.checks.cache_clear()


def test_bound_query_trees_are_kept_between_processes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A query's parse tree read back from the cache folder binds to the same text, without
    parsing; a damaged cache file is ignored."""
    from mapper.store import sparql as contract

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sparql = SUB_SELECT + f"  # {tmp_path}"
    bindings = {"target": URIRef(EX + "x")}

    def fresh_process() -> None:
        contract.parse_query.cache_clear()
        contract._QUERY_TREES.clear()

    try:
        fresh_process()
        parsed = bind_values(sparql, bindings)
        [cache_file] = (tmp_path / "aims-graph").glob("bound-queries-*.json")
        fresh_process()
        with monkeypatch.context() as m:
            m.setattr(contract, "parse_sparql", _no_parse)
            assert bind_values(sparql, bindings) == parsed
        cache_file.write_text("[1, 2", encoding="utf-8")
        fresh_process()
        assert bind_values(sparql, bindings) == parsed
    finally:
        fresh_process()


def _no_parse(text: str) -> None:
    raise AssertionError("parsed although the cache holds the tree")
