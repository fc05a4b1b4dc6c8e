"""CPU seconds of named queries on the synthetic organisation of bench/queries.py (embedded
store, loaded once). CPU time, not wall time, so figures survive a shared machine.

Usage: .venv/bin/python bench/named_queries.py SYSTEMS [QUERY ...]
(default queries: trace-system systems-missing-gate gate-order-violations ai-systems)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from rdflib import URIRef

from bench.queries import EX, synthetic
from mapper.questions import queries
from mapper.store import open_store

DEFAULT = ["trace-system", "systems-missing-gate", "gate-order-violations", "ai-systems"]


def main(argv: list[str]) -> None:
    systems = int(argv[0]) if argv else 10000
    names = argv[1:] or DEFAULT
    turtle = synthetic(systems).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "store"))
        start = time.process_time()
        store.load(turtle, format="turtle", graph="urn:bench:data")  # type: ignore[attr-defined]
        print(f"{systems:,} systems: load {time.process_time() - start:.2f} CPU s")
        for name in names:
            params = {"system": URIRef(f"{EX}sys{systems // 2}")} if name == "trace-system" else {}
            query = queries.get(name)
            times = []
            rows = 0
            for _ in range(3):
                start = time.process_time()
                rows = len(queries.run(store, query, params).rows)
                times.append(time.process_time() - start)
            print(f"{name:<24}{rows:>7} rows  best {min(times) * 1000:9.1f} CPU ms")
        store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
