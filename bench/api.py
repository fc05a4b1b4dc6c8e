"""API figures: latency of the main operations, and load on trace / a named query / SPARQL.

Run: .venv/bin/python bench/api.py [SYSTEMS] [SECONDS] [MIXED_SECONDS] [CLIENTS] [--store-findings]
     (default 10000 AI systems, 8 s a phase, then 60 s of the mixed load with 50 clients;
     --store-findings stores the findings first, as `aims validate --store-findings` does, so
     that a write re-validates only what it touched and one-system answers read them)

Builds a synthetic AIMS graph (bench/store.py's generator, ~25 triples per system) in an
embedded store, starts `aims serve` on a free loopback port, and prints:
- single-request latency (median of a few) for validate (one rule; one system), trace,
  a named query, /sparql, ingest of one record (with and without the verdict), and the first
  /sparql after a write (the worker's snapshot refresh);
- requests per second and p50/p99 latency under a bounded loopback load (4 client threads)
  for trace, a named query and /sparql;
- the /sparql worker overhead: the same query through /sparql vs run in-process on pyoxigraph
  (the obvious alternative, which cannot stop a runaway query).
- the mixed load (issue 18's target: 0 errors, p95 under 500 ms at 10,000 systems): CLIENTS
  concurrent loopback clients for MIXED_SECONDS, each picking at random a record write
  (POST /v1/records, a new corrective action), a gate decision, validate of one system, a trace
  and /sparql; requests, errors and p50/p95/p99 per operation.
Every loop is bounded in seconds (and the phases in requests), and the server is stopped at the
end.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import pyoxigraph as ox  # noqa: E402

from bench.store import serialise, synthetic  # noqa: E402
from mapper.apikeys import KeyRing  # noqa: E402
from mapper.store import OxigraphStore  # noqa: E402
from tests.fixtures.api import LiveServer, auth, free_port, make_keys  # noqa: E402

SPARQL = ("PREFIX aims: <https://aims-graph.org/ns#> SELECT ?r ?d WHERE { "
          "?r aims:concernsSystem ?s ; aims:recordDate ?d . ?s aims:identifier ?id } LIMIT 50")
MAX_REQUESTS = 2000


def start(folder: Path, store: Path, readers: int = 0) -> LiveServer:
    """`aims serve` on the store; `readers` more reader keys (reader-0, ...) in `keys`: one per
    mixed-load client, as separate tools would each have theirs (a key's /sparql share is
    per key)."""
    keys = make_keys(folder / "apikeys.json")
    ring = KeyRing(folder / "apikeys.json")
    keys.update({f"reader-{n}": ring.create(name=f"bench-reader-{n}", role="reader")
                 for n in range(readers)})
    port = free_port()
    env = dict(os.environ, AIMS_API_KEYS=str(folder / "apikeys.json"))
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("aims")), "serve", "--store", str(store), "--port",
         str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return LiveServer(url=url, keys=keys, store=store, process=process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


SINGLE_TIMEOUT = 120.0
"""A single request slower than this is reported as such and not waited for."""


def once(fn: Callable[[], httpx.Response], repeat: int = 3) -> float | None:
    """Median seconds of `repeat` calls; None when one took longer than SINGLE_TIMEOUT."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        try:
            response = fn()
        except httpx.TimeoutException:
            return None
        times.append(time.perf_counter() - t)
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
    return statistics.median(times)


def show(label: str, seconds: float | None, note: str = "") -> None:
    took = f"{seconds * 1000:9.1f} ms" if seconds is not None else f"> {SINGLE_TIMEOUT:g} s"
    print(f"  {label:<34} {took} {note}".rstrip())


def load(name: str, make: Callable[[httpx.Client], httpx.Response], seconds: float,
         threads: int = 4) -> None:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                with lock:
                    if len(latencies) + errors >= MAX_REQUESTS:
                        return
                t = time.perf_counter()
                try:
                    ok = make(client).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - t
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.monotonic() - started
    lat = sorted(latencies)
    p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    print(f"  {name:<28} {len(lat) / wall:8.1f} req/s   p50 {p50:8.1f} ms   p99 {p99:8.1f} ms"
          f"   ({len(lat)} ok, {errors} failed, {threads} threads, {wall:.1f} s)")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


def mixed(url: str, keys: dict[str, str], ids: list[str], seconds: float, clients: int) -> None:
    """CLIENTS threads, each with its own connection and reader key, mixing writes with the
    reads; gate decisions ask about in-scope systems (bench/store.py: index % 7 != 0), the
    others about any."""
    contributor = auth(keys["contributor"])
    scoped = [i for i in ids if int(i.rsplit("-", 1)[1]) % 7]
    local = threading.local()
    counter = iter(range(10**9))
    ops: dict[str, Callable[[httpx.Client, random.Random], httpx.Response]] = {
        "POST /v1/records": lambda c, r: c.post(
            f"{url}/v1/records", params={"verdict": "true", "as_of": "2026-06-30"},
            json={"type": "CorrectiveAction", "id": f"CA-BENCH-{next(counter)}",
                  "label": "bench action", "dueDate": "2026-09-30"}, headers=contributor),
        "gate decision": lambda c, r: c.get(
            f"{url}/v1/systems/{r.choice(scoped)}/gates/release",
            params={"as_of": "2026-06-30"}, headers=local.reader),
        "validate one system": lambda c, r: c.get(
            f"{url}/v1/validate", params={"as_of": "2026-06-30", "system": r.choice(ids)},
            headers=local.reader),
        "trace": lambda c, r: c.get(f"{url}/v1/systems/{r.choice(ids)}/trace",
                                    params={"as_of": "2026-06-30"}, headers=local.reader),
        "/sparql": lambda c, r: c.get(f"{url}/sparql", params={"query": SPARQL},
                                      headers=local.reader),
    }
    latencies: dict[str, list[float]] = {name: [] for name in ops}
    errors: dict[str, list[int]] = {name: [] for name in ops}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        local.reader = auth(keys[f"reader-{seed}"])
        with httpx.Client(timeout=120) as http:
            while time.monotonic() < deadline:
                name = rng.choice(list(ops))
                t = time.perf_counter()
                try:
                    status = ops[name](http, rng).status_code
                except httpx.HTTPError:
                    status = 0
                took = time.perf_counter() - t
                with lock:
                    if status in (200, 201):
                        latencies[name].append(took)
                    else:
                        errors[name].append(status)

    started = time.monotonic()
    pool = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.monotonic() - started
    print(f"mixed load: {clients} clients, {wall:.0f} s")
    for name in ops:
        lat, bad = latencies[name], errors[name]
        codes = ", ".join(f"{c}x{bad.count(c)}" for c in sorted(set(bad))) or "-"
        print(f"  {name:<22} {len(lat) + len(bad):6d} requests  {len(bad):4d} errors ({codes})"
              f"  p50 {_pct(lat, 0.5):8.1f}  p95 {_pct(lat, 0.95):8.1f}  p99 {_pct(lat, 0.99):8.1f}"
              " ms")
    total = sum(len(v) for v in latencies.values()) + sum(len(v) for v in errors.values())
    failed = sum(len(v) for v in errors.values())
    everything = [t for v in latencies.values() for t in v]
    print(f"  {'all':<22} {total:6d} requests  {failed:4d} errors"
          f"         p50 {_pct(everything, 0.5):8.1f}  p95 {_pct(everything, 0.95):8.1f}"
          f"  p99 {_pct(everything, 0.99):8.1f} ms  ({total / wall:.1f} req/s)")


def main(argv: list[str]) -> None:
    stored = "--store-findings" in argv
    argv = [a for a in argv if a != "--store-findings"]
    systems = int(argv[0]) if argv else 10_000
    seconds = float(argv[1]) if len(argv) > 1 else 8.0
    mixed_seconds = float(argv[2]) if len(argv) > 2 else 60.0
    clients = int(argv[3]) if len(argv) > 3 else 50
    folder = Path(tempfile.mkdtemp(prefix="aims-bench-api-"))
    store_path = folder / "store"
    triples = synthetic(systems)
    store = OxigraphStore(store_path)
    store.load(serialise(triples, ox.RdfFormat.TURTLE), format="turtle",
               graph="urn:bench:data")  # not urn:aims:batch:, which ingest drops
    t = time.perf_counter()
    in_process = [store.query(SPARQL) for _ in range(20)]
    direct = (time.perf_counter() - t) / 20
    assert in_process[0].rows
    if stored:  # as `aims validate --store-findings` leaves a store: writes re-validate a part
        from datetime import date

        from mapper.rules import stored as findings

        findings.refresh(store, as_of=date(2026, 6, 30))  # the date the requests ask about
    store.close()
    print(f"AIMS Graph API bench: {systems} AI systems, {len(triples)} triples, 2-core loopback"
          f"{', findings stored' if stored else ''}")
    server = start(folder, store_path, readers=clients)
    url, reader = server.url, auth(server.keys["reader"])
    contributor = auth(server.keys["contributor"])
    try:
        http = httpx.Client(timeout=SINGLE_TIMEOUT)
        ids = [f"SYS-{i:06d}" for i in random.Random(7).sample(range(systems), 50)]
        rng = random.Random(11)
        print(f"load ({seconds:g} s or {MAX_REQUESTS} requests a phase, 4 client threads):")
        load("named query trace-system", lambda c: c.get(
            f"{url}/v1/queries/trace-system",
            params={"system": f"https://example.org/bench/system/{rng.randrange(systems)}"},
            headers=reader), seconds)
        load("/sparql SELECT LIMIT 50", lambda c: c.get(
            f"{url}/sparql", params={"query": SPARQL}, headers=reader), seconds)
        load("healthz (floor)", lambda c: c.get(f"{url}/healthz"), seconds / 2)
        via_api = once(lambda: http.get(f"{url}/sparql", params={"query": SPARQL},
                                        headers=reader), 9) or float("nan")
        print(f"/sparql worker process vs in-process pyoxigraph: {via_api * 1000:.1f} ms vs "
              f"{direct * 1000:.2f} ms per query (ratio {via_api / direct:.0f}x; includes HTTP,"
              " auth and rdflib's parse for the read-only check)")
        print("single requests (median of 3; validate, ingest and trace once):")
        show("named query overdue-corr.", once(lambda: http.get(
            f"{url}/v1/queries/overdue-corrective-actions", params={"as_of": "2026-06-30"},
            headers=reader)))
        for i, verdict in enumerate(("false", "true")):
            record = (f'<https://example.org/bench/new/{i}> a '
                      f'<https://aims-graph.org/ns#InternalAISystem> ; '
                      f'<https://aims-graph.org/ns#identifier> "NEW-{i}" .\n').encode()
            took = once(lambda v=verdict, r=record, n=i: http.post(
                f"{url}/v1/ingest", params={"verdict": v, "filename": f"new-{n}.ttl"},
                content=r, headers=contributor | {"Content-Type": "text/turtle"}), 1)
            show("ingest one record, verdict=" + verdict, took)
            if i == 0:
                show("first /sparql after a write", once(lambda: http.get(
                    f"{url}/sparql", params={"query": SPARQL}, headers=reader), 1),
                    "(worker snapshot refresh)")
        show("validate, one rule (GATE-01)", once(lambda: http.get(
            f"{url}/v1/validate", params={"as_of": "2026-06-30", "rule": "GATE-01"},
            headers=reader), 1))
        show("validate, one system", once(lambda: http.get(
            f"{url}/v1/validate", params={"as_of": "2026-06-30", "system": ids[0]},
            headers=reader), 1))
        traced = once(lambda: http.get(f"{url}/v1/systems/{ids[1]}/trace",
                                       params={"as_of": "2026-06-30"}, headers=reader), 1)
        show("trace one system", traced)
        if traced is not None and traced < 2:
            load("trace", lambda c: c.get(f"{url}/v1/systems/{rng.choice(ids)}/trace",
                                          headers=reader), seconds)
        else:
            print("  (no trace load phase: a single trace takes over 2 s)")
        http.close()
        if mixed_seconds > 0:
            mixed(url, server.keys, ids, mixed_seconds, clients)
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
