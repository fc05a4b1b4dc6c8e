"""The mapping format, part two: paths into nested JSON, a cell split into several nodes, a
lookup of an existing node by identifier (in the store), template parts that vanish with an
empty column; each on a small file written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mapper.errors import InputError
from mapper.ingest import ingest
from mapper.store import open_store

AIMS = "https://aims-graph.org/ns#"
BASE = "https://aims-graph.org/id/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _pairs(store, predicate: str) -> list[tuple[str, str]]:
    rows = store.select_text(f"SELECT ?s ?o WHERE {{ GRAPH ?g {{ ?s <{predicate}> ?o }} }}")
    return sorted((str(s), str(o)) for s, o in rows)


REGISTER = """
name: register-test
tables:
  - name: algorithms
    columns:
      id: {headers: [id]}
      name: {headers: [naam]}
      organisation: {headers: [meta.organisatie]}
      suppliers: {headers: ["leveranciers[].naam"]}
      basis: {headers: [meta.wettelijke_basis]}
      register: {headers: [meta.register]}
    key: [id]
    nodes:
      - id: system
        kind: ai-system
        class: aims:AISystem
        props:
          rdfs:label: name
          aims:agency: organisation
          aims:supplier: {column: suppliers, ref: third-party, ref_class: aims:ThirdParty,
                          ref_label: true}
          aims:description: {template: "[Legal basis: {basis}. ]Register: {register}"}
"""


def test_paths_into_nested_json_objects_and_lists(tmp_path: Path) -> None:
    doc = {"data": [
        {"id": "ALG-1", "naam": "Toeslagen", "meta": {"organisatie": "Gemeente A",
                                                      "wettelijke_basis": "Awb 4:1",
                                                      "register": "R-1"},
         "leveranciers": [{"naam": "Acme BV"}, {"naam": "Beta NV"}]},
        {"id": "ALG-2", "naam": "Parkeren", "meta": {"organisatie": "Gemeente B",
                                                     "register": "R-2"},
         "leveranciers": []},
    ]}
    data = tmp_path / "register.json"
    data.write_text(json.dumps(doc), encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(REGISTER, encoding="utf-8")
    store = open_store("memory")
    [res] = ingest(store, data, mapping=mapping)
    assert res.records == 2
    assert _pairs(store, AIMS + "agency") == [(BASE + "ai-system/alg-1", "Gemeente A"),
                                              (BASE + "ai-system/alg-2", "Gemeente B")]
    assert _pairs(store, AIMS + "supplier") == [
        (BASE + "ai-system/alg-1", BASE + "third-party/acme-bv"),
        (BASE + "ai-system/alg-1", BASE + "third-party/beta-nv")]
    # the optional part vanished where its column is empty, and only there
    assert _pairs(store, AIMS + "description") == [
        (BASE + "ai-system/alg-1", "Legal basis: Awb 4:1. Register: R-1"),
        (BASE + "ai-system/alg-2", "Register: R-2")]


CONTRACTS = """
name: contracts-test
tables:
  - name: systems
    columns:
      id: {headers: [ID]}
      contracts: {headers: [Contracts]}
    key: [id]
    nodes:
      - id: system
        kind: ai-system
        class: aims:AISystem
        props:
          rdfs:label: id
          aims:evidence: {column: contracts, split: ";", ref: contract,
                          ref_class: aims:Evidence, ref_label: true}
"""


def test_a_cell_split_into_several_nodes(tmp_path: Path) -> None:
    data = tmp_path / "s.csv"
    data.write_text('ID,Contracts\nS-1,"GS-00F-1; 47QTCA-22; N/A"\nS-2,GS-00F-1\n',
                    encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(CONTRACTS, encoding="utf-8")
    store = open_store("memory")
    ingest(store, data, mapping=mapping)
    assert _pairs(store, AIMS + "evidence") == [
        (BASE + "ai-system/s-1", BASE + "contract/47qtca-22"),
        (BASE + "ai-system/s-1", BASE + "contract/gs-00f-1"),
        (BASE + "ai-system/s-2", BASE + "contract/gs-00f-1")]
    typed = store.select_text(
        f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s a <{AIMS}Evidence> }} }}")
    assert len(typed) == 2


INVENTORY = """
name: inventory-test
tables:
  - name: systems
    columns:
      id: {headers: [System ID]}
      name: {headers: [Name]}
    key: [id]
    nodes:
      - id: system
        kind: ai-system
        class: aims:InternalAISystem
        props:
          rdfs:label: name
          aims:identifier: id
"""

INCIDENTS = """
name: incidents-test
tables:
  - name: incidents
    columns:
      id: {headers: [Incident]}
      system: {headers: [System]}
    key: [id]
    nodes:
      - id: incident
        kind: incident
        class: aims:Incident
        props:
          rdfs:label: id
          aims:concernsSystem: {column: system, lookup: {by: aims:identifier,
                                class: aims:AISystem, missing: MISSING}}
"""


def _lookup_files(tmp: Path, missing: str = "error") -> tuple[Path, Path, Path, Path]:
    inventory = tmp / "inventory.csv"
    inventory.write_text("System ID,Name\nAI-17,Claims triage\nAI-18,Fraud score\n",
                         encoding="utf-8")
    incidents = tmp / "incidents.csv"
    incidents.write_text("Incident,System\nINC-1,AI-17\nINC-2,ai-18\nINC-3,AI-99\n",
                         encoding="utf-8")
    m1, m2 = tmp / "inv.yaml", tmp / "inc.yaml"
    m1.write_text(INVENTORY, encoding="utf-8")
    m2.write_text(INCIDENTS.replace("MISSING", missing), encoding="utf-8")
    return inventory, m1, incidents, m2


def test_a_lookup_links_to_the_existing_node_or_refuses(tmp_path: Path) -> None:
    inventory, m1, incidents, m2 = _lookup_files(tmp_path)
    store = open_store("memory")
    ingest(store, inventory, mapping=m1, scope="ACME")
    with pytest.raises(InputError) as info:
        ingest(store, incidents, mapping=m2)
    message = str(info.value)
    assert "row(s) 4, column system: value 'AI-99'" in message
    assert "no aims:AISystem with aims:identifier 'AI-99' in the store" in message
    assert _pairs(store, AIMS + "concernsSystem") == []  # nothing was written


def test_a_lookup_with_missing_warn_leaves_the_link_out(tmp_path: Path) -> None:
    inventory, m1, incidents, m2 = _lookup_files(tmp_path, "warn")
    store = open_store("memory")
    ingest(store, inventory, mapping=m1, scope="ACME")
    [res] = ingest(store, incidents, mapping=m2)
    systems = {s: str(o) for s, o in _pairs(store, AIMS + "identifier")}
    by_id = {v: k for k, v in systems.items()}
    # the inventory's own IRIs, found by identifier (case aside)
    assert _pairs(store, AIMS + "concernsSystem") == [
        (BASE + "incident/inc-1", by_id["AI-17"]), (BASE + "incident/inc-2", by_id["AI-18"])]
    assert any("'AI-99' (1)" in w and "link left out" in w for w in res.warnings)
    objects = {str(o) for (o,) in store.select_text("SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } }")}
    assert not [o for o in objects if o.startswith("urn:aims:lookup")]
    assert res.triples == 3 * 2 + 2  # three incidents' type and label, two links


def test_a_lookup_in_a_mapping_is_checked_when_it_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(INCIDENTS.replace("by: aims:identifier", "by: aims:identifer")
                   .replace("MISSING", "error"), encoding="utf-8")
    data = tmp_path / "i.csv"
    data.write_text("Incident,System\nINC-1,AI-17\n", encoding="utf-8")
    with pytest.raises(InputError, match="aims:identifer is not in the ontology"):
        ingest(open_store("memory"), data, mapping=bad)
