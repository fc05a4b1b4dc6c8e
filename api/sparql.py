"""The read-only SPARQL 1.1 Protocol endpoint's machinery: a pool of worker processes.

Queries are checked and run in worker processes (api/sparql_worker.py) over a snapshot of the
store: the check parses with rdflib's SPARQL parser and refuses updates, LOAD and SERVICE
before anything runs; a query that passes the time limit is stopped by killing its worker
(503 `query_timeout` with Retry-After), and a fresh worker is started at once in its place. A
write to the store bumps the state's generation; the next query a worker runs first loads a
new snapshot (a RocksDB checkpoint of hard links for the embedded store, an N-Quads dump for
the memory store). On a remote store there is no snapshot: the worker checks the query and
passes it to the remote endpoint, under the same limits.

Before a query reaches a worker (OWASP API4, unrestricted resource consumption):
- its text is scanned once, without recursion, for length and nesting depth (400 naming the
  limit; api/sparql_text.py), so that the parser's recursion cannot fail on it;
- it is admitted only if its key has fewer than `sparql_per_key` queries running or waiting
  (else 429 with Retry-After), so one reader can never hold every worker, and only if fewer
  than `sparql_queue` queries wait for a worker (else 503 `busy` with Retry-After);
- the worker it runs in has a memory cap (sparql_worker: RLIMIT_AS, or here an RSS watchdog
  where that is not available); a query past it is stopped with 503 `resource_limit`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import pyoxigraph as ox
from fastapi import HTTPException

from api.errors import Busy, QueryTimeout, ResourceLimit, TooManyQueries
from api.sparql_text import scan
from api.sparql_worker import GRAPH_TYPES, MEDIA, RESULT_TYPES, negotiate
from api.state import AppState
from mapper.errors import QueryError, StoreUnavailable
from mapper.store import OxigraphStore

__all__ = ["GRAPH_TYPES", "MEDIA", "RESULT_TYPES", "SparqlRunner", "negotiate"]

log = logging.getLogger("aims.api.sparql")


# --- running ------------------------------------------------------------------------------------


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class WorkerDied(StoreUnavailable):
    """The worker process ended while it had a request."""


class _Worker:
    """One worker process, the snapshot generation it has loaded, and its memory watch."""

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
        self.limited: bool | None = None
        """True when the worker capped its own address space; None before `hello`."""
        self.rss_cap: int | None = None
        """Bytes of RSS past which the API stops it (where it could not cap itself)."""
        self.over_memory = False

    def hello(self, memory_mb: int) -> None:
        """Tell the worker its memory cap; watch its RSS when it could not set one."""
        header, _ = self.call({"op": "hello", "memory_mb": memory_mb}, timeout=60.0)
        self.limited = bool(header.get("limited"))
        if not self.limited and Path(f"/proc/{self.proc.pid}/statm").exists():
            self.rss_cap = (self._rss() or 0) + memory_mb * 1024 * 1024

    def _rss(self) -> int | None:
        try:
            fields = Path(f"/proc/{self.proc.pid}/statm").read_text().split()
            return int(fields[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return None

    def died_of_memory(self) -> bool:
        """Whether the worker ended on its memory cap (an allocation failure aborts it)."""
        if self.over_memory:
            return True
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return False
        return bool(self.limited) and code == -signal.SIGABRT

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
            if remaining <= 0:
                raise TimeoutError
            wait = remaining if self.rss_cap is None else min(remaining, 0.05)
            if not select.select([fd], [], [], wait)[0]:
                if self.rss_cap is not None and (self._rss() or 0) > self.rss_cap:
                    self.over_memory = True
                    self.proc.kill()
                    raise WorkerDied("a SPARQL worker passed its memory cap")
                continue
            chunk = os.read(fd, size - got)
            if not chunk:
                raise WorkerDied("a SPARQL worker process died")
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
            raise StoreUnavailable(f"no snapshot of a {store.kind} store")
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
    """A pool of worker processes that run checked queries under the time, size, memory and
    fair-share limits (module doc)."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        settings = state.settings
        self.timeout = settings.sparql_timeout
        self.max_results = settings.sparql_max_results
        self.per_key = max(1, settings.sparql_per_key)
        self.workers = max(1, settings.sparql_workers)
        self.queue_max = max(0, settings.sparql_queue)
        self.memory_mb = max(1, settings.sparql_memory_mb)
        self.max_query = settings.sparql_max_query
        self.max_depth = settings.sparql_max_depth
        store = state.store
        self.remote: str | None = getattr(store, "url", None) if store.kind == "remote" else None
        # beside an embedded store, so that its checkpoints are hard links, not copies
        near = Path(store.location).resolve().parent if store.kind == "embedded" else None
        self._root = Path(tempfile.mkdtemp(prefix=".aims-sparql-", dir=near))
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(self.workers):
            self._idle.put(None)  # started on first use
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._workers: list[_Worker] = []
        self._inflight: dict[str, int] = {}
        self._pending = 0

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

    def _spawn(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._workers.append(worker)
        return worker

    def _ready(self, worker: _Worker | None) -> _Worker:
        if worker is None or not worker.alive():
            if worker is not None:
                self._drop(worker)
            worker = self._spawn()
        if worker.limited is None:
            try:
                worker.hello(self.memory_mb)
            except (TimeoutError, StoreUnavailable):
                self._drop(worker)
                raise StoreUnavailable("a SPARQL worker did not start") from None
        if self.remote is not None:
            return worker
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

    def _admit(self, key: str) -> None:
        with self._lock:
            mine = self._inflight.get(key, 0)
            if mine >= self.per_key:
                raise TooManyQueries(
                    f"this key already has {mine} /sparql quer{'y' if mine == 1 else 'ies'} "
                    f"running or waiting, its share (the limit per key, $AIMS_SPARQL_PER_KEY, "
                    f"is {self.per_key}); send the next one when it has answered",
                    retry_after=1)
            if self._pending >= self.workers + self.queue_max:
                raise Busy(f"every SPARQL worker is busy and {self.queue_max} queries wait "
                           "(the queue limit, $AIMS_SPARQL_QUEUE); try again shortly",
                           retry_after=1)
            self._inflight[key] = mine + 1
            self._pending += 1

    def _leave(self, key: str) -> None:
        with self._lock:
            self._pending -= 1
            left = self._inflight.get(key, 1) - 1
            if left > 0:
                self._inflight[key] = left
            else:
                self._inflight.pop(key, None)

    def run(self, query: str, *, accept: str | None, default_graph: list[str] | None = None,
            named_graphs: list[str] | None = None, key: str = "anonymous") -> tuple[str, bytes]:
        """Check and run a query for the caller `key`; (media type, serialised body).

        QueryError (400) for a refused or failing query and over a size limit; TooManyQueries
        (429) past the key's share; Busy, QueryTimeout, ResourceLimit (503 with Retry-After);
        HTTPException 406 when no acceptable format fits the query's form.
        """
        shape = scan(query, max_chars=self.max_query, max_depth=self.max_depth)
        self._admit(key)
        try:
            return self._run(query, accept=accept, default_graph=default_graph,
                             named_graphs=named_graphs, dataset_in_query=shape.dataset)
        finally:
            self._leave(key)

    def _run(self, query: str, *, accept: str | None, default_graph: list[str] | None,
             named_graphs: list[str] | None, dataset_in_query: bool) -> tuple[str, bytes]:
        try:
            slot = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise Busy(f"every SPARQL worker stayed busy for {self.timeout:g} s; try again",
                       retry_after=self.timeout) from None
        worker: _Worker | None = None
        try:
            worker = self._ready(slot)
            request = {"op": "query", "query": query, "accept": accept,
                       "max": self.max_results, "default_graph": default_graph,
                       "named_graphs": named_graphs, "dataset_in_query": dataset_in_query,
                       "remote": self.remote}
            try:
                header, body = worker.call(request, timeout=self.timeout)
            except TimeoutError:
                log.warning("SPARQL query stopped after %.1f s", self.timeout)
                self._drop(worker)
                worker = self._spawn()  # its replacement starts now, not on the next query
                raise QueryTimeout(f"the query was stopped at the time limit of "
                                   f"{self.timeout:g} s ($AIMS_SPARQL_TIMEOUT); narrow it or "
                                   "add a LIMIT", retry_after=self.timeout) from None
            except WorkerDied:
                memory = worker.died_of_memory()
                self._drop(worker)
                worker = None
                if memory:
                    log.warning("SPARQL query stopped at the memory cap of %d MB",
                                self.memory_mb)
                    raise ResourceLimit(self._memory_message(), retry_after=1) from None
                raise
            if header.get("error") == "resource_limit":
                self._drop(worker)  # after a MemoryError, a fresh process is the safe one
                worker = None
        except BaseException:
            if worker is not None and not worker.alive():
                self._drop(worker)
                worker = None
            raise
        finally:
            self._idle.put(worker)
        if not header.get("ok"):
            self._refuse(header)
        return str(header["media"]), body

    def _memory_message(self) -> str:
        return (f"the query was stopped at the memory limit of a SPARQL worker "
                f"({self.memory_mb} MB, $AIMS_SPARQL_MEMORY_MB); narrow it, or drop an "
                "ORDER BY or a cartesian product")

    def _refuse(self, header: dict[str, Any]) -> NoReturn:
        error = header.get("error")
        if error == "too_many":
            raise QueryError(f"{header['message']} (the limit is {self.max_results}); "
                             "add a LIMIT or narrow the query")
        if error == "not_acceptable":
            raise HTTPException(406, str(header.get("message")))
        if error == "resource_limit":
            raise ResourceLimit(self._memory_message(), retry_after=1)
        if error == "unavailable":
            raise StoreUnavailable(str(header.get("message")))
        raise QueryError(str(header.get("message")), ref=header.get("ref"))

    def close(self) -> None:
        """Stop every worker and remove the snapshots."""
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.kill()
        shutil.rmtree(self._root, ignore_errors=True)
