"""Stored findings survive a new process: the shapes digest that ties them to the compiled checks
is the same whatever the process's hash seed, so a later `aims validate` answers from the store.

Each process is a real `aims` CLI run (python -m mapper.cli) on an on-disk store in tmp_path,
with its own PYTHONHASHSEED (set and dict iteration order differ between the processes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mapper.rules import compile as compiled
from mapper.store import open_store
from tests.fixtures.demo import demo_as_of, load_demo

ROOT = Path(__file__).resolve().parents[1]

# In scope, with no intake record, owner or gates: a full run finds it (GATE-01 and more).
UNTRACKED = b"""@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/aims/sys-untracked> a aims:InternalAISystem ; rdfs:label "Untracked" ;
  aims:identifier "SYS-UNTRACKED" ; aims:inScope true .
"""
UNTRACKED_IRI = "https://example.org/aims/sys-untracked"

# The CLI entry point with INFO logging on, so the store's own log line is visible on stderr.
_CLI = ("import logging, runpy; logging.basicConfig(level=logging.INFO); "
        "runpy.run_module('mapper.cli', run_name='__main__')")


def _aims(seed: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(seed),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("AIMS_STORE", None)
    done = subprocess.run([sys.executable, "-c", _CLI, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    return done


def _digest(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", "from mapper.rules import stored; print(stored.shapes_digest())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    return done.stdout.strip()


def test_shapes_digest_is_the_same_under_every_hash_seed() -> None:
    digests = {_digest(seed) for seed in (1, 2, 12345)}
    assert len(digests) == 1, digests


def test_a_second_process_answers_from_the_stored_findings(tmp_path: Path) -> None:
    where = str(tmp_path / "store")
    day = demo_as_of().isoformat()
    store = open_store(where)
    try:
        load_demo(store)
    finally:
        store.close()

    first = _aims(1, "validate", "--as-of", day, "--store-findings", "--format", "json",
                  "--store", where)
    stored = json.loads(first.stdout)

    # Written behind the findings' back (not through ingest, into a graph that already exists,
    # so even the data digest cannot see it): a full run would report the system, an answer
    # from the store cannot.
    store = open_store(where)
    try:
        graph = sorted(g for g in store.graphs() if g.startswith("urn:test:"))[0]
        store.load(UNTRACKED, format="turtle", graph=graph)  # type: ignore[attr-defined]
        full = compiled.validate(store, as_of=demo_as_of())
    finally:
        store.close()
    assert UNTRACKED_IRI in {f.focus for f in full.findings}

    second = _aims(2, "validate", "--as-of", day, "--format", "json", "--store", where)
    answered = json.loads(second.stdout)
    assert "findings answered from the store" in second.stderr, second.stderr
    assert "not used" not in second.stderr
    assert UNTRACKED_IRI not in {f["focus"] for f in answered["findings"]}
    assert answered["findings"] == stored["findings"]
