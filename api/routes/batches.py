"""GET /v1/batches, GET /v1/batches/{id}, DELETE /v1/batches/{id}: ingested batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.deps import Admin, Reader, StateDep
from mapper.errors import NotFound
from mapper.ingest import batches

router = APIRouter(prefix="/v1/batches", tags=["batches"])

BatchId = Annotated[str, Path(description="The batch id (or its graph IRI).",
                              examples=["systems-csv-1a2b3c4d"])]


class BatchModel(BaseModel):
    batch: str
    graph: str
    source: str
    sha256: str
    mapping: str | None
    actor: str | None
    time: str
    records: int
    rejected: int
    triples: int
    status: str
    replaces: str | None

    model_config = {"json_schema_extra": {"examples": [{
        "batch": "systems-csv-1a2b3c4d", "graph": "urn:aims:batch:systems-csv-1a2b3c4d",
        "source": "systems.csv", "sha256": "1a2b3c4d...", "mapping": "ai-systems",
        "actor": "ticketing", "time": "2026-06-30T09:00:00+00:00", "records": 40,
        "rejected": 1, "triples": 612, "status": "current", "replaces": None}]}}


@router.get("", response_model=list[BatchModel], summary="List batches",
            description="Every ingested batch, oldest first, with its status: `current`, "
            "`superseded` (replaced by a re-ingest of the same source) or `dropped`.")
def list_batches(state: StateDep, _: Reader) -> list[dict[str, Any]]:
    with state.reading() as store:
        return [b.as_dict() for b in batches.list_batches(store, recover_first=False)]


@router.get("/{batch_id}", response_model=BatchModel, summary="One batch",
            description="The batch's source, hash, mapping, actor, time, counts and status.",
            responses={404: {"description": "No batch with this id."}})
def get_batch(batch_id: BatchId, state: StateDep, _: Reader) -> dict[str, Any]:
    with state.reading() as store:
        for batch in batches.list_batches(store, recover_first=False):
            if batch_id in (batch.id, batch.graph):
                return batch.as_dict()
    raise NotFound(f"no batch {batch_id!r}; GET /v1/batches lists them", ref=batch_id)


@router.delete(
    "/{batch_id}", response_model=BatchModel, summary="Undo a batch (admin)",
    description="Drop the batch's graph; its provenance stays, marked dropped. Versions it "
    "replaced are not restored.",
    responses={404: {"description": "No current batch with this id."}})
def delete_batch(batch_id: BatchId, state: StateDep, _: Admin) -> dict[str, Any]:
    with state.writing() as store:
        return batches.drop_batch(store, batch_id, when=datetime.now(UTC)).as_dict()
