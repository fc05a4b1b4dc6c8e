"""schemathesis against the OpenAPI document of a real server: no 500, nothing off-schema."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.api import LiveServer, auth, start_server, stop_server
from tests.fixtures.demo import DEMO_DIR

ROOT = Path(__file__).resolve().parents[1]
ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("schema"))
    for path in sorted(DEMO_DIR.glob("*.ttl")):
        httpx.post(f"{server.url}/v1/ingest", params={"filename": path.name, "verdict": "false"},
                   content=path.read_bytes(), timeout=60,
                   headers=auth(server.keys["contributor"]) | {"Content-Type": "text/turtle"}
                   ).raise_for_status()
    yield server
    stop_server(server)


@pytest.mark.parametrize("role", ["admin", "reader"])
def test_schemathesis_every_check_passes(demo_server: LiveServer, role: str) -> None:
    """Every schemathesis check (server errors, response schemas, status codes, content types,
    schema-valid requests accepted, schema-violating ones rejected, Allow headers, ...) over
    every route, with the examples, coverage, fuzzing and stateful phases, as each role sees
    the API. schemathesis.toml says which statuses a meaningful refusal may have."""
    env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.fixtures.api",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get(
                   "PYTHONPATH")])))
    # a reader's writes are refused (403, tests/test_api_auth.py): its run covers what it may do
    writes = (r"^(POST /v1/ingest|DELETE /v1/batches|[A-Z]+ /v1/webhooks"
              r"|(POST|PATCH|DELETE) /v1/records)")
    only = ["--exclude-name-regex", writes] if role == "reader" else []
    done = subprocess.run(
        [str(ST), "run", f"{demo_server.url}/openapi.json", *only,
         "-H", f"Authorization: Bearer {demo_server.keys[role]}",
         "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
         "--max-examples", "10", "--max-time", "60", "--request-timeout", "30",
         "--seed", "4242", "--no-color"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    counts = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert counts, output[-2000:]
    selected, total = int(counts[1]), int(counts[2])
    paths = httpx.get(f"{demo_server.url}/openapi.json").json()["paths"]
    names = [f"{m.upper()} {p}" for p, ops in paths.items() for m in ops]
    excluded = sum(1 for n in names if re.match(writes, n)) if only else 0
    assert selected == total - excluded == len(names) - excluded  # every other route was run
    # the server survived the run
    assert httpx.get(f"{demo_server.url}/healthz").status_code == 200


def test_ingest_links_to_the_batch_it_made(demo_server: LiveServer) -> None:
    """The links the stateful phase follows name operations that exist, with a parameter the
    answer really carries (a renamed route or answer field fails here, not silently there)."""
    spec = httpx.get(f"{demo_server.url}/openapi.json").json()
    ids = {op["operationId"]: (path, op) for path, ops in spec["paths"].items()
           for op in ops.values() if isinstance(op, dict) and "operationId" in op}
    links = spec["paths"]["/v1/ingest"]["post"]["responses"]["200"]["links"]
    assert set(links) == {"GetBatch"}
    answer = httpx.post(f"{demo_server.url}/v1/ingest", params={"filename": "link.ttl"},
                        content=b"<urn:x:a> <urn:x:p> \"1\" .",
                        headers=auth(demo_server.keys["contributor"])
                        | {"Content-Type": "text/turtle"}, timeout=60).json()
    for link in links.values():
        path, op = ids[link["operationId"]]
        assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == set(
            link["parameters"])
        [(name, expression)] = link["parameters"].items()
        value = answer["batches"][0][expression.rsplit("/", 1)[-1]]
        got = httpx.get(f"{demo_server.url}{path.replace('{' + name + '}', value)}",
                        headers=auth(demo_server.keys["reader"]), timeout=30)
        assert got.status_code == 200, got.text
