"""The rewritten gate queries return exactly the rows of their former text (issue 17).

systems-missing-gate and gate-order-violations were rewritten for speed (one sub-SELECT over
the records of a kind instead of a nested EXISTS per system and record). Their former text is
what a remote store gets (queries/remote/, Virtuoso cannot plan the new form); both texts run
here on the demo, on the synthetic organisation of bench/validate.py (its planted gate defects
included), on tests/data/gate-edges.ttl (several dates per system, undated records, a record
subclass, a system without a deployment date), in full and bound to each system, and on
tests/data/query-dates.ttl (dates, zoned and zone-less timestamps compared as the rules do).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from rdflib import URIRef

from bench.validate import synthetic_org
from mapper.questions import queries
from mapper.store import Store, open_store
from tests.fixtures.demo import load_demo

EDGES = Path(__file__).resolve().parent / "data" / "gate-edges.ttl"
DATES = Path(__file__).resolve().parent / "data" / "query-dates.ttl"
REWRITTEN = ["systems-missing-gate", "gate-order-violations"]


def _before(name: str) -> queries.NamedQuery:
    """The former text (the remote form), with the header of the query."""
    query = queries.get(name)
    assert query.remote is not None and query.remote != query.sparql
    return replace(query, sparql=query.remote)


def _rows(store: Store, query: queries.NamedQuery, params: dict[str, object] | None = None
          ) -> list[tuple[str, ...]]:
    return [tuple("" if v is None else str(v) for v in row)
            for row in queries.run(store, query, params).rows]


def _store(kind: str) -> Store:
    store = open_store("memory")
    if kind == "demo":
        load_demo(store)
    elif kind == "synthetic":
        store.load(synthetic_org(200)[0].encode("utf-8"), format="turtle",  # type: ignore[attr-defined]
                   graph="urn:test:synthetic")
    elif kind == "dates":
        store.load(DATES.read_bytes(), format="turtle",  # type: ignore[attr-defined]
                   graph="urn:test:dates")
    else:
        store.load(EDGES.read_bytes(), format="turtle",  # type: ignore[attr-defined]
                   graph="urn:test:edges")
    return store


@pytest.fixture(params=["demo", "synthetic", "edges", "dates"])
def org(request: pytest.FixtureRequest) -> Iterator[Store]:
    store = _store(request.param)
    yield store
    store.close()


@pytest.mark.parametrize("name", REWRITTEN)
def test_rewritten_query_returns_the_former_rows(org: Store, name: str) -> None:
    new = _rows(org, queries.get(name))
    assert new == _rows(org, _before(name))  # same rows, same order
    assert new, f"{name} finds nothing here: the comparison would prove nothing"


@pytest.mark.parametrize("name", REWRITTEN)
def test_rewritten_query_bound_to_one_system_returns_the_former_rows(name: str) -> None:
    store = _store("edges")
    systems = sorted({row[0] for row in _rows(store, queries.get("ai-systems"))})
    assert len(systems) == 8
    for system in systems:
        params = {"system": URIRef(system)}
        assert _rows(store, queries.get(name), params) == _rows(store, _before(name), params)


def test_edge_organisation_reaches_every_branch() -> None:
    """The edge cases hit every rule and every order violation, so equality above means
    something for each branch."""
    store = _store("edges")
    missing = {row[5] for row in _rows(store, queries.get("systems-missing-gate"))}
    assert len(missing) == 13, missing  # one text per branch
    violations = {row[3] for row in _rows(store, queries.get("gate-order-violations"))}
    assert len(violations) == 5, violations  # build start and procurement share a branch
    needed = [row[7] for row in _rows(store, queries.get("gate-order-violations"))]
    assert "" in needed and any(needed), "both a first date and none"


@pytest.mark.parametrize("name", REWRITTEN)
def test_remote_store_gets_the_former_text(name: str) -> None:
    query = queries.get(name)
    assert query.text_for("embedded") == query.sparql
    assert query.text_for("remote") != queries.for_backend(query.sparql, "remote")
    assert "FILTER NOT EXISTS" in query.text_for("remote")
    assert queries.check_read_only(query.text_for("remote")) == "select"
    assert "rdfs:subClassOf*" not in query.text_for("remote")  # still rewritten for Virtuoso
