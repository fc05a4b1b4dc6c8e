"""schemathesis against the OpenAPI document of a real server: no 500, nothing off-schema."""

from __future__ import annotations

import os
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
CHECKS = ("not_a_server_error,response_schema_conformance,status_code_conformance,"
          "content_type_conformance")


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


def test_schemathesis_finds_no_500_and_nothing_off_schema(demo_server: LiveServer) -> None:
    env = dict(os.environ, SCHEMATHESIS_HOOKS="tests.fixtures.api",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get(
                   "PYTHONPATH")])))
    done = subprocess.run(
        [str(ST), "run", f"{demo_server.url}/openapi.json",
         "-H", f"Authorization: Bearer {demo_server.keys['admin']}",
         "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
         "--max-examples", "5", "--max-time", "45", "--request-timeout", "30",
         "--seed", "4242", "--no-color"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "17 selected" in output or "Selected: 17/17" in output
    # the server survived the run
    assert httpx.get(f"{demo_server.url}/healthz").status_code == 200
