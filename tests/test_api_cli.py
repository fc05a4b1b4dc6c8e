"""`aims apikey create|list|revoke` and the `aims serve` safety checks, as real commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from mapper.apikeys import KeyRing
from tests.fixtures.api import AIMS, free_port


def _aims(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AIMS), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})


def test_apikey_create_list_revoke(tmp_path: Path) -> None:
    created = _aims("apikey", "create", "--role", "contributor", "--name", "ci",
                    "--store", "st", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("aims_") and "cannot be shown again" in created.stderr
    keys_file = tmp_path / "st" / "apikeys.json"
    assert key not in keys_file.read_text()
    assert KeyRing(keys_file).verify(key).role == "contributor"  # type: ignore[union-attr]
    listed = _aims("apikey", "list", "--store", "st", "--format", "json", cwd=tmp_path)
    entries = json.loads(listed.stdout)
    assert [(e["name"], e["role"]) for e in entries] == [("ci", "contributor")]
    assert key not in listed.stdout
    again = _aims("apikey", "create", "--role", "reader", "--name", "ci", "--store", "st",
                  cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr
    assert _aims("apikey", "revoke", "ci", "--store", "st", cwd=tmp_path).returncode == 0
    assert KeyRing(keys_file).verify(key) is None
    missing = _aims("apikey", "revoke", "ci", "--store", "st", cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_apikey_bad_role_is_exit_2(tmp_path: Path) -> None:
    result = _aims("apikey", "create", "--role", "root", "--name", "x", "--store", "st",
                   cwd=tmp_path)
    assert result.returncode == 2 and "reader, contributor, admin" in result.stderr


def test_no_auth_refused_on_non_loopback(tmp_path: Path) -> None:
    result = _aims("serve", "--no-auth", "--host", "0.0.0.0", "--store", "st", cwd=tmp_path)
    assert result.returncode == 2 and "non-loopback" in result.stderr
    assert not (tmp_path / "st").exists()


def test_no_auth_on_loopback_warns_and_serves(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(AIMS), "serve", "--no-auth", "--store", "memory", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            import time

            time.sleep(0.1)
        assert httpx.get(url + "/v1/queries", timeout=5).status_code == 200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    assert "WITHOUT authentication" in err


def test_serve_on_a_store_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    from mapper.store import open_store

    holder = open_store(str(tmp_path / "st"))  # this process holds the RocksDB lock
    try:
        result = _aims("serve", "--store", "st", "--port", str(free_port()), cwd=tmp_path)
    finally:
        holder.close()
    assert result.returncode == 2, result.stderr
    assert "held by pid" in result.stderr and "Traceback" not in result.stderr
