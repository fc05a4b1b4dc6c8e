"""The named query library: headers, parameters, safety, goldens, backends and the CLI.

Goldens: tests/golden/queries/acme/*.json (the small hand-written organisation of
tests/data/queries/acme.ttl, every row checked by hand against that file) and
tests/golden/queries/meridian/*.json (the demo organisation, checked against its EXPECTED.md).
Regenerate with AIMS_REGEN_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parser import parseQuery

from mapper import resources
from mapper.errors import InputError, NotFound, QueryError, ResourceError
from mapper.questions import queries
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of
from tests.golden import check_json

ACME = Path(__file__).resolve().parent / "data" / "queries" / "acme.ttl"
ACME_AS_OF = date(2026, 6, 30)
EX = "https://example.org/acme/"
INJECTION = 'x" } ; DROP ALL ; #'

REQUIRED = [
    "trace-system", "systems-missing-gate", "gate-order-violations",
    "third-parties-without-due-diligence", "expired-exceptions", "overdue-corrective-actions",
    "raci-matrix", "owner-load", "untrained-role-holders", "evidence-by-clause",
    "shadow-ai-candidates", "improvement-loop", "changes-since", "process-interactions",
]
MINE = sorted([*REQUIRED, "ai-systems", "processes", "process-lifecycle", "search-labels"])
"""The queries of this test module's owner; other query files have their own goldens."""


def load_acme(store: Store) -> None:
    """The Acme test organisation into one graph of `store`."""
    store.load(ACME.read_bytes(), format="turtle", graph="urn:test:acme")  # type: ignore[attr-defined]


@pytest.fixture
def acme() -> Iterator[Store]:
    store = open_store("memory")
    load_acme(store)
    yield store
    store.close()


def acme_params(query: queries.NamedQuery) -> dict[str, Any]:
    """The parameters the Acme goldens are made with."""
    params: dict[str, Any] = {}
    for param in query.params:
        if param.name == "as_of":
            params["as_of"] = ACME_AS_OF
        elif query.name == "trace-system" and param.name == "system":
            params["system"] = URIRef(EX + "sys2")
        elif query.name == "search-labels":
            params["text"] = "chat"
        elif query.name == "changes-since" and param.name == "since":
            params["since"] = date(2000, 1, 1)
    return params


def rows_as_text(result: Any) -> dict[str, Any]:
    columns, rows = queries.result_table(result)
    return {"columns": columns, "rows": rows}


# --- the files themselves --------------------------------------------------------------------


def test_required_queries_exist() -> None:
    names = set(queries.catalogue())
    assert set(REQUIRED) <= names, sorted(set(REQUIRED) - names)


@pytest.mark.parametrize("path", resources.query_files(), ids=lambda p: p.stem)
def test_every_file_parses_and_declares_its_columns(path: Path) -> None:
    query = queries.load_query(path)
    parseQuery(query.sparql)
    projected = [str(v) for v in prepareQuery(query.sparql).algebra["PV"]]
    assert list(query.columns) == projected, f"{path.name}: header columns != SELECT"
    assert query.summary and len(query.summary) < 250
    assert "ORDER BY" in query.sparql, f"{path.name} needs a deterministic ORDER BY"
    assert "NOW()" not in query.sparql.upper(), "use an as_of parameter, never NOW()"


def test_every_aims_and_iso_term_is_in_the_ontology() -> None:
    onto = resources.ontology()
    subjects = set(onto.subjects())
    missing = []
    for path in resources.query_files():
        body = queries.load_query(path).sparql
        for prefix, ns in (("aims", queries.PREFIXES["aims"]), ("iso", queries.PREFIXES["iso"])):
            for local in re.findall(rf"\b{prefix}:([A-Za-z_][\w.-]*[\w])", body):
                if URIRef(ns + local) not in subjects:
                    missing.append(f"{path.name}: {prefix}:{local}")
    assert not missing, missing


# --- headers ---------------------------------------------------------------------------------

GOOD = ("#+ name: demo\n#+ summary: A demo.\n#+ params:\n#+   - name: as_of\n"
        "#+     type: date\n#+     default: today\n#+ columns: [x]\n"
        "SELECT ?x WHERE { BIND(?as_of AS ?x) } ORDER BY ?x\n")


@pytest.mark.parametrize(("text", "reason"), [
    ("SELECT ?x WHERE {}", "no header"),
    ("#+ name demo\n#+ summary: x\nSELECT ?x WHERE {}", "mapping"),
    ("#+ name: demo\n#+ summary: [unclosed\nSELECT ?x WHERE {}", "YAML"),
    ("#+ name: demo\nSELECT ?x WHERE {}", "summary"),
    ("#+ name: Demo Query\n#+ summary: x\nSELECT ?x WHERE {}", "name"),
    ("#+ name: demo\n#+ summary: x\n#+ colour: red\nSELECT ?x WHERE {}", "unknown header key"),
    ("#+ name: demo\n#+ summary: x\n#+ params:\n#+   - name: n\n#+     type: float\n"
     "SELECT ?x WHERE { BIND(?n AS ?x) }", "type"),
    ("#+ name: demo\n#+ summary: x\n#+ params:\n#+   - name: n\n#+     type: integer\n"
     "SELECT ?x WHERE {}", "never uses ?n"),
    ("#+ name: demo\n#+ summary: x\n#+ params:\n#+   - name: n\n#+     type: date\n"
     "#+     default: soon\nSELECT ?x WHERE { BIND(?n AS ?x) }", "bad default"),
    ("#+ name: demo\n#+ summary: x\n#+ params:\n#+   - name: n\n#+     type: date\n"
     "#+     required: true\n#+     default: today\nSELECT ?x WHERE { BIND(?n AS ?x) }", "default"),
    ("#+ name: demo\n#+summary: x\nSELECT ?x WHERE {}", "hash, plus, space"),
    ("#+ name: demo\n#+ summary: x\n#+ columns: x\nSELECT ?x WHERE {}", "columns"),
    ("#+ name: demo\n#+ summary: x\n", "no query"),
])
def test_malformed_header_is_an_error(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        queries.parse_query_text(text, source="t.rq")


def test_good_header_parses() -> None:
    query = queries.parse_query_text(GOOD, source="demo.rq")
    assert query.params == (queries.Param("as_of", "date", False, "today", ""),)
    assert query.columns == ("x",)


def test_packaged_file_with_bad_header_is_a_resource_error(tmp_path: Path) -> None:
    bad = tmp_path / "demo.rq"
    bad.write_text("#+ name: other\n#+ summary: x\nSELECT ?x WHERE {} ORDER BY ?x\n")
    with pytest.raises(ResourceError, match="differs from the file name"):
        queries.load_query(bad)


def test_catalogue_refuses_a_broken_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.rq").write_text("SELECT ?x WHERE {}\n")
    monkeypatch.setattr(resources, "query_files", lambda: [tmp_path / "broken.rq"])
    queries.catalogue.cache_clear()
    try:
        with pytest.raises(ResourceError, match="no header"):
            queries.catalogue()
    finally:
        queries.catalogue.cache_clear()


# --- parameters ------------------------------------------------------------------------------


def test_unknown_query_suggests_close_names() -> None:
    with pytest.raises(NotFound, match="did you mean expired-exceptions"):
        queries.get("expired-exception")


def test_unknown_and_missing_parameters(acme: Store) -> None:
    with pytest.raises(InputError, match="has no parameter 'when'"):
        queries.run(acme, "expired-exceptions", {"when": "2026-01-01"})
    with pytest.raises(InputError, match="needs --param system"):
        queries.run(acme, "trace-system", {})
    with pytest.raises(InputError, match="not a date"):
        queries.run(acme, "expired-exceptions", {"as_of": "30/06/2026"})
    with pytest.raises(InputError, match="not an IRI"):
        queries.run(acme, "trace-system", {"system": "SYS 001"})


def test_coercion() -> None:
    param = queries.Param
    assert queries.coerce(param("n", "integer"), "-3") == Literal(-3)
    assert queries.coerce(param("b", "boolean"), "yes") == Literal(True)
    assert queries.coerce(param("s", "iri"), "<urn:x>") == URIRef("urn:x")
    assert queries.coerce(param("s", "iri"), "iso:A.6.2.5") == URIRef(
        "https://aims-graph.org/iso42001#A.6.2.5")
    assert queries.coerce(param("d", "date"), "today", today=date(2026, 1, 2)) == Literal(
        date(2026, 1, 2))
    with pytest.raises(InputError):
        queries.coerce(param("n", "integer"), "1.5")


def test_as_of_defaults_to_today(acme: Store) -> None:
    query = queries.get("expired-exceptions")
    assert queries.bindings_for(query, {}, today=date(2026, 5, 1))["as_of"] == Literal(
        date(2026, 5, 1))
    assert queries.run(acme, query, today=date(2026, 5, 1)).rows == []
    assert len(queries.run(acme, query, today=date(2026, 6, 1)).rows) == 1


def test_param_options() -> None:
    assert queries.parse_param_options(["a=1=2"]) == {"a": "1=2"}
    with pytest.raises(InputError, match="NAME=VALUE"):
        queries.parse_param_options(["novalue"])
    with pytest.raises(InputError, match="twice"):
        queries.parse_param_options(["a=1", "a=2"])


# --- injection -------------------------------------------------------------------------------

PARAMETERISED = [(q.name, p.name) for q in queries.catalogue().values() for p in q.params]


@pytest.mark.parametrize(("name", "param"), PARAMETERISED, ids=lambda v: str(v))
def test_injection_reaches_the_query_as_a_literal(acme: Store, name: str, param: str) -> None:
    query = queries.get(name)
    before = sorted(acme.quads())
    others = {k: v for k, v in acme_params(query).items() if k != param}
    bindings = {k: queries.coerce(query.param(k), v) for k, v in others.items()}
    bindings[param] = Literal(INJECTION)
    result = acme.query(query.sparql, bindings=bindings)
    assert result.kind == "select"
    assert sorted(acme.quads()) == before
    kind = query.param(param).type
    if kind in ("iri", "date", "integer", "boolean"):
        with pytest.raises(InputError):  # typed parameters refuse the text outright
            queries.run(acme, query, acme_params(query) | {param: INJECTION})
    else:
        queries.run(acme, query, acme_params(query) | {param: INJECTION})
    with pytest.raises(QueryError):  # and an IRI carrying it cannot even be written
        acme.query(query.sparql, bindings={**bindings, param: URIRef(INJECTION)})
    assert sorted(acme.quads()) == before


def test_string_parameter_matches_literally(acme: Store) -> None:
    found = queries.run(acme, "search-labels", {"text": "CHAT"})
    assert {str(r[0]) for r in found.rows} == {EX + "sys2", EX + "cmp1", EX + "ca3"}
    assert queries.run(acme, "search-labels", {"text": INJECTION}).rows == []


# --- user files ------------------------------------------------------------------------------


@pytest.mark.parametrize("update", [
    "DROP ALL", "CLEAR DEFAULT", "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "DELETE WHERE { ?s ?p ?o }", "LOAD <http://example.org/x.ttl>", "CREATE GRAPH <urn:g>",
    "PREFIX x: <urn:x> DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
])
def test_user_file_refuses_updates(tmp_path: Path, update: str) -> None:
    path = tmp_path / "mine.rq"
    path.write_text(update)
    with pytest.raises(QueryError, match="updates are refused"):
        queries.load_user_query(path)


def test_user_file_refuses_service_and_bad_syntax(tmp_path: Path) -> None:
    path = tmp_path / "mine.rq"
    path.write_text("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    with pytest.raises(QueryError, match="SERVICE"):
        queries.load_user_query(path)
    path.write_text("SELECT ?x WHERE { ?x ?y }")
    with pytest.raises(QueryError, match="syntax error at line 1"):
        queries.load_user_query(path)


def test_user_file_runs_with_its_own_header(tmp_path: Path, acme: Store) -> None:
    path = tmp_path / "mine.rq"
    path.write_text("#+ name: mine\n#+ summary: Systems by stage.\n#+ params:\n"
                    "#+   - {name: stage, type: iri, required: true}\n#+ columns: [s]\n"
                    "PREFIX aims: <https://aims-graph.org/ns#>\n"
                    "SELECT ?s WHERE { ?s aims:lifecycleStage ?stage } ORDER BY ?s\n")
    query = queries.load_user_query(path)
    rows = queries.run(acme, query, {"stage": "aims:Deployed"}).rows
    assert [str(r[0]) for r in rows] == [EX + "sys1", EX + "sys2"]


# --- goldens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MINE)
def test_golden_acme(acme: Store, name: str) -> None:
    query = queries.get(name)
    result = queries.run(acme, query, acme_params(query))
    check_json(f"queries/acme/{name}.json", rows_as_text(result))


def test_golden_acme_trace_of_the_complete_system(acme: Store) -> None:
    result = queries.run(acme, "trace-system", {"system": URIRef(EX + "sys1"),
                                                "as_of": ACME_AS_OF})
    check_json("queries/acme/trace-system-sys1.json", rows_as_text(result))


MERIDIAN_TRACE = "https://meridian.example/aims/sys-claims-triage"


@pytest.mark.parametrize("name", MINE)
def test_golden_meridian(demo_store: Store, name: str) -> None:
    query = queries.get(name)
    params: dict[str, Any] = {}
    for param in query.params:
        if param.name == "as_of":
            params["as_of"] = demo_as_of()
        elif name == "trace-system" and param.name == "system":
            params["system"] = URIRef(MERIDIAN_TRACE)
        elif param.name == "text":
            params["text"] = "claims"
        elif param.name == "since":
            params["since"] = date(2000, 1, 1)
    result = queries.run(demo_store, query, params)
    check_json(f"queries/meridian/{name}.json", rows_as_text(result))


# --- the named queries agree with the rules --------------------------------------------------


def _agreement(store: Store, as_of: date) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    from mapper.rules import validate
    report = validate.validate(store, as_of=as_of)
    in_scope = {str(r[0]) for r in queries.run(store, "ai-systems").rows if str(r[4]) == "true"}
    expired = {str(r[0]) for r in queries.run(store, "expired-exceptions", {"as_of": as_of}).rows}
    from_rules = set()
    for f in report.findings:
        focus = str(f.focus)
        gate = f.rule.startswith("GATE-") and f.rule != "GATE-08" and focus in in_scope
        other = f.rule in ("THIRD-01", "IMP-04", "MAINT-03")
        expiry = f.rule == "IMP-05" and focus in expired
        if gate or other or expiry:
            from_rules.add((f.rule, focus))
    from_queries = {(str(r["rule"]), str(r["system"]))
                    for r in queries.run(store, "systems-missing-gate").dicts()}
    from_queries |= {("THIRD-01", str(r[0]))
                     for r in queries.run(store, "third-parties-without-due-diligence").rows}
    from_queries |= {("IMP-04", str(r[0])) for r in queries.run(
        store, "overdue-corrective-actions", {"as_of": as_of}).rows}
    from_queries |= {("MAINT-03", str(r[0])) for r in queries.run(
        store, "untrained-role-holders", {"as_of": as_of}).rows}
    from_queries |= {("IMP-05", e) for e in expired}
    return from_queries, from_rules


def test_gap_queries_agree_with_the_rules(acme: Store) -> None:
    from_queries, from_rules = _agreement(acme, ACME_AS_OF)
    assert len(from_queries) == 10
    assert from_queries == from_rules


def test_gap_queries_agree_with_the_rules_on_the_demo(demo_store: Store) -> None:
    from_queries, from_rules = _agreement(demo_store, demo_as_of())
    assert from_queries == from_rules


# --- every backend gives the same rows -------------------------------------------------------


def test_same_rows_on_every_backend(store: Store) -> None:
    load_acme(store)
    reference = open_store("memory")
    load_acme(reference)
    differences = []
    for query in map(queries.get, MINE):
        params = acme_params(query)
        got = rows_as_text(queries.run(store, query, params))
        want = rows_as_text(queries.run(reference, query, params))
        if got != want:
            extra = [r for r in got["rows"] if r not in want["rows"]][:2]
            lost = [r for r in want["rows"] if r not in got["rows"]][:2]
            differences.append(f"{query.name}: {len(got['rows'])} vs {len(want['rows'])} rows; "
                               f"only on {store.kind}: {extra}; only in memory: {lost}")
    assert not differences, "\n".join(differences)


# --- changes-since over real ingest provenance -----------------------------------------------


def test_changes_since_follows_ingest_provenance(tmp_path: Path) -> None:
    import mapper.ingest as ingest_module
    store = open_store("memory")
    source = tmp_path / "systems.ttl"
    prefix = ("@prefix aims: <https://aims-graph.org/ns#> .\n"
              "@prefix ex: <https://example.org/c/> .\n")
    source.write_text(prefix + "ex:a a aims:InternalAISystem .\n")
    ingest_module.ingest(store, [source])
    first = queries.run(store, "changes-since").rows
    assert [(str(r[4]), str(r[6]), str(r[7]), str(r[8])) for r in first] == [
        ("added", "current", "https://aims-graph.org/ns#InternalAISystem", "1")]
    first_id = str(first[0][0])
    source.write_text(prefix + "ex:a a aims:InternalAISystem .\nex:b a aims:InternalAISystem .\n"
                      "ex:i a aims:IntakeRecord .\n")
    ingest_module.ingest(store, [source])
    after = queries.run(store, "changes-since", {"batch": first_id}).dicts()
    assert {(str(r["change"]), str(r["replaces"]), str(r["type"]), str(r["nodes"]))
            for r in after} == {
        ("replaced", first_id, "https://aims-graph.org/ns#InternalAISystem", "2"),
        ("replaced", first_id, "https://aims-graph.org/ns#IntakeRecord", "1")}
    everything = queries.run(store, "changes-since", {"since": date(2000, 1, 1)}).dicts()
    assert {str(r["status"]) for r in everything} == {"superseded", "current"}
    assert queries.run(store, "changes-since", {"since": date(2999, 1, 1)}).rows == []
