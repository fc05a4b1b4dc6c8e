"""The assessment: the one verdict on the AIMS, as of a date, that every face renders.

Computed once per (store revision, as-of date, rule selection) from the findings and cached
until the store changes. It holds the findings, each routed to the person who must act; per
in-scope AI system the status of the four gates, the order in which they were passed and the
supplier checks; per clause and Annex A control the status; the Clause 4.4 scorecard; and the
`summary` counts that `aims validate`, `aims gaps`, the API and the audit pack all print.

The definitions, written once here (and in the README):

- in scope: an AI system with `aims:inScope true`.
- a gate's status for a system: `fail` when a Violation of a rule guarding that gate
  (`aims:gate` in shapes/) concerns the system, `warn` when only Warnings do, otherwise
  `not reached` when the system's stage does not need the gate yet (risk: proposed systems;
  release and post-release: systems not deployed), otherwise `pass`.
- passed all four gates: every gate `pass` or `warn`.
- open finding: a finding of the report (a rule violated as of the date).
- the responsible person of a finding: the first link of the chain in
  queries/responsible-person.rq that names a person.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rdflib import URIRef
from rdflib.term import Node

from mapper.questions import queries
from mapper.questions.queries import text
from mapper.rules import catalogue
from mapper.rules.catalogue import ACTIVITIES, GATES
from mapper.rules.results import Finding, Report, is_system
from mapper.store import Store
from mapper.store.sparql import without_order
from mapper.vocab import AIMS

NO_ONE = "(no one)"
"""The name under which findings without a responsible person are listed."""

PASSED = ("pass", "warn")
"""Gate statuses that count as passed."""

_WORST = {"fail": 3, "warn": 2, "pass": 1, "not reached": 0}
_NOT_REACHED = {"risk": {"proposed"}, "release": None, "post-release": None}
"""Stages for which a gate is not reached yet; None: every stage but deployed."""



# --- routing findings to people ----------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """The person who must act on a finding and the link of the chain that chose them."""

    rank: int
    person: str
    role: str
    via: str

    @property
    def reason(self) -> str:
        """The chain link in words: "business owner of SYS-X", "the person concerned"."""
        if self.rank == 0:
            return self.role
        if self.rank == 5:
            return f"top management ({self.via})"
        return f"{self.role} of {self.via}"


_CHAIN = {
    str(AIMS.Person): (0, "the person concerned"),
    str(AIMS.businessOwner): (1, "business owner"),
    str(AIMS.accountableOwner): (1, "accountable owner"),
    str(AIMS.owner): (1, "owner"),
    str(AIMS.headOf): (1, "head"),
    str(AIMS.author): (2, "author"),
    str(AIMS.concernsSystem): (3, "business owner"),
    str(AIMS.forProcess): (4, "accountable owner"),
    str(AIMS.forUnit): (4, "head"),
    str(AIMS.TopManagement): (5, "top management"),
}
"""The links of the routing chain as queries/responsible-person.rq names them: (rank, role)."""


@dataclass
class _Links:
    routes: dict[str, Route]
    """The best route of each node (by IRI)."""
    systems: dict[str, set[str]]
    """The AI systems (IRIs) each node concerns."""
    top: Route | None


def _links(store: Store, nodes: Iterable[Node], *, few: bool = False) -> _Links:
    """Best route and the AI systems concerned, per node, from queries/responsible-person.rq.

    The query runs once over the whole store and the rows of the wanted nodes are kept: bound
    to the nodes (VALUES), pyoxigraph evaluates the chain's UNION for every binding (100 s at
    10,000 systems); in full it is one pass, unsorted, read as plain text (no rdflib term
    per cell).
    `few` (the findings of one system) binds each node in turn instead: the node substituted
    into the query is a handful of index lookups (about 2 ms), not a pass over the store.
    """
    wanted = {str(n) for n in nodes if isinstance(n, URIRef)}
    query = queries.get("responsible-person")
    found: list[tuple[str | None, ...]]
    if few:
        found = [tuple(None if t is None else str(t) for t in row)
                 for node in sorted(wanted) for row in queries.run(
                     store, query, {"node": node}).rows]
    else:  # the best row is chosen below: the store need not sort them (half the time)
        found = store.select_text(without_order(query.text_for(store.kind)))
    rows: list[tuple[str | None, int, str, str, str]] = []
    systems: dict[str, set[str]] = defaultdict(set)
    for node, link, via, person in found:
        rank, role = _CHAIN.get(link or "", (9, ""))
        if rank != 5 and node not in wanted or via is None:
            continue
        if rank == 3 and node is not None:
            systems[node].add(via)
        if person is not None:
            rows.append((node, rank, role, via, person))
    names = _names(store, {URIRef(n) for _, _, _, via, person in rows for n in (via, person)})
    best: dict[str, Route] = {}
    top: Route | None = None
    for node, rank, role, via, person in rows:
        # a system or process by its identifier; a role by its name
        route = Route(rank, names[URIRef(person)][1], role,
                      names[URIRef(via)][1 if rank == 5 else 0])
        if rank == 5:
            if top is None or (route.person, route.via) < (top.person, top.via):
                top = route
            continue
        assert node is not None
        current = best.get(node)
        if current is None or (rank, route.person, route.via) < (
                current.rank, current.person, current.via):
            best[node] = route
    return _Links(best, systems, top)


def _names(store: Store, nodes: Iterable[Node | None]) -> dict[Node | None, tuple[str, str]]:
    """(identifier else label, label else identifier) of each node (queries/node-labels.rq)."""
    iris = [n for n in nodes if isinstance(n, URIRef)]
    out: dict[Node | None, tuple[str, str]] = {n: (str(n), str(n)) for n in iris}
    for node, identifier, label in queries.run_many(store, "node-labels", iris):
        ident, name = text(identifier), text(label)
        out[node] = (ident or name or str(node), name or ident or str(node))
    return out


def _route_with(links: _Links, report: Report) -> dict[int, Route | None]:
    out: dict[int, Route | None] = {}
    for i, f in enumerate(report.findings):
        route = links.routes.get(str(f.focus_term)) if f.focus_term is not None else None
        value = links.routes.get(str(f.value_term)) if f.value_term is not None else None
        if (route is None or route.rank > 3) and value is not None and value.role == (
                "business owner"):
            # THIRD-01 reports the supplier and names the system it supplies as the value.
            route = Route(3, value.person, value.role, value.via)
        out[i] = route or links.top
    return out


# --- the assessment ----------------------------------------------------------------------


@dataclass
class GateStatus:
    """One gate of one system: its status and the findings that decide it."""

    gate: str
    status: str
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "status": self.status,
                "findings": [{"rule": f.rule, "severity": f.severity, "message": f.message}
                             for f in self.findings]}


@dataclass
class SystemStatus:
    """One in-scope AI system: its gates in order, the order they were passed, its suppliers."""

    system: str
    identifier: str
    label: str
    owner: str
    stage: str
    high_risk: bool
    gates: list[GateStatus]
    order: list[str]
    supplier: list[Finding]

    @property
    def passed_all_gates(self) -> bool:
        return all(g.status in PASSED for g in self.gates)

    def gate(self, name: str) -> GateStatus:
        return next(g for g in self.gates if g.gate == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system, "identifier": self.identifier, "label": self.label,
            "owner": self.owner, "stage": self.stage, "high_risk": self.high_risk,
            "passed_all_gates": self.passed_all_gates,
            "gates": {g.gate: g.to_dict() for g in self.gates},
            "order": self.order,
            "supplier": [{"rule": f.rule, "focus_label": f.focus_label, "message": f.message}
                         for f in self.supplier],
        }


@dataclass
class Assessment:
    """Everything every face shows, computed once: see the module docstring."""

    as_of: date
    report: Report
    routes: dict[int, Route | None]
    systems: list[SystemStatus]
    clauses: list[dict[str, Any]]
    scorecard: list[dict[str, Any]]
    concerning: dict[str, list[int]] = field(default_factory=dict)
    """Per AI system (in scope or not), the findings (indexes) that concern it."""

    def system(self, iri: str) -> SystemStatus | None:
        """The status of an in-scope system; None for one outside the scope."""
        return next((s for s in self.systems if s.system == iri), None)

    def findings_of(self, iri: str) -> list[Finding]:
        """Every finding that concerns the AI system (its own, its records', its suppliers')."""
        return [self.findings[i] for i in self.concerning.get(iri, [])]

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    def person(self, index: int) -> str:
        route = self.routes.get(index)
        return route.person if route else NO_ONE

    def by_person(self) -> dict[str, list[Finding]]:
        """Findings per responsible person, people by name, "(no one)" last."""
        groups: dict[str, list[Finding]] = defaultdict(list)
        for i, f in enumerate(self.findings):
            groups[self.person(i)].append(f)
        return dict(sorted(groups.items(), key=lambda kv: (kv[0] == NO_ONE, kv[0].lower())))

    @property
    def summary(self) -> dict[str, Any]:
        """The counts every face prints, with the same keys and values everywhere."""
        counts = self.report.summary["by_severity"]
        people = Counter(self.person(i) for i in range(len(self.findings)))
        without = people.pop(NO_ONE, 0)
        return {
            "as_of": self.as_of.isoformat(),
            "conforms": self.report.conforms,
            "systems_in_scope": len(self.systems),
            "systems_passing_all_gates": sum(1 for s in self.systems if s.passed_all_gates),
            "violations": counts.get("Violation", 0),
            "warnings": counts.get("Warning", 0),
            "infos": counts.get("Info", 0),
            "findings": len(self.findings),
            "findings_by_person": dict(sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))),
            "findings_without_person": without,
        }

    def finding_dicts(self) -> list[dict[str, Any]]:
        """The findings as JSON, each with its responsible person and why."""
        out = []
        for i, f in enumerate(self.findings):
            route = self.routes.get(i)
            out.append({**f.to_dict(), "owner": route.person if route else None,
                        "owner_reason": route.reason if route else None})
        return out

    def validation_dict(self) -> dict[str, Any]:
        """The JSON of `aims validate`, /v1/validate and the pack's findings.json: the summary,
        the counts by severity, clause and rule, and the findings with their persons."""
        return {"conforms": self.report.conforms, "as_of": self.as_of.isoformat(),
                "summary": self.summary, "counts": self.report.summary,
                "findings": self.finding_dicts()}

    def to_dict(self) -> dict[str, Any]:
        """assessment.json: the summary, systems, clauses, scorecard and routed findings."""
        return {
            "summary": self.summary,
            "systems": [s.to_dict() for s in self.systems],
            "clauses": self.clauses,
            "scorecard": self.scorecard,
            "findings": self.finding_dicts(),
        }


_cache: weakref.WeakKeyDictionary[Store, dict[tuple[Any, ...], Assessment]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()
_KEEP = 64
"""Assessments kept per store and revision (whole ones and one-system ones), oldest dropped."""


def assess(store: Store, *, as_of: date, rules: Sequence[str] | None = None,
           report: Report | None = None, system: str | None = None) -> Assessment:
    """The assessment of the store as of a date (all rules, or the ids given), cached per store
    object until a write through it changes its revision. `report` assesses a selection of
    findings instead (e.g. `aims validate --system`), which is not cached.

    `system` (an AI system's IRI) assesses only what concerns that system: its findings
    (mapper.rules.results.concerned_nodes), their routes and its own status, in milliseconds
    where the whole assessment of a large estate takes seconds; its `systems` hold that one
    system (none when it is out of scope) and its `scorecard` is empty, so its `summary`
    describes the system, not the AIMS. A gate decision and a trace need no more.
    """
    scope = URIRef(system) if system is not None else None
    if report is not None:  # a selection of findings (--system): not the store's assessment
        return _assess(store, report, scope)
    key = (store.revision, as_of, tuple(sorted(rules)) if rules else None, system)
    with _lock:
        cached = _cache.get(store, {}).get(key)
    if cached is not None:
        return cached
    from mapper.rules.validate import validate  # the engines: only a cache miss needs them

    result = _assess(store, validate(store, as_of=as_of, rules=rules, system=system), scope)
    with _lock:
        entries = _cache.setdefault(store, {})
        for old in [k for k in entries if k[0] != store.revision]:
            del entries[old]
        while len(entries) >= _KEEP:
            del entries[next(iter(entries))]
        entries[key] = result
    return result


def _assess(store: Store, report: Report, system: URIRef | None = None) -> Assessment:
    nodes: list[Node] = [t for f in report.findings for t in (f.focus_term, f.value_term)
                         if t is not None]
    links = _links(store, nodes, few=system is not None)
    routes = _route_with(links, report)
    for i, f in enumerate(report.findings):
        route = routes[i]
        f.owner = route.person if route else None
    systems, concerning = _systems(store, report, links, system)
    return Assessment(as_of=report.as_of, report=report, routes=routes, systems=systems,
                      clauses=_clauses(report),
                      scorecard=[] if system is not None else _scorecard(store, report),
                      concerning=concerning)


def _concerned(f: Finding, links: _Links, systems: set[str]) -> set[str]:
    """The AI systems a finding is about: the value when it is one (THIRD-01), else the focus
    when it is one, else the systems the focus concerns."""
    for term in (f.value_term, f.focus_term):
        if term is not None and str(term) in systems:
            return {str(term)}
    if f.focus_term is None:
        return set()
    return links.systems.get(str(f.focus_term), set()) & systems


def _systems(store: Store, report: Report, links: _Links, scope: URIRef | None = None
             ) -> tuple[list[SystemStatus], dict[str, list[int]]]:
    """The in-scope systems' statuses and, per AI system, the findings concerning it; of the
    one system `scope` only when given (the others the findings name are looked up one by
    one, so a supplier's finding about another system it supplies is not counted as its)."""
    rules = {r.id: r for r in catalogue.rules()}
    rows: dict[str, dict[str, Any]] = {}
    every: set[str] = set()
    bound = {"system": scope} if scope is not None else None
    for r in queries.result_dicts(queries.run(store, "ai-systems", bound)):
        every.add(r["system"])
        if r["in_scope"]:
            rows.setdefault(r["system"], r)
    if scope is not None:
        every.add(str(scope))
        terms = {t for f in report.findings for t in (f.value_term, f.focus_term)
                 if isinstance(t, URIRef) and str(t) not in every}
        every |= {str(t) for t in terms if is_system(store, t)}
    gate_findings: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    supplier: dict[str, list[Finding]] = defaultdict(list)
    concerning: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(report.findings):
        rule = rules.get(f.rule)
        for system in sorted(_concerned(f, links, every)):
            if scope is not None and system != str(scope):
                continue
            concerning[system].append(i)
            if rule is None or system not in rows:
                continue
            if rule.gate is not None:
                gate_findings[(system, rule.gate)].append(f)
            elif f.rule.startswith("THIRD-"):
                supplier[system].append(f)
    order: dict[str, list[str]] = defaultdict(list)
    for r in queries.run(store, "gate-order-violations", bound).dicts():
        needed = text(r["needed_date"])
        when = f" (first {text(r['needed'])}: {needed})" if needed else ""
        line = f"{text(r['violation'])}: {text(r['event'])} on {text(r['date'])}{when}"
        if line not in order[str(r["system"])]:
            order[str(r["system"])].append(line)
    out = []
    for iri, row in rows.items():
        stage = (row["stage"] or "").lower()
        gates = []
        for gate in GATES:
            found = gate_findings.get((iri, gate), [])
            if any(f.severity == "Violation" for f in found):
                status = "fail"
            elif found:
                status = "warn"
            elif _not_reached(gate, stage):
                status = "not reached"
            else:
                status = "pass"
            gates.append(GateStatus(gate, status, found))
        out.append(SystemStatus(
            system=iri, identifier=row["identifier"] or "", label=row["label"] or "",
            owner=row["owner_label"] or "", stage=stage, high_risk=bool(row["high_risk"]),
            gates=gates, order=order.get(iri, []), supplier=supplier.get(iri, [])))
    return sorted(out, key=lambda s: (s.identifier or s.system, s.system)), dict(concerning)


def _not_reached(gate: str, stage: str) -> bool:
    stages = _NOT_REACHED.get(gate, set())
    if stages is None:
        return stage != "deployed"
    return stage in stages


def _clauses(report: Report) -> list[dict[str, Any]]:
    """Per ISO clause and Annex A control (catalogue order): its rules and their status.

    A rule's status is `fail` (Violation findings), `warn` (Warning or Info findings) or
    `pass`; a clause takes the worst status of its rules.
    """
    found: Counter[str] = Counter(f.rule for f in report.findings)
    by_clause: dict[str, list[dict[str, Any]]] = {}
    for rule in catalogue.rules():
        status = _rule_status(rule, found[rule.id])
        for clause in rule.clauses:
            by_clause.setdefault(clause, []).append(
                {"rule": rule.id, "severity": rule.severity, "findings": found[rule.id],
                 "status": status})
    return [
        {"clause": clause, "rules": entries,
         "status": max((r["status"] for r in entries), key=_WORST.__getitem__)}
        for clause, entries in sorted(by_clause.items(), key=lambda kv: _clause_order(kv[0]))
    ]


def _rule_status(rule: catalogue.Rule, findings: int) -> str:
    if not findings:
        return "pass"
    return "fail" if rule.severity == "Violation" else "warn"


def _clause_order(notation: str) -> tuple[int, list[int]]:
    numbers = [int(p) for p in notation.removeprefix("A.").split(".") if p.isdigit()]
    return (1 if notation.startswith("A.") else 0, numbers)


def _scorecard(store: Store, report: Report) -> list[dict[str, Any]]:
    """Clause 4.4 in four parts: per activity its rules with their status, and its records."""
    found: Counter[str] = Counter(f.rule for f in report.findings)
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in queries.run(store, "scorecard-records").dicts():
        records[text(r["activity"])].append({"kind": text(r["kind"]),
                                             "records": int(text(r["records"]) or 0)})
    out = []
    for activity in ACTIVITIES:
        entries = [{"rule": rule.id, "severity": rule.severity, "findings": found[rule.id],
                    "status": _rule_status(rule, found[rule.id])}
                   for rule in catalogue.rules() if rule.activity == activity]
        statuses = [str(e["status"]) for e in entries]
        status = max(statuses, key=_WORST.__getitem__, default="pass")
        out.append({"activity": activity, "status": status, "rules": entries,
                    "records": records.get(activity, [])})
    return out


def summary_text(summary: dict[str, Any]) -> str:
    """The summary as the text faces print it (aims validate, aims gaps, aims demo)."""
    people = ", ".join(f"{name} {n}" for name, n in summary["findings_by_person"].items())
    return (
        f"Summary as of {summary['as_of']}: {summary['systems_passing_all_gates']} of "
        f"{summary['systems_in_scope']} in-scope AI systems passed all four gates; "
        f"{summary['violations']} violations, {summary['warnings']} warnings.\n"
        f"Open findings by person: {people or 'none'}; "
        f"{summary['findings_without_person']} with no one responsible.\n"
    )
