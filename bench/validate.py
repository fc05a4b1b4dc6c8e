"""Validation benchmark: synthetic organisations of 1,000 and 10,000 AI systems.

Prints load time, validation time and peak memory (resident set, getrusage) for a full run
and a `--system` run, for the pyshacl reference engine and the compiled SPARQL engine, plus
whether every planted defect was found. Each (size, engine) runs in a fresh subprocess so peak
memory is its own.

    .venv/bin/python bench/validate.py              # 1,000 and 10,000 systems
    .venv/bin/python bench/validate.py 1000 5000    # chosen sizes
    .venv/bin/python bench/validate.py --engine pyshacl --timeout 300

`synthetic_org(n)` is reusable (e.g. by the compiled-engine benchmark and differential tests):
it returns Turtle text and the planted (rule, focus IRI) rows it guarantees.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EX = "https://synthetic.example/aims/"
AS_OF = date(2026, 6, 30)

PREFIXES = f"""@prefix aims: <https://aims-graph.org/ns#> .
@prefix ex:   <{EX}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
"""

MINIMUM = ["IntakeAndInventory", "RiskAndImpactAssessment", "DataAndDesignControls",
           "BuildBuyGovernance", "ChangeAndReleaseManagement", "MonitoringAndPerformanceReview",
           "IncidentManagement", "CorrectiveActionAndImprovement", "TrainingAndCompetency",
           "RecordsAndDocumentControl"]
HANDOFFS = [(0, 1), (1, 3), (3, 4), (4, 5), (5, 7), (7, 1), (6, 7), (2, 4), (8, 9), (9, 8),
            (5, 6), (1, 2)]

# Planted defects: system index modulo 50 -> the rule it must break (on the system unless noted).
PLANTS = {1: "GATE-02", 2: "GATE-03", 3: "GATE-05", 4: "GATE-07", 5: "GATE-01", 6: "IMP-04",
          7: "GATE-08", 8: "THIRD-02", 9: "GATE-04"}


def _d(day: date) -> str:
    return f'"{day.isoformat()}"^^xsd:date'


def _org(lines: list[str], people: int) -> None:
    add = lines.append
    add('ex:org a aims:Organisation ; rdfs:label "Synthetic Holdings" .')
    add('ex:scope a aims:ScopeStatement ; rdfs:label "AIMS scope" ; aims:scopeOf ex:org ; '
        f'aims:approvedBy ex:person-0 ; aims:approvalDate {_d(date(2025, 1, 10))} .')
    add('ex:role-top a aims:Role ; rdfs:label "CEO" ; aims:roleKind aims:TopManagement .')
    add('ex:role-owner a aims:Role ; rdfs:label "Process owner" ; '
        'aims:roleKind aims:ProcessAccountability .')
    add('ex:role-approver a aims:Role ; rdfs:label "Approver" ; '
        "aims:roleKind aims:ApprovalAuthority .")
    for i in range(people):
        role = "ex:role-top" if i == 0 else ("ex:role-approver" if i % 7 == 0 else "ex:role-owner")
        add(f'ex:person-{i} a aims:Person ; rdfs:label "Person {i}" ; aims:holdsRole {role} .')
        roles = [role] if i else [role, "ex:role-approver"]
        for r in roles:
            if r == "ex:role-top":
                continue
            add(f"ex:training-{i}-{r[8:]} a aims:TrainingRecord ; aims:trainee ex:person-{i} ; "
                f"aims:forRole {r} ; aims:completionDate {_d(date(2026, 1, 5))} ; "
                f"aims:expiryDate {_d(date(2027, 1, 5))} .")
    add("ex:person-0 aims:holdsRole ex:role-approver .")
    for k, kind in enumerate(MINIMUM):
        add(f'ex:process-{k} a aims:Process ; rdfs:label "{kind} process" ; '
            f"aims:processType aims:{kind} ; aims:accountableOwner ex:person-{k + 1} ; "
            f"aims:inputRecord ex:rt-{k} ; aims:outputRecord ex:rt-{(k + 1) % 10} ; "
            f"aims:retainsRecord ex:rt-{(k + 1) % 10} .")
        add(f'ex:rt-{k} a aims:RecordType ; rdfs:label "record type {k}" .')
    for a, b in HANDOFFS:
        add(f"ex:handoff-{a}-{b} a aims:ProcessInteraction ; aims:fromProcess ex:process-{a} ; "
            f"aims:toProcess ex:process-{b} ; aims:handsOver ex:rt-{(a + 1) % 10} .")
    for g, kind in enumerate(["IntakeGate", "RiskGate", "ReleaseGate", "PostReleaseGate"]):
        add(f'ex:gate-{g} a aims:Gate ; rdfs:label "{kind}" ; aims:gateKind aims:{kind} ; '
            "aims:approverRole ex:role-approver ; aims:escalatesTo ex:committee .")
    add('ex:committee a aims:GovernanceCommittee ; rdfs:label "AI committee" ; '
        "aims:charter ex:charter ; aims:decisionLog ex:log .")
    add('ex:charter a aims:Policy ; rdfs:label "Committee charter" ; aims:version "1.0" ; '
        f"aims:owner ex:person-0 ; aims:approvedBy ex:person-0 ; "
        f"aims:approvalDate {_d(date(2025, 1, 5))} ; aims:nextReviewDate {_d(date(2027, 1, 5))} .")
    add('ex:log a aims:DecisionLog ; rdfs:label "Decision log" .')
    add(f'ex:mr a aims:ManagementReview ; rdfs:label "Management review 2026" ; '
        f"aims:recordDate {_d(date(2026, 3, 1))} ; aims:minutes ex:mr-minutes ; "
        "aims:attendee ex:person-0, ex:person-1 ; aims:reviewInput aims:IncidentsInput, "
        "aims:MonitoringInput, aims:AuditsInput, aims:ExceptionsInput, "
        "aims:CorrectiveActionsInput .")
    add('ex:programme a aims:AuditProgramme ; rdfs:label "Audit programme" ; aims:cycleMonths 12 .')
    add(f"ex:audit a aims:InternalAudit ; aims:underProgramme ex:programme ; "
        f"aims:recordDate {_d(date(2026, 2, 1))} .")


def synthetic_org(n: int, *, seed: int = 42) -> tuple[str, set[tuple[str, str]]]:
    """Turtle for an organisation with n AI systems (~30 triples each) and its planted defects.

    Every system index i with i % 50 in PLANTS breaks exactly that rule; the second value is
    the set of (rule, focus IRI) those plants must produce (other findings may exist too).

    >>> text, planted = synthetic_org(100)
    >>> ("GATE-02", "https://synthetic.example/aims/sys-1") in planted, len(planted)
    (True, 18)
    """
    rng = random.Random(seed)
    people = max(20, n // 10)
    suppliers = max(5, n // 20)
    lines: list[str] = [PREFIXES]
    _org(lines, people)
    add = lines.append
    for s in range(suppliers):
        add(f'ex:supplier-{s} a aims:ThirdParty ; rdfs:label "Supplier {s}" .')
        add(f"ex:dd-{s} a aims:DueDiligence ; aims:assessesParty ex:supplier-{s} ; "
            "aims:coversArea aims:SecurityArea, aims:PrivacyArea, aims:ReliabilityArea, "
            f"aims:SubcontractorArea ; aims:completionDate {_d(date(2023, 6, 1))} .")
    planted: set[tuple[str, str]] = set()
    for i in range(n):
        plant = PLANTS.get(i % 50)
        sys_iri = f"ex:sys-{i}"
        third = plant in ("THIRD-02",) or (plant is None and rng.random() < 0.3)
        stage = rng.choices(["Proposed", "InDevelopment", "Piloting", "Deployed", "Retired"],
                            [10, 15, 10, 60, 5])[0]
        if plant:
            stage = "Deployed"
        in_scope = plant is not None or rng.random() > 0.03
        high = plant == "GATE-04" or (plant is None and rng.random() < 0.1)
        owner = f"ex:person-{rng.randrange(1, people)}"
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 400))
        live = start + timedelta(days=rng.randrange(60, 200))
        kind = "ThirdPartyAISystem" if third else "InternalAISystem"
        props = [f"a aims:{kind}", f'rdfs:label "System {i}"', f'aims:identifier "SYS-{i:05d}"',
                 f"aims:businessOwner {owner}", f"aims:inScope {'true' if in_scope else 'false'}",
                 f"aims:lifecycleStage aims:{stage}"]
        if plant != "GATE-01":
            props.append(f'aims:purpose "Purpose of system {i}"')
        props.append(f"aims:{'procurementDate' if third else 'buildStartDate'} {_d(start)}")
        if stage == "Deployed":
            props.append(f"aims:deploymentDate {_d(live)}")
        supplier = f"ex:supplier-{rng.randrange(suppliers)}"
        if third:
            props.append(f"aims:supplier {supplier}")
            if plant != "THIRD-02":
                props.append(f"aims:contract ex:contract-{i}")
                add(f"ex:contract-{i} a aims:Contract ; aims:counterparty {supplier} ; "
                    f"aims:recordDate {_d(start)} .")
        add(f"{sys_iri} " + " ;\n    ".join(props) + " .")
        if not in_scope:
            add(f"ex:exclusion-{i} a aims:ScopeExclusion ; aims:excludes {sys_iri} ; "
                'aims:justification "Research sandbox only, no production data." .')
        if plant != "GATE-02":
            add(f"ex:intake-{i} a aims:IntakeRecord ; aims:concernsSystem {sys_iri} ; "
                f"aims:author {owner} ; aims:recordDate {_d(start - timedelta(days=30))} .")
        if stage != "Proposed":
            rc_day = start + timedelta(days=5) if plant == "GATE-03" else start - timedelta(days=10)
            level = "HighRisk" if high else rng.choice(["LimitedRisk", "MinimalRisk"])
            add(f"ex:rc-{i} a aims:RiskClassification ; aims:concernsSystem {sys_iri} ; "
                f"aims:riskLevel aims:{level} ; aims:author {owner} ; "
                f"aims:recordDate {_d(rc_day)} .")
            if high and plant != "GATE-04":
                add(f"ex:ia-{i} a aims:ImpactAssessment ; aims:concernsSystem {sys_iri} ; "
                    f"aims:recordDate {_d(start - timedelta(days=5))} .")
        if stage == "Deployed":
            approvers = "ex:person-7, ex:committee" if high else "ex:person-7"
            rollback = "" if plant == "GATE-05" else f"aims:rollbackPlan ex:rollback-{i} ; "
            ra_day = live - timedelta(days=3)
            if plant == "GATE-03":  # approval after the (late) classification, still valid
                ra_day = max(ra_day, start + timedelta(days=6))
            add(f"ex:ra-{i} a aims:ReleaseApproval ; aims:concernsSystem {sys_iri} ; "
                f"aims:testEvidence ex:tests-{i} ; {rollback}aims:approvedBy {approvers} ; "
                f"aims:recordDate {_d(ra_day)} .")
            active = live + timedelta(days=1) if plant == "GATE-07" else live
            add(f"ex:plan-{i} a aims:MonitoringPlan ; aims:concernsSystem {sys_iri} ; "
                f'aims:owner {owner} ; aims:metric "accuracy" ; aims:cadenceDays 90 ; '
                f'aims:escalationTrigger "accuracy < 0.9" ; aims:activeFrom {_d(active)} .')
            review = AS_OF - timedelta(days=120 if plant == "GATE-08" else rng.randrange(1, 80))
            add(f"ex:review-{i} a aims:MonitoringReview ; aims:reviewOf ex:plan-{i} ; "
                f"aims:recordDate {_d(review)} .")
            if plant == "IMP-04" or (plant is None and rng.random() < 0.05):
                late = plant == "IMP-04"
                due = AS_OF - timedelta(days=10) if late else AS_OF + timedelta(days=30)
                add(f"ex:incident-{i} a aims:Incident ; aims:concernsSystem {sys_iri} ; "
                    f"aims:severity aims:MediumSeverity ; aims:owner {owner} ; "
                    f"aims:containmentDate {_d(AS_OF - timedelta(days=40))} .")
                add(f"ex:ca-{i} a aims:CorrectiveAction ; aims:trigger ex:incident-{i} ; "
                    f'aims:rootCause "Data drift" ; aims:owner {owner} ; aims:status aims:Open ; '
                    f"aims:dueDate {_d(due)} .")
        if plant:
            focus = {"IMP-04": f"{EX}ca-{i}", "GATE-08": f"{EX}plan-{i}"}.get(plant, f"{EX}sys-{i}")
            planted.add((plant, focus))
    return "\n".join(lines) + "\n", planted


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, engine: str = "pyshacl") -> dict[str, object]:
    """Generate, load and validate one size in this process with one engine; the figures."""
    from mapper.rules.validate import validate
    from mapper.store import open_store

    text, planted = synthetic_org(n)
    store = open_store("memory")
    t0 = time.perf_counter()
    store.load(text.encode(), format="turtle", graph="urn:bench:synthetic")  # type: ignore[attr-defined]
    load_s = time.perf_counter() - t0
    triples = sum(1 for _ in store.quads("urn:bench:synthetic"))
    t0, c0 = time.perf_counter(), time.process_time()
    one = validate(store, as_of=AS_OF, system="SYS-00003", engine=engine)
    system_s, system_cpu = time.perf_counter() - t0, time.process_time() - c0
    system_mb = _peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    full = validate(store, as_of=AS_OF, engine=engine)
    full_s, full_cpu = time.perf_counter() - t0, time.process_time() - c0
    found = {(f.rule, f.focus) for f in full.findings}
    return {
        "engine": engine, "systems": n, "triples": triples, "load_s": load_s, "system_s": system_s,
        "system_cpu_s": system_cpu, "system_findings": len(one.findings),
        "system_peak_mb": system_mb, "full_s": full_s, "full_cpu_s": full_cpu,
        "full_findings": len(full.findings), "full_peak_mb": _peak_mb(),
        "planted": len(planted), "planted_found": len(planted & found),
        "rules": dict(sorted(full.summary["by_rule"].items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--timeout", type=float, default=600, help="seconds per size")
    parser.add_argument("--engine", action="append", choices=["pyshacl", "sparql"],
                        help="engine(s) to measure (default: both)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = args.engine or ["pyshacl", "sparql"]
    if args.one:
        print(json.dumps(measure(args.one, engines[0])))
        return
    header = (f"{'engine':>8} {'systems':>8} {'triples':>9} {'load s':>7} {'system s (cpu)':>15} "
              f"{'full s (cpu)':>15} {'peak MB':>8} {'findings':>9} {'planted found':>14}")
    print("Validation as of", AS_OF, "- wall seconds, CPU seconds in brackets (the machine may be "
          "shared); pyshacl = reference engine over an rdflib copy, sparql = compiled engine")
    print(header)
    for n, engine in [(n, e) for n in args.sizes for e in engines]:
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(n), "--engine", engine], check=True,
                capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{engine:>8} {n:>8} did not finish within {args.timeout:.0f} s", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        system = f"{r['system_s']:.2f} ({r['system_cpu_s']:.2f})"
        full = f"{r['full_s']:.2f} ({r['full_cpu_s']:.2f})"
        print(f"{engine:>8} {r['systems']:>8} {r['triples']:>9} {r['load_s']:>7.2f} {system:>15} "
              f"{full:>15} {r['full_peak_mb']:>8.0f} {r['full_findings']:>9} "
              f"{r['planted_found']:>6}/{r['planted']:<7}", flush=True)
        print(f"{'':>17} findings by rule: {r['rules']}")


if __name__ == "__main__":
    main()
