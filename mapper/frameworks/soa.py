"""The Statement of Applicability: one line per Annex A control, as of a date.

The columns (decision, justification, decided by, implementation, reasons, latest evidence)
are read from the graph by the named queries `soa` and `soa-links`; the status of each line is
the worst finding of the SOA rules (shapes/soa.shapes.ttl) in the assessment that concerns the
control or its current decision, so `aims soa`, the audit pack and `aims validate` can never
disagree. Statuses: `fail` (a Violation), `warn` (only Warnings), `pass`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from mapper.errors import InputError
from mapper.questions import queries
from mapper.questions.queries import text
from mapper.rules.assessment import Assessment, assess
from mapper.rules.results import Finding
from mapper.store import Store

COLUMNS = ["control", "title", "decision", "justification", "decided", "decided_by",
           "implemented_by", "applicable_because", "evidence_records", "latest_evidence",
           "latest_evidence_date", "status", "findings"]
"""The columns of the SoA table (text, CSV, XLSX); JSON has the same keys per line."""

_DECISION = {"true": "applicable", "1": "applicable", "false": "excluded", "0": "excluded"}


@dataclass
class SoaLine:
    """One Annex A control in the Statement of Applicability."""

    control: str  # IRI
    notation: str
    title: str
    decision: str  # applicable | excluded | undecided
    decision_iri: str | None = None
    identifier: str = ""
    justification: str = ""
    decided: str = ""
    decided_by: str = ""
    owner: str = ""
    cadence_days: int = 365
    implemented_by: list[str] = field(default_factory=list)
    applicable_because: list[str] = field(default_factory=list)
    evidence_records: int = 0
    latest_evidence: str = ""
    latest_evidence_date: str = ""
    status: str = "pass"
    findings: list[Finding] = field(default_factory=list)

    def row(self) -> list[Any]:
        return [self.notation, self.title, self.decision, self.justification, self.decided,
                self.decided_by, "; ".join(self.implemented_by),
                "; ".join(self.applicable_because), self.evidence_records, self.latest_evidence,
                self.latest_evidence_date, self.status,
                "; ".join(f"{f.rule}: {f.message}" for f in self.findings)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.notation, "control_iri": self.control, "title": self.title,
            "decision": self.decision, "decision_iri": self.decision_iri,
            "identifier": self.identifier, "justification": self.justification,
            "decided": self.decided, "decided_by": self.decided_by, "owner": self.owner,
            "evidence_cadence_days": self.cadence_days,
            "implemented_by": self.implemented_by,
            "applicable_because": self.applicable_because,
            "evidence_records": self.evidence_records,
            "latest_evidence": self.latest_evidence,
            "latest_evidence_date": self.latest_evidence_date or None,
            "status": self.status,
            "findings": [{"rule": f.rule, "severity": f.severity, "message": f.message,
                          "owner": f.owner} for f in self.findings],
        }


@dataclass
class Soa:
    """The Statement of Applicability as of a date, with its counts."""

    as_of: date
    lines: list[SoaLine]

    @property
    def counts(self) -> dict[str, int]:
        out = {"controls": len(self.lines), "applicable": 0, "excluded": 0, "undecided": 0,
               "pass": 0, "warn": 0, "fail": 0}
        for line in self.lines:
            out[line.decision] += 1
            out[line.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "counts": self.counts,
                "controls": [line.to_dict() for line in self.lines]}

    def rows(self) -> list[list[Any]]:
        return [line.row() for line in self.lines]


def _notation_key(notation: str) -> list[int]:
    return [int(p) for p in notation.removeprefix("A.").split(".") if p.isdigit()]


def build(store: Store, *, as_of: date, assessment: Assessment | None = None) -> Soa:
    """The SoA as of the date; statuses from the (cached) assessment of the same date."""
    assessment = assessment or assess(store, as_of=as_of)
    lines: dict[str, SoaLine] = {}
    for r in queries.result_dicts(queries.run(store, "soa", {"as_of": as_of})):
        control = r["control"]
        if control in lines:  # two decisions on the same latest date: keep the first
            continue
        applicable = _DECISION.get(str(r["applicable"]).lower(), "undecided") if (
            r["decision"]) else "undecided"
        cadence = r["cadence"]
        lines[control] = SoaLine(
            control=control, notation=r["notation"] or "", title=r["title"] or "",
            decision=applicable, decision_iri=r["decision"], identifier=r["identifier"] or "",
            justification=(r["justification"] or "").strip(),
            decided=str(r["decided"] or ""), decided_by=r["decided_by_label"] or "",
            owner=r["owner_label"] or "",
            cadence_days=int(cadence) if cadence not in (None, "") else 365)
    evidence: dict[str, tuple[str, str]] = {}
    seen: set[tuple[str, str, str]] = set()
    for r in queries.run(store, "soa-links").dicts():
        control, relation, node = str(r["control"]), text(r["relation"]), str(r["node"])
        line = lines.get(control)
        if line is None or (relation, node, control) in seen:
            continue
        decision = r["decision"]
        if decision is not None and str(decision) != line.decision_iri:
            continue  # a link of a superseded (or future) decision
        seen.add((relation, node, control))
        label = text(r["node_label"]) or node
        if relation == "applicableBecause":
            line.applicable_because.append(label)
            continue
        if relation == "addressesClause":  # a record naming the control: evidence
            line.evidence_records += 1
        elif label not in line.implemented_by:
            line.implemented_by.append(label)
        when = text(r["date"])
        if when and when <= as_of.isoformat() and (
                control not in evidence or when > evidence[control][0]):
            evidence[control] = (when, label)
    for control, (when, label) in evidence.items():
        lines[control].latest_evidence_date, lines[control].latest_evidence = when, label
    by_node: dict[str, SoaLine] = {}
    for line in lines.values():
        line.implemented_by.sort()
        by_node[line.control] = line
        if line.decision_iri:
            by_node[line.decision_iri] = line
    organisation_wide: list[Finding] = []
    for f in assessment.findings:
        if not f.rule.startswith("SOA-"):
            continue
        line = by_node.get(f.focus)
        if line is not None:
            line.findings.append(f)
        else:  # SOA-01 on the organisation: no SoA at all
            organisation_wide.append(f)
    for line in lines.values():
        line.findings.extend(organisation_wide)
        if any(f.severity == "Violation" for f in line.findings):
            line.status = "fail"
        elif line.findings:
            line.status = "warn"
    ordered = sorted(lines.values(), key=lambda x: _notation_key(x.notation))
    return Soa(as_of=as_of, lines=ordered)


def to_xlsx(soa: Soa, out: Path) -> Path:
    """The SoA as a one-sheet workbook with the as-of date in its title row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Statement of Applicability"
    sheet.append([f"Statement of Applicability (ISO/IEC 42001 6.1.3 d) as of {soa.as_of}"])
    sheet["A1"].font = Font(bold=True)
    sheet.append(COLUMNS)
    for row in soa.rows():
        sheet.append(["" if v is None else str(v) for v in row])
    sheet.freeze_panes = "A3"
    try:
        book.save(out)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from None
    return out
