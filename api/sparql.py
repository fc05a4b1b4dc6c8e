"""The read-only SPARQL 1.1 Protocol endpoint's machinery: a pool of worker processes.

Queries are checked and run in worker processes (api/sparql_worker.py) over a snapshot of the
store: the check parses with rdflib's SPARQL parser and refuses updates, LOAD and SERVICE
before anything runs; a query that passes the time limit is stopped by killing its worker, and
a fresh worker is started at once in its place. A write to the store bumps the state's
generation; the next query a worker runs first loads a new snapshot (a RocksDB checkpoint of
hard links for the embedded store, an N-Quads dump for the memory store).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from fastapi import HTTPException

from api.sparql_worker import GRAPH_TYPES, MEDIA, RESULT_TYPES, negotiate
from api.state import AppState
from mapper.errors import QueryError, StoreUnavailable
from mapper.store import OxigraphStore

__all__ = ["GRAPH_TYPES", "MEDIA", "RESULT_TYPES", "SparqlRunner", "negotiate"]

log = logging.getLogger("aims.api.sparql")


# --- running ------------------------------------------------------------------------------------


class _Worker:
    """One worker process and the snapshot generation it has loaded."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[1]),
                                                           env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.sparql_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env,
        )
        self.generation: int | None = None
        self.snapshot: _Snapshot | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()

    def _read_exact(self, size: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks, got = [], 0
        while got < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, size - got)
            if not chunk:
                raise StoreUnavailable("a SPARQL worker process died; try again")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def call(self, request: dict[str, Any], timeout: float) -> tuple[dict[str, Any], bytes]:
        """Send a request; the answer, or TimeoutError when none came in time."""
        assert self.proc.stdin is not None
        payload = json.dumps(request).encode("utf-8")
        self.proc.stdin.write(struct.pack(">I", len(payload)) + payload)
        deadline = time.monotonic() + timeout
        frames = []
        for _ in range(2):
            (size,) = struct.unpack(">I", self._read_exact(4, deadline))
            frames.append(self._read_exact(size, deadline))
        return json.loads(frames[0]), frames[1]


class _Snapshot:
    """A copy of the store at one generation, on disk, removed when no worker uses it."""

    def __init__(self, state: AppState, root: Path) -> None:
        self.generation = state.generation
        self.users = 0
        store = state.store
        if not isinstance(store, OxigraphStore):
            raise StoreUnavailable("the /sparql endpoint runs on the embedded or memory store")
        native: ox.Store = store._store  # the backend's own handle: copy it natively
        self.path = root / f"gen-{self.generation}-{time.monotonic_ns()}"
        if store.kind == "embedded":
            native.backup(str(self.path))
            self.kind = "disk"
        else:
            self.path.mkdir()
            self.path = self.path / "data.nq"
            native.dump(str(self.path), format=ox.RdfFormat.N_QUADS)
            self.kind = "nquads"

    def remove(self) -> None:
        target = self.path if self.kind == "disk" else self.path.parent
        shutil.rmtree(target, ignore_errors=True)


class SparqlRunner:
    """A pool of worker processes that run checked queries under the time and size limits."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        settings = state.settings
        self.timeout = settings.sparql_timeout
        self.max_results = settings.sparql_max_results
        # beside an embedded store, so that its checkpoints are hard links, not copies
        near = Path(state.store.location).resolve().parent if state.store.kind == "embedded" \
            else None
        self._root = Path(tempfile.mkdtemp(prefix=".aims-sparql-", dir=near))
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(max(1, settings.sparql_workers)):
            self._idle.put(None)  # started on first use
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._workers: list[_Worker] = []

    def _current_snapshot(self) -> _Snapshot:
        with self._lock:
            snap = self._snapshot
            if snap is None or snap.generation != self.state.generation:
                with self.state.reading():
                    snap = _Snapshot(self.state, self._root)
                old, self._snapshot = self._snapshot, snap
                if old is not None and old.users == 0:
                    old.remove()
            snap.users += 1
            return snap

    def _release(self, snap: _Snapshot | None) -> None:
        if snap is None:
            return
        with self._lock:
            snap.users -= 1
            if snap.users == 0 and snap is not self._snapshot:
                snap.remove()

    def _ready(self, worker: _Worker | None) -> _Worker:
        if worker is None or not worker.alive():
            if worker is not None:
                self._drop(worker)
            worker = _Worker()
            with self._lock:
                self._workers.append(worker)
        if worker.snapshot is None or worker.generation != self.state.generation:
            snap = self._current_snapshot()
            try:
                header, _ = worker.call({"op": "open", "kind": snap.kind, "path": str(snap.path)},
                                        timeout=max(60.0, self.timeout))
            except (TimeoutError, StoreUnavailable):
                self._release(snap)
                self._drop(worker)
                raise StoreUnavailable("a SPARQL worker could not load the snapshot") from None
            if not header.get("ok"):
                self._release(snap)
                self._drop(worker)
                raise StoreUnavailable(f"a SPARQL worker failed: {header.get('message')}")
            self._release(worker.snapshot)
            worker.snapshot, worker.generation = snap, snap.generation
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self._release(worker.snapshot)
        worker.snapshot = None
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def run(self, query: str, *, accept: str | None, default_graph: list[str] | None = None,
            named_graphs: list[str] | None = None) -> tuple[str, bytes]:
        """Check and run a query; (media type, serialised body).

        QueryError (400) for a refused or failing query and over a limit; HTTPException 406
        when no acceptable format fits the query's form.
        """
        try:
            slot = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise StoreUnavailable("all SPARQL workers are busy; try again") from None
        worker: _Worker | None = None
        try:
            worker = self._ready(slot)
            request = {"op": "query", "query": query, "accept": accept,
                       "max": self.max_results, "default_graph": default_graph,
                       "named_graphs": named_graphs}
            try:
                header, body = worker.call(request, timeout=self.timeout)
            except TimeoutError:
                log.warning("SPARQL query stopped after %.1f s", self.timeout)
                self._drop(worker)
                worker = _Worker()  # its replacement starts now, not on the next query
                with self._lock:
                    self._workers.append(worker)
                raise QueryError(f"the query was stopped after the time limit of "
                                 f"{self.timeout:g} s; narrow it or add a LIMIT") from None
        except BaseException:
            if worker is not None and not worker.alive():
                self._drop(worker)
                worker = None
            raise
        finally:
            self._idle.put(worker)
        if not header.get("ok"):
            if header.get("error") == "too_many":
                raise QueryError(f"{header['message']} (the limit is {self.max_results}); "
                                 "add a LIMIT or narrow the query")
            if header.get("error") == "not_acceptable":
                raise HTTPException(406, str(header.get("message")))
            raise QueryError(str(header.get("message")), ref=header.get("ref"))
        return str(header["media"]), body

    def close(self) -> None:
        """Stop every worker and remove the snapshots."""
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.kill()
        shutil.rmtree(self._root, ignore_errors=True)
