"""Vocabulary and ownership: RDF using an aims: term the ontology does not define is refused
with the closest term ("did you mean ..."), or loaded with a warning under --lenient;
`aims ontology check` names such terms in a store; a batch adding facts to nodes another
batch describes says which."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mapper.errors import InputError
from mapper.ingest import ingest
from mapper.ingest.terms import suggest
from mapper.store import open_store
from tests.fixtures.api import auth

MISSPELT = b"""@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/aims/sys-7> a aims:InternalAISystem ; rdfs:label "Claims triage" ;
  aims:bussinessOwner <https://example.org/aims/p-1> .
"""


def test_suggestions_come_from_the_ontology_by_edit_distance() -> None:
    assert suggest("bussinessOwner") == "businessOwner"
    assert suggest("lifecyclestage") == "lifecycleStage"
    assert suggest("zzzzqqqq") is None


def test_an_undefined_aims_term_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    data = tmp_path / "sys.ttl"
    data.write_bytes(MISSPELT)
    store = open_store("memory")
    with pytest.raises(InputError) as info:
        ingest(store, data)
    message = str(info.value)
    assert message.startswith("sys.ttl, line 4: 1 term(s) in the aims: namespace")
    assert "aims:bussinessOwner (did you mean aims:businessOwner?)" in message
    assert not store.select_text("SELECT ?s WHERE { GRAPH ?g { ?s ?p ?o } "
                                 "FILTER(STRSTARTS(STR(?g), 'urn:aims:batch:')) }")
    [res] = ingest(store, data, lenient=True)
    assert res.triples == 3
    assert any("loaded as written (--lenient)" in w and "aims:businessOwner?" in w
               for w in res.warnings)


def _aims(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mapper.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_refuses_and_ontology_check_names_the_term(tmp_path: Path) -> None:
    data = tmp_path / "sys.ttl"
    data.write_bytes(MISSPELT)
    store = str(tmp_path / "store")
    refused = _aims("ingest", str(data), "--store", store)
    assert refused.returncode == 2 and "did you mean aims:businessOwner?" in refused.stderr
    assert _aims("ingest", str(data), "--store", store, "--lenient").returncode == 0
    checked = _aims("ontology", "check", "--store", store, "--format", "json")
    assert checked.returncode == 1, checked.stderr
    body = json.loads(checked.stdout)
    assert body["undefined_terms"] == [{"term": "aims:bussinessOwner", "count": 1,
                                        "did_you_mean": "aims:businessOwner"}]
    text = _aims("ontology", "check", "--store", store)
    assert "undefined: aims:bussinessOwner (did you mean aims:businessOwner?)" in text.stdout


def test_post_ingest_refuses_an_undefined_term_unless_lenient(
        api_client: TestClient, api_keys: dict[str, str]) -> None:
    key = auth(api_keys["contributor"]) | {"Content-Type": "text/turtle"}
    refused = api_client.post("/v1/ingest", params={"filename": "sys7.ttl", "verdict": "false"},
                              content=MISSPELT, headers=key)
    assert refused.status_code == 422, refused.text
    assert "did you mean aims:businessOwner?" in refused.text
    loaded = api_client.post("/v1/ingest", params={"filename": "sys7.ttl", "verdict": "false",
                                                   "lenient": "true"},
                             content=MISSPELT, headers=key)
    assert loaded.status_code == 200, loaded.text
    [batch] = loaded.json()["batches"]
    assert any("aims:bussinessOwner" in w for w in batch["warnings"])


def test_a_batch_adding_facts_to_another_batchs_nodes_says_so(tmp_path: Path) -> None:
    first = tmp_path / "inventory.ttl"
    first.write_bytes(b'<https://example.org/aims/sys-7> a '
                      b'<https://aims-graph.org/ns#AISystem> .\n')
    second = tmp_path / "extra.ttl"
    second.write_bytes(b'<https://example.org/aims/sys-7> <https://aims-graph.org/ns#purpose> '
                       b'"Triage" .\n<https://example.org/aims/sys-8> '
                       b'<https://aims-graph.org/ns#purpose> "Other" .\n')
    store = open_store("memory")
    ingest(store, first)
    [res] = ingest(store, second)
    assert res.merged == 1
    assert [(o["source"], o["records"]) for o in res.merged_with] == [("inventory.ttl", 1)]
    assert res.as_dict()["merged_with"][0]["graph"].startswith("urn:aims:batch:")
    assert any(w.startswith("1 record(s) add facts to nodes other batches already describe: "
                            "1 described by inventory.ttl") for w in res.warnings)
