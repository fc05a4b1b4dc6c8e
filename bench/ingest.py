"""Ingest throughput and peak memory, beside a plain rdflib parse of the same triples.

Cases: OMB's 2025 AI use case inventory (CSV, 3,611 rows) and synthetic workbook CSVs ("AI
systems" register) of 1,000 / 10,000 / 100,000 systems, each ingested into a fresh embedded
(on-disk pyoxigraph) store with `mapper.ingest.ingest` (one transaction per batch). For each,
the batch graph is exported as N-Triples and parsed by rdflib alone, the obvious alternative.
Every case runs in its own process so peak RSS is its own.

    .venv/bin/python bench/ingest.py            # 1,000 and 10,000 and OMB
    .venv/bin/python bench/ingest.py 100000     # add sizes
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OMB = ROOT.parent / "shared" / "data" / "real" / "us-fed-ai-inventory-2025" / (
    "2025_individually_reported_AI_use_cases.csv")
HEADER = ("System ID,Name,Type,Purpose,Business owner (person ID),In scope,Lifecycle stage,"
          "Build start date,Deployment date,Supplier (third party ID)\n")
STAGES = ["proposed", "in development", "piloting", "deployed", "retired"]


def synthetic(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(n):
            kind = "third-party" if i % 3 == 0 else "internal"
            supplier = f"TP-{i % 50}" if kind == "third-party" else ""
            out.write(f"SYS-{i:06d},System {i},{kind},\"Purpose of system {i}, in words\","
                      f"P-{i % 200},yes,{STAGES[i % 5]},2024-0{1 + i % 9}-15,"
                      f"15/0{1 + i % 9}/2025,{supplier}\n")
    return path


def one(kind: str, arg: str) -> dict[str, float | int | str]:
    sys.path.insert(0, str(ROOT))
    from mapper.ingest import ingest
    from mapper.store import open_store

    tmp = Path(tempfile.mkdtemp())
    if kind == "ingest":
        source = OMB if arg == "omb" else synthetic(tmp / f"systems-{arg}.csv", int(arg))
        store = open_store(str(tmp / "store"))
        start = time.perf_counter()
        [res] = ingest(store, source, skip_invalid=True)
        seconds = time.perf_counter() - start
        peak = _rss()  # before the export below
        import pyoxigraph as ox

        from mapper.store import to_ox

        triples = [ox.Triple(to_ox(s), to_ox(p), to_ox(o))  # type: ignore[arg-type]
                   for s, p, o, _ in store.quads(res.graph)]
        (tmp / "batch.nt").write_bytes(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
        store.close()
        rows = res.records + len({r["row"] for r in res.rejected})
        return {"rows": rows, "triples": res.triples, "seconds": seconds,
                "nt": str(tmp / "batch.nt"), "rss_mb": peak}
    from rdflib import Graph

    start = time.perf_counter()
    graph = Graph()
    graph.parse(arg, format="nt")
    return {"triples": len(graph), "seconds": time.perf_counter() - start, "rss_mb": _rss()}


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, arg: str) -> dict[str, float | int | str]:
    out = subprocess.run([sys.executable, __file__, "--one", kind, arg], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], sys.argv[3])))
        return
    sizes = ["1000", "10000", *sys.argv[1:]]
    cases = (["omb"] if OMB.is_file() else []) + sizes
    print(f"{'case':>10} {'rows':>8} {'triples':>9} {'ingest s':>9} {'rows/s':>8} "
          f"{'triples/s':>10} {'peak MB':>8} | {'rdflib nt s':>11} {'rdflib MB':>9} {'ratio':>6}")
    for case in cases:
        ing = _child("ingest", case)
        rdf = _child("rdflib", str(ing["nt"]))
        secs = float(ing["seconds"])
        print(f"{case:>10} {ing['rows']:>8} {ing['triples']:>9} {secs:>9.2f} "
              f"{int(ing['rows']) / secs:>8.0f} {int(ing['triples']) / secs:>10.0f} "
              f"{float(ing['rss_mb']):>8.0f} | {float(rdf['seconds']):>11.2f} "
              f"{float(rdf['rss_mb']):>9.0f} {float(rdf['seconds']) / secs:>5.1f}x", flush=True)


if __name__ == "__main__":
    main()
