"""Named-query latency: trace-system, systems-missing-gate and raci-matrix on synthetic AIMS
graphs of 1,000 and 10,000 AI systems, embedded pyoxigraph store vs rdflib's in-memory SPARQL on
the same triples (ontology included, as in the store).

Usage: .venv/bin/python bench/queries.py [SYSTEMS ...]   (default: 1000 10000)

Every system gets an intake record, a risk classification (one in five high-risk, with an
impact assessment), a release approval with evidence, a monitoring plan with two reviews; one
in ten an incident and a corrective action; gaps are planted in one in seven. Figures are the
median of several runs (rdflib runs are capped by a time budget and say so).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rdflib import Graph, URIRef

from mapper import resources
from mapper.questions import queries
from mapper.store import open_store

EX = "https://bench.example/"
RDFLIB_BUDGET = 60.0
"""Seconds of rdflib time per query before the remaining runs are skipped."""
RDFLIB_HEAVY = {"systems-missing-gate", "gate-order-violations"}
RDFLIB_HEAVY_MAX = 2000
"""rdflib takes ~40 s per run of the heavy queries at 1,000 systems; above this size they are
skipped on rdflib (the 1,000-system ratio stands for them)."""


def synthetic(systems: int) -> str:
    """A Turtle AIMS with `systems` AI systems, their gate records and ten processes."""
    out = [
        "@prefix aims: <https://aims-graph.org/ns#> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        f"@prefix ex: <{EX}> .",
    ]
    people = max(10, systems // 20)
    for p in range(people):
        out.append(f'ex:p{p} a aims:Person ; rdfs:label "Person {p}" .')
    kinds = ["IntakeAndInventory", "RiskAndImpactAssessment", "DataAndDesignControls",
             "BuildBuyGovernance", "ChangeAndReleaseManagement",
             "MonitoringAndPerformanceReview", "IncidentManagement",
             "CorrectiveActionAndImprovement", "TrainingAndCompetency",
             "RecordsAndDocumentControl"]
    for i, kind in enumerate(kinds):
        out.append(f'ex:proc{i} a aims:Process ; rdfs:label "{kind} process" ; '
                   f"aims:processType aims:{kind} ; aims:accountableOwner ex:p{i} .")
        for j, raci in enumerate(["Accountable", "Responsible", "Consulted", "Informed"]):
            out.append(f"ex:raci{i}-{j} a aims:ResponsibilityAssignment ; "
                       f"aims:forProcess ex:proc{i} ; aims:assignee ex:p{(i + j) % people} ; "
                       f"aims:raci aims:{raci} .")
        if i:
            out.append(f"ex:ix{i} a aims:ProcessInteraction ; aims:fromProcess ex:proc{i - 1} ; "
                       f"aims:toProcess ex:proc{i} .")
    for s in range(systems):
        owner = f"ex:p{s % people}"
        gap = s % 7 == 3
        high = s % 5 == 0
        year = 2024 + s % 2
        sysn = f"ex:sys{s}"
        out.append(f'{sysn} a aims:InternalAISystem ; rdfs:label "System {s}" ; '
                   f'aims:identifier "SYS-{s:05d}" ; aims:purpose "purpose {s}" ; '
                   f"aims:businessOwner {owner} ; aims:inScope true ; "
                   f"aims:lifecycleStage aims:Deployed ; "
                   f'aims:buildStartDate "{year}-03-01"^^xsd:date ; '
                   f'aims:deploymentDate "{year}-06-01"^^xsd:date .')
        if not gap:
            out.append(f"ex:in{s} a aims:IntakeRecord ; aims:concernsSystem {sysn} ; "
                       f'aims:recordDate "{year}-01-10"^^xsd:date ; aims:author {owner} .')
        level = "HighRisk" if high else "LimitedRisk"
        out.append(f"ex:rc{s} a aims:RiskClassification ; aims:concernsSystem {sysn} ; "
                   f'aims:recordDate "{year}-02-01"^^xsd:date ; aims:riskLevel aims:{level} .')
        if high and not gap:
            out.append(f"ex:ia{s} a aims:ImpactAssessment ; aims:concernsSystem {sysn} ; "
                       f'aims:recordDate "{year}-02-15"^^xsd:date .')
        out.append(f"ex:ev{s} a aims:Evidence ; aims:fileHash \"{s:064x}\" .")
        approvers = f"{owner}, ex:committee" if high else owner
        out.append(f"ex:ra{s} a aims:ReleaseApproval ; aims:concernsSystem {sysn} ; "
                   f'aims:recordDate "{year}-05-20"^^xsd:date ; aims:approvedBy {approvers} ; '
                   f"aims:testEvidence ex:ev{s} ; aims:rollbackPlan ex:ev{s} .")
        if not (gap and s % 2):
            out.append(f"ex:mp{s} a aims:MonitoringPlan ; aims:concernsSystem {sysn} ; "
                       f'aims:owner {owner} ; aims:metric "drift" ; aims:cadenceDays 30 ; '
                       f'aims:escalationTrigger "drift > 0.2" ; '
                       f'aims:activeFrom "{year}-05-25"^^xsd:date .')
            for r in (1, 2):
                out.append(f"ex:mr{s}-{r} a aims:MonitoringReview ; aims:reviewOf ex:mp{s} ; "
                           f'aims:recordDate "{year}-0{6 + r}-01"^^xsd:date .')
        if s % 10 == 0:
            out.append(f"ex:inc{s} a aims:Incident ; aims:concernsSystem {sysn} ; "
                       f'aims:recordDate "{year}-09-01"^^xsd:date ; aims:owner {owner} .')
            out.append(f"ex:ca{s} a aims:CorrectiveAction ; aims:trigger ex:inc{s} ; "
                       f"aims:owner {owner} ; aims:status aims:Open ; "
                       f'aims:dueDate "{year}-12-01"^^xsd:date .')
    out.append('ex:committee a aims:GovernanceCommittee ; rdfs:label "Committee" .')
    return "\n".join(out) + "\n"


def median_time(fn: Callable[[], object], runs: int, budget: float | None = None
                ) -> tuple[float, int]:
    """Median seconds of `fn` over up to `runs` runs (fewer when the budget is spent)."""
    times: list[float] = []
    spent = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
        if budget is not None and spent > budget:
            break
    return statistics.median(times), len(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:10.2f} ms"


def bench(systems: int) -> None:
    turtle = synthetic(systems).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "store"))
        start = time.perf_counter()
        store.load(turtle, format="turtle", graph="urn:bench:data")  # type: ignore[attr-defined]
        ox_load = time.perf_counter() - start
        start = time.perf_counter()
        graph = Graph()
        graph.parse(data=turtle, format="turtle")
        for triple in resources.ontology():
            graph.add(triple)
        rd_load = time.perf_counter() - start
        print(f"\n{systems:,} AI systems: {len(graph):,} triples (ontology included); "
              f"load embedded {ox_load:.2f} s, rdflib parse {rd_load:.2f} s")
        print(f"{'query':<24}{'rows':>7}{'embedded':>14}{'rdflib':>14}{'ratio':>9}  runs")
        cases = [
            ("trace-system", {"system": URIRef(f"{EX}sys{systems // 2}")}),
            ("systems-missing-gate", {}),
            ("raci-matrix", {}),
            ("gate-order-violations", {}),
        ]
        for name, params in cases:
            query = queries.get(name)
            bindings = queries.bindings_for(query, params)
            result = queries.run(store, query, params)
            ox_time, ox_runs = median_time(lambda q=query, p=params: queries.run(store, q, p), 7)
            if name in RDFLIB_HEAVY and systems > RDFLIB_HEAVY_MAX:
                print(f"{name:<24}{len(result.rows):>7}{ms(ox_time)}"
                      f"{'(skipped)':>14}{'':>9}  {ox_runs}/0")
                continue
            prepared = query.sparql
            rd_rows = len(graph.query(prepared, initBindings=bindings))
            rd_time, rd_runs = median_time(
                lambda s=prepared, b=bindings: list(graph.query(s, initBindings=b)), 5,
                budget=RDFLIB_BUDGET)
            same = "" if rd_rows == len(result.rows) else f"  (rdflib: {rd_rows} rows!)"
            print(f"{name:<24}{len(result.rows):>7}{ms(ox_time)}{ms(rd_time)}"
                  f"{rd_time / ox_time:>8.1f}x  {ox_runs}/{rd_runs}{same}")
        store.close()


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 10000]
    for systems in sizes:
        bench(systems)


if __name__ == "__main__":
    main(sys.argv[1:])
