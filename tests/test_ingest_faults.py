"""Faults: `aims ingest` killed with SIGKILL in the middle of a large file leaves a store that
opens, with the batch either absent or whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import URIRef

from mapper.ingest.batches import BATCH_PREFIX, PROVENANCE_GRAPH, list_batches
from mapper.store import open_store

AIMS_BIN = Path(sys.executable).with_name("aims")


def _big_nt(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(f'<urn:x:s{i}> <urn:x:p> "value {i}" .\n')
    return path


def _big_csv(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("System ID,Name,Type,Purpose,In scope,Lifecycle stage,Deployment date\n")
        for i in range(n):
            out.write(f"SYS-{i},System {i},internal,Purpose {i},yes,deployed,2025-01-01\n")
    return path


def _check_absent_or_whole(location: str) -> str:
    with open_store(location) as store:  # opens after the kill
        batches = [b for b in list_batches(store, recover_first=False) if b.status == "current"]
        graphs = [g for g in store.graphs() if g.startswith(BATCH_PREFIX)]
        if not batches:
            assert graphs == [], "a batch graph without provenance survived"
            return "absent"
        [batch] = batches
        count = store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
            bindings={"g": URIRef(batch.graph)},
        )
        assert int(str(count.rows[0][0])) == batch.triples
        prov = store.query("ASK { GRAPH ?g { ?b a <https://aims-graph.org/ns#IngestBatch> } }",
                           bindings={"g": URIRef(PROVENANCE_GRAPH)})
        assert prov.boolean
        return "whole"


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "delay"), [("nt", 2.5), ("csv", 3.5)])
def test_sigkill_leaves_batch_absent_or_whole(tmp_path: Path, kind: str, delay: float) -> None:
    if kind == "nt":
        source = _big_nt(tmp_path / "big.nt", 150_000)
    else:
        source = _big_csv(tmp_path / "big.csv", 15_000)
    location = str(tmp_path / "store")
    env = {**os.environ, "AIMS_STORE": location}
    proc = subprocess.Popen([str(AIMS_BIN), "ingest", str(source)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    state = _check_absent_or_whole(location)
    if finished:
        assert state == "whole"
    # the store stays usable: another ingest runs recovery and loads
    small = tmp_path / "small.nt"
    small.write_text('<urn:x:a> <urn:x:p> "1" .\n')
    with open_store(location) as store:
        from mapper.ingest import ingest

        [res] = ingest(store, small)
        assert res.status == "loaded"
        assert all(b.status == "current" for b in list_batches(store))
