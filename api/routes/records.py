"""/v1/records: one record at a time (mapper.records), each write a batch with provenance.

GET answers the record and its ETag; PATCH and DELETE need `If-Match` with that ETag (428
without it, 412 when the record changed meanwhile), so two tools editing one record cannot
overwrite each other's change unseen. The body schema is generated from the ontology.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response
from fastapi.responses import JSONResponse

from api.deps import Admin, Contributor, IsoDate, Reader, StateDep
from api.errors import error_response
from api.routes.ingest import verdict_for
from mapper import records

router = APIRouter(prefix="/v1/records", tags=["records"])

RecordId = Annotated[str, Path(description="The record's identifier (aims:identifier) or IRI.",
                               examples=["CA-2026-004"])]
IfMatch = Annotated[str | None, Header(description="The ETag of GET /v1/records/{id}.",
                                             examples=['"3f1d0c9a52e4b7a1d0e2f7c19a4b6d35"'])]
_EXAMPLE = {"type": "CorrectiveAction", "id": "CA-2026-101",
            "label": "Retrain the triage model on the corrected labels",
            "status": "open", "dueDate": "2026-09-30"}
_BODY = {"content": {"application/json": {"schema": records.record_schema(),
                                          "example": _EXAMPLE}}, "required": True}
_PATCH = {"content": {"application/json": {"schema": {
    **records.record_schema(), "required": []}, "example": {"status": "closed"}}},
    "required": True}
_WRITTEN = {"description": "The record as stored, its batch and the verdict for the systems "
            "it touches; the ETag header is the record's new ETag.",
            "content": {"application/json": {"example": {
                "record": _EXAMPLE | {"id": "https://aims-graph.org/id/correctiveaction/ca-2026-101"},
                "etag": "3f1d0c9a52e4b7a1d0e2f7c19a4b6d35", "batches": [], "verdict": None}}}}
_STATUS = {404: {"description": "No such record."},
           409: {"description": "The record exists (POST) or other batches describe it "
                 "(DELETE)."},
           412: {"description": "If-Match is not the record's current ETag."},
           428: {"description": "If-Match is missing."}}


def _tag(value: str) -> str:
    return f'"{value}"'


def _check(store: Any, subject: Any, if_match: str | None) -> JSONResponse | None:
    if not if_match:
        return error_response(428, "precondition_required",
                              "send If-Match with the ETag of GET /v1/records/{id}",
                              "If-Match")
    if if_match.strip() not in ("*", _tag(records.etag(store, subject))):
        return error_response(412, "precondition_failed",
                              "the record changed since that ETag; GET it again", "If-Match")
    return None


def _answer(state: Any, subject: Any, results: list[Any], as_of: date, verdict: bool,
            status: int = 200) -> JSONResponse:
    with state.reading() as store:
        record, tag = records.read(store, subject), records.etag(store, subject)
    body = {"record": record, "etag": tag, "batches": [r.as_dict() for r in results],
            "verdict": verdict_for(state, results, as_of) if verdict else None}
    return JSONResponse(body, status_code=status, headers={"ETag": _tag(tag)})


@router.get("/{record_id:path}", summary="One record and its ETag",
            description="The record's type, identifier, label and aims: fields (a list when "
            "a field has several values), read from every batch that describes it.",
            responses={200: {"description": "The record; the ETag header is for If-Match.",
                             "content": {"application/json": {"example": _EXAMPLE}}},
                       404: _STATUS[404]})
def get_record(record_id: RecordId, state: StateDep, _: Reader) -> JSONResponse:
    with state.reading() as store:
        subject = records.subject_of(store, record_id)
        body, tag = records.read(store, subject), records.etag(store, subject)
    return JSONResponse(body, headers={"ETag": _tag(tag)})


@router.post("", status_code=201, summary="Create one record",
             description="One record of any AIMS class: `type` is the class, every other field "
             "an aims: property by its local name (the schema is generated from the ontology; "
             "an unknown field is refused with the closest name). Written as a batch of its "
             "own with provenance; answers the verdict for the systems it touches.",
             openapi_extra={"requestBody": _BODY},
             responses={201: _WRITTEN, 409: _STATUS[409]})
def create_record(body: Annotated[dict[str, Any], Body()], state: StateDep, who: Contributor,
                  as_of: Annotated[IsoDate | None, Query(
                      description="Date the verdict is judged at.")] = None,
                  verdict: Annotated[bool, Query(description="Validate what it touched.")]
                  = True) -> JSONResponse:
    records.check_fields(body)
    with state.writing() as store:
        try:
            subject, results = records.write(store, body, actor=who.name)
        except records.Exists as exc:
            return error_response(409, "exists", exc.message, exc.ref)
    return _answer(state, subject, results, as_of or date.today(), verdict, 201)


@router.patch("/{record_id:path}", summary="Change fields of one record",
              description="Replace the fields given (a list replaces every value; null removes "
              "the field), e.g. close and verify a corrective action. Needs If-Match.",
              openapi_extra={"requestBody": _PATCH},
              responses={200: _WRITTEN, 404: _STATUS[404], 412: _STATUS[412],
                         428: _STATUS[428]})
def patch_record(record_id: RecordId, body: Annotated[dict[str, Any], Body()],
                 state: StateDep, who: Contributor, if_match: IfMatch = None,
                 as_of: Annotated[IsoDate | None, Query(
                     description="Date the verdict is judged at.")] = None,
                 verdict: Annotated[bool, Query(description="Validate what it touched.")]
                 = True) -> JSONResponse:
    records.check_fields(body, patch=True)
    with state.writing() as store:
        subject = records.subject_of(store, record_id)
        refused = _check(store, subject, if_match)
        if refused is not None:
            return refused
        subject, results = records.write(store, body, actor=who.name, patch_of=subject)
    return _answer(state, subject, results, as_of or date.today(), verdict)


@router.delete("/{record_id:path}", status_code=204, summary="Delete one record (admin)",
               description="Drop the record's own batches (their provenance stays, marked "
               "dropped). A record that other batches also describe is refused (409): drop "
               "those batches. Needs If-Match.",
               responses={204: {"description": "Deleted."}, 404: _STATUS[404],
                          409: _STATUS[409], 412: _STATUS[412], 428: _STATUS[428]})
def delete_record(record_id: RecordId, state: StateDep, _: Admin,
                  if_match: IfMatch = None) -> Response:
    with state.writing() as store:
        subject = records.subject_of(store, record_id)
        refused = _check(store, subject, if_match)
        if refused is not None:
            return refused
        try:
            records.delete(store, subject, when=datetime.now(UTC))
        except records.Exists as exc:
            return error_response(409, "described_elsewhere", exc.message, exc.ref)
    return Response(status_code=204)
