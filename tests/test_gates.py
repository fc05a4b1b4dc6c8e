"""Gate decisions: read off the assessment by the CLI, the API and the example pipelines."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mapper.cli.common import app
from mapper.rules.assessment import assess
from mapper.runs import gates
from mapper.store import Store
from tests.fixtures.api import AIMS, LiveServer, auth, start_server, stop_server
from tests.fixtures.demo import DEMO_DIR, demo_as_of

PIPELINES = Path(__file__).resolve().parents[1] / "examples" / "pipelines"
GATES = ("intake", "risk", "release", "post-release")


def test_every_decision_follows_the_assessment(demo_store: Store) -> None:
    as_of = demo_as_of()
    verdict = assess(demo_store, as_of=as_of)
    seen = set()
    for system in verdict.systems:
        for gate in GATES:
            decision = gates.decide(demo_store, system.identifier, gate, as_of=as_of)
            status = system.gate(gate).status
            assert decision.status == status
            assert decision.allowed == (status in ("pass", "warn"))
            violations = [f.rule for f in system.gate(gate).findings
                          if f.severity == "Violation"]
            if status == "fail":
                assert [m.rule for m in decision.missing] == violations
            if status == "not reached":
                assert decision.missing and all(m.rule.startswith("GATE-")
                                                 for m in decision.missing)
            assert all(m.record_to_add for m in decision.missing)
            seen.add(status)
    assert seen == {"pass", "warn", "fail", "not reached"}


def test_record_to_add_comes_from_the_shapes(demo_store: Store) -> None:
    as_of = demo_as_of()
    hr = gates.decide(demo_store, "SYS-HR-CV-SCREEN", "risk", as_of=as_of)
    assert hr.decision == "deny"
    assert [(m.rule, m.record_to_add) for m in hr.missing] == [
        ("GATE-04", "aims:ImpactAssessment concerning the system")]
    ocr = gates.decide(demo_store, "SYS-DOC-OCR", "intake", as_of=as_of)
    assert ocr.missing[0].record_to_add.startswith("aims:businessOwner on ")
    # the material change (GATE-09) asks for a new classification, not another change record
    pricing = gates.decide(demo_store, "SYS-UW-PRICING", "release", as_of=as_of)
    assert pricing.decision == "deny"
    assert [(m.rule, m.record_to_add) for m in pricing.missing] == [
        ("GATE-09", "aims:RiskClassification concerning the system")]


def test_cli_exit_codes(demo_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    import mapper.cli.gate as cli_gate

    @contextmanager
    def _opened(_: object) -> Iterator[Store]:
        yield demo_store

    monkeypatch.setattr(cli_gate, "opened", _opened)
    runner = CliRunner()
    deny = runner.invoke(app, ["gate", "SYS-CS-ASSISTANT", "--gate", "release",
                               "--as-of", "2026-06-30", "--format", "json"])
    assert deny.exit_code == 1, deny.output
    body = json.loads(deny.output)
    assert body["decision"] == "deny" and body["missing"][0]["rule"] == "GATE-05"
    allow = runner.invoke(app, ["gate", "SYS-CLAIMS-TRIAGE", "--gate", "release",
                                "--as-of", "2026-06-30"])
    assert allow.exit_code == 0 and allow.output.startswith("ALLOW:")
    # the real `aims` script turns a MapperError into one line and exit 2
    bad = subprocess.run([str(AIMS), "gate", "SYS-CLAIMS-TRIAGE", "--gate", "deploy",
                          "--store", "memory"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: unknown gate 'deploy': use one of intake, risk, "
                                  "release, post-release")


def test_api_matches_the_core(api_client: TestClient, api_keys: dict[str, str],
                              demo_store: Store) -> None:
    headers = auth(api_keys["reader"])
    r = api_client.get("/v1/systems/SYS-UW-PRICING/gates/post-release",
                       params={"as_of": "2026-06-30"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == gates.decide(demo_store, "SYS-UW-PRICING", "post-release",
                                    as_of=demo_as_of()).to_dict()
    assert r.json()["decision"] == "allow" and r.json()["warnings"]
    assert api_client.get("/v1/systems/SYS-NOPE/gates/release",
                          headers=headers).status_code == 404
    assert api_client.get("/v1/systems/SYS-UW-PRICING/gates/deploy",
                          headers=headers).status_code == 422
    assert api_client.get("/v1/systems/SYS-UW-PRICING/gates/release").status_code == 401


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("gates"))
    for path in sorted(DEMO_DIR.glob("*.ttl")):
        r = httpx.post(f"{server.url}/v1/ingest",
                       params={"filename": path.name, "verdict": "false"},
                       content=path.read_bytes(), timeout=60,
                       headers=auth(server.keys["contributor"]) | {"Content-Type": "text/turtle"})
        assert r.status_code == 200, r.text
    yield server
    stop_server(server)


def _env(server: LiveServer, system: str) -> dict[str, str]:
    return dict(os.environ, AIMS_URL=server.url, AIMS_KEY=server.keys["reader"],
                AIMS_SYSTEM=system, AIMS_AS_OF="2026-06-30", AIMS_GATE="release")


def _github_step() -> str:
    flow = yaml.safe_load((PIPELINES / "github-actions.yml").read_text())
    return str(flow["jobs"]["aims-release-gate"]["steps"][0]["run"])


def _gitlab_script() -> list[str]:
    flow = yaml.safe_load((PIPELINES / "gitlab-ci.yml").read_text())
    job = flow["aims-release-gate"]
    return [*job["before_script"], *job["script"]]


@pytest.mark.parametrize(("system", "code"), [("SYS-CLAIMS-TRIAGE", 0),
                                              ("SYS-CS-ASSISTANT", 1),
                                              ("SYS-TELEMATICS", 1)])
def test_pipelines_block_on_deny(served_demo: LiveServer, tmp_path: Path, system: str,
                                 code: int) -> None:
    env = _env(served_demo, system)
    github = subprocess.run(["bash", "-e", "-c", _github_step()], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert (github.returncode != 0) == bool(code), github.stdout + github.stderr
    assert f"release gate for {system}: {'allow' if code == 0 else 'deny'}" in github.stdout
    # GitLab runs each script line in one shell and stops at the first failing one
    gitlab = subprocess.run(["sh", "-e", "-c", "\n".join(_gitlab_script())], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (gitlab.returncode != 0) == bool(code), gitlab.stdout + gitlab.stderr
    if code:
        assert "missing [GATE-0" in github.stdout and "missing [GATE-0" in gitlab.stdout


def test_pipeline_reports_a_bad_key(served_demo: LiveServer, tmp_path: Path) -> None:
    env = _env(served_demo, "SYS-CLAIMS-TRIAGE") | {"AIMS_KEY": "wrong"}
    run = subprocess.run(["bash", "-e", "-c", _github_step()], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "HTTP 401" in run.stdout


@pytest.mark.parametrize(("system", "code", "last"), [
    ("SYS-WEATHER-CAT", 0, "approve: SYS-WEATHER-CAT may be procured"),
    ("SYS-HR-CV-SCREEN", 1, "hold: SYS-HR-CV-SCREEN"),
    ("SYS-NOPE", 2, None)])
def test_procurement_call(served_demo: LiveServer, tmp_path: Path, system: str, code: int,
                          last: str | None) -> None:
    run = subprocess.run([str(PIPELINES / "procurement-check.sh"), system],
                         env=_env(served_demo, system), cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == code, run.stdout + run.stderr
    if last:
        assert run.stdout.strip().splitlines()[-1] == last
    else:
        assert "HTTP 404" in run.stdout
