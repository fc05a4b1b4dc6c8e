"""GET /v1/tasks and /v1/tasks/digest: owner tasks from the assessment (mapper.runs.tasks)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import IsoDate, Reader, StateDep
from mapper.rules.assessment import assess
from mapper.runs import tasks as owner_tasks
from mapper.runs.webhooks import default_db

router = APIRouter(prefix="/v1", tags=["tasks"])

AsOf = Annotated[IsoDate | None, Query(description="As of this date; default today.",
                                    examples=["2026-06-30"])]
Person = Annotated[str | None, Query(description="Only this person's tasks.",
                                     examples=["Dana Reyes"])]


class TaskModel(BaseModel):
    id: str
    person: str
    rule: str
    severity: str
    focus: str
    focus_label: str
    message: str
    opened: str
    due: str
    overdue: bool

    model_config = {"json_schema_extra": {"examples": [{
        "id": "T-569e0abcc8", "person": "Dana Reyes", "rule": "GATE-03",
        "severity": "Violation", "focus": "https://example.org/sys/SYS-007",
        "focus_label": "Claims triage",
        "message": "AI system 'Claims triage' has no risk classification dated on or before "
                   "its build start or procurement date: classify its risk before building "
                   "or buying it.",
        "opened": "2026-06-01", "due": "2026-07-01", "overdue": False}]}}


class DigestModel(BaseModel):
    person: str
    subject: str
    tasks: int
    overdue: int
    text: str
    html: str

    model_config = {"json_schema_extra": {"examples": [{
        "person": "Dana Reyes", "subject": "AIMS: 1 open task (0 overdue) as of 2026-06-30",
        "tasks": 1, "overdue": 0, "text": "GATE-03 due 2026-07-01: classify Claims triage.",
        "html": "<p>GATE-03 due 2026-07-01: classify Claims triage.</p>"}]}}


def _items(state: StateDep, as_of: date | None) -> tuple[list[owner_tasks.Task], date]:
    day = as_of or date.today()
    with state.reading() as store:
        verdict = assess(store, as_of=day)
    log = owner_tasks.default_log(state.settings.store)
    hooks = default_db(state.settings.store)
    return owner_tasks.tasks(verdict, log=log, sla=owner_tasks.parse_sla(None),
                             webhooks=hooks), day


@router.get("/tasks", response_model=list[TaskModel], summary="Open owner tasks",
            description="Every open finding as a task for the person the assessment routes it "
            "to, with the day it opened (task log), its due date (service level of its "
            "severity, $AIMS_TASK_SLA) and whether it is overdue at `as_of`.")
def list_tasks(state: StateDep, _: Reader, as_of: AsOf = None, person: Person = None,
               overdue: Annotated[bool, Query(description="Only overdue tasks.")] = False,
               ) -> list[dict[str, Any]]:
    items, _day = _items(state, as_of)
    return [t.to_dict() for t in owner_tasks.select(items, person=person, overdue=overdue)]


@router.get("/tasks/digest", response_model=list[DigestModel], summary="Digest per person",
            description="One e-mail-ready digest (subject, text and HTML body) per person.")
def task_digest(state: StateDep, _: Reader, as_of: AsOf = None, person: Person = None,
                ) -> list[dict[str, Any]]:
    items, day = _items(state, as_of)
    return list(owner_tasks.digest(owner_tasks.select(items, person=person), day).values())
