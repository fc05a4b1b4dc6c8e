"""Stored findings wired into ingest, batch drop, `aims validate` and the API's verdict: after
each write they equal a fresh full validation, and validate answers from them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mapper.rules import compile as compiled
from mapper.rules import stored as findings
from mapper.rules.results import Report
from mapper.rules.validate import validate
from mapper.store import FINDINGS_GRAPH, Store, open_store
from tests.fixtures.api import auth
from tests.fixtures.demo import DEMO_DIR, demo_as_of
from tests.test_ingest import run_cli

DEFECT = b"""@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/aims/sys-42> a aims:InternalAISystem ; rdfs:label "Invoice OCR" ;
  aims:identifier "SYS-42" ; aims:inScope true .
"""
FIX = b"""@prefix aims: <https://aims-graph.org/ns#> .
<https://meridian.example/aims/excl-invest-esg> aims:justification
  "Run by the asset manager under its own model risk framework." .
"""
SYS42 = "https://example.org/aims/sys-42"
EXCLUSION = "https://meridian.example/aims/excl-invest-esg"


def multiset(report: Report) -> Counter[tuple[Any, ...]]:
    return Counter((f.rule, f.focus, f.path, f.value, f.severity) for f in report.findings)


def stored_report(store: Store) -> Report:
    day = findings.stored_as_of(store)
    assert day is not None, "findings are no longer stored"
    raw = [r for _, r in findings.stored_results(store)]
    return compiled.to_report(store, raw, as_of=day)


def assert_current(path: Path) -> Report:
    """The stored findings equal a fresh compiled run and pyshacl; validate answers the same."""
    day = demo_as_of()
    store = open_store(str(path))
    try:
        kept = stored_report(store)
        fresh = compiled.validate(store, as_of=day)
        reference = validate(store, as_of=day, engine="pyshacl")
        answered = validate(store, as_of=day)
        assert multiset(kept) == multiset(fresh) == multiset(reference)
        assert answered.to_dict() == fresh.to_dict() == reference.to_dict()
        return answered
    finally:
        store.close()


def test_ingest_and_drop_keep_stored_findings_current(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    where = str(tmp_path / "store")
    day = demo_as_of().isoformat()

    def aims(*args: str) -> tuple[int, str]:
        code, out, err = run_cli([*args, "--store", where], capsys, monkeypatch)
        assert code in (0, 1), err
        return code, out

    aims("ingest", str(DEMO_DIR))
    code, out = aims("validate", "--as-of", day, "--store-findings", "--format", "json")
    assert code == 1 and json.loads(out)["conforms"] is False
    before = assert_current(tmp_path / "store")

    defect, fix = tmp_path / "sys42.ttl", tmp_path / "fix.ttl"
    defect.write_bytes(DEFECT)
    aims("ingest", str(defect))
    after_defect = assert_current(tmp_path / "store")
    assert SYS42 not in {f.focus for f in before.findings}
    assert SYS42 in {f.focus for f in after_defect.findings}

    fix.write_bytes(FIX)
    _, out = aims("ingest", str(fix), "--format", "json")
    after_fix = assert_current(tmp_path / "store")
    assert ("SCOPE-02", EXCLUSION) in {(f.rule, f.focus) for f in after_defect.findings}
    assert ("SCOPE-02", EXCLUSION) not in {(f.rule, f.focus) for f in after_fix.findings}

    # a changed file replaces its batch (removed and added triples in one write)
    defect.write_bytes(DEFECT.replace(b'"SYS-42"', b'"SYS-42-B"'))
    aims("ingest", str(defect))
    assert_current(tmp_path / "store")

    _, out = aims("batches", "--format", "json")
    batches = {b["source"]: b["batch"] for b in json.loads(out) if b["status"] == "current"}
    aims("batches", "drop", batches["fix.ttl"])
    after_drop = assert_current(tmp_path / "store")
    assert ("SCOPE-02", EXCLUSION) in {(f.rule, f.focus) for f in after_drop.findings}
    aims("batches", "drop", batches["governance.ttl"])
    assert_current(tmp_path / "store")

    # the findings graph is derived data: not part of the exported AIMS graph
    store = open_store(where)
    try:
        assert FINDINGS_GRAPH in store.graphs()
        graph = store.to_graph()
        assert not any(str(p).startswith("urn:aims:findings#") for p in graph.predicates())
    finally:
        store.close()


def test_validate_answers_from_stored_findings(demo_store: Store) -> None:
    day = demo_as_of()
    findings.refresh(demo_store, as_of=day)
    # remove stored findings a full run would give: validate must answer from the store
    g = f"GRAPH <{FINDINGS_GRAPH}>"
    demo_store.update(f"DELETE {{ {g} {{ ?f ?p ?o }} }} WHERE {{ {g} {{ ?f "
                      f"<urn:aims:findings#check> ?c ; ?p ?o }} "
                      f"FILTER(CONTAINS(STR(?c), \"#SCOPE-01|\")) }}")
    assert "SCOPE-01" not in validate(demo_store, as_of=day).summary["by_rule"]
    assert "SCOPE-01" in validate(demo_store, as_of=day, engine="pyshacl").summary["by_rule"]


def _ingest(client: TestClient, key: str, name: str, body: bytes) -> dict[str, Any]:
    response = client.post("/v1/ingest", params={"filename": name, "as_of": "2026-06-30"},
                           content=body, headers=auth(key) | {"Content-Type": "text/turtle"})
    assert response.status_code == 200, response.text
    return response.json()["verdict"]  # type: ignore[no-any-return]


def test_api_verdict_uses_stored_findings(api_client: TestClient, demo_store: Store,
                                          api_keys: dict[str, str]) -> None:
    key = api_keys["contributor"]
    verdict = _ingest(api_client, key, "a.ttl", DEFECT)
    assert verdict["scope"] == "systems"  # nothing stored: the per-system run
    slow = {(f["rule"], f["focus"]) for f in verdict["findings"]}

    findings.refresh(demo_store, as_of=demo_as_of())
    verdict = _ingest(api_client, key, "b.ttl", DEFECT.replace(b"sys-42", b"sys-43"))
    assert verdict["scope"] == "incremental"
    fast = {(f["rule"], f["focus"].replace("sys-43", "sys-42")) for f in verdict["findings"]}
    assert fast == slow and verdict["conforms"] is False

    verdict = _ingest(api_client, key, "fix.ttl", FIX)
    assert verdict["scope"] == "incremental" and verdict["findings"] == []

    for engine in ("auto", "pyshacl"):
        response = api_client.get("/v1/validate", params={"as_of": "2026-06-30",
                                                          "engine": engine}, headers=auth(key))
        assert response.status_code == 200, response.text
        assert "SCOPE-02" not in response.json()["counts"]["by_rule"]
    bad = api_client.get("/v1/validate", params={"engine": "nope"}, headers=auth(key))
    assert bad.status_code in (400, 422)
