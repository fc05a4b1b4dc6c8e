"""A batch of several graphs on a remote store (Virtuoso) lands whole or not at all.

`aims ingest` writes a batch graph and its provenance; larger than one request, they are staged,
marked staged, and moved in one request (mapper/store/remote.py). The client is made to die at
each point (the AIMS_FAULT hook, not a sleep) and once by SIGKILL at a moment it does not choose;
the next open of the store finishes a marked run and drops an unmarked one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapper.ingest.batches import BATCH_PREFIX, list_batches
from mapper.store import open_store
from mapper.store.remote import RemoteStore
from tests.fixtures.remote import Virtuoso, clear_remote
from tests.test_ingest_faults import _big_nt, _check_absent_or_whole

pytestmark = pytest.mark.remote

AIMS_BIN = Path(sys.executable).with_name("aims")
ROWS = 3_000


@pytest.fixture
def server(remote_env: Virtuoso) -> Iterator[Virtuoso]:
    with open_store(remote_env.query_url) as store:  # the ontology is loaded before any fault
        assert isinstance(store, RemoteStore)
        clear_remote(store)
        store.drop_staging()
    yield remote_env
    with open_store(remote_env.query_url) as store:
        assert isinstance(store, RemoteStore)
        clear_remote(store)
        store.drop_staging()


def _ingest(server: Virtuoso, source: Path, **env: str) -> subprocess.Popen[bytes]:
    settings = {**os.environ, **server.env(), "AIMS_STORE": server.query_url,
                "AIMS_STORE_CHUNK": "500", **env}
    return subprocess.Popen([str(AIMS_BIN), "ingest", str(source)], env=settings,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _staging(url: str) -> list[str]:
    store = RemoteStore.from_settings(url, ensure_ontology=False)  # no recovery
    try:
        return [g for g in store._all_graphs() if g.startswith("urn:aims:staging:")]
    finally:
        store.close()


def test_a_client_dead_after_the_mark_lands_whole_on_the_next_open(
        server: Virtuoso, tmp_path: Path) -> None:
    source = _big_nt(tmp_path / "big.nt", ROWS)
    proc = _ingest(server, source, AIMS_FAULT="remote-marked")
    assert proc.wait(timeout=300) == 70, proc.stderr.read() if proc.stderr else ""
    left = _staging(server.query_url)
    assert left, "the run should be staged and marked, not yet moved"
    with open_store(server.query_url) as store:
        assert [g for g in store.graphs() if g.startswith(BATCH_PREFIX)]
    assert _check_absent_or_whole(server.query_url) == "whole"
    assert _staging(server.query_url) == []


def test_a_client_dead_before_the_mark_leaves_nothing(
        server: Virtuoso, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _big_nt(tmp_path / "big.nt", ROWS)
    proc = _ingest(server, source, AIMS_FAULT="remote-staged")
    assert proc.wait(timeout=300) == 70, proc.stderr.read() if proc.stderr else ""
    assert _staging(server.query_url), "the dead client left its staged graphs"
    # within the time a live writer may take, a run without the mark is left alone
    with open_store(server.query_url):
        pass
    assert _staging(server.query_url)
    monkeypatch.setenv("AIMS_STORE_STAGING_TTL", "0")
    assert _check_absent_or_whole(server.query_url) == "absent"
    assert _staging(server.query_url) == []


@pytest.mark.slow
@pytest.mark.parametrize("delay", [1.5, 3.0])
def test_sigkill_of_a_remote_ingest_leaves_the_batch_absent_or_whole(
        server: Virtuoso, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float) -> None:
    source = _big_nt(tmp_path / "big.nt", 20_000)
    proc = _ingest(server, source)
    time.sleep(delay)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    time.sleep(2)  # the server finishes the request the client was in (it does not know it died)
    monkeypatch.setenv("AIMS_STORE_STAGING_TTL", "0")
    state = _check_absent_or_whole(server.query_url)
    if finished:
        assert state == "whole"
    assert _staging(server.query_url) == []
    with open_store(server.query_url) as store:  # still usable: the next ingest loads
        from mapper.ingest import ingest

        small = tmp_path / "small.nt"
        small.write_text('<urn:x:a> <urn:x:p> "1" .\n')
        [res] = ingest(store, small)
        assert res.status == "loaded"
        assert all(b.status == "current" for b in list_batches(store))
