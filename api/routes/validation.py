"""GET /v1/validate and /v1/rules: the Clause 4.4 rules and their findings."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from api.deps import IsoDate, Reader, StateDep
from api.sparql import negotiate
from mapper.rules import catalogue
from mapper.rules import validate as validation
from mapper.rules.assessment import assess
from mapper.rules.results import find_system

router = APIRouter(prefix="/v1", tags=["validation"])


class RuleInfo(BaseModel):
    id: str
    clause: list[str]
    severity: str
    description: str
    gate: str | None
    activity: str | None

    model_config = {"json_schema_extra": {"examples": [{
        "id": "GATE-03", "clause": ["6.1.2", "8.2"], "severity": "Violation",
        "description": "A risk classification dated on or before build start or procurement.",
        "gate": "risk", "activity": "implement"}]}}


class FindingInfo(BaseModel):
    rule: str
    clause: list[str]
    severity: str
    focus: str
    focus_label: str
    path: str | None
    value: str | None
    owner: str | None
    owner_reason: str | None = None
    message: str


class Counts(BaseModel):
    by_severity: dict[str, int]
    by_clause: dict[str, int]
    by_rule: dict[str, int]


class AssessmentSummary(BaseModel):
    """The assessment's summary: the same keys and values in `aims validate --format json`,
    `aims gaps --format json`, /v1/validate, /v1/gaps and the audit pack's assessment.json."""

    as_of: date
    conforms: bool
    systems_in_scope: int
    systems_passing_all_gates: int
    violations: int
    warnings: int
    infos: int
    findings: int
    findings_by_person: dict[str, int]
    findings_without_person: int

    model_config = {"json_schema_extra": {"examples": [{
        "as_of": "2026-06-30", "conforms": False, "systems_in_scope": 13,
        "systems_passing_all_gates": 3, "violations": 28, "warnings": 5, "infos": 0,
        "findings": 33, "findings_by_person": {"Fatima Aziz": 4, "Grace Liu": 2},
        "findings_without_person": 0}]}}


class ReportInfo(BaseModel):
    conforms: bool
    as_of: date
    summary: AssessmentSummary
    counts: Counts
    findings: list[FindingInfo]

    model_config = {"json_schema_extra": {"examples": [{
        "conforms": False, "as_of": "2026-06-30",
        "summary": {"as_of": "2026-06-30", "conforms": False, "systems_in_scope": 1,
                    "systems_passing_all_gates": 0, "violations": 1, "warnings": 0,
                    "infos": 0, "findings": 1, "findings_by_person": {"Dana Reyes": 1},
                    "findings_without_person": 0},
        "counts": {"by_severity": {"Violation": 1, "Warning": 0, "Info": 0},
                   "by_clause": {"8.2": 1}, "by_rule": {"GATE-03": 1}},
        "findings": [{
            "rule": "GATE-03", "clause": ["6.1.2", "8.2"], "severity": "Violation",
            "focus": "https://example.org/sys/SYS-007", "focus_label": "Claims triage",
            "path": "aims:riskClassification", "value": None, "owner": "Dana Reyes",
            "owner_reason": "business owner of SYS-007",
            "message": "Claims triage has no risk classification dated before its build "
                       "start; classify it and record the date."}]}]}}


class Engine(StrEnum):
    auto = "auto"
    sparql = "sparql"
    pyshacl = "pyshacl"


AsOf = Annotated[IsoDate | None, Query(
    description="The audit date the rules are judged at (YYYY-MM-DD); default today.",
    examples=["2026-06-30"])]


@router.get("/rules", response_model=list[RuleInfo], summary="List the rules",
            description="Every rule: id, ISO/IEC 42001 clauses, severity, what it checks.")
def list_rules(_: Reader) -> list[dict[str, Any]]:
    return [rule.to_dict() for rule in catalogue.rules()]


@router.get(
    "/validate", response_model=ReportInfo, summary="Validate the AIMS",
    description="Run the rules (all, or those named by `rule`, repeatable) as of a date, on "
    "the whole graph or only the nodes concerning one AI system (`system`: identifier or "
    "IRI): the assessment's `summary` (the same as /v1/gaps and `aims validate`; with `system`, "
    "of that system alone), the counts "
    "and every finding with the person who must fix it and which link of the routing chain "
    "chose them (`owner_reason`). Non-conformance is a 200 with `conforms: false`. "
    "`Accept: text/turtle` gives the standard `sh:ValidationReport`. Unknown rule or "
    "system: 404.",
    responses={200: {"content": {"text/turtle": {}}},
               404: {"description": "Unknown rule id or AI system."}},
)
def run_validation(
    state: StateDep, _: Reader, as_of: AsOf = None,
    rule: Annotated[list[str] | None, Query(description="Rule ids to run (repeatable).",
                                            examples=[["GATE-03"]])] = None,
    system: Annotated[str | None, Query(description="An AI system's identifier or IRI.",
                                        examples=["SYS-CLAIMS-TRIAGE"])] = None,
    engine: Annotated[Engine, Query(
        description="auto (= sparql: the rules compiled to SPARQL, run in the store; answered "
        "from the stored findings when `aims validate --store-findings` stored them) or "
        "pyshacl (the reference engine, always a full run); the report is the same.")]
    = Engine.auto,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    fmt = negotiate(accept, {"application/json": "json", "text/turtle": "turtle"}, "json")
    with state.validating(alone=system is None or engine is Engine.pyshacl) as store:
        day = as_of or date.today()
        scope = str(find_system(store, system)) if system else None  # named once
        report = validation.validate(store, as_of=day, rules=rule, system=scope,
                                     engine=engine.value)
        if fmt == "turtle":
            return Response(report.to_turtle(), media_type="text/turtle; charset=utf-8")
        return assess(store, as_of=day, rules=rule, report=report,
                      system=scope).validation_dict()
