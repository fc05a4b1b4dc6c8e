"""What the app shares between requests: the store, its lock, the keys, the SPARQL workers.

The embedded store admits one process at a time, so the app opens it once (lifespan) and every
request uses that one handle. Reads run in parallel; a write (ingest, batch delete) takes the
lock exclusively, so a request never sees a write half done (a replacing ingest adds the new
graph, then drops the old one), and bumps `generation` so the /sparql workers refresh their
snapshot. Nobody waits forever: past `lock_timeout` a request gets 503 `busy` with Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from api.errors import Busy
from api.settings import Settings
from mapper.apikeys import KeyRing
from mapper.store import Store


class QueryRunner(Protocol):
    """What the app needs of the /sparql runner (api.sparql.SparqlRunner, which depends on
    this module, not the other way round)."""

    def run(self, query: str, *, accept: str | None, default_graph: list[str] | None = None,
            named_graphs: list[str] | None = None, key: str = "anonymous") -> tuple[str, bytes]:
        ...

    def close(self) -> None:
        ...


class RWLock:
    """Many readers or one writer; a waiting writer keeps new readers out (no starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    def _wait(self, ready: Callable[[], bool], timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            self._cond.wait(remaining)

    @contextmanager
    def read(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock shared; TimeoutError when a writer keeps it past `timeout` seconds."""
        with self._cond:
            self._wait(lambda: not (self._writer or self._waiting_writers), timeout)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock alone; TimeoutError when readers keep it past `timeout` seconds."""
        with self._cond:
            self._waiting_writers += 1
            try:
                self._wait(lambda: not (self._writer or self._readers), timeout)
            finally:
                self._waiting_writers -= 1
                self._cond.notify_all()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


_BUSY = "the store stayed busy for {:g} s (a long read or write); try again"


@dataclass
class AppState:
    """The shared objects of one running app."""

    settings: Settings
    store: Store
    keys: KeyRing
    lock: RWLock = field(default_factory=RWLock)
    generation: int = 0
    sparql: QueryRunner = field(init=False)
    rdflib_parser: threading.Lock = field(default_factory=threading.Lock)
    """rdflib's SPARQL parser (pyparsing) is not thread-safe: validation (pyshacl parses its
    SPARQL constraints) holds this lock. Validation is CPU-bound Python, so running two at
    once would gain nothing anyway."""

    def _busy(self) -> Busy:
        timeout = self.settings.lock_timeout
        return Busy(_BUSY.format(timeout), retry_after=timeout)

    @contextmanager
    def writing(self) -> Iterator[Store]:
        """The store, for one write that readers see whole or not at all."""
        try:
            with self.lock.write(self.settings.lock_timeout):
                try:
                    yield self.store
                finally:
                    self.generation += 1
        except TimeoutError:
            raise self._busy() from None

    @contextmanager
    def validating(self, *, alone: bool = True) -> Iterator[Store]:
        """The store, for a validation run: read-locked and, unless `alone` is False, one
        validation at a time (pySHACL, and the whole estate's assessment: CPU-bound Python
        that two threads would only slow down). The compiled engine's one-system answers give
        alone=False: their SPARQL runs in the store and the parses they need are serialised where
        they happen (mapper.store.sparql.parse_sparql)."""
        if not alone:
            with self.reading() as store:
                yield store
            return
        if not self.rdflib_parser.acquire(timeout=self.settings.lock_timeout):
            raise self._busy()
        try:
            with self.reading() as store:
                yield store
        finally:
            self.rdflib_parser.release()

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """The store, for reads that must not see a write half done."""
        try:
            with self.lock.read(self.settings.lock_timeout):
                yield self.store
        except TimeoutError:
            raise self._busy() from None
