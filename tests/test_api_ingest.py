"""POST /v1/ingest and the batch routes, in process over the demo store."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from mapper.store import Store
from tests.fixtures.api import auth

DATA = Path(__file__).resolve().parent / "data" / "ingest"
TTL = b"""@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/aims/sys-42> a aims:InternalAISystem ; rdfs:label "Invoice OCR" ;
  aims:identifier "SYS-42" ; aims:inScope true .
"""


def _post(client: TestClient, key: str, body: bytes, kind: str, **params: str) -> httpx.Response:
    return client.post("/v1/ingest", params=params, content=body,
                       headers=auth(key) | {"Content-Type": kind})


@pytest.fixture
def contributor(api_keys: dict[str, str]) -> str:
    return api_keys["contributor"]


def test_turtle_body_gives_batch_and_verdict(api_client: TestClient, contributor: str) -> None:
    response = api_client.post("/v1/ingest", params={"filename": "sys42.ttl",
                                                     "as_of": "2026-06-30"},
                               content=TTL, headers=auth(contributor) | {
                                   "Content-Type": "text/turtle"})
    assert response.status_code == 200, response.text
    body = response.json()
    [batch] = body["batches"]
    assert batch["source"] == "sys42.ttl" and batch["status"] == "loaded"
    assert batch["triples"] == 4
    verdict = body["verdict"]
    assert verdict["as_of"] == "2026-06-30" and verdict["conforms"] is False
    assert verdict["systems"] == ["https://example.org/aims/sys-42"]
    # only findings about what the batch touched, not the demo's own
    assert {f["focus"] for f in verdict["findings"]} <= {"https://example.org/aims/sys-42"}
    assert "GATE-01" in verdict["summary"]["by_rule"]
    # listed, readable, then undone by an admin
    batches = api_client.get("/v1/batches", headers=auth(contributor)).json()
    assert [b["batch"] for b in batches] == [batch["batch"]]
    assert batches[0]["actor"] == "test-contributor"


def test_same_name_replaces_same_content_is_unchanged(api_client: TestClient,
                                                      contributor: str) -> None:
    first = api_client.post("/v1/ingest", params={"filename": "a.ttl", "verdict": "false"},
                            content=TTL, headers=auth(contributor) | {
                                "Content-Type": "text/turtle"}).json()
    again = api_client.post("/v1/ingest", params={"filename": "a.ttl", "verdict": "false"},
                            content=TTL, headers=auth(contributor) | {
                                "Content-Type": "text/turtle"}).json()
    assert again["batches"][0]["status"] == "unchanged"
    assert again["verdict"] is None
    changed = api_client.post("/v1/ingest", params={"filename": "a.ttl", "verdict": "false"},
                              content=TTL.replace(b"Invoice OCR", b"Invoice reader"),
                              headers=auth(contributor) | {"Content-Type": "text/turtle"}
                              ).json()
    assert changed["batches"][0]["status"] == "replaced"
    assert changed["batches"][0]["replaced"] == first["batches"][0]["batch"]


def test_multipart_csv_with_mapping(api_client: TestClient, contributor: str,
                                    demo_store: Store) -> None:
    response = api_client.post(
        "/v1/ingest", headers=auth(contributor),
        files={"file": ("../../systems.csv", (DATA / "systems.csv").read_bytes(), "text/csv")},
        data={"mapping": "aims-workbook", "as_of": "2026-06-30"})
    assert response.status_code == 200, response.text
    body = response.json()
    [batch] = body["batches"]
    assert batch["source"] == "systems.csv" and batch["mapping"] == "aims-workbook"
    assert batch["records"] >= 3 and batch["rejected"] == []
    assert body["verdict"]["scope"] in ("systems", "nodes")


def test_invalid_rows_abort_with_422_and_nothing_written(
    api_client: TestClient, contributor: str, demo_store: Store
) -> None:
    before = set(demo_store.graphs())
    response = _post(api_client, contributor, (DATA / "duplicate_key.csv").read_bytes(),
                     "text/csv", filename="dup.csv")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input" and "rows 2, 4" in body["message"]
    assert set(demo_store.graphs()) == before


def test_skip_invalid_returns_rejected_rows(api_client: TestClient, contributor: str) -> None:
    response = _post(api_client, contributor, (DATA / "duplicate_key.csv").read_bytes(),
                     "text/csv", filename="dup.csv", skip_invalid="true", verdict="false")
    assert response.status_code == 200, response.text
    [batch] = response.json()["batches"]
    assert batch["records"] == 1
    [group] = batch["rejected"]  # both SYS-1 rows, reported once
    assert (group["row"], group["count"], group["rows"]) == (2, 2, [2, 4])
    assert all(r["reason"] for r in batch["rejected"])


def test_json_records(api_client: TestClient, contributor: str) -> None:
    records = [{"System ID": "J-1", "Name": "From JSON", "In scope": True}]
    response = _post(api_client, contributor, json.dumps(records).encode(),
                     "application/json", filename="records.json", verdict="false")
    assert response.status_code == 200, response.text
    assert response.json()["batches"][0]["mapping"] == "aims-workbook"


@pytest.mark.parametrize("body, kind, words", [
    (b"<urn:a> <urn:b> .", "application/n-triples", "line 1"),
    (b"", "text/turtle", "empty"),
    (b"hello", "application/pdf", "unsupported Content-Type"),
    (b"a,b\n1,2\n", "text/csv", "no built-in mapping fits"),
])
def test_bad_input_is_422(api_client: TestClient, contributor: str, body: bytes, kind: str,
                          words: str) -> None:
    response = _post(api_client, contributor, body, kind)
    assert response.status_code == 422, response.text
    assert words in response.json()["message"]


def test_mapping_must_be_built_in(api_client: TestClient, contributor: str) -> None:
    response = _post(api_client, contributor, b"a,b\n1,2\n", "text/csv",
                     mapping="/etc/passwd")
    assert response.status_code == 422
    assert response.json()["ref"] == "mapping"


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Recorder.hits.append(self.path)
        body = b'{"@context": {"name": "http://schema.org/name"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[str]:
    """A loopback HTTP server that records every fetch: any hit means the API went out."""
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_jsonld_remote_context_is_never_fetched(api_client: TestClient, contributor: str,
                                                trap: str, demo_store: Store) -> None:
    doc = {"@context": f"{trap}/context.jsonld", "@id": "https://example.org/x",
           "name": "x"}
    response = _post(api_client, contributor, json.dumps(doc).encode(), "application/ld+json")
    assert response.status_code == 422
    assert "remote" in response.json()["message"]
    nested = {"@context": [{"@import": f"{trap}/other.jsonld"}], "@id": "https://example.org/y"}
    response = _post(api_client, contributor, json.dumps(nested).encode(), "application/ld+json")
    assert response.status_code == 422
    assert _Recorder.hits == []
    inline = {"@context": {"name": "http://schema.org/name"}, "@id": "https://example.org/z",
              "name": "inline"}
    ok = _post(api_client, contributor, json.dumps(inline).encode(), "application/ld+json",
               verdict="false")
    assert ok.status_code == 200 and ok.json()["batches"][0]["triples"] == 1


def test_rdfxml_external_entity_is_never_resolved(api_client: TestClient, contributor: str,
                                                  trap: str) -> None:
    payloads = [
        (DATA / "entity.rdf").read_bytes(),
        (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{trap}/entity">]>'
         '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
         '<rdf:Description rdf:about="urn:a"><rdf:value>&x;</rdf:value></rdf:Description>'
         "</rdf:RDF>").encode(),
    ]
    for payload in payloads:
        response = _post(api_client, contributor, payload, "application/rdf+xml")
        assert response.status_code == 422
        assert "DOCTYPE" in response.json()["message"]
        assert "root:" not in response.text
    assert _Recorder.hits == []


def test_batches_get_and_delete(api_client: TestClient, api_keys: dict[str, str],
                                demo_store: Store) -> None:
    made = _post(api_client, api_keys["contributor"], TTL, "text/turtle", filename="b.ttl",
                 verdict="false").json()["batches"][0]
    reader = auth(api_keys["reader"])
    one = api_client.get(f"/v1/batches/{made['batch']}", headers=reader)
    assert one.status_code == 200 and one.json()["source"] == "b.ttl"
    assert made["graph"] in demo_store.graphs()
    dropped = api_client.delete(f"/v1/batches/{made['batch']}", headers=auth(api_keys["admin"]))
    assert dropped.status_code == 200 and dropped.json()["status"] == "dropped"
    assert made["graph"] not in demo_store.graphs()
    assert api_client.get(f"/v1/batches/{made['batch']}", headers=reader).json()[
        "status"] == "dropped"
    again = api_client.delete(f"/v1/batches/{made['batch']}", headers=auth(api_keys["admin"]))
    assert again.status_code == 404
