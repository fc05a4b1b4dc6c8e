"""Assessment benchmark: what the one verdict every face renders costs on top of validation.

For synthetic organisations (bench/validate.py) of 1,000 and 10,000 AI systems on an in-memory
store: the compiled engine's full validation, then the assessment built from those findings
(routing every finding to a person, the four gates per system, clauses, scorecard), then a
second `assess` call (the cache), side by side with the obvious alternative the faces used
before, each face running its own queries (systems-missing-gate, gate-order-violations,
third-parties-without-due-diligence) on top of its own validation.

    .venv/bin/python bench/assessment.py            # 1,000 and 10,000 systems
    .venv/bin/python bench/assessment.py 2000
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_validate", ROOT / "bench" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(n: int) -> None:
    from mapper.questions import queries
    from mapper.rules.assessment import _assess, assess
    from mapper.rules.validate import validate
    from mapper.store import open_store

    gen = _generator()
    text, _ = gen.synthetic_org(n)
    store = open_store("memory")
    store.load(text.encode(), format="turtle", graph="urn:bench:synthetic")  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    report = validate(store, as_of=gen.AS_OF)
    validate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    verdict = _assess(store, report)
    assess_s = time.perf_counter() - t0
    assess(store, as_of=gen.AS_OF)  # fills the cache
    t0 = time.perf_counter()
    assess(store, as_of=gen.AS_OF)
    cached_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for name in ("systems-missing-gate", "gate-order-violations",
                 "third-parties-without-due-diligence"):
        queries.run(store, name)
    old_queries_s = time.perf_counter() - t0
    s = verdict.summary
    faces = 4  # validate, gaps, report, API: each validated on its own before
    print(f"{n:>8} {validate_s:>10.2f} {assess_s:>9.2f} {cached_s * 1000:>9.2f} "
          f"{old_queries_s:>11.2f} {faces * validate_s + 2 * old_queries_s:>13.2f} "
          f"{validate_s + assess_s:>11.2f}   {s['systems_passing_all_gates']}/"
          f"{s['systems_in_scope']} passed, {s['findings']} findings, "
          f"{s['findings_without_person']} without a person", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    args = parser.parse_args()
    print("seconds (cache in ms); 'before' = four faces each validating, two of them also "
          "running the gap queries; 'now' = one validation + one assessment for all faces")
    print(f"{'systems':>8} {'validate':>10} {'assess':>9} {'cache ms':>9} {'gap queries':>11} "
          f"{'before (4x)':>13} {'now (once)':>11}")
    for n in args.sizes:
        measure(n)


if __name__ == "__main__":
    main()
