"""/sparql starvation: a third client's `ASK {}` latency while one key sends two heavy queries.

Run: .venv/bin/python bench/sparql_starvation.py [SAMPLES]   (default 20 ASK samples a phase)

Starts `aims serve` (2 SPARQL workers, time limit 6 s) on a free loopback port over an embedded
store of 3,000 triples, then, in each phase, one reader key ("greedy") sends two cartesian
queries that each run until the time limit, and another key ("polite") sends `ASK {}`
`SAMPLES` times, one after another, while they run. Prints the status of the greedy key's two
queries and the polite client's latencies (p50, p95, max; target: under 200 ms).

Phases: the default share (`AIMS_SPARQL_PER_KEY=1`: the second heavy query is refused with 429
at once, a worker stays free), and for comparison a share of 2 (both heavy queries hold both
workers, as before the limit: the polite client waits until the time limit frees one).
Every loop is bounded, and each server is stopped at the end of its phase.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rdflib import Literal, URIRef  # noqa: E402

from mapper.apikeys import KeyRing  # noqa: E402
from mapper.store import open_store  # noqa: E402
from tests.fixtures.api import auth, free_port  # noqa: E402

HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
TIMEOUT = 6.0


def _serve(folder: Path, store: Path, per_key: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, AIMS_API_KEYS=str(folder / "apikeys.json"),
               AIMS_SPARQL_PER_KEY=str(per_key), AIMS_SPARQL_WORKERS="2",
               AIMS_SPARQL_TIMEOUT=str(TIMEOUT))
    env.pop("AIMS_STORE", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("aims")), "serve", "--store", str(store), "--port",
         str(port), "--log-level", "error"], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def _phase(url: str, keys: dict[str, str], samples: int) -> tuple[list[int], list[float]]:
    statuses: list[int] = []

    def heavy() -> None:
        response = httpx.get(f"{url}/sparql", params={"query": HEAVY},
                             headers=auth(keys["greedy"]), timeout=TIMEOUT + 30)
        statuses.append(response.status_code)

    # warm both workers (spawn + snapshot), so the figure is the steady state
    with httpx.Client(timeout=60) as client:
        for who in ("polite", "greedy"):
            client.get(f"{url}/sparql", params={"query": "ASK {}"}, headers=auth(keys[who]))
    threads = [threading.Thread(target=heavy) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    time.sleep(0.5)
    latencies: list[float] = []
    with httpx.Client(timeout=TIMEOUT + 30) as client:
        deadline = time.monotonic() + TIMEOUT - 1.5  # sample only while the heavy ones run
        for _ in range(samples):
            if time.monotonic() > deadline and latencies:
                break
            started = time.perf_counter()
            response = client.get(f"{url}/sparql", params={"query": "ASK {}"},
                                  headers=auth(keys["polite"]))
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                print(f"  polite ASK answered {response.status_code}: {response.text[:120]}")
    for thread in threads:
        thread.join(TIMEOUT + 60)
    return sorted(statuses), latencies


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory(prefix="aims-starve-") as tmp:
        folder = Path(tmp)
        store_path = folder / "store"
        store = open_store(str(store_path))
        store.add_quads([(URIRef(f"urn:bench:s{i}"), URIRef("urn:bench:p"), Literal(i),
                          "urn:bench:g") for i in range(3000)])
        store.close()
        ring = KeyRing(folder / "apikeys.json")
        keys = {who: ring.create(name=who, role="reader") for who in ("greedy", "polite")}
        for per_key in (1, 2):
            process, url = _serve(folder, store_path, per_key)
            try:
                statuses, latencies = _phase(url, keys, samples)
            finally:
                process.terminate()
                process.wait(30)
            p95 = sorted(latencies)[max(0, round(0.95 * len(latencies)) - 1)]
            print(f"AIMS_SPARQL_PER_KEY={per_key}: greedy key's two heavy queries -> {statuses}; "
                  f"polite ASK {{}} x{len(latencies)}: p50 {statistics.median(latencies):.1f} ms, "
                  f"p95 {p95:.1f} ms, max {max(latencies):.1f} ms")


if __name__ == "__main__":
    main()
