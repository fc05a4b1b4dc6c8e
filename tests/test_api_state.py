"""The shared-state pieces: the readers-writer lock and content negotiation."""

from __future__ import annotations

import threading
import time

from api.sparql_worker import GRAPH_TYPES, RESULT_TYPES, negotiate
from api.state import RWLock


def test_writer_excludes_readers_and_readers_share() -> None:
    lock = RWLock()
    events: list[str] = []
    inside = threading.Barrier(2, timeout=5)

    def reader(name: str) -> None:
        with lock.read():
            inside.wait()  # both readers are inside at once, or this times out
            events.append(name)

    readers = [threading.Thread(target=reader, args=(f"r{i}",)) for i in range(2)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(5)
    assert sorted(events) == ["r0", "r1"]

    state = {"writing": False, "overlap": False}

    def writer() -> None:
        with lock.write():
            state["writing"] = True
            time.sleep(0.05)
            state["writing"] = False

    def checker() -> None:
        for _ in range(50):
            with lock.read():
                if state["writing"]:
                    state["overlap"] = True
            time.sleep(0.002)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    threads += [threading.Thread(target=checker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not state["overlap"]


def test_negotiation_follows_quality_and_order() -> None:
    assert negotiate(None, RESULT_TYPES, "json") == "json"
    assert negotiate("*/*", RESULT_TYPES, "json") == "json"
    assert negotiate("text/csv, */*;q=0.1", RESULT_TYPES, "json") == "csv"
    assert negotiate("application/sparql-results+xml;q=0.9, text/tab-separated-values",
                     RESULT_TYPES, "json") == "tsv"
    assert negotiate("application/rdf+xml", GRAPH_TYPES, "turtle") == "rdfxml"
    assert negotiate("text/csv;q=0", RESULT_TYPES, "json") is None
    assert negotiate("text/turtle", RESULT_TYPES, "json") is None


def test_lock_waits_are_bounded() -> None:
    lock = RWLock()
    with lock.read():
        started = time.monotonic()
        try:
            with lock.write(timeout=0.2):
                raise AssertionError("a writer got in beside a reader")
        except TimeoutError:
            pass
        assert 0.15 < time.monotonic() - started < 2
    with lock.write(timeout=0.2):  # the timed-out writer left nothing behind
        pass
    with lock.read(timeout=0.2):
        pass


def test_doctests() -> None:
    import doctest

    import api.routes.ingest
    import api.settings
    import api.sparql_worker
    import mapper.apikeys
    import mapper.cli.serve

    for module in (mapper.apikeys, mapper.cli.serve, api.sparql_worker, api.routes.ingest,
                   api.settings):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
