"""The named queries compare dates as the rules do (issue 18, Dates).

tests/data/query-dates.ttl holds every date form the rules accept (dates, zoned timestamps in
several zones, a date and a timestamp on the same day) and zone-less timestamps. A native
`<`/`<=` cannot order an `xsd:date` against an `xsd:dateTime`, so the former query texts gave
other answers than the rules on every case marked "old:" there; here each query must give the
answer of the rule it mirrors, found by validating the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mapper.questions import queries
from mapper.rules import validate
from mapper.store import Store, open_store
from tests.test_queries import _agreement, rows_as_text

DATA = Path(__file__).resolve().parent / "data" / "query-dates.ttl"
AS_OF = date(2026, 6, 30)
EX = "https://example.org/dates/"


def _load(store: Store) -> None:
    store.load(DATA.read_bytes(), format="turtle", graph="urn:test:dates")  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def dates() -> Iterator[Store]:
    store = open_store("memory")
    _load(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def findings(dates: Store) -> set[tuple[str, str]]:
    report = validate.validate(dates, as_of=AS_OF)
    return {(f.rule, str(f.focus).removeprefix(EX)) for f in report.findings}


def _rows(store: Store, name: str, *columns: str) -> set[tuple[str, ...]]:
    query = queries.get(name)
    params = {"as_of": AS_OF} if any(p.name == "as_of" for p in query.params) else {}
    return {tuple("" if r[c] is None else str(r[c]).removeprefix(EX) for c in columns)
            for r in queries.run(store, query, params).dicts()}


def _foci(findings: set[tuple[str, str]], rule: str) -> set[str]:
    return {focus for r, focus in findings if r == rule}


def test_gap_queries_give_the_rules_findings(dates: Store) -> None:
    from_queries, from_rules = _agreement(dates, AS_OF)
    assert from_queries == from_rules
    local = {(rule, focus.removeprefix(EX)) for rule, focus in from_queries}
    assert local == {
        ("GATE-03", "late-hour"), ("GATE-03", "zoneless"), ("GATE-07", "live-late"),
        ("IMP-04", "ca-june"), ("IMP-04", "ca-west"), ("IMP-05", "exc-expired"),
        ("MAINT-03", "cat"), ("MAINT-03", "dan"),
    }


def test_gate_order_violations_follow_the_order_rules(dates: Store,
                                                      findings: set[tuple[str, str]]) -> None:
    rows = _rows(dates, "gate-order-violations", "system", "violation")
    assert rows == {
        ("late-hour", "build start before risk classification"),
        ("zoneless", "build start before risk classification"),
        ("live-late", "go-live before the monitoring plan was active"),
    }
    # every record here is complete, so an order violation is exactly the rule's finding
    risk = {s for s, v in rows if v.endswith("before risk classification")
            and not v.startswith("release")}
    release = {s for s, v in rows if v in ("release approved before risk classification",
                                            "deployed before release approval")}
    monitoring = {s for s, v in rows if v.startswith("go-live")}
    assert risk == _foci(findings, "GATE-03")
    assert release == _foci(findings, "GATE-05") == set()
    assert monitoring == _foci(findings, "GATE-07")


def test_due_diligence_on_the_signing_day_covers_the_contract(
        dates: Store, findings: set[tuple[str, str]]) -> None:
    assert _rows(dates, "third-parties-without-due-diligence", "supplier") == set()
    assert _foci(findings, "THIRD-01") == set()
    assert "bought" not in _foci(findings, "GATE-03")  # classified the evening before, UTC-4


def test_training_without_expiry_and_at_timestamps(dates: Store,
                                                   findings: set[tuple[str, str]]) -> None:
    untrained = _rows(dates, "untrained-role-holders", "person", "reason")
    assert {p for p, _ in untrained} == _foci(findings, "MAINT-03") == {"cat", "dan"}
    assert ("cat", "training expired") in untrained
    assert ("dan", "training dated by neither a date nor a timestamp with a time zone") in untrained
    report = _rows(dates, "report-training", "person", "status")
    assert {p for p, s in report if s != "valid"} == {"cat", "dan"}
    assert ("cat", "expired") in report


def test_report_flags_follow_the_as_of_rules(dates: Store,
                                             findings: set[tuple[str, str]]) -> None:
    overdue = _rows(dates, "report-corrective-actions", "action", "overdue")
    assert {a for a, flag in overdue if flag == "true"} == _foci(findings, "IMP-04")
    assert {a for a, flag in overdue if flag != "true"} == {"ca-today", "ca-zoneless", "ca-closed"}
    expired = _rows(dates, "report-exceptions", "exception", "expired")
    assert expired == {("exc-expired", "true"), ("exc-today", "false")}
    assert {e for e, _ in expired} & _foci(findings, "IMP-05") == {"exc-expired"}
    documents = _rows(dates, "report-documents", "document", "review_overdue")
    assert documents == {("policy", "true")}
    assert "policy" in _foci(findings, "MAINT-01")
    actions = _rows(dates, "report-management-reviews", "action", "action_overdue")
    assert actions == {("review-action", "true")}


def test_a_review_on_the_closure_day_closes_the_loop(dates: Store) -> None:
    states = dict(_rows(dates, "improvement-loop", "action", "state"))
    assert states["ca-closed"] == "verified and reviewed by management"


def test_the_current_decision_is_the_later_timestamp(dates: Store,
                                                      findings: set[tuple[str, str]]) -> None:
    soa = _rows(dates, "soa", "control", "decision")
    assert ("https://aims-graph.org/iso42001#A.2.2", "soa-afternoon") in soa
    undecided = {control for control, decision in soa if not decision}
    assert len(undecided) == 37
    assert undecided == _foci(findings, "SOA-01")


CHANGED = ["gate-order-violations", "systems-missing-gate", "third-parties-without-due-diligence",
           "expired-exceptions", "overdue-corrective-actions", "untrained-role-holders",
           "improvement-loop", "soa", "report-training"]
"""The changed queries whose rows a remote store gives exactly (the other report-* queries
render booleans as 1/0 on Virtuoso, as before)."""


@pytest.mark.remote
def test_remote_store_compares_dates_the_same_way(remote_store: Store) -> None:
    _load(remote_store)
    reference = open_store("memory")
    _load(reference)
    for name in CHANGED:
        query = queries.get(name)
        params: dict[str, Any] = {"as_of": AS_OF} if query.params and any(
            p.name == "as_of" for p in query.params) else {}
        got = rows_as_text(queries.run(remote_store, query, params))
        assert got == rows_as_text(queries.run(reference, query, params)), name
