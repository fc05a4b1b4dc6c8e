"""Trace one AI system end to end, and the gap matrix of all in-scope systems.

Both are built from the named queries only (trace-system, systems-missing-gate,
gate-order-violations, third-parties-without-due-diligence, improvement-loop,
expired-exceptions, overdue-corrective-actions, ai-systems), so `aims trace`, `aims gaps`,
`aims query` and the API give the same answers. A missing link is stated, never left out.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from rdflib import URIRef

from mapper.errors import InputError, NotFound
from mapper.questions import queries
from mapper.questions.queries import plain, text
from mapper.store import Store

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

    NotFound (with the closest names) when nothing matches; InputError when several do.
    """
    rows = systems if systems is not None else inventory(store)
    wanted = key.strip()
    lowered = wanted.lower()
    for test in (
        lambda r: r["system"] == wanted,
        lambda r: (r["identifier"] or "").lower() == lowered,
        lambda r: (r["label"] or "").lower() == lowered,
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
    names = ", ".join(f"{h['identifier'] or h['system']} ({h['label']})" for h in hits[:8])
    return f"{key!r} matches {len(hits)} AI systems: {names}; give the identifier"


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
    return trace


def _gaps_of(store: Store, trace: Trace, system: URIRef, judged: date) -> list[Gap]:
    gaps: list[Gap] = []
    if not trace.in_scope:
        gaps.append(Gap("scope", "not in the AIMS scope: the gates are not required (SCOPE-03 "
                                 "asks for a justified exclusion)"))
    for r in queries.run(store, "systems-missing-gate", {"system": system}).dicts():
        gaps.append(Gap(text(r["gate"]), text(r["missing"]), text(r["rule"])))
    for r in queries.run(store, "gate-order-violations", {"system": system}).dicts():
        needed = text(r["needed_date"])
        when = f" (first {text(r['needed'])}: {needed})" if needed else ""
        gaps.append(Gap("order", f"{text(r['violation'])}: {text(r['event'])} on "
                                 f"{text(r['date'])}{when}"))
    for r in queries.run(store, "third-parties-without-due-diligence").dicts():
        if r["system"] == system:
            gaps.append(Gap("supplier", f"{text(r['supplier_label']) or text(r['supplier'])}: "
                                        f"{text(r['reason'])}", "THIRD-01"))
    for r in queries.run(store, "improvement-loop").dicts():
        if r["system"] == system and plain(r["broken"]):
            gaps.append(Gap("improvement", f"{text(r['trigger_type'])} "
                                           f"'{text(r['trigger_label'])}': {text(r['state'])}"))
    for r in queries.run(store, "expired-exceptions", {"as_of": judged}).dicts():
        if r["system"] == system:
            gaps.append(Gap("exception", f"exception '{text(r['label'])}' still active after "
                                         f"its expiry on {text(r['expiry'])}", "IMP-05"))
    return gaps


def render_text(trace: Trace) -> str:
    """The trace as plain text: header, timeline, then the missing links."""
    lines = [
        f"{trace.identifier or trace.system}  {trace.label}",
        f"  {trace.kind or 'AI system'}, {'in scope' if trace.in_scope else 'NOT in scope'}, "
        f"stage: {trace.stage or 'not stated'}, business owner: {trace.owner or 'none'}"
        f"{', HIGH-RISK' if trace.high_risk else ''}",
        f"  judged as of {trace.as_of}",
        "",
        "Timeline",
    ]
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
    """Per in-scope system, what each gate lacks; plus the summary figures."""

    as_of: str
    columns: list[str]
    rows: list[dict[str, Any]]
    systems: int
    passed_all_gates: int
    owners: list[dict[str, Any]]
    clauses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_gaps(self) -> bool:
        """Whether any system lacks anything."""
        return any(row["gaps"] for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        share = self.passed_all_gates / self.systems if self.systems else None
        return {"as_of": self.as_of, "systems": self.systems,
                "passed_all_gates": self.passed_all_gates, "share_passed": share,
                "rows": self.rows, "owners_with_most_open_findings": self.owners,
                "clauses": self.clauses}


def gap_report(store: Store, *, as_of: date | None = None) -> GapReport:
    """The gap matrix: one row per in-scope AI system, one column per gate and check."""
    judged = as_of or date.today()
    systems = [r for r in inventory(store) if r["in_scope"]]
    by_system: dict[str, dict[str, list[str]]] = {r["system"]: {} for r in systems}

    def add(system: Any, column: str, message: str) -> None:
        cells = by_system.get(str(system))
        if cells is not None and message not in cells.setdefault(column, []):
            cells[column].append(message)

    for r in queries.run(store, "systems-missing-gate").dicts():
        add(r["system"], text(r["gate"]), f"{text(r['missing'])} [{text(r['rule'])}]")
    for r in queries.run(store, "gate-order-violations").dicts():
        add(r["system"], "order", text(r["violation"]))
    for r in queries.run(store, "third-parties-without-due-diligence").dicts():
        add(r["system"], "supplier", text(r["reason"]))
    columns = [*GATES, "order", "supplier"]
    rows = []
    passed = 0
    owner_counts: Counter[str] = Counter()
    for system in systems:
        cells = by_system[system["system"]]
        if not any(cells.get(g) for g in GATES):
            passed += 1
        count = sum(len(v) for v in cells.values())
        if count:
            owner_counts[system["owner_label"] or "(no owner)"] += count
        rows.append({
            "system": system["system"], "identifier": system["identifier"] or "",
            "label": system["label"] or "", "owner": system["owner_label"] or "",
            "gaps": count,
            **{c: cells.get(c, []) for c in columns},
        })
    for r in queries.run(store, "overdue-corrective-actions", {"as_of": judged}).dicts():
        owner_counts[text(r["owner_label"]) or text(r["owner"]) or "(no owner)"] += 1
    for r in queries.run(store, "expired-exceptions", {"as_of": judged}).dicts():
        owner_counts[text(r["owner_label"]) or text(r["approver_label"]) or "(no owner)"] += 1
    owners = [{"owner": name, "open_findings": n}
              for name, n in sorted(owner_counts.items(), key=lambda kv: (-kv[1], kv[0]))][:10]
    return GapReport(as_of=judged.isoformat(), columns=columns, rows=rows,
                     systems=len(systems), passed_all_gates=passed, owners=owners,
                     clauses=clause_status(store, as_of=judged))


def clause_status(store: Store, *, as_of: date) -> list[dict[str, Any]]:
    """Per ISO clause and Annex A control: the rules that serve it and their status.

    A rule's status is `fail` (Violation findings), `warn` (Warning findings) or `pass`; a
    clause takes the worst status of its rules. Clauses are in catalogue order.
    """
    from mapper.rules import catalogue, validate  # the rule engines: only gaps needs them

    report = validate.validate(store, as_of=as_of)
    found: Counter[str] = Counter(f.rule for f in report.findings)
    by_clause: dict[str, list[dict[str, Any]]] = {}
    for rule in catalogue.rules():
        status = "pass"
        if found[rule.id]:
            status = "fail" if rule.severity == "Violation" else "warn"
        for clause in rule.clauses:
            by_clause.setdefault(clause, []).append(
                {"rule": rule.id, "severity": rule.severity, "findings": found[rule.id],
                 "status": status})
    worst = {"fail": 2, "warn": 1, "pass": 0}
    return [
        {"clause": clause, "rules": rules,
         "status": max((r["status"] for r in rules), key=worst.__getitem__)}
        for clause, rules in sorted(by_clause.items(), key=lambda kv: _clause_order(kv[0]))
    ]


def _clause_order(notation: str) -> tuple[int, list[int]]:
    numbers = [int(p) for p in notation.removeprefix("A.").split(".") if p.isdigit()]
    return (1 if notation.startswith("A.") else 0, numbers)


def clause_table(report: GapReport) -> tuple[list[str], list[list[str]]]:
    """The per-clause view as strings: clause, status, and each rule with its finding count."""
    rows = [[c["clause"], c["status"],
             ", ".join(f"{r['rule']} {r['status']}" + (f" ({r['findings']})" if r["findings"]
                                                       else "") for r in c["rules"])]
            for c in report.clauses]
    return ["clause", "status", "rules"], rows


def gap_table(report: GapReport) -> tuple[list[str], list[list[str]]]:
    """The matrix as strings: 'ok' or the missing items joined with '; '."""
    columns = ["identifier", "label", "owner", *report.columns]
    rows = [[row["identifier"], row["label"], row["owner"],
             *("; ".join(row[c]) if row[c] else "ok" for c in report.columns)]
            for row in report.rows]
    return columns, rows
