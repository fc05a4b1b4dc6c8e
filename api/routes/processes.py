"""GET /v1/processes and /v1/process-map: the AIMS processes and their hand-offs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import Reader, StateDep
from mapper.questions import processes

router = APIRouter(prefix="/v1", tags=["processes"])


class Owner(BaseModel):
    id: str
    label: str
    is_person: bool


class ProcessModel(BaseModel):
    id: str
    label: str
    types: list[str]
    owners: list[Owner]
    problems: list[str]

    model_config = {"json_schema_extra": {"examples": [{
        "id": "https://example.org/proc/intake", "label": "AI intake",
        "types": ["https://aims-graph.org/ns#IntakeAndInventory"],
        "owners": [{"id": "https://example.org/people/dana", "label": "Dana Reyes",
                    "is_person": True}],
        "problems": []}]}}


class MapFormat(StrEnum):
    json = "json"
    mermaid = "mermaid"
    svg = "svg"
    dot = "dot"


@router.get("/processes", response_model=list[ProcessModel], summary="List the processes",
            description="Each process with its minimum-process types, accountable owners and "
            "the kinds of problem the process-map analysis found on it.")
def list_processes(state: StateDep, _: Reader) -> list[dict[str, Any]]:
    with state.reading() as store:
        pm = processes.build(store)
    nodes: list[dict[str, Any]] = processes.to_json(pm)["nodes"]
    return nodes


@router.get(
    "/process-map", summary="The process map",
    description="Processes (nodes), hand-offs with their records (edges), the lifecycle chain "
    "and the problems found. `format`: `json` (default), `mermaid` (text for a Mermaid "
    "diagram), `dot` (Graphviz) or `svg` (drawn with Graphviz).",
    responses={200: {"content": {
        "application/json": {"example": {"nodes": [], "edges": [], "lifecycle": [],
                                         "feedback": {}, "problems": []}},
        "text/vnd.mermaid": {}, "text/vnd.graphviz": {}, "image/svg+xml": {}}}},
)
def process_map(
    state: StateDep, _: Reader,
    format: Annotated[MapFormat, Query(description="json, mermaid, dot or svg.",
                                       examples=["mermaid"])] =
    MapFormat.json,
) -> Any:
    with state.reading() as store:
        pm = processes.build(store)
    if format == MapFormat.mermaid:
        return Response(processes.to_mermaid(pm), media_type="text/vnd.mermaid; charset=utf-8")
    if format == MapFormat.dot:
        return Response(processes.to_dot(pm), media_type="text/vnd.graphviz; charset=utf-8")
    if format == MapFormat.svg:
        return Response(processes.to_svg(pm), media_type="image/svg+xml")
    return processes.to_json(pm)
