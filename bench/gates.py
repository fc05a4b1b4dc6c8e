"""Gate-decision benchmark: what a pipeline waits for when it asks "may SYSTEM pass GATE?".

For synthetic organisations (bench/validate.py), decisions for random systems and gates are
timed server side, with the findings stored (`aims validate --store-findings`, as a server
keeps them; --no-stored without), as the first question after a write asks them (no
assessment cached: each decision assesses its one system, assess(system=...)), both the core
call (mapper.runs.gates.decide) and the whole HTTP route in process (FastAPI TestClient, with
key check and JSON), then the same question asked again (cached). Beside them, the obvious
alternative: the whole estate's assessment, which a decision needed before. Prints p50 / p95
per size. Targets: p50 < 20 ms at 10,000 systems and < 50 ms at 100,000.

    .venv/bin/python bench/gates.py                 # 1,000 and 10,000 systems, in memory
    .venv/bin/python bench/gates.py 10000 --disk    # on an on-disk store, as a server runs
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GATES = ("intake", "risk", "release", "post-release")


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_validate", ROOT / "bench" / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(n: int, calls: int = 200, *, disk: bool = False, stored: bool = True) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from mapper.apikeys import KeyRing
    from mapper.questions.trace import inventory
    from mapper.rules import assessment
    from mapper.rules import stored as findings
    from mapper.runs.gates import decide
    from mapper.store import open_store

    gen = _generator()
    text, _ = gen.synthetic_org(n)
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(str(Path(folder) / "store") if disk else "memory")
        store.load(text.encode(), format="turtle", graph="urn:bench:synthetic")  # type: ignore[attr-defined]
        if stored:
            findings.refresh(store, as_of=gen.AS_OF)
        t0 = time.perf_counter()
        assessment.assess(store, as_of=gen.AS_OF)
        whole_s = time.perf_counter() - t0
        ids = [r["identifier"] for r in inventory(store) if r["in_scope"]]
        rng = random.Random(7)
        asks = [(rng.choice(ids), rng.choice(GATES)) for _ in range(calls)]
        cold: list[float] = []
        warm: list[float] = []
        denies = 0
        for system, gate in asks:
            assessment._cache.clear()  # as after a write: nothing assessed yet
            t0 = time.perf_counter()
            d = decide(store, system, gate, as_of=gen.AS_OF)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            decide(store, system, gate, as_of=gen.AS_OF)
            warm.append(time.perf_counter() - t0)
            denies += not d.allowed
        keys = Path(folder) / "apikeys.json"
        key = KeyRing(keys).create(name="bench", role="reader")
        app = create_app(Settings(store="memory", keys_file=keys), store=store)  # type: ignore[arg-type]
        http: list[float] = []
        with TestClient(app) as client:
            for system, gate in asks:
                assessment._cache.clear()
                t0 = time.perf_counter()
                r = client.get(f"/v1/systems/{system}/gates/{gate}",
                               params={"as_of": gen.AS_OF.isoformat()},
                               headers={"Authorization": f"Bearer {key}"})
                http.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
        store.close()
    where = (f"{'disk' if disk else 'memory'}, "
             f"{'stored findings' if stored else 'no stored findings'}")
    print(f"{n:>7,} systems ({where})  {calls} decisions ({denies} deny)"
          f"\n  after a write (nothing cached): core p50 {_pct(cold, .5):.1f} ms p95 "
          f"{_pct(cold, .95):.1f} ms; HTTP route p50 {_pct(http, .5):.1f} ms p95 "
          f"{_pct(http, .95):.1f} ms (mean {statistics.mean(http) * 1000:.1f})"
          f"\n  asked again (cached): core p50 {_pct(warm, .5):.2f} ms"
          f"\n  the obvious alternative, the whole estate's assessment: {whole_s * 1000:,.0f} ms"
          f" ({whole_s / statistics.median(cold):,.0f}x the one-system p50)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--disk", action="store_true", help="an on-disk store (as a server "
                        "runs) instead of an in-memory one")
    parser.add_argument("--no-stored", action="store_true", help="without stored findings "
                        "(each decision runs the rules on the system's nodes)")
    parser.add_argument("--calls", type=int, default=200, help="decisions per size")
    args = parser.parse_args()
    for n in args.sizes:
        measure(n, args.calls, disk=args.disk, stored=not args.no_stored)


if __name__ == "__main__":
    main()
