"""Gate-decision benchmark: what a pipeline waits for when it asks "may SYSTEM pass GATE?".

For synthetic organisations (bench/validate.py) on an in-memory store: the assessment is built
once (the first question after a write pays for it; `aims validate --store-findings` keeps it
cheap), then 500 decisions for random systems and gates are timed server side, both the core
call (mapper.runs.gates.decide) and the whole HTTP route in process (FastAPI TestClient, with
key check and JSON). Prints p50 / p95 per size. Targets: p50 < 20 ms at 10,000 systems.

    .venv/bin/python bench/gates.py            # 1,000 and 10,000 systems
    .venv/bin/python bench/gates.py 2000
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


def measure(n: int, calls: int = 500) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from mapper.apikeys import KeyRing
    from mapper.rules.assessment import assess
    from mapper.runs.gates import decide
    from mapper.store import open_store

    gen = _generator()
    text, _ = gen.synthetic_org(n)
    store = open_store("memory")
    store.load(text.encode(), format="turtle", graph="urn:bench:synthetic")  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    verdict = assess(store, as_of=gen.AS_OF)
    first_s = time.perf_counter() - t0
    ids = [s.identifier for s in verdict.systems]
    rng = random.Random(7)
    asks = [(rng.choice(ids), rng.choice(GATES)) for _ in range(calls)]
    core: list[float] = []
    denies = 0
    for system, gate in asks:
        t0 = time.perf_counter()
        d = decide(store, system, gate, as_of=gen.AS_OF)
        core.append(time.perf_counter() - t0)
        denies += not d.allowed
    with tempfile.TemporaryDirectory() as folder:
        keys = Path(folder) / "apikeys.json"
        key = KeyRing(keys).create(name="bench", role="reader")
        app = create_app(Settings(store="memory", keys_file=keys), store=store)  # type: ignore[arg-type]
        http: list[float] = []
        with TestClient(app) as client:
            for system, gate in asks:
                t0 = time.perf_counter()
                r = client.get(f"/v1/systems/{system}/gates/{gate}",
                               params={"as_of": gen.AS_OF.isoformat()},
                               headers={"Authorization": f"Bearer {key}"})
                http.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
    print(f"{n:>7,} systems  first assessment {first_s:6.2f} s  {calls} decisions "
          f"({denies} deny): core p50 {_pct(core, .5):.2f} ms p95 {_pct(core, .95):.2f} ms; "
          f"HTTP route p50 {_pct(http, .5):.2f} ms p95 {_pct(http, .95):.2f} ms "
          f"(mean {statistics.mean(http) * 1000:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    for n in parser.parse_args().sizes:
        measure(n)


if __name__ == "__main__":
    main()
