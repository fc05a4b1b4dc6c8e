"""The verdict on a write: the findings a batch (an ingest, a record write) leaves behind.

A tool that pushes records wants the answer for what it pushed, not the whole estate's:

- when the findings are stored (`aims validate --store-findings`), the commit already
  re-validated what it could affect (mapper.rules.stored.Delta): scope `incremental`;
- otherwise, when the batches touch at most MAX_SYSTEM_RUNS AI systems (the systems written
  or the systems their records concern), the rules run on each of them: scope `systems`;
- otherwise every rule runs and the findings on the written nodes are kept: scope `nodes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from mapper.errors import NotFound
from mapper.ingest import BatchResult
from mapper.rules import validate as validation
from mapper.rules.results import Finding, Report, find_system
from mapper.store import Store
from mapper.vocab import AIMS

MAX_SYSTEM_RUNS = 5
"""Systems touched up to which the verdict runs the rules per system, not on the whole store."""


def incremental(results: Sequence[BatchResult]) -> bool:
    """Whether every batch that changed something carries its re-validation (stored findings):
    the verdict is then read from those, without running the rules."""
    deltas = [r for r in results if r.delta is not None]
    return bool(deltas) and len(deltas) == sum(1 for r in results if r.status != "unchanged")


def touched(store: Store, results: Sequence[BatchResult]) -> tuple[set[str], list[str]]:
    """IRIs the batches wrote about, and the AI systems among them or their records' systems
    (at most MAX_SYSTEM_RUNS + 1: one more says there are too many)."""
    nodes: set[str] = set()
    candidates: set[str] = set()
    for result in results:
        for s, p, o, _ in store.quads(result.graph):
            nodes.add(str(s))
            candidates.add(str(s))
            if p == AIMS.concernsSystem:
                candidates.add(str(o))
    systems = []
    for candidate in sorted(candidates):
        try:
            systems.append(str(find_system(store, candidate)))
        except NotFound:
            continue
        if len(systems) > MAX_SYSTEM_RUNS:
            break
    return nodes, systems


def verdict(store: Store, results: Sequence[BatchResult], *, as_of: date) -> dict[str, Any]:
    """The report of the findings the batches leave, with its `scope` and the `systems` run."""
    if incremental(results):
        deltas = [r.delta for r in results if r.delta is not None]
        report = validation.verdict_on_change(store, deltas, as_of=as_of)
        return {**report.to_dict(), "scope": "incremental", "systems": []}
    nodes, systems = touched(store, results)
    if systems and len(systems) <= MAX_SYSTEM_RUNS:
        scope = "systems"
        findings: dict[tuple[Any, ...], Finding] = {}
        for system in systems:
            for f in validation.validate(store, as_of=as_of, system=system).findings:
                findings.setdefault((f.rule, f.focus, f.path, f.value, f.message), f)
        report = Report(as_of=as_of, findings=list(findings.values()))
    else:
        scope, systems = "nodes", []
        full = validation.validate(store, as_of=as_of)
        report = Report(as_of=as_of, findings=[f for f in full.findings if f.focus in nodes])
    return {**report.to_dict(), "scope": scope, "systems": systems}
