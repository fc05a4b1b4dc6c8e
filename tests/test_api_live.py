"""End to end against a real `aims serve` process on a loopback port, with real clients:
httpx for REST, SPARQLWrapper and rdflib's SPARQLStore for /sparql, curl for an upload."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from mapper.apikeys import KeyRing
from tests.fixtures.api import LiveServer, auth
from tests.fixtures.demo import DEMO_DIR

SYSTEM = "https://example.org/aims/sys-api-1"
INTAKE_TTL = f"""\
@prefix aims: <https://aims-graph.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<{SYSTEM}> a aims:InternalAISystem ;
    rdfs:label "API pushed system" ;
    aims:identifier "SYS-API-1" ;
    aims:purpose "Sort incoming supplier invoices" ;
    aims:inScope true ;
    aims:lifecycleStage aims:Proposed .

<https://example.org/aims/intake-api-1> a aims:IntakeRecord ;
    rdfs:label "Intake SYS-API-1" ;
    aims:concernsSystem <{SYSTEM}> ;
    aims:recordDate "2026-05-01"^^xsd:date .
"""
COUNT = ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o "
         "FILTER(STRSTARTS(STR(?s), 'https://example.org/aims/')) }")


def _own_key(server: LiveServer, name: str) -> str:
    """A reader key of its own: /sparql gives each key one query at a time (429 beyond), so
    concurrent clients each use their own key, as separate tools would."""
    if name not in server.keys:
        server.keys[name] = KeyRing(server.store.parent / "apikeys.json").create(
            name=name, role="reader")
    return server.keys[name]


def _load_demo(server: LiveServer) -> None:
    for path in sorted(DEMO_DIR.glob("*.ttl")):
        response = httpx.post(
            f"{server.url}/v1/ingest", params={"filename": path.name, "verdict": "false"},
            content=path.read_bytes(),
            headers=auth(server.keys["contributor"]) | {"Content-Type": "text/turtle"},
            timeout=60)
        assert response.status_code == 200, response.text


def _wrapper(server: LiveServer, query: str) -> dict[str, object]:
    sparql = SPARQLWrapper(server.url + "/sparql")
    sparql.addCustomHttpHeader("Authorization", f"Bearer {server.keys['reader']}")
    sparql.setQuery(query)
    sparql.setReturnFormat(JSON)
    result = sparql.query().convert()
    assert isinstance(result, dict)
    return result


def test_ingest_verdict_query_trace_delete(live_server: LiveServer, tmp_path: Path) -> None:
    server, url = live_server, live_server.url
    _load_demo(server)
    upload = tmp_path / "intake-SYS-API-1.ttl"
    upload.write_text(INTAKE_TTL)

    # a reader may not ingest; a contributor may
    forbidden = httpx.post(f"{url}/v1/ingest", content=upload.read_bytes(),
                           headers=auth(server.keys["reader"]) | {"Content-Type": "text/turtle"})
    assert forbidden.status_code == 403
    response = httpx.post(
        f"{url}/v1/ingest", params={"filename": upload.name, "as_of": "2026-06-30"},
        content=upload.read_bytes(),
        headers=auth(server.keys["contributor"]) | {"Content-Type": "text/turtle"}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    [batch] = body["batches"]
    assert batch["status"] == "loaded" and batch["triples"] == 10
    verdict = body["verdict"]
    assert verdict["scope"] == "systems" and verdict["systems"] == [SYSTEM]
    assert verdict["conforms"] is False  # no business owner, no risk classification yet
    rules = {f["rule"] for f in verdict["findings"]}
    assert "GATE-01" in rules and all(f["focus"].startswith("https://") for f in
                                      verdict["findings"])
    messages = " ".join(f["message"] for f in verdict["findings"])
    assert "business owner" in messages

    # the batch is listed and the data answers on /sparql (SPARQLWrapper) ...
    listed = httpx.get(f"{url}/v1/batches", headers=auth(server.keys["reader"])).json()
    assert batch["batch"] in [b["batch"] for b in listed]
    found = _wrapper(server, f"SELECT ?label WHERE {{ <{SYSTEM}> "
                             "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
    assert [b["label"]["value"] for b in found["results"]["bindings"]] == [  # type: ignore[index]
        "API pushed system"]
    asked = _wrapper(server, f"ASK {{ <{SYSTEM}> ?p ?o }}")
    assert asked["boolean"] is True

    # ... through rdflib's SPARQLStore (SELECT and CONSTRUCT) ...
    store = SPARQLStore(url + "/sparql", headers=auth(server.keys["reader"]), method="POST")
    graph = Graph(store=store)
    rows = list(graph.query(f"SELECT ?o WHERE {{ <{SYSTEM}> "
                            "<https://aims-graph.org/ns#identifier> ?o }"))
    assert [str(r[0]) for r in rows] == ["SYS-API-1"]  # type: ignore[index]
    built = graph.query(f"CONSTRUCT {{ <{SYSTEM}> ?p ?o }} WHERE {{ <{SYSTEM}> ?p ?o }}")
    assert built.graph is not None and len(built.graph) == 6
    assert (URIRef(SYSTEM), None, None) in built.graph

    # ... and as a trace
    traced = httpx.get(f"{url}/v1/systems/SYS-API-1/trace", params={"as_of": "2026-06-30"},
                       headers=auth(server.keys["reader"]), timeout=60)
    assert traced.status_code == 200
    assert any(step["record"] == "https://example.org/aims/intake-api-1"
               for step in traced.json()["steps"])

    # undo: contributor may not, admin may; then the data is gone everywhere
    path = f"{url}/v1/batches/{batch['batch']}"
    assert httpx.delete(path, headers=auth(server.keys["contributor"])).status_code == 403
    dropped = httpx.delete(path, headers=auth(server.keys["admin"]))
    assert dropped.status_code == 200 and dropped.json()["status"] == "dropped"
    assert _wrapper(server, f"ASK {{ <{SYSTEM}> ?p ?o }}")["boolean"] is False
    gone = httpx.get(f"{url}/v1/systems/SYS-API-1", headers=auth(server.keys["reader"]))
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert httpx.delete(path, headers=auth(server.keys["admin"])).status_code == 404


def test_curl_multipart_upload(live_server: LiveServer, tmp_path: Path) -> None:
    upload = tmp_path / "curl-upload.ttl"
    upload.write_text('<https://example.org/aims/curl-node> '
                      '<http://www.w3.org/2000/01/rdf-schema#label> "from curl" .\n')
    done = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-H",
         f"Authorization: Bearer {live_server.keys['contributor']}",
         "-F", f"file=@{upload};type=text/turtle", "-F", "verdict=false",
         f"{live_server.url}/v1/ingest"],
        capture_output=True, text=True, timeout=60, check=True)
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "200", body
    [batch] = json.loads(body)["batches"]
    assert batch["source"] == "curl-upload.ttl" and batch["triples"] == 1


def test_readers_never_see_half_an_ingest(live_server: LiveServer, tmp_path: Path) -> None:
    """Readers querying while a large ingest runs see the state before or after, and no
    request fails."""
    server, url = live_server, live_server.url
    size = 3000
    lines = [f"<https://example.org/aims/bulk-{i}> <urn:test:p> \"{i}\" ."
             for i in range(size)]
    data = "\n".join(lines).encode()
    before = int(_count(server))
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def reader(kind: str, key: str) -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    if kind == "sparql":
                        r = client.get(f"{url}/sparql", params={"query": COUNT},
                                       headers=auth(key))
                        seen.append(int(r.json()["results"]["bindings"][0]["n"]["value"]))
                    else:
                        r = client.get(f"{url}/v1/queries/ai-systems", headers=auth(key))
                        r.raise_for_status()
                        r = client.post(f"{url}/sparql", data={"query": COUNT},
                                        headers=auth(key))
                        seen.append(int(r.json()["results"]["bindings"][0]["n"]["value"]))
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=reader, args=(k, _own_key(server, f"half-{n}")))
               for n, k in enumerate(("sparql", "rest", "sparql"))]
    for t in threads:
        t.start()
    time.sleep(0.3)
    response = httpx.post(f"{url}/v1/ingest", params={"filename": "bulk.nt", "verdict": "false"},
                          content=data, timeout=120, headers=auth(server.keys["contributor"])
                          | {"Content-Type": "application/n-triples"})
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(60)
    assert response.status_code == 200, response.text
    assert not failures, failures[:3]
    print("counts seen by readers:", {n: seen.count(n) for n in set(seen)})
    assert seen and set(seen) <= {before, before + size}, sorted(set(seen))[:10]
    assert int(_count(server)) == before + size


def _count(server: LiveServer) -> str:
    r = httpx.get(f"{server.url}/sparql", params={"query": COUNT},
                  headers=auth(server.keys["reader"]), timeout=60)
    return str(r.json()["results"]["bindings"][0]["n"]["value"])


def test_parallel_mixed_requests_all_succeed(live_server: LiveServer) -> None:
    """Fresh-process parallel load on /sparql, validation and named queries: no request fails
    (rdflib's SPARQL parser is not thread-safe, so it must never run in two threads)."""
    server, url = live_server, live_server.url
    calls = [
        ("GET", "/sparql", {"query": "SELECT ?s WHERE { ?s a ?t } LIMIT 3"}),
        ("GET", "/sparql", {"query": "ASK { ?s ?p ?o FILTER(?s != ?o) }"}),
        ("GET", "/sparql", {"query": "CONSTRUCT WHERE { ?s a ?t } LIMIT 2"}),
        ("GET", "/v1/validate", {"as_of": "2026-06-30", "rule": "PROC-01"}),
        ("GET", "/v1/queries/ai-systems", {}),
        ("GET", "/v1/rules", {}),
    ]
    statuses: list[int] = []

    def run(offset: int, key: str) -> None:
        with httpx.Client(timeout=120) as client:
            for i in range(6):
                method, path, params = calls[(offset + i) % len(calls)]
                statuses.append(client.request(method, url + path, params=params,
                                               headers=auth(key)).status_code)

    threads = [threading.Thread(target=run, args=(n, _own_key(server, f"mixed-{n}")))
               for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert statuses == [200] * 36, statuses
