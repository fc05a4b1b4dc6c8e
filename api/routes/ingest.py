"""POST /v1/ingest: add records from a file or a request body; answer the batch and verdict.

The upload is written to a temporary folder under its (sanitised) file name, because a batch
is named after its source: uploading the same file name again replaces that batch, the same
content again changes nothing. Without a file name, the name is made from the content's hash.

The upload is read, mapped and checked (mapper.ingest.prepare) before the store's write lock
is taken, so readers keep being answered while it is parsed; the lock is held only for the
commit. An input past one of the ingest limits (Settings.ingest_limits) is a 413 naming it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from api.deps import Contributor, IsoDate, StateDep
from api.errors import error_response
from api.routes.validation import FindingInfo
from api.state import AppState
from mapper.errors import InputError
from mapper.ingest import (
    RDF_SUFFIXES,
    TABULAR,
    BatchResult,
    IngestCancelled,
    LimitExceeded,
    commit,
    prepare,
)
from mapper.ingest.mapping import builtin_names
from mapper.runs import verdict as verdicts

router = APIRouter(prefix="/v1", tags=["ingest"])

SUFFIX_BY_TYPE = {
    "text/turtle": ".ttl",
    "application/x-turtle": ".ttl",
    "application/n-triples": ".nt",
    "application/ld+json": ".jsonld",
    "application/rdf+xml": ".rdf",
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/json": ".json",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class Verdict(BaseModel):
    conforms: bool
    as_of: date
    scope: str
    systems: list[str]
    summary: dict[str, dict[str, int]]
    findings: list[FindingInfo]


class Batch(BaseModel):
    batch: str
    graph: str
    source: str
    status: str
    records: int
    triples: int
    rows_read: int
    rejected: list[dict[str, Any]]
    warnings: list[str]
    format: str
    mapping: str | None
    replaced: str | None
    merged: int = 0
    conflicts: int = 0


class IngestAnswer(BaseModel):
    batches: list[Batch]
    verdict: Verdict | None

    model_config = {"json_schema_extra": {"examples": [{
        "batches": [{"batch": "intake-tkt-4711-ttl-9f86d081", "status": "loaded",
                     "graph": "urn:aims:batch:intake-tkt-4711-ttl-9f86d081",
                     "source": "intake-TKT-4711.ttl", "records": 12, "triples": 12,
                     "rows_read": 0, "rejected": [], "warnings": [], "format": "text/turtle",
                     "mapping": None, "replaced": None}],
        "verdict": {"conforms": False, "as_of": "2026-06-30", "scope": "systems",
                    "systems": ["https://example.org/sys/SYS-042"],
                    "summary": {"by_severity": {"Violation": 1, "Warning": 0, "Info": 0},
                                "by_clause": {"8.2": 1}, "by_rule": {"GATE-03": 1}},
                    "findings": [{"rule": "GATE-03", "clause": ["6.1.2", "8.2"],
                                  "severity": "Violation",
                                  "focus": "https://example.org/sys/SYS-042",
                                  "focus_label": "Invoice OCR", "path": None, "value": None,
                                  "owner": "Dana Reyes",
                                  "message": "Invoice OCR has no risk classification."}]}}]}}


_DESCRIPTION = """\
Send the records either as a multipart upload (field `file`, optional fields `mapping`,
`sheet`, `skip_invalid`, `lenient`, `as_of`, `verdict`) or as the request body with its
Content-Type: Turtle (`text/turtle`), N-Triples, JSON-LD (`application/ld+json`), RDF/XML,
CSV, XLSX or JSON records (`application/json`; tabular inputs go through a built-in `mapping`,
chosen by their columns when not named). Options then go in the query string.

Each file becomes one batch (named graph with provenance), written atomically: invalid rows
abort the whole upload with a 422 listing them, unless `skip_invalid=true`, which loads the
valid rows and returns the rejected ones with reasons. Uploading the same `filename` again
replaces its batch. JSON-LD with a remote `@context` and RDF/XML with a DOCTYPE are refused.
A typed literal that is not of its type, or RDF that uses a term in the aims: namespace the
ontology does not define ("did you mean aims:businessOwner?"), is refused with a 422 unless
`lenient=true`, which loads it as written with a warning. An input
past an ingest limit (rows, cells, line or value length, JSON nesting, a workbook's inflated
size or compression ratio) is refused with a 413 naming the limit; the upload is parsed before
the store is locked, so reads go on meanwhile.

The answer holds the batches and the validation verdict for what the batch touched. When
validation findings are stored in the store (`aims validate --store-findings`), the ingest
re-validates only what the change can affect and keeps them current; the verdict is then the
current findings of every check and node it re-validated (`scope: incremental`), with no
further run. Otherwise the verdict covers the AI systems the batch describes or whose records it
holds (`scope: systems`), else the findings on the nodes it wrote (`scope: nodes`).
Non-conformance is a 200 with `conforms: false`.
"""
_BODY = {
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"},
            "mapping": {"type": "string"}, "sheet": {"type": "string"},
            "skip_invalid": {"type": "boolean"}, "as_of": {"type": "string", "format": "date"},
            "verdict": {"type": "boolean"}, "lenient": {"type": "boolean"}},
            "required": ["file"]}},
        "text/turtle": {"schema": {"type": "string"}, "example": (
            "@prefix aims: <https://aims-graph.org/ns#> .\n"
            "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
            "<https://example.org/sys/SYS-042> a aims:InternalAISystem ;\n"
            "  rdfs:label \"Invoice OCR\" ; aims:identifier \"SYS-042\" ; aims:inScope true .\n")},
        "application/n-triples": {"schema": {"type": "string"}},
        "application/ld+json": {"schema": {"type": "object"}},
        "application/rdf+xml": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}},
    },
    "required": True,
}


def safe_filename(name: str | None, suffix: str, data: bytes) -> str:
    """A file name without folders or odd characters, ending in a suffix ingest reads.

    >>> safe_filename("../../etc/x y.ttl", ".ttl", b"")
    'x_y.ttl'
    >>> safe_filename(None, ".csv", b"a")[:7]
    'upload-'
    """
    base = _SAFE_NAME.sub("_", Path((name or "").replace("\\", "/")).name).strip("._")
    if not base:
        base = "upload-" + hashlib.sha256(data).hexdigest()[:12]
    if not base.lower().endswith(TABULAR + RDF_SUFFIXES):
        base += suffix
    return base[-120:]


def verdict_for(state: AppState, results: list[BatchResult], as_of: date) -> dict[str, Any]:
    """mapper.runs.verdict under the right lock: a read for stored findings' re-validation,
    the validation lock for a run of the rules."""
    hold = state.reading if verdicts.incremental(results) else state.validating
    with hold() as store:
        return verdicts.verdict(store, results, as_of=as_of)


def _run(state: AppState, folder: Path, name: str, *, mapping: str | None, sheet: str | None,
         skip_invalid: bool, lenient: bool, actor: str, as_of: date, verdict: bool,
         mapping_file: Path | None, scope: str | None = None, on_conflict: str = "warn",
         timezone: str | None = None) -> dict[str, Any]:
    if mapping is not None and mapping not in builtin_names():
        raise InputError(f"unknown mapping {mapping!r}; built-in mappings: "
                         f"{', '.join(builtin_names())} (or upload one as `mapping_file`)",
                         ref="mapping")
    preparation = prepare([folder / name], mapping=mapping_file or mapping, sheet=sheet,
                          skip_invalid=skip_invalid, lenient=lenient,
                          limits=state.settings.ingest_limits, scope=scope,
                          timezone=timezone)  # no lock: readers go on
    with preparation, state.writing() as store:  # only the commit holds the write lock
        results = commit(store, preparation, actor=actor, on_conflict=on_conflict)
    return {"batches": [r.as_dict() for r in results],
            "verdict": verdict_for(state, results, as_of) if verdict else None}


def _flag(value: object, name: str) -> bool:
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise InputError(f"{name} must be true or false, not {value!r}", ref=name)


def _as_of(value: object) -> date:
    if value is None or value == "":
        return date.today()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"as_of {value!r} is not a date; write YYYY-MM-DD", ref="as_of") from None


# OpenAPI links: what a client (and schemathesis's stateful phase) can do next with a batch
_BATCH_OF_ANSWER = {"batch_id": "$response.body#/batches/0/batch"}
_LINKS = {
    "GetBatch": {"operationId": "get_batch_v1_batches__batch_id__get",
                 "parameters": _BATCH_OF_ANSWER,
                 "description": "The batch the upload made (its provenance and counts)."},
}
# No link to DELETE /v1/batches/{id}: undoing a batch keeps its provenance, so GET answers it
# afterwards (status "dropped"), which a generic "deleted resource gone" check counts as a
# failure although it is the audit trail working.


@router.post("/ingest", response_model=IngestAnswer, summary="Ingest records, get the verdict",
             description=_DESCRIPTION, openapi_extra={"requestBody": _BODY},
             responses={200: {"description": "The batches written and the verdict.",
                              "links": _LINKS}})
async def ingest_records(
    request: Request, state: StateDep, who: Contributor,
    filename: Annotated[str | None, Query(
        description="Source file name for a raw body; the same name again replaces the batch.",
        examples=["intake-TKT-4711.ttl"])] = None,
    mapping: Annotated[str | None, Query(description="Built-in mapping for tabular input.")]
    = None,
    sheet: Annotated[str | None, Query(description="XLSX sheet to read.")] = None,
    skip_invalid: Annotated[bool, Query(description="Load valid rows, report the rest.")]
    = False,
    as_of: Annotated[IsoDate | None, Query(description="Date the verdict is judged at.")] = None,
    verdict: Annotated[bool, Query(description="Validate what the batch touched.")] = True,
    lenient: Annotated[bool, Query(description=(
        "Load a typed value that is not of its type (a number that is not a number, a date "
        "that is not a date), or an aims: term the ontology does not define, as written, "
        "with a warning, instead of refusing the upload."))]
    = False,
    scope: Annotated[str | None, Query(description=(
        "The organisation whose file this is: scopes ids unique only inside its file when no "
        "agency column does."))] = None,
    on_conflict: Annotated[Literal["fail", "warn", "replace"], Query(description=(
        "A record another batch gives another label, stage, date or owner: fail, warn (keep "
        "both, report) or replace."))] = "warn",
    timezone: Annotated[str | None, Query(description=(
        "IANA zone of timestamps written without one, in tables and as xsd:dateTime in RDF "
        "(e.g. America/New_York); without it such a timestamp is refused."))] = None,
) -> Any:
    from starlette.concurrency import run_in_threadpool

    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    folder = Path(tempfile.mkdtemp(prefix="aims-upload-"))
    try:
        mapping_file: Path | None = None
        if kind == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InputError("the multipart upload needs a file field named `file`",
                                 ref="file")
            data = await upload.read()
            name = safe_filename(upload.filename or filename,
                                 SUFFIX_BY_TYPE.get(upload.content_type or "", ".ttl"), data)
            extra = form.get("mapping_file")
            if isinstance(extra, UploadFile):
                mapping_file = folder / "mapping" / "mapping.yaml"
                mapping_file.parent.mkdir()
                mapping_file.write_bytes(await extra.read())
            mapping = _text(form.get("mapping")) or mapping
            sheet = _text(form.get("sheet")) or sheet
            skip_invalid = _flag(form.get("skip_invalid"), "skip_invalid") or skip_invalid
            lenient = _flag(form.get("lenient"), "lenient") or lenient
            scope = _text(form.get("scope")) or scope
            timezone = _text(form.get("timezone")) or timezone
            form_conflict = _text(form.get("on_conflict"))
            if form_conflict is not None:
                if form_conflict not in ("fail", "warn", "replace"):
                    raise InputError("on_conflict must be fail, warn or replace",
                                     ref="on_conflict")
                on_conflict = form_conflict  # type: ignore[assignment]
            as_of = _as_of(form.get("as_of")) if form.get("as_of") else as_of
            if form.get("verdict") is not None:
                verdict = _flag(form.get("verdict"), "verdict")
        elif kind in SUFFIX_BY_TYPE:
            data = await request.body()
            name = safe_filename(filename, SUFFIX_BY_TYPE[kind], data)
        else:
            raise InputError(f"unsupported Content-Type {kind or '(none)'!r}; send one of "
                             f"{', '.join(SUFFIX_BY_TYPE)} or multipart/form-data",
                             ref="Content-Type")
        if not data:
            raise InputError("the upload is empty", ref=name)
        (folder / name).write_bytes(data)
        del data
        return await run_in_threadpool(
            _run, state, folder, name, mapping=mapping, sheet=sheet, skip_invalid=skip_invalid,
            lenient=lenient, actor=who.name, as_of=as_of or date.today(), verdict=verdict,
            mapping_file=mapping_file, scope=scope, on_conflict=on_conflict, timezone=timezone)
    except LimitExceeded as exc:
        return error_response(413, "too_large", exc.message, exc.ref)
    except IngestCancelled as exc:
        return error_response(503, "shutting_down", exc.message, exc.ref)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
