"""Trace one AI system end to end, and the gap matrix of all in-scope systems.

The timeline comes from the named query trace-system; the missing links, gate statuses and the
gap matrix come from the assessment (mapper.rules.assessment), so `aims trace`, `aims gaps`,
`aims validate`, the pack and the API give the same answers. A missing link is stated, never
left out.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from rdflib import URIRef

from mapper.errors import InputError, NotFound
from mapper.questions import queries
from mapper.questions.queries import text
from mapper.rules import catalogue
from mapper.store import Store

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|^`\\]+$")

GATES = ("intake", "risk", "release", "post-release")
"""The four lifecycle gates, in order."""


@dataclass
class Step:
    """One record on the timeline (owners and evidence of all its rows merged)."""

    step: str
    record: str
    label: str
    date: str | None
    owners: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Gap:
    """A missing or out-of-order link: what is wrong, which gate or area, which rule."""

    area: str
    message: str
    rule: str | None = None
    record: str | None = None
    """The record the finding is about (on the timeline), when it is not the system itself."""


@dataclass
class Trace:
    """The end-to-end trace of one AI system."""

    system: str
    identifier: str
    label: str
    kind: str
    in_scope: bool
    stage: str
    owner: str
    high_risk: bool
    as_of: str
    steps: list[Step] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    gates: dict[str, str] = field(default_factory=dict)
    """The four gates' status for an in-scope system (the assessment's): pass, warn, fail,
    not reached."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)


# --- finding the system ----------------------------------------------------------------------


def inventory(store: Store) -> list[dict[str, Any]]:
    """Every AI system with identifier, label, kind, scope, stage, owner, high-risk flag."""
    return queries.result_dicts(queries.run(store, "ai-systems"))


def find_system(store: Store, key: str, *, systems: list[dict[str, Any]] | None = None
                ) -> dict[str, Any]:
    """The inventory row of the system named by IRI, identifier or a unique label match.

    An exact match always wins over a partial one, in this order: the IRI, the identifier
    (spelt exactly as recorded: one index lookup; else compared without case),
    the IRI's last segment (the scoped key, e.g. "dol-35" when two agencies both have a "35"),
    the label. NotFound (with the closest names) when nothing matches; InputError when several
    match equally (naming each one's scoped key, which tells them apart).

    Without `systems`, the candidates are the systems whose IRI, identifier or label contains
    the key (queries/systems-named.rq: every match above does) and the chosen one's row comes
    from ai-systems bound to it, so a lookup does not read the whole inventory.
    """
    if systems is not None:
        return _match(systems, key)
    if _IRI.match(key.strip()):  # an IRI names one system at most, and beats every other match
        with contextlib.suppress(InputError):
            rows = queries.result_dicts(
                queries.run(store, "ai-systems", {"system": URIRef(key.strip())}))
            if rows:
                return _match(rows, key)
    exact = queries.run(store, "systems-identified", {"identifier": key.strip()}).rows
    if len(exact) == 1:  # the identifier as recorded: one index lookup, and it wins
        rows = queries.result_dicts(queries.run(store, "ai-systems", {"system": exact[0][0]}))
        if rows:
            return _match(rows, key)
    candidates = queries.result_dicts(
        queries.run(store, "systems-named", {"text": key.strip()}))
    try:
        hit = _match(candidates, key)
    except NotFound:
        return _match(inventory(store), key)  # raises NotFound with the closest names
    rows = queries.result_dicts(queries.run(store, "ai-systems", {"system": URIRef(hit["system"])}))
    return _match(rows, key)  # the same rule picks the same row of that system


def _match(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The row `key` names among `rows`, by the precedence of find_system."""
    wanted = key.strip()
    lowered = wanted.lower()
    for test in (
        lambda r: r["system"] == wanted,
        lambda r: (r["identifier"] or "").strip().lower() == lowered,
        lambda r: r["system"].rstrip("/").rsplit("/", 1)[-1].lower() == lowered,
        lambda r: (r["label"] or "").strip().lower() == lowered,
    ):
        hits = _unique(r for r in rows if test(r))
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InputError(_ambiguous(key, hits))
    hits = _unique(r for r in rows if lowered and (
        lowered in (r["label"] or "").lower() or lowered in (r["identifier"] or "").lower()))
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise InputError(_ambiguous(key, hits))
    names = {(r["identifier"] or r["system"]): r for r in rows}
    names.update({r["label"]: r for r in rows if r["label"]})
    close = difflib.get_close_matches(wanted, list(names), n=5, cutoff=0.3)
    hint = "; closest: " + ", ".join(close) if close else ""
    raise NotFound(f"no AI system matches {key!r} by identifier, IRI or label{hint}")


def _unique(rows: Any) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["system"], row)
    return list(seen.values())


def _ambiguous(key: str, hits: list[dict[str, Any]]) -> str:
    names = ", ".join(f"{h['system'].rstrip('/').rsplit('/', 1)[-1]} ({h['label']})"
                      for h in hits[:8])
    return f"{key!r} matches {len(hits)} AI systems: {names}; give one of these keys or the IRI"


# --- the trace -------------------------------------------------------------------------------


def trace_system(store: Store, key: str, *, as_of: date | None = None) -> Trace:
    """The timeline of one system and every missing link, judged on `as_of` (default today).

    Records dated after `as_of` are left out when it is given.
    """
    row = find_system(store, key)
    system = URIRef(row["system"])
    judged = as_of or date.today()
    params: dict[str, object] = {"system": system}
    if as_of is not None:
        params["as_of"] = as_of
    result = queries.run(store, "trace-system", params)
    steps: dict[str, Step] = {}
    order: list[str] = []
    for r in result.dicts():
        key_ = f"{text(r['step'])}|{text(r['record'])}|{text(r['date'])}"
        if key_ not in steps:
            steps[key_] = Step(step=text(r["step"]), record=text(r["record"]),
                               label=text(r["label"]) or text(r["record"]),
                               date=text(r["date"]) or None, detail=text(r["detail"]))
            order.append(key_)
        step = steps[key_]
        owner = text(r["owner_label"]) or text(r["owner"])
        if owner and owner not in step.owners:
            step.owners.append(owner)
        evidence = text(r["evidence_hash"])
        if evidence and evidence not in step.evidence:
            step.evidence.append(evidence)
    for step in steps.values():
        step.owners.sort()
        step.evidence.sort()
    trace = Trace(
        system=row["system"], identifier=row["identifier"] or "", label=row["label"] or "",
        kind=row["kind"] or "", in_scope=bool(row["in_scope"]), stage=row["stage"] or "",
        owner=row["owner_label"] or "", high_risk=bool(row["high_risk"]),
        as_of=judged.isoformat(),
        steps=sorted((steps[k] for k in order), key=lambda s: (s.date is None, s.date or "")),
    )
    trace.gaps = _gaps_of(store, trace, system, judged)
    _show_named_records(store, trace)
    return trace


def _show_named_records(store: Store, trace: Trace) -> None:
    """Put every record a missing link names on the timeline (undated ones last), and keep
    `record` only on links that name a record (not a supplier, say)."""
    on_timeline = {s.record for s in trace.steps}
    named = sorted({g.record for g in trace.gaps if g.record and g.record not in on_timeline})
    records: dict[str, dict[str, Any]] = {}
    if named:
        for node, kind, label, when in queries.run_many(
                store, "records-named", [URIRef(n) for n in named]):
            records[text(node)] = {"kind": text(kind), "label": text(label), "date": text(when)}
    for gap in trace.gaps:
        if gap.record and gap.record not in on_timeline and gap.record not in records:
            gap.record = None
    for iri, r in records.items():
        trace.steps.append(Step(step=r["kind"] or "record", record=iri,
                                label=r["label"] or iri, date=r["date"] or None))
    trace.steps.sort(key=lambda s: (s.date is None, s.date or ""))



def _gaps_of(store: Store, trace: Trace, system: URIRef, judged: date) -> list[Gap]:
    """The missing links: the system's gates as the assessment judges them, the order in which
    they were passed, its suppliers, then every other finding that concerns it."""
    from mapper.rules.assessment import assess  # the rules: heavy, only a trace needs them

    verdict = assess(store, as_of=judged, system=str(system))
    gaps: list[Gap] = []
    if not trace.in_scope:
        gaps.append(Gap("scope", "not in the AIMS scope: the gates are not required (SCOPE-03 "
                                 "asks for a justified exclusion)"))
    status = verdict.system(str(system))
    shown: set[int] = set()
    if status is not None:
        trace.gates = {g.gate: g.status for g in status.gates}
        for gate in status.gates:
            for f in gate.findings:
                gaps.append(Gap(gate.gate, f.message, f.rule, _record(f, system)))
                shown.add(id(f))
        gaps.extend(Gap("order", line) for line in status.order)
        for f in status.supplier:
            gaps.append(Gap("supplier", f.message, f.rule, _record(f, system)))
            shown.add(id(f))
    rules = {r.id: r for r in catalogue.rules()}
    for f in verdict.findings_of(str(system)):
        if id(f) not in shown:
            activity = rules[f.rule].activity if f.rule in rules else None
            area = _AREAS.get(activity or "", "other")
            gaps.append(Gap(area, f.message, f.rule, _record(f, system)))
    return gaps


_AREAS = {"establish": "set-up", "implement": "gates", "maintain": "upkeep",
          "continually improve": "improvement"}
"""The missing-link area of a finding outside the gates, by its rule's Clause 4.4 activity."""


def _record(f: Any, system: URIRef) -> str | None:
    """The record a finding names, when it is not the system itself."""
    return None if f.focus_term == system else f.focus


def render_text(trace: Trace) -> str:
    """The trace as plain text: header, timeline, then the missing links."""
    lines = [
        f"{trace.identifier or trace.system}  {trace.label}",
        f"  {trace.kind or 'AI system'}, {'in scope' if trace.in_scope else 'NOT in scope'}, "
        f"stage: {trace.stage or 'not stated'}, business owner: {trace.owner or 'none'}"
        f"{', HIGH-RISK' if trace.high_risk else ''}",
        f"  judged as of {trace.as_of}",
    ]
    if trace.gates:
        lines.append("  gates: " + ", ".join(f"{g} {s}" for g, s in trace.gates.items()))
    lines += ["", "Timeline"]
    if not trace.steps:
        lines.append("  (no records)")
    for step in trace.steps:
        head = f"  {step.date or '(no date)':<10}  {step.step:<24} {step.label}"
        lines.append(head)
        extra = []
        if step.owners:
            extra.append("by " + ", ".join(step.owners))
        if step.detail:
            extra.append(step.detail)
        if extra:
            lines.append(" " * 38 + "; ".join(extra))
        for digest in step.evidence:
            lines.append(" " * 38 + f"evidence sha256 {digest}")
    lines += ["", "Missing links"]
    if not trace.gaps:
        lines.append("  none")
    for gap in trace.gaps:
        rule = f" [{gap.rule}]" if gap.rule else ""
        lines.append(f"  - {gap.area}: {gap.message}{rule}")
    return "\n".join(lines) + "\n"


# --- the gap matrix --------------------------------------------------------------------------


@dataclass
class GapReport:
    """Per in-scope system, what each gate lacks; plus the assessment's summary."""

    as_of: str
    columns: list[str]
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    clauses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_gaps(self) -> bool:
        """Whether any system lacks anything."""
        return any(row["gaps"] for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"as_of": self.as_of, "summary": self.summary, "columns": self.columns,
                "rows": self.rows, "clauses": self.clauses}


def gap_report(store: Store, *, as_of: date | None = None) -> GapReport:
    """The gap matrix of the assessment: one row per in-scope AI system, a column per gate
    (its status and what fails it), the order violations and the supplier checks."""
    from mapper.rules.assessment import assess  # the rules: heavy, only gaps needs them

    judged = as_of or date.today()
    verdict = assess(store, as_of=judged)
    columns = [*GATES, "order", "supplier"]
    rows = []
    for system in verdict.systems:
        cells: dict[str, list[str]] = {
            g.gate: [f"{f.message} [{f.rule}]" for f in g.findings] for g in system.gates}
        cells["order"] = list(system.order)
        cells["supplier"] = [f"{f.message} [{f.rule}]" for f in system.supplier]
        rows.append({
            "system": system.system, "identifier": system.identifier, "label": system.label,
            "owner": system.owner, "stage": system.stage,
            "passed_all_gates": system.passed_all_gates,
            "status": {g.gate: g.status for g in system.gates},
            "gaps": sum(len(v) for v in cells.values()),
            **cells,
        })
    return GapReport(as_of=judged.isoformat(), columns=columns, rows=rows,
                     summary=verdict.summary, clauses=verdict.clauses)


def clause_table(report: GapReport) -> tuple[list[str], list[list[str]]]:
    """The per-clause view as strings: clause, status, and each rule with its finding count."""
    rows = [[c["clause"], c["status"],
             ", ".join(f"{r['rule']} {r['status']}" + (f" ({r['findings']})" if r["findings"]
                                                       else "") for r in c["rules"])]
            for c in report.clauses]
    return ["clause", "status", "rules"], rows


def gap_table(report: GapReport) -> tuple[list[str], list[list[str]]]:
    """The matrix as short strings: a gate's status with the rules that fail or warn it
    ("fail GATE-03", "pass", "not reached"); 'ok' or the rules for the order and supplier
    columns. The messages are in the JSON rows."""
    columns = ["identifier", "label", "owner", *report.columns]
    rows = [[row["identifier"], row["label"], row["owner"],
             *(_cell(row, c) for c in report.columns)]
            for row in report.rows]
    return columns, rows


def _cell(row: dict[str, Any], column: str) -> str:
    rules = sorted({m.rsplit("[", 1)[1].rstrip("]") for m in row[column] if m.endswith("]")})
    status = row["status"].get(column)
    if status is None:  # order, supplier
        if not row[column]:
            return "ok"
        return "fail " + ", ".join(rules) if rules else f"{len(row[column])} problem(s)"
    return f"{status} {', '.join(rules)}".strip()
