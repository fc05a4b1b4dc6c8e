"""GET /v1/systems, /v1/systems/{id}, /v1/systems/{id}/trace and /v1/gaps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import IsoDate, Reader, StateDep
from api.routes.validation import AssessmentSummary
from mapper.questions import trace

router = APIRouter(prefix="/v1", tags=["systems"])

SystemId = Annotated[str, Path(
    description="The system's identifier (aims:identifier), IRI or a unique label.",
    examples=["SYS-CLAIMS-TRIAGE"])]
AsOf = Annotated[IsoDate | None, Query(description="Judge at this date (YYYY-MM-DD); default "
                                    "today.", examples=["2026-06-30"])]


class SystemModel(BaseModel):
    system: str
    identifier: str | None
    label: str | None
    kind: str | None
    in_scope: bool | None
    stage: str | None
    owner_label: str | None
    high_risk: bool | None

    model_config = {"json_schema_extra": {"examples": [{
        "system": "https://meridian.example/aims/sys-claims-triage",
        "identifier": "SYS-CLAIMS-TRIAGE", "label": "Claims triage", "kind": "internal",
        "in_scope": True, "stage": "Deployed", "owner_label": "Dana Reyes",
        "high_risk": True}]}}


class StepModel(BaseModel):
    step: str
    record: str
    label: str
    date: str | None
    owners: list[str]
    evidence: list[str]
    detail: str


class GapModel(BaseModel):
    area: str
    message: str
    rule: str | None
    record: str | None


class TraceModel(BaseModel):
    system: str
    identifier: str
    label: str
    kind: str
    in_scope: bool
    stage: str
    owner: str
    high_risk: bool
    as_of: str
    steps: list[StepModel]
    gaps: list[GapModel]
    gates: dict[str, str]

    model_config = {"json_schema_extra": {"examples": [{
        "system": "https://meridian.example/aims/sys-claims-triage",
        "identifier": "SYS-CLAIMS-TRIAGE", "label": "Claims triage", "kind": "internal",
        "in_scope": True, "stage": "deployed", "owner": "Dana Reyes", "high_risk": True,
        "as_of": "2026-06-30",
        "steps": [{"step": "intake", "record": "https://meridian.example/aims/intake-7",
                   "label": "Intake claims triage", "date": "2025-01-10",
                   "owners": ["Dana Reyes"], "evidence": [], "detail": ""}],
        "gaps": [{"area": "risk", "message": "no risk classification", "rule": "GATE-03",
                  "record": None}],
        "gates": {"intake": "pass", "risk": "fail", "release": "pass",
                  "post-release": "pass"}}]}}


class GapReportModel(BaseModel):
    as_of: str
    summary: AssessmentSummary
    columns: list[str]
    rows: list[dict[str, Any]]
    clauses: list[dict[str, Any]]

    model_config = {"json_schema_extra": {"examples": [{
        "as_of": "2026-06-30",
        "summary": {"as_of": "2026-06-30", "conforms": False, "systems_in_scope": 1,
                    "systems_passing_all_gates": 0, "violations": 1, "warnings": 0,
                    "infos": 0, "findings": 1, "findings_by_person": {"Dana Reyes": 1},
                    "findings_without_person": 0},
        "columns": ["intake", "risk", "release", "post-release", "order", "supplier"],
        "rows": [{"system": "https://meridian.example/aims/sys-claims-triage",
                  "identifier": "SYS-CLAIMS-TRIAGE", "label": "Claims triage",
                  "owner": "Dana Reyes", "stage": "deployed", "passed_all_gates": False,
                  "status": {"intake": "pass", "risk": "fail", "release": "pass",
                             "post-release": "pass"},
                  "gaps": 1, "intake": [],
                  "risk": ["Claims triage has no risk classification [GATE-03]"],
                  "release": [], "post-release": [], "order": [], "supplier": []}],
        "clauses": [{"clause": "8.2", "status": "fail", "rules": [
            {"rule": "GATE-03", "severity": "Violation", "findings": 1, "status": "fail"}]}]}]}}


@router.get("/systems", response_model=list[SystemModel], summary="The AI inventory",
            description="Every AI system: identifier, label, internal or third-party, scope, "
            "lifecycle stage, business owner, high-risk flag.")
def list_systems(state: StateDep, _: Reader) -> list[dict[str, Any]]:
    with state.reading() as store:
        return trace.inventory(store)


@router.get("/systems/{system_id:path}/trace", response_model=TraceModel,
            summary="Trace one AI system end to end",
            description="The system's records as a timeline (intake, risk, release, "
            "monitoring, incidents, corrective actions, ...) with dates, owners and evidence "
            "hashes, and every missing or out-of-order link, judged at `as_of`; records dated "
            "after `as_of` are left out when it is given.",
            responses={404: {"description": "No AI system matches."}})
def trace_system(system_id: SystemId, state: StateDep, _: Reader,
                 as_of: AsOf = None) -> dict[str, Any]:
    with state.reading() as store:
        return trace.trace_system(store, system_id, as_of=as_of).to_dict()


@router.get("/systems/{system_id:path}", response_model=SystemModel, summary="One AI system",
            description="The inventory entry of the system named by identifier, IRI or a "
            "unique label (part).",
            responses={404: {"description": "No AI system matches."}})
def get_system(system_id: SystemId, state: StateDep, _: Reader) -> dict[str, Any]:
    with state.reading() as store:
        return trace.find_system(store, system_id)


@router.get("/gaps", response_model=GapReportModel, tags=["validation"],
            summary="The gap matrix",
            description="The assessment as a matrix, judged at `as_of`: one row per in-scope AI "
            "system with each gate's status (intake, risk, release, post-release: pass, warn, "
            "fail, not reached) and the findings that fail it, the gate order and the supplier "
            "checks; the clause statuses; and the `summary` (the same as /v1/validate).")
def gaps(state: StateDep, _: Reader, as_of: AsOf = None) -> dict[str, Any]:
    with state.reading() as store:
        return trace.gap_report(store, as_of=as_of).to_dict()
