"""Owner tasks: one per open finding, for its routed person, opened and closed in the log."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mapper.errors import InputError
from mapper.rules.assessment import assess
from mapper.runs import tasks as owner_tasks
from mapper.store import Store
from tests.fixtures.api import auth
from tests.fixtures.demo import demo_as_of

FIX_OCR = """
@prefix aims: <https://aims-graph.org/ns#> .
@prefix mer: <https://meridian.example/aims/> .
mer:sys-doc-ocr aims:businessOwner mer:p-hannah-schmidt .
"""


def test_one_task_per_finding_for_its_person(demo_store: Store, tmp_path: Path) -> None:
    as_of = demo_as_of()
    verdict = assess(demo_store, as_of=as_of)
    items = owner_tasks.tasks(verdict, log=tmp_path / "tasks.jsonl")
    assert len(items) == len(verdict.findings)
    per_person = {p: len(fs) for p, fs in verdict.by_person().items()}
    counted: dict[str, int] = {}
    for t in items:
        counted[t.person] = counted.get(t.person, 0) + 1
        days = owner_tasks.DEFAULT_SLA[t.severity]
        assert t.opened == as_of and t.due == as_of + timedelta(days=days)
        assert not t.overdue
    assert counted == per_person
    later = assess(demo_store, as_of=as_of + timedelta(days=20))
    late = owner_tasks.tasks(later, log=tmp_path / "tasks.jsonl")
    violations = [t for t in late if t.severity == "Violation" and t.opened == as_of]
    assert violations and all(t.overdue for t in violations)  # 14-day service level
    assert not any(t.overdue for t in late if t.severity == "Info")


def test_task_closes_when_its_finding_resolves(demo_store: Store, tmp_path: Path) -> None:
    log = tmp_path / "tasks.jsonl"
    as_of = demo_as_of()
    before = owner_tasks.tasks(assess(demo_store, as_of=as_of), log=log)
    ocr = [t for t in before if t.rule == "GATE-01" and t.focus.endswith("sys-doc-ocr")]
    assert len(ocr) == 1
    # the fix a business would make: a person, not the claims unit, owns the system
    demo_store.update("DELETE WHERE { GRAPH ?g { <https://meridian.example/aims/sys-doc-ocr> "
                      "<https://aims-graph.org/ns#businessOwner> ?o } }")
    demo_store.load(FIX_OCR.encode(), format="turtle", graph="urn:test:fix")  # type: ignore[attr-defined]
    after = owner_tasks.tasks(assess(demo_store, as_of=as_of), log=log)
    assert ocr[0].id not in {t.id for t in after}
    events = [(e["event"], e["on"]) for e in owner_tasks.history(log, ocr[0].id)]
    assert events == [("opened", as_of.isoformat()), ("closed", as_of.isoformat())]
    # judging an earlier date reads the history and never rewrites it
    lines = log.read_text().count("\n")
    owner_tasks.tasks(assess(demo_store, as_of=date(2025, 1, 1)), log=log)
    assert log.read_text().count("\n") == lines


def test_service_levels_and_damaged_log(demo_store: Store, tmp_path: Path) -> None:
    assert owner_tasks.parse_sla("violation=3")["Violation"] == 3
    with pytest.raises(InputError, match="SEVERITY=DAYS"):
        owner_tasks.parse_sla("Violation=soon")
    log = tmp_path / "tasks.jsonl"
    log.write_text('{"event": "opened"}\n')
    with pytest.raises(InputError, match="line 1 is not a task-log entry"):
        owner_tasks.tasks(assess(demo_store, as_of=demo_as_of()), log=log)


def test_digest_and_api(api_client: TestClient, api_keys: dict[str, str], demo_store: Store,
                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(owner_tasks.LOG_ENV, str(tmp_path / "api-tasks.jsonl"))
    headers = auth(api_keys["reader"])
    r = api_client.get("/v1/tasks", params={"as_of": "2026-06-30"}, headers=headers)
    assert r.status_code == 200, r.text
    verdict = assess(demo_store, as_of=demo_as_of())
    assert len(r.json()) == len(verdict.findings)
    person = r.json()[0]["person"]
    d = api_client.get("/v1/tasks/digest", params={"as_of": "2026-06-30", "person": person},
                       headers=headers)
    assert d.status_code == 200
    [mail] = d.json()
    assert mail["tasks"] == len(verdict.by_person()[person])
    assert mail["subject"].startswith(f"AIMS: {mail['tasks']} open task(s) for {person}")
    assert "<table" in mail["html"] and person in mail["text"]
    logged = [json.loads(x) for x in (tmp_path / "api-tasks.jsonl").read_text().splitlines()]
    assert len(logged) == len(verdict.findings)


def test_an_attestation_falling_due_is_an_event(demo_store: Store, tmp_path: Path) -> None:
    import sqlite3

    from mapper.runs import webhooks as hooks

    db = tmp_path / "webhooks.sqlite"
    hooks.add(db, "http://127.0.0.1:9/hook", ["attestation.due"])
    verdict = assess(demo_store, as_of=demo_as_of())
    owner_tasks.tasks(verdict, log=tmp_path / "tasks.jsonl", webhooks=db)
    due = [(i, f) for i, f in enumerate(verdict.findings) if f.rule == "INV-01"]
    assert due, "the demo plants a unit whose attestation is stale (Marketing)"
    with sqlite3.connect(db) as con:
        bodies = [json.loads(b) for (b,) in con.execute("SELECT body FROM outbox")]
    assert [b["event"] for b in bodies] == ["attestation.due"] * len(due)
    assert {(b["data"]["focus"], b["data"]["person"]) for b in bodies} == {
        (f.focus, verdict.person(i)) for i, f in due}
    # the next sync opens nothing new: no second event for the same attestation
    owner_tasks.tasks(verdict, log=tmp_path / "tasks.jsonl", webhooks=db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == len(due)
