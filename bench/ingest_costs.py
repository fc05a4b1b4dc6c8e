"""What an ingest costs: time and peak memory against input size (issue 22's figures).

Three parts, each case in a process of its own so that its peak RSS is its own:

- CLI: `aims ingest` of a synthetic "AI systems" CSV (bench/ingest.py's generator) as a
  subprocess into a fresh embedded store; peak RSS of that process from
  resource.getrusage(RUSAGE_CHILDREN), beside a 3-row ingest (the interpreter, imports and
  store: the floor every ingest pays). "x input" is (peak - floor) / file size.
- API: the same file POSTed to a real `aims serve` (text/csv, verdict=false); the server's peak
  RSS (VmHWM) before and after, the time of the request, and how long a reader waited for
  /v1/batches while the upload was parsed.
- Duplicate keys: a CSV whose rows all share one key, through `mapper.ingest.ingest` in a child
  process: the time until it is refused, the peak RSS above the child's start, and the size of
  the error message (target: linear, under 1 s and 200 MB at 20,000 rows).

    .venv/bin/python bench/ingest_costs.py                  # 10,000 rows; 5,000 and 20,000 dups
    .venv/bin/python bench/ingest_costs.py --large          # add 100,000 (minutes, ~1 GB)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after ROOT: bench/api.py must not hide api/

AIMS = Path(sys.executable).with_name("aims")
DUP_HEADER = "System ID,Name,Type,Purpose,In scope,Lifecycle stage,Deployment date\n"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("AIMS_STORE", None)
    return env


def _systems(folder: Path, n: int) -> Path:
    from ingest import synthetic  # bench/ingest.py

    return synthetic(folder / f"systems-{n}.csv", n)


def _duplicates(folder: Path, n: int) -> Path:
    path = folder / f"dup-{n}.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(DUP_HEADER)
        for i in range(n):
            out.write(f"SYS-SAME,System {i},internal,Purpose {i},yes,deployed,2025-01-01\n")
    return path


# --- one case per process ------------------------------------------------------------------


def cli_case(n: int) -> dict[str, Any]:
    """`aims ingest` of n rows as a subprocess: seconds, peak RSS (RUSAGE_CHILDREN)."""
    folder = Path(tempfile.mkdtemp(prefix="aims-bench-"))
    try:
        source = _systems(folder, n)
        start = time.perf_counter()
        done = subprocess.run([str(AIMS), "ingest", str(source), "--store",
                               str(folder / "store")], env=_env(), capture_output=True,
                              text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return {"rows": n, "bytes": source.stat().st_size, "seconds": seconds, "peak_mb": peak}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def api_case(n: int) -> dict[str, Any]:
    """n rows POSTed to a real server: seconds, server peak RSS before/after, reader wait."""
    import httpx

    from tests.fixtures.api import auth, start_server, stop_server

    folder = Path(tempfile.mkdtemp(prefix="aims-bench-"))
    server = start_server(folder)
    try:
        source = _systems(folder, n)
        data = source.read_bytes()
        floor = _hwm(server.process.pid)
        result: dict[str, Any] = {}

        def upload() -> None:
            start = time.perf_counter()
            response = httpx.post(
                server.url + "/v1/ingest", content=data, timeout=1800,
                params={"filename": source.name, "verdict": "false"},
                headers=auth(server.keys["contributor"]) | {"Content-Type": "text/csv"})
            result["status"] = response.status_code
            result["seconds"] = time.perf_counter() - start

        thread = threading.Thread(target=upload)
        thread.start()
        time.sleep(0.3)
        start = time.perf_counter()
        httpx.get(server.url + "/v1/batches", headers=auth(server.keys["reader"]),
                  timeout=1800)
        reader = time.perf_counter() - start
        reader_during = "seconds" not in result
        thread.join()
        if result.get("status") != 200:
            raise RuntimeError(f"upload answered {result}")
        return {"rows": n, "bytes": len(data), "seconds": result["seconds"],
                "floor_mb": floor, "peak_mb": _hwm(server.process.pid),
                "reader_s": reader, "reader_during_upload": reader_during}
    finally:
        stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


def dup_case(n: int) -> dict[str, Any]:
    """n rows sharing one key through mapper.ingest in this process."""
    from mapper.ingest import IngestRejected, ingest
    from mapper.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="aims-bench-"))
    try:
        source = _duplicates(folder, n)
        store = open_store("memory")
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        try:
            ingest(store, source)
        except IngestRejected as exc:
            message = str(exc)
            groups = len(exc.rejected)
        else:
            raise RuntimeError("duplicate keys were not refused")
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"rows": n, "bytes": source.stat().st_size, "seconds": seconds,
                "peak_mb": peak, "above_start_mb": peak - floor, "message_bytes": len(message),
                "reported": groups}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


CASES = {"cli": cli_case, "api": api_case, "dup": dup_case}


def _child(kind: str, n: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--one", kind, str(n)], env=_env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} {n}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(CASES[sys.argv[2]](int(sys.argv[3]))))
        return
    large = "--large" in sys.argv
    sizes = [10_000, *([100_000] if large else [])]
    floor = _child("cli", 3)["peak_mb"]
    print(f"CLI `aims ingest` (floor: a 3-row ingest peaks at {floor:.0f} MB)")
    print(f"{'rows':>8} {'input MB':>9} {'seconds':>8} {'peak MB':>8} {'x input':>8}")
    for n in sizes:
        r = _child("cli", n)
        ratio = (r["peak_mb"] - floor) / (r["bytes"] / 2**20)
        print(f"{n:>8} {r['bytes'] / 1e6:>9.1f} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} "
              f"{ratio:>8.1f}", flush=True)
    print("\nAPI POST /v1/ingest to `aims serve` (server peak RSS; a reader's wait meanwhile)")
    print(f"{'rows':>8} {'input MB':>9} {'seconds':>8} {'floor MB':>9} {'peak MB':>8} "
          f"{'x input':>8} {'reader s':>9}")
    for n in sizes:
        r = _child("api", n)
        ratio = (r["peak_mb"] - r["floor_mb"]) / (r["bytes"] / 2**20)
        during = "" if r["reader_during_upload"] else " (after)"
        print(f"{n:>8} {r['bytes'] / 1e6:>9.1f} {r['seconds']:>8.1f} {r['floor_mb']:>9.0f} "
              f"{r['peak_mb']:>8.0f} {ratio:>8.1f} {r['reader_s']:>9.2f}{during}", flush=True)
    print("\nDuplicate keys: every row shares one key (refused; one report per group)")
    print(f"{'rows':>8} {'seconds':>8} {'peak MB':>8} {'+MB':>6} {'message B':>10} "
          f"{'reports':>8}")
    for n in [5_000, 20_000, *([100_000] if large else [])]:
        r = _child("dup", n)
        print(f"{n:>8} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f} {r['above_start_mb']:>6.0f} "
              f"{r['message_bytes']:>10} {r['reported']:>8}", flush=True)


if __name__ == "__main__":
    main()
