"""A long upload against a real `aims serve`: readers are answered while it is parsed (the
write lock is taken only for the commit), and SIGTERM stops the server within 10 s whether the
upload is being parsed or committed, leaving all or nothing of the batch in a store that opens
cleanly. Plus the same guarantee in-process, for a batch large enough to be committed in chunks.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mapper.ingest import ONE_TRANSACTION, IngestCancelled, ingest
from mapper.ingest import limits as L
from mapper.ingest.batches import BATCH_PREFIX, list_batches
from mapper.store import OxigraphStore, open_store
from tests.fixtures.api import LiveServer, auth, start_server, stop_server
from tests.test_ingest_faults import _big_csv, _check_absent_or_whole

ROWS = 30_000  # 210,000 triples: parsed in seconds, committed in chunks


def _upload(server: LiveServer, data: bytes, out: dict[str, Any]) -> None:
    started = time.monotonic()
    try:
        response = httpx.post(
            server.url + "/v1/ingest", params={"filename": "big.csv", "verdict": "false"},
            content=data, timeout=300,
            headers=auth(server.keys["contributor"]) | {"Content-Type": "text/csv"})
        out["status"] = response.status_code
    except httpx.HTTPError as exc:  # the server went away mid-answer
        out["status"] = repr(exc)
    out["seconds"] = time.monotonic() - started


def _read(server: LiveServer, timeout: float) -> float | None:
    """Seconds a reader waited for /v1/batches, None past `timeout`."""
    started = time.monotonic()
    try:
        response = httpx.get(server.url + "/v1/batches", timeout=timeout,
                             headers=auth(server.keys["reader"]))
    except httpx.TimeoutException:
        return None
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def _terminate(server: LiveServer) -> float:
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop_server(server)
        pytest.fail("aims serve did not stop within 30 s of SIGTERM")
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["parse", "commit"])
def test_sigterm_during_a_long_ingest(tmp_path: Path, phase: str) -> None:
    # the parse phase needs a parse longer than the three reads it makes (a faster machine or
    # mapping once let the commit start first); the commit phase needs a commit in chunks
    rows = ROWS * 3 if phase == "parse" else ROWS
    data = _big_csv(tmp_path / "big.csv", rows).read_bytes()
    server = start_server(tmp_path / "server")
    out: dict[str, Any] = {}
    upload = threading.Thread(target=_upload, args=(server, data, out))
    upload.start()
    try:
        time.sleep(0.5)
        waits = []
        blocked = False
        deadline = time.monotonic() + 120
        while "status" not in out and time.monotonic() < deadline:
            waited = _read(server, timeout=1.0)
            if waited is None:  # the commit holds the write lock now
                blocked = True
                break
            waits.append(waited)
            if phase == "parse" and len(waits) >= 3:
                break
            time.sleep(0.2)
        assert "status" not in out, f"the upload finished too soon ({out})"
        assert waits and max(waits) < 1.0, waits  # answered while the upload was parsed
        assert blocked == (phase == "commit")
        seconds = _terminate(server)
    finally:
        upload.join(timeout=60)
        if server.process.poll() is None:
            stop_server(server)
    assert seconds < 10, f"aims serve took {seconds:.1f} s to stop after SIGTERM"
    state = _check_absent_or_whole(str(server.store))  # opens; no half batch, even unrecovered
    if state == "absent":
        assert out.get("status") != 200
    with open_store(str(server.store)) as store:  # and takes the next ingest
        small = tmp_path / "small.nt"
        small.write_text('<urn:x:a> <urn:x:p> "1" .\n')
        [res] = ingest(store, small)
        assert res.status == "loaded"


class _StopsAfter(OxigraphStore):
    """The real in-memory store, asking for a shutdown once `n` writes went through (as
    SIGTERM would in the middle of a chunked commit)."""

    def __init__(self, n: int) -> None:
        super().__init__(None)
        self.n = n

    def load_nquads(self, data: bytes) -> None:
        super().load_nquads(data)
        self.n -= 1
        if self.n == 0:
            L.SHUTDOWN.set()

    def flush(self) -> None:
        """Nothing to write out in memory; having it lets ingest commit in chunks."""


def test_a_chunked_commit_stopped_midway_leaves_nothing(tmp_path: Path) -> None:
    source = _big_csv(tmp_path / "big.csv", 30_000)  # 210,000 triples: 9 chunks
    store = _StopsAfter(3)
    try:
        with pytest.raises(IngestCancelled, match="nothing of it was loaded"):
            ingest(store, source)
    finally:
        L.SHUTDOWN.clear()
    assert not [g for g in store.graphs() if g.startswith(BATCH_PREFIX)]
    assert list_batches(store) == []
    [res] = ingest(store, source)  # the same file loads whole afterwards
    assert res.status == "loaded" and res.triples > ONE_TRANSACTION
