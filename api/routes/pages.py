"""The workspace pages: /, /systems, /systems/{id}, /findings, /map, /login, /logout.

Server-rendered HTML over the assessment (mapper.rules.assessment), the trace and the process
map: the pages lay out what those return (filter, sort, page through it) and compute no
verdict of their own, so they agree with the CLI, the API and the audit pack. Every value is
escaped by Jinja2's autoescape; the pages carry a Content-Security-Policy that allows no
script at all, and read without one. Sign-in: api.pages.session.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import IsoDate
from api.pages import render
from api.pages.session import (
    COOKIE,
    LOGIN_COOKIE,
    Forbidden,
    Reader,
    same_origin,
    sessions,
    tokens_match,
    who,
)
from api.state import AppState
from mapper.errors import InputError, NotFound
from mapper.questions import processes, trace
from mapper.rules import catalogue
from mapper.rules.assessment import Assessment, assess
from mapper.rules.catalogue import GATES

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
"""Rows per page of /systems and /findings."""

SORTS = {
    "identifier": lambda s: (s.identifier.lower(), s.system),
    "label": lambda s: (s.label.lower(), s.system),
    "owner": lambda s: (s.owner.lower(), s.system),
    "stage": lambda s: (s.stage, s.system),
}

QUESTIONS = [
    {"question": "Show me your processes and their interactions.",
     "answer": "The process map: each process with its accountable owner, the records each "
               "hand-off carries and every problem found on it.",
     "href": "/map", "link": "Open the process map",
     "rules": ["PROC-01", "PROC-02", "PROC-03", "PROC-04", "PROC-05", "PROC-06"]},
    {"question": "How do you know your inventory is complete?",
     "answer": "Every AI system is in scope or covered by a justified exclusion, and every "
               "one has an inventory record with a business owner.",
     "href": "/findings?" + urlencode([("rule", "SCOPE-03"), ("rule", "GATE-01")]),
     "link": "The inventory findings", "rules": ["SCOPE-02", "SCOPE-03", "GATE-01", "GATE-02"]},
    {"question": "Who can approve exceptions, and where are they documented?",
     "answer": "Every exception names an approver who holds an approver role, with rationale, "
               "compensating controls and expiry; every gate names its approver role.",
     "href": "/findings?" + urlencode([("rule", "IMP-05"), ("rule", "PROC-07")]),
     "link": "The exception and approver findings", "rules": ["IMP-05", "PROC-07"]},
    {"question": "How do you demonstrate continual improvement?",
     "answer": "Incidents and alerts lead to corrective actions that are closed and "
               "verified; management reviews took place with tracked actions.",
     "href": "/#continually-improve", "link": "The continual-improvement scorecard",
     "rules": ["IMP-01", "IMP-02", "IMP-03", "IMP-04", "IMP-06", "IMP-07"]},
]
"""The four questions an auditor asks of Clause 4.4, each answered by rules and a page."""

AsOf = Annotated[IsoDate | None, Query(description="Judge at this date; default today.")]


def _assessment(state: AppState, as_of: date | None, system: str | None = None
                ) -> Assessment:
    """The assessment the pages show; of one system only for its page (milliseconds, where
    the whole estate's takes seconds on a large one)."""
    with state.validating(alone=system is None) as store:
        return assess(store, as_of=as_of or date.today(), system=system)


def _page(request: Request, template: str, reader: Reader, **context: Any) -> HTMLResponse:
    return render.page(request, template, reader=reader, **context)


def _as_of_param(as_of: date | None) -> dict[str, str]:
    return {"as_of": as_of.isoformat()} if as_of else {}


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, as_of: AsOf = None) -> HTMLResponse:
    reader = who(request)
    state: AppState = request.app.state.aims
    assessment = _assessment(state, as_of)
    status = {e["rule"]: e for part in assessment.scorecard for e in part["rules"]}
    people = [(name, len(found)) for name, found in assessment.by_person().items()]
    questions = [dict(q, statuses=[status[r] for r in q["rules"] if r in status])
                 for q in QUESTIONS]
    return _page(request, "overview.html.j2", reader, title="Overview",
                 summary=assessment.summary, clauses=assessment.clauses,
                 scorecard=assessment.scorecard, people=people, questions=questions,
                 as_of=as_of, query=_as_of_param(as_of))


@router.get("/systems", response_class=HTMLResponse)
def systems(
    request: Request, as_of: AsOf = None,
    q: Annotated[str, Query(max_length=200)] = "",
    stage: Annotated[str, Query(max_length=60)] = "",
    risk: Annotated[str, Query(pattern="^(|high|other)$")] = "",
    owner: Annotated[str, Query(max_length=200)] = "",
    gate: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(pattern="^(|pass|warn|fail|not reached|any-fail)$")] = "",
    supplier: Annotated[str, Query(pattern="^(|fail|pass)$")] = "",
    sort: Annotated[str, Query(pattern="^(identifier|label|owner|stage)$")] = "identifier",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    reader = who(request)
    if gate and gate not in GATES:
        return render.error_page(request, 422, f"gate {gate!r} is not one of "
                                 f"{', '.join(GATES)}", reader)
    state: AppState = request.app.state.aims
    assessment = _assessment(state, as_of)
    every = assessment.systems
    needle = q.strip().lower()
    rows = [
        s for s in every
        if (not needle or needle in s.identifier.lower() or needle in s.label.lower()
            or needle in s.owner.lower())
        and (not stage or s.stage == stage.lower())
        and (not risk or s.high_risk == (risk == "high"))
        and (not owner or s.owner == owner)
        and (not supplier or bool(s.supplier) == (supplier == "fail"))
        and _gate_matches(s, gate, status)
    ]
    rows.sort(key=SORTS[sort])
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(page, pages)
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    filters = {"q": q, "stage": stage, "risk": risk, "owner": owner, "gate": gate,
               "status": status, "supplier": supplier, "sort": sort,
               **_as_of_param(as_of)}
    kept = {k: v for k, v in filters.items() if v}
    return _page(request, "systems.html.j2", reader, title="AI systems", rows=shown,
                 total=len(every), matched=len(rows), page=page, pages=pages,
                 filters=filters, kept=kept, gates=GATES,
                 stages=sorted({s.stage for s in every if s.stage}),
                 owners=sorted({s.owner for s in every if s.owner}, key=str.lower),
                 as_of=as_of, query=_as_of_param(as_of))


def _gate_matches(system: Any, gate: str, status: str) -> bool:
    if not status:
        return True
    if status == "any-fail":
        return not system.passed_all_gates
    if gate:
        return bool(system.gate(gate).status == status)
    return any(g.status == status for g in system.gates)


@router.get("/systems/{system_id:path}", response_class=HTMLResponse)
def system_page(request: Request, system_id: str, as_of: AsOf = None) -> HTMLResponse:
    reader = who(request)
    state: AppState = request.app.state.aims
    try:
        with state.reading() as store:
            found = trace.trace_system(store, system_id, as_of=as_of)
    except NotFound as exc:
        return render.error_page(request, 404, exc.message, reader)
    except InputError as exc:
        return render.error_page(request, 422, exc.message, reader)
    assessment = _assessment(state, as_of, found.system)
    status = assessment.system(found.system)
    indexes = assessment.concerning.get(found.system, [])
    findings = [(assessment.findings[i], assessment.person(i)) for i in indexes]
    rules = {r.id: r for r in catalogue.rules()}
    return _page(request, "system.html.j2", reader, title=found.identifier or found.label,
                 trace=found, status=status, findings=findings, rules=rules,
                 as_of=as_of, query=_as_of_param(as_of))


@router.get("/findings", response_class=HTMLResponse)
def findings_page(
    request: Request, as_of: AsOf = None,
    rule: Annotated[list[str] | None, Query()] = None,
    clause: Annotated[str, Query(max_length=20)] = "",
    person: Annotated[str, Query(max_length=200)] = "",
    severity: Annotated[str, Query(pattern="^(|Violation|Warning|Info)$")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    reader = who(request)
    state: AppState = request.app.state.aims
    assessment = _assessment(state, as_of)
    wanted = set(rule or [])
    known = {r.id for r in catalogue.rules()}
    unknown = sorted(wanted - known)
    if unknown:
        return render.error_page(request, 404, f"no rule {unknown[0]!r}; the overview lists "
                                 "the rules", reader)
    rows = [
        (f, assessment.person(i)) for i, f in enumerate(assessment.findings)
        if (not wanted or f.rule in wanted) and (not clause or clause in f.clause)
        and (not person or assessment.person(i) == person)
        and (not severity or f.severity == severity)
    ]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(page, pages)
    filters: list[tuple[str, str]] = [("rule", r) for r in sorted(wanted)]
    filters += [(k, v) for k, v in (("clause", clause), ("person", person),
                                    ("severity", severity)) if v]
    filters += list(_as_of_param(as_of).items())
    return _page(request, "findings.html.j2", reader, title="Findings",
                 rows=rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], matched=len(rows),
                 total=len(assessment.findings), page=page, pages=pages,
                 filters=filters, wanted=sorted(wanted), clause=clause, person=person,
                 severity=severity, as_of=as_of, query=_as_of_param(as_of))


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request) -> HTMLResponse:
    reader = who(request)
    state: AppState = request.app.state.aims
    with state.reading() as store:
        pm = processes.build(store)
    drawing = processes.to_json(pm)
    return _page(request, "map.html.j2", reader, title="Process map", drawing=drawing,
                 query={})


@router.get("/map.svg")
def map_svg(request: Request) -> Response:
    who(request)
    state: AppState = request.app.state.aims
    with state.reading() as store:
        pm = processes.build(store)
    return Response(processes.to_svg(pm), media_type="image/svg+xml",
                    headers=render.SECURITY_HEADERS)


# --- signing in and out ----------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a path on this site (never `//host` or a scheme), else /."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
    token = request.cookies.get(LOGIN_COOKIE) or render.new_token()
    response = render.page(request, "login.html.j2", reader=None, title="Sign in",
                           next=_safe_next(next), login_csrf=token, error=error, query={})
    render.set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
def login(request: Request, key: Annotated[str, Form(max_length=200)],
          csrf: Annotated[str, Form(max_length=200)],
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    if not same_origin(request) or not tokens_match(csrf, request.cookies.get(LOGIN_COOKIE)):
        return render.refused(request, "the sign-in form expired or came from another site; "
                              "open /login again")
    state: AppState = request.app.state.aims
    found = state.keys.verify(key.strip())
    if found is None:
        query = urlencode({"next": _safe_next(next), "error": "unknown or revoked API key"})
        return RedirectResponse(f"/login?{query}", status_code=303)
    token, _ = sessions(request).open(key.strip())
    response = RedirectResponse(_safe_next(next), status_code=303)
    render.set_cookie(request, response, COOKIE, token)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=200)]) -> Response:
    reader = who(request)
    if not same_origin(request) or not tokens_match(csrf, reader.csrf):
        return render.refused(request, "the sign-out form expired; reload the page")
    sessions(request).close(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


__all__ = ["router", "Forbidden"]
