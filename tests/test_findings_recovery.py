"""Stored findings are never answered stale: a crash between a batch's data write and the
stored findings' update (injected with AIMS_FAULT=after-write, not timed) leaves findings that
know they are behind, and the next `aims validate` recomputes them.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from mapper.rules import stored
from mapper.store import open_store
from tests.fixtures.api import AIMS
from tests.fixtures.demo import DEMO_DIR, demo_as_of

NEW_SYSTEM = """@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/crash/sys> a aims:InternalAISystem ; rdfs:label "Crash test system" ;
    aims:identifier "SYS-CRASH" ; aims:inScope true ; aims:purpose "Tests crashes." .
"""


def _aims(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("AIMS_STORE", None)
    env.pop("AIMS_FAULT", None)
    if fault:
        env["AIMS_FAULT"] = fault
    return subprocess.run([str(AIMS), *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_crash_between_data_and_findings_is_recovered(tmp_path: Path) -> None:
    where = str(tmp_path / "store")
    day = demo_as_of()
    assert _aims("ingest", str(DEMO_DIR), "--store", where).returncode == 0
    assert _aims("validate", "--as-of", day.isoformat(), "--store-findings", "--store",
                 where).returncode == 1
    with open_store(where) as store:
        assert stored.stored_as_of(store) == day  # current

    new = tmp_path / "crash.ttl"
    new.write_text(NEW_SYSTEM, encoding="utf-8")
    crashed = _aims("ingest", str(new), "--store", where, fault="after-write")
    assert crashed.returncode == 70, crashed.stderr  # died after the data, before the findings

    with open_store(where) as store:
        assert "SYS-CRASH" in {str(r[0]) for r in store.query(
            "SELECT ?i WHERE { ?s <https://aims-graph.org/ns#identifier> ?i }").rows}
        assert stored.stored_as_of(store) is None  # behind the data: never answered from
        assert stored.stale(store) == day

    done = _aims("validate", "--as-of", day.isoformat(), "--format", "json", "--store", where)
    assert done.returncode == 1
    assert "recomputing" in done.stderr
    foci = {f["focus"] for f in json.loads(done.stdout)["findings"]}
    assert "https://example.org/crash/sys" in foci  # the crashed batch's system is judged
    with open_store(where) as store:
        assert stored.stored_as_of(store) == day  # and the stored findings are current again
