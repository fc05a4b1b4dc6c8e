"""`aims trend` benchmark: 12 monthly as-of dates on a synthetic organisation.

Prints the time of `mapper.frameworks.trend.trend` (the compiled engine, one run per date)
over 12 monthly dates at 10,000 AI systems (the target is under 30 s), and the findings at the
first and last date.

    .venv/bin/python bench/trend.py            # 10,000 systems
    .venv/bin/python bench/trend.py 1000       # another size
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.validate import synthetic_org  # noqa: E402
from mapper.frameworks import trend  # noqa: E402
from mapper.store import open_store  # noqa: E402

TARGET_S = 30.0


def main(argv: list[str]) -> int:
    systems = int(argv[0]) if argv else 10_000
    text, _planted = synthetic_org(systems)
    store = open_store("memory")
    t0 = time.perf_counter()
    store.load(text.encode(), format="turtle", graph="urn:bench:synthetic")  # type: ignore[attr-defined]
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    points = trend.trend(store, start=date(2025, 7, 31), end=date(2026, 6, 30), every="month")
    trend_s = time.perf_counter() - t0
    verdict = "ok" if trend_s < TARGET_S else f"OVER the {TARGET_S:.0f} s target"
    print(f"aims trend: {systems} systems, load {load_s:.1f} s; {len(points)} monthly dates in "
          f"{trend_s:.1f} s ({trend_s / len(points):.2f} s a date; {verdict}); findings "
          f"{points[0].findings} at {points[0].as_of}, {points[-1].findings} at "
          f"{points[-1].as_of}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
