"""GET /v1/systems/{id}/gates/{gate}: the gate decision a pipeline asks for (mapper.runs.gates)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import IsoDate, Reader, StateDep
from mapper.runs import gates, webhooks

router = APIRouter(prefix="/v1", tags=["gates"])


class Gate(StrEnum):
    intake = "intake"
    risk = "risk"
    release = "release"
    post_release = "post-release"


class MissingModel(BaseModel):
    rule: str
    message: str
    record_to_add: str
    severity: str


class DecisionModel(BaseModel):
    decision: str
    system: str
    identifier: str
    label: str
    gate: str
    as_of: str
    status: str
    reason: str
    missing: list[MissingModel]
    warnings: list[MissingModel]

    model_config = {"json_schema_extra": {"examples": [{
        "decision": "deny", "system": "https://meridian.example/aims/sys-cs-assistant",
        "identifier": "SYS-CS-ASSISTANT", "label": "Customer service assistant",
        "gate": "release", "as_of": "2026-06-30", "status": "fail",
        "reason": "1 Violation(s) of rules guarding the release gate",
        "missing": [{"rule": "GATE-05", "severity": "Violation",
                     "message": "no release approval with test evidence and rollback plan",
                     "record_to_add": "aims:ReleaseApproval concerning the system"}],
        "warnings": []}]}}


@router.get("/systems/{system_id:path}/gates/{gate}", response_model=DecisionModel,
            summary="May this AI system pass this gate?",
            description="The decision read off the assessment at `as_of`: `allow` when the "
            "gate's status is pass or warn, `deny` when it fails (`missing` lists each "
            "Violation with the record to add) or is not reached yet (the system's stage has "
            "not arrived at the gate: `missing` lists the rules guarding it). Always 200 for "
            "an in-scope system; a pipeline blocks on `decision`.",
            responses={404: {"description": "No AI system matches."},
                       400: {"description": "The system is not in scope."}})
def gate_decision(
    system_id: Annotated[str, Path(description="Identifier, IRI or unique label.",
                                   examples=["SYS-CS-ASSISTANT"])],
    gate: Gate, state: StateDep, _: Reader,
    as_of: Annotated[IsoDate | None, Query(description="Judge at this date; default today.",
                                        examples=["2026-06-30"])] = None,
) -> dict[str, Any]:
    with state.reading() as store:
        decision = gates.decide(store, system_id, gate.value, as_of=as_of or date.today())
    if not decision.allowed:
        webhooks.emit(webhooks.default_db(state.settings.store), "gate.denied",
                      decision.to_dict())
    return decision.to_dict()
