"""Webhooks against a real receiver on 127.0.0.1: signed, retried, kept across restarts."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mapper.errors import InputError
from mapper.runs import webhooks as hooks
from tests.fixtures.api import AIMS, auth, start_server, stop_server
from tests.fixtures.demo import DEMO_DIR

SECRET = "s3cret-for-tests"


class Receiver:
    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.fail_first: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = self.headers["X-AIMS-Event"]
                stamp = self.headers["X-AIMS-Timestamp"]
                mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                ok = hmac.compare_digest("sha256=" + mac.hexdigest(),
                                         self.headers["X-AIMS-Signature"])
                receiver.got.append({"event": event, "signed": ok, "body": json.loads(body),
                                     "delivery": self.headers["X-AIMS-Delivery"]})
                left = receiver.fail_first.get(event, 0)
                if left:
                    receiver.fail_first[event] = left - 1
                self.send_response(503 if left else (200 if ok else 401))
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _deliver(db: Path) -> str:
    env = dict(os.environ, AIMS_WEBHOOKS=str(db), AIMS_WEBHOOK_BACKOFF="3")
    run = subprocess.run([str(AIMS), "webhooks", "deliver"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _wait_until_due(db: Path) -> None:
    [pending] = [d for d in hooks.deliveries(db) if d["status"] == "pending"]
    time.sleep(max(0.0, pending["next_at"] - time.time()) + 0.05)


def test_retry_backoff_and_restart(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "webhooks.sqlite"
    env = {"AIMS_WEBHOOKS": str(db), "AIMS_TASK_LOG": str(tmp_path / "tasks.jsonl")}
    server = start_server(tmp_path, extra_env=env)
    try:
        for path in sorted(DEMO_DIR.glob("*.ttl")):
            r = httpx.post(f"{server.url}/v1/ingest",
                           params={"filename": path.name, "verdict": "false"},
                           content=path.read_bytes(), timeout=60,
                           headers=auth(server.keys["contributor"])
                           | {"Content-Type": "text/turtle"})
            assert r.status_code == 200, r.text
        admin = auth(server.keys["admin"])
        assert httpx.get(f"{server.url}/v1/webhooks",
                         headers=auth(server.keys["reader"])).status_code == 403
        bad = httpx.post(f"{server.url}/v1/webhooks", headers=admin,
                         json={"url": receiver.url, "events": ["finding.maybe"]})
        assert bad.status_code == 422 and "finding.maybe" in bad.json()["message"]
        made = httpx.post(f"{server.url}/v1/webhooks", headers=admin,
                          json={"url": receiver.url, "events": ["gate.denied"],
                                "secret": SECRET})
        assert made.status_code == 201, made.text
        # the same through the CLI, on the same database
        cli = subprocess.run([str(AIMS), "webhooks", "add", receiver.url, "--events",
                              "finding.opened,finding.closed", "--secret", SECRET,
                              "--format", "json"], env=dict(os.environ, **env),
                             capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert len(httpx.get(f"{server.url}/v1/webhooks", headers=admin).json()) == 2

        deny = httpx.get(f"{server.url}/v1/systems/SYS-CS-ASSISTANT/gates/release",
                         params={"as_of": "2026-06-30"}, headers=admin)
        assert deny.json()["decision"] == "deny"
        receiver.fail_first["gate.denied"] = 2
        assert "503 -> pending" in _deliver(db)          # attempt 1 fails
        assert hooks.deliver_due(db) == []               # not due yet: 3 s backoff
        _wait_until_due(db)
        assert "attempt 2: 503 -> pending" in _deliver(db)
    finally:
        stop_server(server)
    # restart: a new server on the same store and outbox (fresh keys), and a new worker
    (tmp_path / "apikeys.json").unlink()
    server = start_server(tmp_path, extra_env=env)
    try:
        _wait_until_due(db)  # 3 s * 2**1 after attempt 2
        assert "attempt 3: 200 -> delivered" in _deliver(db)
        tasks = httpx.get(f"{server.url}/v1/tasks", params={"as_of": "2026-06-30"},
                          headers=auth(server.keys["reader"])).json()
        _deliver(db)
        log = httpx.get(f"{server.url}/v1/webhooks/deliveries",
                        headers=auth(server.keys["admin"])).json()
    finally:
        stop_server(server)
    gate = [d for d in log if d["event"] == "gate.denied"]
    assert len(gate) == 1 and gate[0]["status"] == "delivered"
    assert [a["status_code"] for a in gate[0]["attempts"]] == [503, 503, 200]
    opened = [d for d in log if d["event"] == "finding.opened"]
    assert len(opened) == len(tasks) and all(d["status"] == "delivered" for d in opened)
    assert all(g["signed"] for g in receiver.got)
    denied = [g for g in receiver.got if g["event"] == "gate.denied"]
    assert len({g["delivery"] for g in denied}) == 1 and len(denied) == 3
    assert denied[0]["body"]["data"]["identifier"] == "SYS-CS-ASSISTANT"
    (tmp_path / "delivery-log.json").write_text(json.dumps(gate, indent=2))


def test_unknown_events_and_urls(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown event"):
        hooks.parse_events("gate.opened")
    with pytest.raises(InputError, match="not http"):
        hooks.add(tmp_path / "w.sqlite", "ftp://x", ["gate.denied"])
    assert hooks.emit(tmp_path / "none.sqlite", "gate.denied", {}) == 0
    assert not (tmp_path / "none.sqlite").exists()


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert hooks.sign("k", "1700000000", b"{}") == "sha256=" + expected
