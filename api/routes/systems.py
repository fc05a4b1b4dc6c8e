"""GET /v1/systems, /v1/systems/{id}, /v1/systems/{id}/trace and /v1/gaps."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import Reader, StateDep
from mapper.questions import trace

router = APIRouter(prefix="/v1", tags=["systems"])

SystemId = Annotated[str, Path(
    description="The system's identifier (aims:identifier), IRI or a unique label.",
    examples=["SYS-CLAIMS-TRIAGE"])]
AsOf = Annotated[date | None, Query(description="Judge at this date (YYYY-MM-DD); default "
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

    model_config = {"json_schema_extra": {"examples": [{
        "system": "https://meridian.example/aims/sys-claims-triage",
        "identifier": "SYS-CLAIMS-TRIAGE", "label": "Claims triage", "kind": "internal",
        "in_scope": True, "stage": "deployed", "owner": "Dana Reyes", "high_risk": True,
        "as_of": "2026-06-30",
        "steps": [{"step": "intake", "record": "https://meridian.example/aims/intake-7",
                   "label": "Intake claims triage", "date": "2025-01-10",
                   "owners": ["Dana Reyes"], "evidence": [], "detail": ""}],
        "gaps": [{"area": "risk", "message": "no risk classification", "rule": "GATE-03"}]}]}}


class GapReportModel(BaseModel):
    as_of: str
    systems: int
    passed_all_gates: int
    share_passed: float | None
    rows: list[dict[str, Any]]
    owners_with_most_open_findings: list[dict[str, Any]]
    clauses: list[dict[str, Any]]

    model_config = {"json_schema_extra": {"examples": [{
        "as_of": "2026-06-30", "systems": 1, "passed_all_gates": 0, "share_passed": 0.0,
        "rows": [{"system": "https://meridian.example/aims/sys-claims-triage",
                  "identifier": "SYS-CLAIMS-TRIAGE", "label": "Claims triage",
                  "owner": "Dana Reyes", "gaps": 1, "intake": [],
                  "risk": ["risk classification [GATE-03]"], "release": [],
                  "post-release": [], "order": [], "supplier": []}],
        "owners_with_most_open_findings": [{"owner": "Dana Reyes", "open_findings": 1}],
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
            description="One row per in-scope AI system: what each gate (intake, risk, "
            "release, post-release), the gate order and supplier due diligence lack, judged "
            "at `as_of`; and the owners with the most open findings.")
def gaps(state: StateDep, _: Reader, as_of: AsOf = None) -> dict[str, Any]:
    with state.reading() as store:
        return trace.gap_report(store, as_of=as_of).to_dict()
