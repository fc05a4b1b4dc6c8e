"""GET /healthz: is the app up and the store answering (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import StateDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    store: str
    graphs: int

    model_config = {"json_schema_extra": {
        "examples": [{"status": "ok", "store": "embedded", "graphs": 12}]}}


@router.get("/healthz", response_model=Health, summary="Liveness and store check",
            description="Answers 200 when the app runs and the store answers a query; 503 "
            "when the store cannot be reached. Needs no API key.")
def healthz(state: StateDep) -> Health:
    # no lock: a liveness probe must answer while a long write runs
    store = state.store
    return Health(status="ok", store=store.kind, graphs=len(store.graphs()))
