"""The rule catalogue: the rules as the shapes of shapes/ declare them (id, clauses, severity).

Every face that names a rule, a clause or a severity reads it from here, never from its own list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rdflib import RDFS, SKOS, BNode, Graph, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from mapper import resources
from mapper.vocab import AIMS

SEVERITIES = ("Violation", "Warning", "Info")

GATES = ("intake", "risk", "release", "post-release")
"""The four lifecycle gates, in order (aims:GateKind; a rule names the one it guards, aims:gate)."""

ACTIVITIES = ("establish", "implement", "maintain", "continually improve")
"""The four activities of Clause 4.4 (aims:ManagementActivity), in order; a rule names its own
(aims:activity), and the Clause 4.4 scorecard groups the rules by them."""

_GATE_NAMES = {AIMS.IntakeGate: "intake", AIMS.RiskGate: "risk", AIMS.ReleaseGate: "release",
               AIMS.PostReleaseGate: "post-release"}

@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue, as declared by its shapes."""

    id: str
    clauses: list[str]
    severity: str
    description: str
    shapes: list[str] = field(default_factory=list, compare=False, repr=False)
    gate: str | None = None
    activity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "clause": self.clauses, "severity": self.severity,
                "description": self.description, "gate": self.gate,
                "activity": self.activity}



# --- the rule catalogue ----------------------------------------------------------------------


def _term(text: str) -> Node:
    return BNode(text[2:]) if text.startswith("_:") else URIRef(text)


def _text(node: Node) -> str:
    return node.n3() if isinstance(node, BNode) else str(node)


def _clause_key(notation: str) -> tuple[Any, ...]:
    parts = notation.split(".")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def clause_notation(concept: Node) -> str:
    """The short notation of a catalogue concept ("8.2", "A.6.2.5").

    >>> from mapper.vocab import ISO
    >>> clause_notation(ISO["clause-8.2"]), clause_notation(ISO["A.6.2.5"])
    ('8.2', 'A.6.2.5')
    """
    notation = resources.ontology().value(concept, SKOS.notation)
    if notation is not None:
        return str(notation)
    local = re.split(r"[#/]", str(concept))[-1]
    return local.removeprefix("clause-")


def _severity(node: Node | None) -> str:
    return str(node).rsplit("#", 1)[-1] if node is not None else "Violation"


def _rule_shape(shapes: Graph, shape: Node) -> Node | None:
    """The node shape carrying aims:ruleId for a shape or one of its property shapes."""
    seen: set[Node] = set()
    current: Node | None = shape
    while current is not None and current not in seen:
        seen.add(current)
        if shapes.value(current, AIMS.ruleId) is not None:
            return current
        current = shapes.value(None, SH.property, current)
    return None


@cache
def _catalogue() -> dict[str, Rule]:
    shapes = resources.shapes()
    found: dict[str, dict[str, Any]] = {}
    for shape, rule_id in shapes.subject_objects(AIMS.ruleId):
        entry = found.setdefault(str(rule_id), {"clauses": set(), "severity": None,
                                                "description": None, "shapes": [],
                                                "gate": None, "activity": None})
        entry["shapes"].append(str(shape))
        entry["clauses"].update(clause_notation(c) for c in shapes.objects(shape, AIMS.clause))
        severity = shapes.value(shape, SH.severity)
        if severity is not None and entry["severity"] is None:
            entry["severity"] = _severity(severity)
        description = shapes.value(shape, SH.description)
        if description is not None:
            entry["description"] = str(description)
        gate = shapes.value(shape, AIMS.gate)
        if isinstance(gate, URIRef):
            entry["gate"] = _GATE_NAMES[gate]
        activity = shapes.value(shape, AIMS.activity)
        if activity is not None:
            entry["activity"] = str(resources.ontology().value(activity, RDFS.label))
    return {
        rule_id: Rule(
            id=rule_id,
            clauses=sorted(entry["clauses"], key=_clause_key),
            severity=entry["severity"] or "Violation",
            description=entry["description"] or "",
            shapes=sorted(entry["shapes"]),
            gate=entry["gate"],
            activity=entry["activity"],
        )
        for rule_id, entry in sorted(found.items(), key=lambda kv: _rule_key(kv[0]))
    }


_FAMILY_ORDER = ["SCOPE", "INV", "PROC", "GOV", "SOA", "GATE", "THIRD", "IMP", "MAINT", "DATE",
                 "LINK"]


def _rule_key(rule_id: str) -> tuple[int, str]:
    family = rule_id.split("-")[0]
    rank = _FAMILY_ORDER.index(family) if family in _FAMILY_ORDER else len(_FAMILY_ORDER)
    return rank, rule_id


def rules() -> list[Rule]:
    """The rule catalogue read from the shapes themselves (id, clauses, severity, description).

    >>> [r.id for r in rules()][:3]
    ['SCOPE-01', 'SCOPE-02', 'SCOPE-03']
    >>> next(r for r in rules() if r.id == "GATE-03").clauses
    ['6.1.2', '8.2']
    """
    return list(_catalogue().values())


