"""Incremental validation (mapper.rules.stored): after any sequence of ingests and deletions the
stored findings equal a fresh full validation, and `current` answers like a full run."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper.rules import compile as compiled
from mapper.rules import stored as findings
from mapper.rules.validate import validate
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of
from tests.test_compiled import aims_graphs, load_triples

AS_OF = date(2026, 6, 30)


def fresh(store: Store, as_of: date) -> Counter[tuple[Any, ...]]:
    return Counter((c.key, r.focus, r.value) for c in compiled.checks()
                   for r in compiled.run_check(store, c, as_of))


def stored(store: Store) -> Counter[tuple[Any, ...]]:
    return Counter((k, r.focus, r.value) for k, r in findings.stored_results(store))


def drop(store: Store, graph: str) -> findings.Delta | None:
    quads = list(store.quads(graph))
    pending = findings.before_change(store, removed=quads)
    store.drop_graph(graph)
    return findings.apply_change(store, pending=pending, removed=quads)


def test_demo_drop_and_readd_every_file(demo_store: Store) -> None:
    day = demo_as_of()
    findings.refresh(demo_store, as_of=day)
    assert stored(demo_store) == fresh(demo_store, day)
    for graph in [g for g in demo_store.graphs() if g.startswith("urn:test:")]:
        quads = list(demo_store.quads(graph))
        delta = drop(demo_store, graph)
        assert delta is not None
        assert stored(demo_store) == fresh(demo_store, day), f"after dropping {graph}"
        demo_store.add_quads(quads)
        findings.apply_change(demo_store, added=quads)
        assert stored(demo_store) == fresh(demo_store, day), f"after re-adding {graph}"


def test_current_answers_like_a_full_run(demo_store: Store) -> None:
    day = demo_as_of()
    assert findings.current(demo_store, as_of=day) is None  # nothing stored yet
    findings.refresh(demo_store, as_of=day)
    for as_of in (day, date(2027, 3, 1)):
        report = findings.current(demo_store, as_of=as_of)
        assert report is not None
        assert report.to_dict() == validate(demo_store, as_of=as_of).to_dict()
    by_rule = findings.current(demo_store, as_of=day, rules=["GATE-05"])
    assert by_rule is not None
    assert by_rule.to_dict() == validate(demo_store, as_of=day, rules=["GATE-05"]).to_dict()


def test_one_system_change_revalidates_only_what_it_touches(demo_store: Store) -> None:
    day = demo_as_of()
    findings.refresh(demo_store, as_of=day)
    rows = demo_store.query(
        "PREFIX aims: <https://aims-graph.org/ns#> SELECT ?s ?p ?o WHERE { "
        "?s aims:purpose ?o ; ?p ?o } ORDER BY ?s LIMIT 1").rows
    assert rows
    triple = tuple(rows[0])
    pending = findings.before_change(demo_store, removed=[triple])
    demo_store.update(
        "DELETE WHERE { GRAPH ?g { " + " ".join(t.n3() for t in triple) + " } }")  # type: ignore[union-attr]
    delta = findings.apply_change(demo_store, pending=pending, removed=[triple])
    assert delta is not None
    assert {k for k in delta.focus} and all(len(v) <= 3 for v in delta.focus.values())
    assert stored(demo_store) == fresh(demo_store, day)
    report = delta.report(demo_store)
    assert any(f.rule == "GATE-01" and f.focus == str(triple[0]) for f in report.findings)


def test_removal_without_before_change_is_refused() -> None:
    store = open_store("memory")
    findings.refresh(store, as_of=AS_OF)
    with pytest.raises(ValueError):
        findings.apply_change(store, removed=[(1, 2, 3)])


def test_no_stored_findings_means_no_incremental_work() -> None:
    store = open_store("memory")
    assert findings.apply_change(store, added=[]) is None


_ops = st.lists(st.tuples(st.sampled_from(["add", "drop"]), st.integers(0, 3)),
                min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aims_graphs(max_triples=30),
       st.lists(aims_graphs(max_triples=6, typed=False, core_only=True), min_size=3,
                max_size=3), _ops)
def test_random_ingests_and_deletions_keep_findings_current(
        base: list[tuple[Any, Any, Any]], changes: list[list[tuple[Any, Any, Any]]],
        ops: list[tuple[str, int]]) -> None:
    batches = [base, *changes]
    store = open_store("memory")
    load_triples(store, batches[0], "urn:test:b0")
    findings.refresh(store, as_of=AS_OF)
    present = {"urn:test:b0"}
    for op, i in ops:
        graph = f"urn:test:b{i}"
        if op == "add" and graph not in present:
            load_triples(store, batches[i], graph)
            findings.apply_change(store, added=batches[i])
            present.add(graph)
        elif op == "drop" and graph in present:
            drop(store, graph)
            present.discard(graph)
        assert stored(store) == fresh(store, AS_OF), f"after {op} {graph}"


def test_a_linked_record_revalidates_the_system_it_concerns() -> None:
    """The finding is on the system, the change is on another node: found through the path."""
    from rdflib import RDF, Literal, URIRef

    from mapper.vocab import AIMS

    system, record = URIRef("https://example.org/r/sys"), URIRef("https://example.org/r/intake")
    store = open_store("memory")
    load_triples(store, [(system, RDF.type, AIMS.InternalAISystem),
                         (system, AIMS.inScope, Literal(True)),
                         (record, RDF.type, AIMS.IntakeRecord),
                         (record, AIMS.recordDate, Literal(date(2025, 1, 1)))], "urn:test:base")
    findings.refresh(store, as_of=AS_OF)
    gate02 = {k for k, r in findings.stored_results(store) if "GATE-02" in k and r.focus == system}
    assert gate02
    link = [(record, AIMS.concernsSystem, system)]
    load_triples(store, link, "urn:test:link")
    delta = findings.apply_change(store, added=link)
    assert delta is not None and system in delta.focus[next(iter(gate02))]
    assert stored(store) == fresh(store, AS_OF)
    assert not {k for k, r in findings.stored_results(store) if k in gate02 and r.focus == system}
    drop(store, "urn:test:link")
    assert stored(store) == fresh(store, AS_OF)
    assert {k for k, r in findings.stored_results(store) if k in gate02 and r.focus == system}


def test_a_large_change_reruns_everything(demo_store: Store,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    day = demo_as_of()
    findings.refresh(demo_store, as_of=day)
    monkeypatch.setattr(findings, "LARGE_CHANGE", 10)
    delta = drop(demo_store, "urn:test:systems")
    assert delta is not None and len(delta.rerun_full) == len(compiled.checks())
    assert stored(demo_store) == fresh(demo_store, day)
