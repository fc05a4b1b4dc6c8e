"""The user's path as whole `aims` processes on an on-disk store (issue 19), beside the library.

For the synthetic organisation of bench/validate.py (1,000 and 10,000 AI systems; 100,000 with
--large), each step runs as its own `aims` process on a fresh on-disk store, in the order a user
runs them: `aims ingest org.ttl`, `aims validate` (fresh: no stored findings yet), `aims validate
--store-findings` (full run, findings stored), `aims validate` (answered from the stored
findings), `aims gaps`, `aims trace SYS-...`. Wall seconds and the child's peak RSS
(os.wait4's ru_maxrss) are printed beside the same step in-process (the library on its own
on-disk store: wall and CPU seconds), so the gap between command and library shows.

    .venv/bin/python bench/cli.py              # 1,000 and 10,000 systems
    .venv/bin/python bench/cli.py 2000         # other sizes
    .venv/bin/python bench/cli.py --large      # adds 100,000 (minutes, several GB)

The machine is shared: run `uptime` beside it and treat single figures as rough.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.validate import AS_OF, synthetic_org  # noqa: E402

AIMS = Path(sys.executable).with_name("aims")


def run_aims(args: list[str], store: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one `aims` process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), AIMS_STORE=str(store))
    start = time.perf_counter()
    child = subprocess.Popen([str(AIMS), *args], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode() if child.stderr else ""
    if child.returncode not in (0, 1):  # 1: gaps found (expected: the organisation has plants)
        raise SystemExit(f"aims {' '.join(args)} failed ({child.returncode}): {error[-500:]}")
    return wall, usage.ru_maxrss / 1024, child.returncode


def in_process(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one library call, its store's assessment cache emptied
    first (a process starts without one; the parsed shapes and queries stay warm)."""
    from mapper.rules import assessment

    assessment._cache.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(n: int) -> None:
    from mapper.ingest import ingest
    from mapper.questions import trace
    from mapper.rules import stored
    from mapper.rules.assessment import assess
    from mapper.rules.validate import validate
    from mapper.store import open_store

    text, _ = synthetic_org(n)
    system = f"SYS-{n // 2:05d}"
    day = AS_OF.isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        org = Path(tmp) / f"org-{n}.ttl"
        org.write_text(text, encoding="utf-8")
        cli_store, lib_store = Path(tmp) / "cli", Path(tmp) / "lib"
        steps: list[tuple[str, list[str], Callable[[object], object]]] = [
            ("ingest org.ttl", ["ingest", str(org)],
             lambda s: ingest(s, [org], actor="bench")),
            ("validate (fresh)", ["validate", "--as-of", day, "--format", "json"],
             lambda s: assess(s, as_of=AS_OF, report=validate(s, as_of=AS_OF))),
            ("validate --store-findings", ["validate", "--as-of", day, "--format", "json",
                                           "--store-findings"],
             lambda s: (stored.refresh(s, as_of=AS_OF),
                        assess(s, as_of=AS_OF, report=validate(s, as_of=AS_OF)))),
            ("validate (stored)", ["validate", "--as-of", day, "--format", "json"],
             lambda s: assess(s, as_of=AS_OF, report=validate(s, as_of=AS_OF))),
            ("gaps", ["gaps", "--as-of", day, "--format", "json"],
             lambda s: trace.gap_report(s, as_of=AS_OF)),
            ("trace " + system, ["trace", system, "--as-of", day, "--format", "json"],
             lambda s: trace.trace_system(s, system, as_of=AS_OF)),
        ]
        print(f"\n{n:,} AI systems ({len(text) // 1024:,} KB of Turtle)")
        print(f"{'step':<28}{'aims s':>9}{'peak MB':>9}{'exit':>5}   {'library s':>10}"
              f"{'CPU s':>8}{'gap x':>7}", flush=True)
        lib = open_store(str(lib_store))
        try:
            for name, args, call in steps:
                wall, rss, code = run_aims(args, cli_store)
                lib_wall, lib_cpu = in_process(lambda: call(lib))  # noqa: B023
                gap = wall / lib_wall if lib_wall else float("inf")
                print(f"{name:<28}{wall:>9.2f}{rss:>9.0f}{code:>5}   {lib_wall:>10.2f}"
                      f"{lib_cpu:>8.2f}{gap:>7.1f}", flush=True)
        finally:
            lib.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--large", action="store_true", help="also 100,000 systems")
    args = parser.parse_args()
    sizes = [*args.sizes, *([100000] if args.large else [])]
    print(os.popen("uptime").read().strip())
    for n in sizes:
        measure(n)


if __name__ == "__main__":
    main()
