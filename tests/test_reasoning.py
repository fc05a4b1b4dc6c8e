"""HermiT finds the demo organisation consistent, and names whoever makes a graph inconsistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from typer.testing import CliRunner

from mapper import reasoning, resources
from mapper.store import Store, open_store
from tests.fixtures.demo import DEMO_DIR, load_demo

AIMS = "https://aims-graph.org/ns#"



@pytest.fixture(scope="module")
def demo_graph() -> Graph:
    store = open_store("memory")
    try:
        load_demo(store)
        return store.to_graph()
    finally:
        store.close()


def first(graph: Graph, cls: str) -> URIRef:
    found = sorted(graph.subjects(RDF.type, URIRef(AIMS + cls)), key=str)
    assert found, f"the demo has no aims:{cls}"
    node = found[0]
    assert isinstance(node, URIRef)
    return node


def with_triples(graph: Graph, *triples: tuple[URIRef, URIRef, URIRef | Literal]) -> Graph:
    copy = Graph()
    for t in graph:
        copy.add(t)
    for t in triples:
        copy.add(t)
    return copy


def test_ontology_alone_is_consistent() -> None:
    assert reasoning.hermit_consistent(resources.ontology())


def test_demo_is_consistent(demo_graph: Graph) -> None:
    result = reasoning.check(demo_graph)
    assert result.consistent, result.summary()
    assert result.offenders == []
    assert result.individuals >= 50
    assert result.summary().startswith(f"consistent ({result.individuals} individuals, ")
    assert result.seconds < 30


def test_system_typed_internal_and_third_party_is_named(demo_graph: Graph) -> None:
    system = first(demo_graph, "InternalAISystem")
    label = demo_graph.value(system, RDFS.label)
    bad = with_triples(demo_graph, (system, RDF.type, URIRef(AIMS + "ThirdPartyAISystem")))
    result = reasoning.check(bad)
    assert not result.consistent
    assert [o.individual for o in result.offenders] == [system]
    offender = result.offenders[0]
    assert set(offender.classes) == {URIRef(AIMS + "InternalAISystem"),
                                     URIRef(AIMS + "ThirdPartyAISystem")}
    assert offender.label == (str(label) if label is not None else None)
    assert "InternalAISystem" in result.summary() and "ThirdPartyAISystem" in result.summary()


def test_person_typed_as_team_is_named(demo_graph: Graph) -> None:
    person = first(demo_graph, "Person")
    bad = with_triples(demo_graph, (person, RDF.type, URIRef(AIMS + "Team")))
    result = reasoning.check(bad)
    assert not result.consistent
    assert [o.individual for o in result.offenders] == [person]
    assert "aims:Person and aims:Team (disjoint)" in result.offenders[0].reason


def test_clash_through_a_property_domain_is_explained() -> None:
    # a team is given a role: aims:holdsRole has domain aims:Person, disjoint with units
    data = Graph().parse(data="""
        @prefix aims: <https://aims-graph.org/ns#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        aims:data-team a aims:Team ; rdfs:label "Data science team" ; aims:holdsRole aims:cro .
        aims:cro a aims:Role ; rdfs:label "Chief Risk Officer" .
        aims:ana a aims:Person ; rdfs:label "Ana" ; aims:holdsRole aims:cro .
    """, format="turtle")
    result = reasoning.check(data)
    assert not result.consistent
    assert [o.label for o in result.offenders] == ["Data science team"]
    assert "domain of aims:holdsRole" in result.offenders[0].reason


def test_inconsistency_without_disjoint_types_is_found_by_bisection() -> None:
    # "yes" is a string, aims:inScope's range is xsd:boolean: no disjoint classes involved
    data = Graph().parse(data="""
        @prefix aims: <https://aims-graph.org/ns#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        aims:s1 a aims:InternalAISystem ; rdfs:label "Claims triage" ; aims:inScope true .
        aims:s2 a aims:ThirdPartyAISystem ; rdfs:label "CV screening" ; aims:inScope "yes" .
    """, format="turtle")
    assert reasoning.disjointness_clashes(data, resources.ontology()) == []
    result = reasoning.check(data)
    assert not result.consistent
    assert [o.label for o in result.offenders] == ["CV screening"]
    assert 'aims:inScope "yes"' in result.offenders[0].reason


def test_ill_typed_literal_is_reported() -> None:
    data = Graph()
    plan = URIRef(AIMS + "plan-1")
    data.add((plan, RDF.type, URIRef(AIMS + "MonitoringPlan")))
    data.add((plan, URIRef(AIMS + "cadenceDays"),
              Literal("monthly", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer"))))
    result = reasoning.check(data)
    assert not result.consistent
    assert [o.individual for o in result.offenders] == [plan]
    assert "not a valid xsd:integer" in result.offenders[0].reason


# --- the command ------------------------------------------------------------------------------

runner = CliRunner()


def aims_app() -> typer.Typer:
    from mapper.cli.common import app  # imported here: the CLI package imports every command

    return app

BAD_TTL = """
@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
aims:dana a aims:Person, aims:Team ; rdfs:label "Dana Ortiz" .
"""


def test_cli_files_consistent() -> None:
    files = [str(p) for p in sorted(DEMO_DIR.glob("*.ttl"))]
    outcome = runner.invoke(aims_app(), ["ontology", "check", *files])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith("consistent (")
    assert "individuals" in outcome.output and "axioms" in outcome.output


def test_cli_files_inconsistent_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(BAD_TTL, encoding="utf-8")
    outcome = runner.invoke(aims_app(), ["ontology", "check", str(bad)])
    assert outcome.exit_code == 1, outcome.output
    assert "inconsistent: Dana Ortiz" in outcome.output
    assert "aims:Person and aims:Team (disjoint)" in outcome.output


def test_cli_store_inconsistent_exits_1_with_json(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    store: Store = open_store(location)
    try:
        load_demo(store)
        store.load(BAD_TTL.encode(), format="turtle", graph="urn:test:bad")  # type: ignore[attr-defined]
    finally:
        store.close()
    outcome = runner.invoke(
        aims_app(), ["ontology", "check", "--store", location, "--format", "json"]
    )
    assert outcome.exit_code == 1, outcome.output
    report = json.loads(outcome.output)
    assert report["consistent"] is False
    assert [o["label"] for o in report["offenders"]] == ["Dana Ortiz"]


def test_cli_missing_file_is_bad_input(tmp_path: Path) -> None:
    from mapper.errors import InputError

    outcome = runner.invoke(aims_app(), ["ontology", "check", str(tmp_path / "nope.ttl")])
    assert outcome.exit_code != 0
    assert isinstance(outcome.exception, InputError)
