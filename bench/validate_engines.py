"""Validation engines side by side: pyshacl (reference) vs the shapes compiled to SPARQL.

For synthetic organisations (bench/validate.py's generator, planted defects) of 1,000, 10,000
and 100,000 AI systems, prints per engine: load time, full validation time, peak memory, and
the time to re-validate after one AI system changes (compiled engine: incremental, from the
stored findings; pyshacl: its `--system` run, the obvious alternative). Each (size, engine) runs
in a fresh subprocess so peak memory (max RSS) is its own.

    .venv/bin/python bench/validate_engines.py                  # 1,000 10,000 100,000
    .venv/bin/python bench/validate_engines.py 1000 10000
    .venv/bin/python bench/validate_engines.py --pyshacl-limit 600   # seconds

pyshacl is skipped at a size when its time at the previous size, scaled linearly, would exceed
the limit (default 600 s = 10 min), or killed at the limit; the table says which.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 6, 30)
EX = "https://synthetic.example/aims/"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_validate", ROOT / "bench" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Any) -> tuple[float, float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def measure_sparql(n: int, *, check: bool) -> dict[str, Any]:
    from rdflib import Literal, URIRef

    from mapper.rules import compile as compiled
    from mapper.rules import stored as findings
    from mapper.rules.validate import validate
    from mapper.store import open_store
    from mapper.vocab import AIMS

    text, planted = _generator().synthetic_org(n)
    store = open_store("memory")
    data = text.encode()
    load_s, _, _ = _timed(lambda: store.load(data, format="turtle", graph="urn:bench:synthetic"))
    full_s, full_cpu, report = _timed(lambda: validate(store, as_of=AS_OF, engine="sparql"))
    found = {(f.rule, f.focus) for f in report.findings}
    store_s, _, _ = _timed(lambda: findings.refresh(store, as_of=AS_OF))
    system_s, _, _ = _timed(lambda: validate(store, as_of=AS_OF, engine="sparql",
                                             system="SYS-00003"))
    # One AI system changes: its purpose is deleted (a change on the system node itself) ...
    sys3 = URIRef(EX + "sys-3")
    purpose = (sys3, AIMS.purpose, Literal("Purpose of system 3"))

    def remove() -> Any:
        pending = findings.before_change(store, removed=[purpose])
        store.update("DELETE DATA { GRAPH <urn:bench:synthetic> { "
                     + " ".join(t.n3() for t in purpose) + " } }")
        return findings.apply_change(store, pending=pending, removed=[purpose])

    remove_s, _, delta1 = _timed(remove)
    # ... and a record about it is ingested (a rollback plan for its release approval), which
    # changes a finding on the system through a link from another node.
    added = [(URIRef(EX + "ra-3"), AIMS.rollbackPlan, URIRef(EX + "rollback-3")),
             (URIRef(EX + "new-intake-3"), AIMS.concernsSystem, sys3)]

    def ingest() -> Any:
        store.add_quads([(s, p, o, "urn:bench:change") for s, p, o in added])
        return findings.apply_change(store, added=added)

    ingest_s, _, delta2 = _timed(ingest)
    verdict = {(f.rule, f.focus) for f in delta2.report(store).findings}
    correct: bool | None = None
    if check:
        stored = Counter((k, r.focus, r.value) for k, r in findings.stored_results(store))
        fresh = Counter((c.key, r.focus, r.value) for c in compiled.checks()
                        for r in compiled.run_check(store, c, AS_OF))
        correct = stored == fresh
    return {
        "engine": "sparql", "systems": n, "triples": sum(1 for _ in store.quads()),
        "load_s": load_s, "full_s": full_s, "full_cpu_s": full_cpu, "peak_mb": _peak_mb(),
        "findings": len(report.findings), "planted": len(planted),
        "planted_found": len(planted & found), "store_findings_s": store_s,
        "system_run_s": system_s, "change_remove_s": remove_s, "change_ingest_s": ingest_s,
        "revalidated": sum(len(v) for v in delta1.focus.values())
        + sum(len(v) for v in delta2.focus.values()),
        "rerun_full": len(set(delta1.rerun_full) | set(delta2.rerun_full)),
        "gate05_cleared": ("GATE-05", EX + "sys-3") not in verdict,
        "incremental_equals_full": correct,
    }


def measure_pyshacl(n: int) -> dict[str, Any]:
    from mapper.rules.pyshacl_engine import _pyshacl_results, validation_graph
    from mapper.rules.results import build_report
    from mapper.rules.validate import validate
    from mapper.store import open_store

    text, planted = _generator().synthetic_org(n)
    store = open_store("memory")
    data = text.encode()
    store_s, _, _ = _timed(lambda: store.load(data, format="turtle", graph="urn:bench:synthetic"))
    copy_s, _, graph = _timed(lambda: validation_graph(store, AS_OF))

    def run() -> Any:
        raw = _pyshacl_results(graph, use_shapes=None, focus_nodes=None)
        return build_report(raw, graph, as_of=AS_OF)

    full_s, full_cpu, report = _timed(run)
    found = {(f.rule, f.focus) for f in report.findings}
    system_s, _, _ = _timed(lambda: validate(store, as_of=AS_OF, engine="pyshacl",
                                             system="SYS-00003"))
    return {
        "engine": "pyshacl", "systems": n, "triples": sum(1 for _ in store.quads()),
        "load_s": store_s + copy_s, "full_s": full_s, "full_cpu_s": full_cpu,
        "peak_mb": _peak_mb(), "findings": len(report.findings), "planted": len(planted),
        "planted_found": len(planted & found), "system_run_s": system_s,
    }


def _row(r: dict[str, Any]) -> str:
    change = (f"{max(r['change_remove_s'], r['change_ingest_s']):.3f} incr."
              if r["engine"] == "sparql" else f"{r['system_run_s']:.2f} --system")
    return (f"{r['engine']:>8} {r['systems']:>8} {r['triples']:>9} {r['load_s']:>8.2f} "
            f"{r['full_s']:>9.2f} {r['load_s'] + r['full_s']:>9.2f} {r['peak_mb']:>8.0f} "
            f"{change:>16} {r['findings']:>9} {r['planted_found']:>6}/{r['planted']:<6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 100000])
    parser.add_argument("--pyshacl-limit", type=float, default=600.0,
                        help="seconds pyshacl may take at one size (default 600)")
    parser.add_argument("--sparql-limit", type=float, default=1800.0)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        engine, n = args.one[0], int(args.one[1])
        result = measure_sparql(n, check=n <= 10000) if engine == "sparql" \
            else measure_pyshacl(n)
        print(json.dumps(result))
        return
    print(f"Validation as of {AS_OF}: wall seconds; load = into the engine's graph (pyshacl: "
          "oxigraph + copy into rdflib); one-system change = re-validation after one AI system "
          "changes (sparql: incremental from stored findings, worst of a deletion and an ingest; "
          "pyshacl: its --system run)")
    print(f"{'engine':>8} {'systems':>8} {'triples':>9} {'load s':>8} {'full s':>9} "
          f"{'end2end':>9} {'peak MB':>8} {'one change s':>16} {'findings':>9} {'planted':>13}")
    previous: dict[str, tuple[int, float]] = {}
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for n in args.sizes:
        for engine in ("sparql", "pyshacl"):
            limit = args.pyshacl_limit if engine == "pyshacl" else args.sparql_limit
            if engine in previous:
                size, seconds = previous[engine]
                estimate = seconds * n / size
                if estimate > limit:
                    print(f"{engine:>8} {n:>8} skipped: {seconds:.0f} s at {size:,} systems "
                          f"scales to ~{estimate:.0f} s > {limit:.0f} s limit", flush=True)
                    continue
            try:
                done = subprocess.run([sys.executable, __file__, "--one", engine, str(n)],
                                      check=True, capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired:
                print(f"{engine:>8} {n:>8} did not finish within {limit:.0f} s", flush=True)
                previous[engine] = (n, limit)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            results[(engine, n)] = r
            previous[engine] = (n, r["load_s"] + r["full_s"])
            print(_row(r), flush=True)
            if engine == "sparql":
                print(f"{'':>17} stored findings {r['store_findings_s']:.2f} s; compiled "
                      f"--system run {r['system_run_s']:.3f} s; one-system change: deletion "
                      f"{r['change_remove_s']:.3f} s, ingest {r['change_ingest_s']:.3f} s "
                      f"({r['revalidated']} focus re-validated, {r['rerun_full']} checks re-run "
                      f"in full; verdict cleared GATE-05: {r['gate05_cleared']}; incremental = "
                      f"full: {r['incremental_equals_full']})", flush=True)
        both = results.get(("sparql", n)), results.get(("pyshacl", n))
        if both[0] and both[1]:
            fast, ref = both[0], both[1]
            ratio = (ref["load_s"] + ref["full_s"]) / (fast["load_s"] + fast["full_s"])
            same = ref["findings"] == fast["findings"]
            print(f"{'':>17} at {n:,}: compiled is {ratio:.1f}x faster end to end "
                  f"(validation alone {ref['full_s'] / fast['full_s']:.1f}x); same finding "
                  f"count: {same}", flush=True)


if __name__ == "__main__":
    main()
