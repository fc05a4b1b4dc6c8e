"""Validation: the rules of shapes/ run over the store's data, by either engine.

The compiled engine (mapper.rules.compile, the default) runs the shapes as SPARQL inside the
store; pySHACL (mapper.rules.pyshacl_engine) is the reference. Both give the same Report. When
findings are stored (mapper.rules.stored) the answer comes from them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from rdflib.term import Node

from mapper.rules import compile as compiled
from mapper.rules import pyshacl_engine
from mapper.rules import stored as findings
from mapper.rules.results import RawResult, Report
from mapper.store import Store

_log = logging.getLogger(__name__)


def validate(
    store: Store,
    *,
    as_of: date,
    rules: Sequence[str] | None = None,
    system: str | None = None,
    engine: str = "auto",
) -> Report:
    """Run the rules (all, or the ids given) on the store, as of a date; never raises on gaps.

    `engine`: "sparql" (the shapes compiled to SPARQL and run inside the store,
    mapper.rules.compile), "pyshacl" (the reference engine) or "auto" (= sparql); the Report is the
    same either way. With "auto"/"sparql", when findings are stored (mapper.rules.stored:
    `aims validate --store-findings`, then kept current by every committed change) the answer
    comes from them (only the date-dependent checks are re-run for another as-of date); stored
    findings found behind the data (an interrupted write) are recomputed first.

    `system` (an aims:identifier or IRI) validates only the nodes that concern that AI system.
    Unknown rule ids or systems raise NotFound.

    >>> from mapper.store import open_store
    >>> report = validate(open_store("memory"), as_of=date(2026, 6, 30), rules=["PROC-01"])
    >>> report.conforms, len(report.findings), report.findings[0].rule
    (False, 10, 'PROC-01')
    """
    if engine not in ("auto", "sparql", "pyshacl"):
        raise ValueError(f"unknown validation engine {engine!r}: auto, sparql or pyshacl")
    if engine != "pyshacl":
        behind = findings.stale(store)
        if behind is not None:  # stored, but behind the data or the shapes: bring them up
            _log.warning("stored findings were not current (a write was interrupted, or the "
                         "shapes changed): recomputing them")
            findings.refresh(store, as_of=behind)
        stored = findings.current(store, as_of=as_of, rules=rules, system=system)
        if stored is not None:
            return stored
        return compiled.validate(store, as_of=as_of, rules=rules, system=system)
    return pyshacl_engine.validate(store, as_of=as_of, rules=rules, system=system)



def verdict_on_change(store: Store, deltas: Sequence[Any], *, as_of: date) -> Report:
    """The findings of everything a sequence of writes re-validated (mapper.rules.stored.Delta, in
    the order the writes happened), as of a date: the verdict on an ingest without a full run.

    A later write's re-validation replaces an earlier one's for the same check and focus node.
    Checks that read the as-of date are re-run on the re-validated nodes when `as_of` differs
    from the date the findings are stored for.
    """
    full: set[str] = set()
    focus: dict[str, set[Node]] = {}
    results: list[tuple[str, RawResult]] = []
    for delta in deltas:
        again = set(delta.rerun_full)
        results = [(k, r) for k, r in results
                   if k not in again and r.focus not in delta.focus.get(k, ())]
        results += delta.results
        full |= again
        for key, nodes in delta.focus.items():
            focus.setdefault(key, set()).update(nodes)
    stored_day = deltas[-1].as_of if deltas else as_of
    if as_of != stored_day:
        for check in compiled.checks():
            if not check.uses_as_of or (check.key not in full and check.key not in focus):
                continue
            results = [(k, r) for k, r in results if k != check.key]
            nodes = None if check.key in full else sorted(focus[check.key], key=str)
            results += [(check.key, r) for r in compiled.run_check(store, check, as_of, nodes)]
    return compiled.to_report(store, [r for _, r in results], as_of=as_of)
