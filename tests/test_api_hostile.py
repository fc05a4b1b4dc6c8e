"""The endpoints under hostile readers, against a real `aims serve` on a loopback port.

Each case is what a reader with a valid key (or a damaged server file) did to the API before:
starving /sparql, growing a worker's memory without bound, nesting 3,000 groups, scoping a
query with FROM and getting the whole store, a formula typed as a number in CSV/TSV results,
a damaged key file answered 422 with its path. The server here runs with small limits (time
8 s, memory 256 MB a worker, a queue of 1) so that every limit is reached in seconds.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rdflib import Literal, URIRef
from SPARQLWrapper import CSV, JSON, SPARQLWrapper

from mapper.apikeys import KeyRing
from mapper.store import open_store
from tests.fixtures.api import AIMS, auth, free_port

GRAPH_A, GRAPH_B = "urn:test:hostile:a", "urn:test:hostile:b"
SIZE = 2000
FORMULA = "=cmd|' /C calc'!A0"
HEAVY_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
HEAVY_SORT = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"
TYPED_FORMULA = ("PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT ?x ?n WHERE { "
                 f"BIND(STRDT(\"{FORMULA}\", xsd:integer) AS ?x) BIND(-5 AS ?n) }}")
LIMITS = {"AIMS_SPARQL_TIMEOUT": "8", "AIMS_SPARQL_MEMORY_MB": "256",
          "AIMS_SPARQL_QUEUE": "1", "AIMS_SPARQL_WORKERS": "2"}


@dataclass
class Server:
    url: str
    keys_file: Path
    log: Path
    process: subprocess.Popen[bytes]
    keys: dict[str, str]

    def key(self, name: str) -> str:
        """A reader key of its own for `name` (created on first use; the server re-reads)."""
        if name not in self.keys:
            self.keys[name] = KeyRing(self.keys_file).create(name=name, role="reader")
        return self.keys[name]

    def sparql(self, who: str, query: str, *, timeout: float = 60,
               headers: dict[str, str] | None = None, **params: object) -> httpx.Response:
        return httpx.get(f"{self.url}/sparql", params={"query": query, **params},
                         headers=auth(self.key(who)) | (headers or {}), timeout=timeout)


def launch(folder: Path, store: str, extra_env: dict[str, str]) -> Server:
    """`aims serve` on a free loopback port, its log in a file (read by the fault cases)."""
    keys_file = folder / "apikeys.json"
    log = folder / "server.log"
    port = free_port()
    env = dict(os.environ, AIMS_API_KEYS=str(keys_file), **extra_env)
    env.pop("AIMS_STORE", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(AIMS), "serve", "--store", store, "--port", str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", keys_file, log, process, {})
    server.key("reader")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"aims serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("aims serve did not answer /healthz within 60 s")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _data() -> list[tuple[URIRef, URIRef, Literal, str]]:
    quads = [(URIRef(f"urn:test:s{i}"), URIRef("urn:test:p"), Literal(f"value {i}"), GRAPH_A)
             for i in range(SIZE)]
    quads.append((URIRef("urn:test:only-b"), URIRef("urn:test:p"), Literal("b"), GRAPH_B))
    return quads


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("hostile")
    store = open_store(str(folder / "store"))
    store.add_quads(_data())
    store.close()
    running = launch(folder, str(folder / "store"), LIMITS)
    for _ in range(2):  # both workers started and on the snapshot: latencies are steady state
        assert running.sparql("reader", "ASK {}").status_code == 200
    yield running
    stop(running)


def _in_thread(call: object) -> tuple[threading.Thread, list[httpx.Response]]:
    out: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: out.append(call()))  # type: ignore[operator]
    thread.start()
    return thread, out


# --- fair share ----------------------------------------------------------------------------


def test_one_key_cannot_hold_every_worker(server: Server) -> None:
    """Two heavy queries from one key: the second is 429 at once; another client's ASK {}
    is answered quickly meanwhile; the heavy one is stopped at the time limit as 503."""
    first, answers = _in_thread(lambda: server.sparql("greedy", HEAVY_COUNT))
    time.sleep(1.0)  # the first query is running
    started = time.monotonic()
    second = server.sparql("greedy", HEAVY_COUNT)
    assert second.status_code == 429, second.text
    assert time.monotonic() - started < 1.0
    assert second.json()["error"] == "too_many_requests"
    assert "per key" in second.json()["message"] and int(second.headers["Retry-After"]) >= 1
    started = time.monotonic()
    other = server.sparql("polite", "ASK {}")
    latency = time.monotonic() - started
    assert other.status_code == 200 and other.json()["boolean"] is True
    assert latency < 1.0, f"a third client waited {latency:.2f} s"
    first.join(30)
    [stopped] = answers
    assert stopped.status_code == 503, stopped.text
    assert stopped.json()["error"] == "query_timeout"
    assert int(stopped.headers["Retry-After"]) >= 1


def test_queue_is_bounded(server: Server) -> None:
    """Two workers busy and one query waiting (queue 1): a fourth key's query is 503 busy at
    once, with Retry-After; the waiting one runs when a worker frees."""
    for who in ("q1", "q2", "q3", "q4"):  # keys made first: their hashing is not in the waits
        server.key(who)
    running = [_in_thread(lambda who=who: server.sparql(who, HEAVY_COUNT))  # type: ignore[misc]
               for who in ("q1", "q2")]
    time.sleep(2.0)  # both workers on the heavy queries (they run to the 8 s limit)
    waiting = _in_thread(lambda: server.sparql("q3", "ASK {}", timeout=60))
    time.sleep(1.0)
    started = time.monotonic()
    refused = server.sparql("q4", "ASK {}")
    assert time.monotonic() - started < 1.0
    assert refused.status_code == 503 and refused.json()["error"] == "busy", refused.text
    assert "queue" in refused.json()["message"] and "Retry-After" in refused.headers
    for thread, _ in [*running, waiting]:
        thread.join(30)
    assert [out[0].status_code for _, out in running] == [503, 503]
    assert waiting[1][0].status_code == 200


# --- memory and nesting ---------------------------------------------------------------------


def test_memory_cap_stops_the_query_not_the_server(server: Server) -> None:
    started = time.monotonic()
    response = server.sparql("hungry", HEAVY_SORT)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "resource_limit"
    assert "256 MB" in response.json()["message"] and "Retry-After" in response.headers
    assert time.monotonic() - started < 8  # the cap, not the time limit, stopped it
    assert server.process.poll() is None
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    assert server.sparql("hungry", "ASK {}").json()["boolean"] is True


@pytest.mark.parametrize(("query", "words"), [
    ("SELECT * WHERE " + "{ " * 3000 + "?s ?p ?o " + "} " * 3000, "64 deep"),
    ("ASK { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }", "64 deep"),
    ("ASK { ?s ?p '" + "x" * 120_000 + "' }", "100,000"),
])
def test_size_and_nesting_limits_are_400_naming_the_limit(server: Server, query: str,
                                                          words: str) -> None:
    response = httpx.post(f"{server.url}/sparql", content=query.encode(), timeout=30,
                          headers=auth(server.key("nester"))
                          | {"Content-Type": "application/sparql-query"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_query" and words in response.json()["message"]
    assert server.sparql("nester", "ASK {}").status_code == 200


def test_nesting_within_the_limit_runs(server: Server) -> None:
    query = "SELECT * WHERE " + "{ " * 60 + "?s <urn:test:p> 'b' " + "} " * 60
    response = server.sparql("nester", query)
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]["bindings"]) == 1


# --- the dataset clause ---------------------------------------------------------------------


def _wrapper(server: Server, query: str, *, default: list[str] = (),  # type: ignore[assignment]
             named: list[str] = ()) -> dict[str, object]:  # type: ignore[assignment]
    client = SPARQLWrapper(server.url + "/sparql")
    client.addCustomHttpHeader("Authorization", f"Bearer {server.key('scoper')}")
    for graph in default:
        client.addDefaultGraph(graph)
    for graph in named:
        client.addNamedGraph(graph)
    client.setQuery(query)
    client.setReturnFormat(JSON)
    result = client.query().convert()
    assert isinstance(result, dict)
    return result


def _values(result: dict[str, object], var: str) -> set[str]:
    rows = result["results"]["bindings"]  # type: ignore[index]
    return {row[var]["value"] for row in rows if var in row}


def test_from_and_from_named_are_honoured(server: Server) -> None:
    only_b = "SELECT ?s WHERE { ?s <urn:test:p> ?o }"
    assert _values(_wrapper(server, "SELECT * FROM <urn:none> WHERE { ?s ?p ?o }"), "s") == set()
    scoped = _wrapper(server, f"SELECT ?s FROM <{GRAPH_B}> WHERE {{ ?s <urn:test:p> ?o }}")
    assert _values(scoped, "s") == {"urn:test:only-b"}
    named = _wrapper(server, f"SELECT ?g ?s FROM NAMED <{GRAPH_B}> "
                             "WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert _values(named, "g") == {GRAPH_B}
    # FROM NAMED alone: the default graph is empty (SPARQL 1.1 Query, 13.2)
    assert _values(_wrapper(server, f"SELECT ?s FROM NAMED <{GRAPH_B}> WHERE {{ ?s ?p ?o }}"),
                   "s") == set()
    # no dataset anywhere: the union of all graphs, as before
    assert len(_values(_wrapper(server, only_b), "s")) == SIZE + 1


def test_protocol_graph_parameters_win_over_the_query(server: Server) -> None:
    query = f"SELECT ?s FROM <{GRAPH_A}> WHERE {{ ?s <urn:test:p> ?o }}"
    assert _values(_wrapper(server, query, default=[GRAPH_B]), "s") == {"urn:test:only-b"}
    graphs = _wrapper(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                      named=[GRAPH_B])
    assert _values(graphs, "g") == {GRAPH_B}
    both = _wrapper(server, "SELECT ?s WHERE { ?s <urn:test:p> 'b' }",
                    default=[GRAPH_A, GRAPH_B])
    assert _values(both, "s") == {"urn:test:only-b"}


# --- CSV and TSV ----------------------------------------------------------------------------


def test_a_formula_typed_as_a_number_is_neutralised_in_csv_and_tsv(server: Server) -> None:
    csv = server.sparql("sheet", TYPED_FORMULA, headers={"Accept": "text/csv"})
    assert csv.status_code == 200, csv.text
    assert csv.text.splitlines() == ["x,n", f"'{FORMULA},-5"]
    tsv = server.sparql("sheet", TYPED_FORMULA,
                        headers={"Accept": "text/tab-separated-values"})
    lines = tsv.text.splitlines()
    assert lines[0] == "?x\t?n"
    cell = lines[1].split("\t")[0]
    assert cell.startswith("\"'=cmd"), lines[1]
    assert not any(c.lstrip('"')[:1] in "=+-@" for c in lines[1].split("\t")[:1])
    client = SPARQLWrapper(server.url + "/sparql")
    client.addCustomHttpHeader("Authorization", f"Bearer {server.key('sheet')}")
    client.setQuery(TYPED_FORMULA)
    client.setReturnFormat(CSV)
    body = client.query().convert()
    assert isinstance(body, bytes) and body.decode().splitlines()[1].startswith("'=")


# --- faults ---------------------------------------------------------------------------------


def test_damaged_key_file_is_a_503_that_names_nothing(server: Server) -> None:
    good = server.keys_file.read_bytes()
    key = server.key("reader")
    try:
        server.keys_file.write_text("{ this is not json", encoding="utf-8")
        response = server.sparql("reader", "ASK {}")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"] == "server_fault"
        assert str(server.keys_file) not in response.text and "json" not in body["message"]
        assert body["ref"] and len(body["ref"]) == 12
        time.sleep(0.3)
        log = server.log.read_text(errors="replace")
        line = next(x for x in log.splitlines() if body["ref"] in x)
        assert str(server.keys_file) in line and "damaged" in line
    finally:
        server.keys_file.write_bytes(good)
    assert server.sparql("reader", "ASK {}").status_code == 200
    assert server.keys["reader"] == key


def test_init_honours_aims_store_and_the_store_option(tmp_path: Path) -> None:
    env = dict(os.environ, AIMS_STORE=str(tmp_path / "from-env"))
    done = subprocess.run([str(AIMS), "init"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-env").is_dir() and not (tmp_path / ".aims").exists()
    assert str(tmp_path / "from-env") in done.stdout
    done = subprocess.run([str(AIMS), "init", "--store", str(tmp_path / "from-option")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-option").is_dir() and not (tmp_path / ".aims").exists()


def test_rss_watchdog_stops_a_worker_that_has_no_cap(tmp_path: Path) -> None:
    """Where the worker cannot cap its address space (here: told no allowance, as on a
    platform without RLIMIT_AS), the API's watchdog on its RSS stops the query instead."""
    import pyoxigraph as ox

    from api.sparql import WorkerDied, _Worker

    native = ox.Store(str(tmp_path / "store"))
    native.extend([ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"),
                           ox.Literal("x" * 40), ox.NamedNode("urn:g")) for i in range(SIZE)])
    native.flush()
    native.backup(str(tmp_path / "snapshot"))
    del native
    worker = _Worker()
    try:
        header, _ = worker.call({"op": "hello", "memory_mb": 0}, timeout=60)
        assert header["limited"] is False
        worker.limited, worker.rss_cap = False, (worker._rss() or 0) + 200 * 1024 * 1024
        worker.call({"op": "open", "kind": "disk", "path": str(tmp_path / "snapshot")},
                    timeout=60)
        request = {"op": "query", "query": HEAVY_SORT, "accept": None, "max": 10,
                   "default_graph": None, "named_graphs": None, "dataset_in_query": False,
                   "remote": None}
        started = time.monotonic()
        with pytest.raises(WorkerDied):
            worker.call(request, timeout=30)
        assert time.monotonic() - started < 10 and worker.died_of_memory()
    finally:
        worker.kill()
