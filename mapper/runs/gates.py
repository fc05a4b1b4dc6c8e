"""Gate decisions: may this AI system pass this gate now?

A decision is read off the assessment (`assess(store, as_of=...)`), never recomputed:

- `allow` when the gate's status is `pass` or `warn` (warnings are listed under `warnings`
  but do not block);
- `deny` when it is `fail`: `missing` lists every Violation deciding the gate, each with the
  rule, its message and the record to add;
- `deny` when it is `not reached`: the system's lifecycle stage has not yet arrived at the gate
  (e.g. release for a system that is not deployed), so the assessment has not checked it. A
  pipeline asking about such a gate is about to move the system there; allowing it would let a
  deployment through on the strength of checks that were never run. `missing` then names the
  records the gate needs (the rules guarding it) and `reason` says why.
- a system outside the scope (or unknown) is an error (NotFound / InputError), not a decision.

The record to add is derived from the rule's own shapes (shapes/*.ttl): the property the
finding's path names when it is a plain property of the focus, otherwise the first AIMS record class
the rule's shapes look for (sh:class, or a class its constraint query requires).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from rdflib import BNode, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from mapper import resources
from mapper.errors import InputError
from mapper.questions import trace
from mapper.rules import catalogue
from mapper.rules.assessment import PASSED, assess
from mapper.rules.catalogue import GATES
from mapper.rules.results import Finding
from mapper.store import Store
from mapper.vocab import AIMS

_CLASS_IN_QUERY = re.compile(r"aims:([A-Z][A-Za-z]+)")
_NOT_RECORDS = {"AISystem", "ThirdPartyAISystem", "InternalAISystem", "Person"}


@dataclass
class Missing:
    """One thing a gate needs and the system lacks."""

    rule: str
    message: str
    record_to_add: str
    severity: str = "Violation"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message,
                "record_to_add": self.record_to_add, "severity": self.severity}


@dataclass
class Decision:
    """The answer to "may SYSTEM pass GATE as of AS_OF?"."""

    system: str
    identifier: str
    label: str
    gate: str
    as_of: date
    status: str
    decision: str
    reason: str
    missing: list[Missing] = field(default_factory=list)
    warnings: list[Missing] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "system": self.system,
                "identifier": self.identifier, "label": self.label, "gate": self.gate,
                "as_of": self.as_of.isoformat(), "status": self.status, "reason": self.reason,
                "missing": [m.to_dict() for m in self.missing],
                "warnings": [w.to_dict() for w in self.warnings]}

    def to_text(self) -> str:
        head = (f"{self.decision.upper()}: {self.identifier or self.system} at the {self.gate} "
                f"gate as of {self.as_of.isoformat()} (status {self.status})")
        lines = [head, f"  {self.reason}"]
        for m in self.missing:
            lines.append(f"  missing [{m.rule}] {m.message}")
            lines.append(f"    add: {m.record_to_add}")
        for w in self.warnings:
            lines.append(f"  warning [{w.rule}] {w.message}")
        return "\n".join(lines) + "\n"


def check_gate(name: str) -> str:
    """The gate name, or InputError naming the four."""
    wanted = name.strip().lower()
    if wanted not in GATES:
        raise InputError(f"unknown gate {name!r}: use one of {', '.join(GATES)}")
    return wanted


def decide(store: Store, system: str, gate: str, *, as_of: date) -> Decision:
    """The gate decision for one in-scope system (identifier, IRI or unique label)."""
    gate = check_gate(gate)
    row = trace.find_system(store, system)
    status = assess(store, as_of=as_of, system=row["system"]).system(row["system"])
    if status is None:
        raise InputError(f"AI system {row['identifier'] or row['system']} is not in scope "
                         "(aims:inScope true): gates apply to in-scope systems only; "
                         "bring it into scope or record its exclusion")
    found = status.gate(gate)
    missing = [_missing(f) for f in found.findings if f.severity == "Violation"]
    warnings = [_missing(f) for f in found.findings if f.severity != "Violation"]
    if found.status in PASSED:
        decision = "allow"
        reason = ("every rule guarding the gate is met" if found.status == "pass" else
                  "no Violation; warnings do not block")
    elif found.status == "fail":
        decision = "deny"
        reason = f"{len(missing)} Violation(s) of rules guarding the {gate} gate"
    else:
        decision = "deny"
        reason = (f"not reached: the system's stage ({status.stage or 'unknown'}) has not "
                  f"arrived at the {gate} gate, so its rules were not checked; record the "
                  "stage change and the records below, then ask again")
        missing = [Missing(r.id, r.description, _record_of(r.id), r.severity)
                   for r in catalogue.rules() if r.gate == gate and r.severity == "Violation"]
    return Decision(system=status.system, identifier=status.identifier,
                    label=status.label, gate=gate, as_of=as_of, status=found.status,
                    decision=decision, reason=reason, missing=missing, warnings=warnings)


def _missing(f: Finding) -> Missing:
    path = f.path or ""
    if path and not path.startswith(("[", "(", "_:")) and f.path_term is not None \
            and isinstance(f.path_term, URIRef):
        add = f"{_curie(path)} on {f.focus_label or f.focus}"
    else:
        add = _record_of(f.rule)
    return Missing(f.rule, f.message, add, f.severity)


def _curie(iri: str) -> str:
    base = str(AIMS)
    return "aims:" + iri[len(base):] if iri.startswith(base) else iri


@cache
def _record_of(rule_id: str) -> str:
    """The AIMS record classes a rule's shapes look for, e.g. 'aims:ImpactAssessment'."""
    shapes = resources.shapes()
    rule = next((r for r in catalogue.rules() if r.id == rule_id), None)
    found: list[str] = []
    for shape in rule.shapes if rule else []:
        for cls in _classes(shapes, URIRef(shape) if not shape.startswith("_:")
                            else BNode(shape[2:]), set()):
            if cls not in found and cls not in _NOT_RECORDS:
                found.append(cls)
    if not found:
        return "a record meeting the rule (see `aims rules`)"
    return f"aims:{found[0]} concerning the system"


def _classes(shapes: Any, node: Node, seen: set[Node]) -> list[str]:
    """Classes named by sh:class below a shape and in its constraint queries (not targets)."""
    if node in seen:
        return []
    seen.add(node)
    out: list[str] = []
    for cls in shapes.objects(node, SH["class"]):
        if str(cls).startswith(str(AIMS)):
            out.append(str(cls)[len(str(AIMS)):])
    for constraint in shapes.objects(node, SH.sparql):
        for select in shapes.objects(constraint, SH.select):
            out.extend(_CLASS_IN_QUERY.findall(str(select)))
    for pred in (SH.property, SH.qualifiedValueShape, SH.node):
        for child in shapes.objects(node, pred):
            out.extend(_classes(shapes, child, seen))
    return out
