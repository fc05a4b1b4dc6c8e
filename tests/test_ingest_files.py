"""Several files at once: --skip-invalid loads those that fit and reports the one that fits no
mapping as rejected (without it everything aborts); conflicts within one file (rows merged on
one key that give a single-valued property two values) are reported like cross-batch ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mapper.errors import InputError
from mapper.ingest import ingest
from mapper.store import open_store

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
MAPPING = """
name: merge-test
tables:
  - name: systems
    columns:
      id: {headers: [ID]}
      name: {headers: [Name]}
      purpose: {headers: [Purpose]}
    key: [id]
    duplicates: merge
    nodes:
      - id: system
        kind: ai-system
        class: aims:AISystem
        props:
          rdfs:label: name
          aims:purpose: purpose
"""


def _three(tmp: Path) -> list[Path]:
    good = tmp / "a-systems.csv"
    good.write_text("agency,id,use_case_name\nXYZ,XYZ-1,Alpha\n", encoding="utf-8")
    odd = tmp / "b-odd.csv"
    odd.write_text("Colour,Weight\nred,3\n", encoding="utf-8")
    ttl = tmp / "c-more.ttl"
    ttl.write_text('<urn:x:s> <http://www.w3.org/2000/01/rdf-schema#label> "S" .\n',
                   encoding="utf-8")
    return [good, odd, ttl]


def _graphs(store) -> int:
    return len(store.select_text("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                                 "FILTER(STRSTARTS(STR(?g), 'urn:aims:batch:')) }"))


def test_skip_invalid_loads_the_files_that_fit_and_rejects_the_other(tmp_path: Path) -> None:
    files = _three(tmp_path)
    store = open_store("memory")
    with pytest.raises(InputError, match="b-odd.csv: no built-in mapping fits"):
        ingest(store, files)
    assert _graphs(store) == 0  # without the flag: nothing
    results = ingest(store, files, skip_invalid=True)
    assert [(r.source, r.status) for r in results] == [
        ("a-systems.csv", "loaded"), ("b-odd.csv", "rejected"), ("c-more.ttl", "loaded")]
    odd = results[1]
    assert odd.records == 0 and odd.batch == ""
    assert "no built-in mapping fits" in odd.rejected[0]["reason"]
    assert _graphs(store) == 2


def test_skip_invalid_with_no_file_that_fits_is_still_an_error(tmp_path: Path) -> None:
    _, odd, _ = _three(tmp_path)
    other = tmp_path / "d-odd.csv"
    other.write_text("Shape\nround\n", encoding="utf-8")
    with pytest.raises(InputError, match="no file could be loaded"):
        ingest(open_store("memory"), [odd, other], skip_invalid=True)


def test_cli_reports_the_rejected_file(tmp_path: Path) -> None:
    files = _three(tmp_path)
    store = str(tmp_path / "store")
    base = [sys.executable, "-m", "mapper.cli", "ingest", *map(str, files), "--store", store]
    aborted = subprocess.run(base, capture_output=True, text=True, timeout=300)
    assert aborted.returncode == 2 and "b-odd.csv" in aborted.stderr
    done = subprocess.run([*base, "--skip-invalid", "--format", "json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert [b["status"] for b in body] == ["loaded", "rejected", "loaded"]
    text = subprocess.run([*base, "--skip-invalid"], capture_output=True, text=True,
                          timeout=300)
    assert "rejected: b-odd.csv: b-odd.csv: no built-in mapping fits" in text.stdout


def test_conflicts_within_one_file_are_reported(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = tmp_path / "s.csv"
    data.write_text("ID,Name,Purpose\nS-1,Alpha,Triage\nS-2,Beta,Scoring\n"
                    "S-1,Alpha,Routing\nS-1,Alpha,Triage\n", encoding="utf-8")
    store = open_store("memory")
    [res] = ingest(store, data, mapping=mapping)
    assert [(c["property"].rsplit("#", 1)[-1], c["value"], c["row"], c["other_value"],
             c["other_row"]) for c in res.conflicts] == [("purpose", "Routing", 4, "Triage", 2)]
    assert any("conflict on https://aims-graph.org/id/ai-system/s-1 purpose: 'Routing' "
               "(s.csv row 4) vs 'Triage' (s.csv row 2)" in w for w in res.warnings)
    assert res.as_dict()["conflicts"] == 1
    with pytest.raises(InputError, match="1 conflict"):
        ingest(open_store("memory"), data, mapping=mapping, on_conflict="fail")
