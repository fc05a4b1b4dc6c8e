"""The compiled engine (mapper.rules.compile) inside a remote SPARQL endpoint (Virtuoso), issue 8.

The demo organisation loaded into the session's Virtuoso gives exactly the findings it gives on a
memory store (rule, focus, path, value, severity, message), and so exactly the rows of
examples/meridian/EXPECTED.md; and every compiled check returns the same rows on both.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from mapper.rules import compile as compiled
from mapper.rules.results import Report
from mapper.rules.validate import validate
from mapper.store import Store, open_store
from tests.fixtures.demo import demo_as_of, load_demo
from tests.fixtures.remote import TEST_MAX_ROWS, Virtuoso, clear_remote, start_virtuoso
from tests.test_demo_expected import expected_rows

pytestmark = pytest.mark.remote


def findings(report: Report) -> Counter[tuple[Any, ...]]:
    return Counter((f.rule, f.focus, f.path, f.value, f.severity, f.message)
                   for f in report.findings)


@pytest.fixture(scope="module")
def own_virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """A Virtuoso of this module's own: the session's server has served other modules (a
    remote /sparql server among them), and this comparison must not depend on what they
    left behind (in the full suite it once saw one extra MAINT-04 finding that a run of this
    module alone never shows)."""
    settings = {("SPARQL", "ResultSetMaxRows"): str(TEST_MAX_ROWS)}
    with start_virtuoso(tmp_path_factory.mktemp("virtuoso-compiled"), settings=settings) as server:
        yield server


@pytest.fixture
def remote_store(own_virtuoso: Virtuoso, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    for key, value in own_virtuoso.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIMS_STORE_PAGE_SIZE", str(TEST_MAX_ROWS))
    opened = open_store(own_virtuoso.query_url)
    clear_remote(opened)
    yield opened
    clear_remote(opened)
    opened.close()


def test_compiled_engine_on_virtuoso_equals_memory(remote_store: Store) -> None:
    as_of = demo_as_of()
    memory = open_store("memory")
    load_demo(memory)
    reference = validate(memory, as_of=as_of, engine="sparql")
    per_check_memory = {c.key: Counter((r.focus, r.value)
                                       for r in compiled.run_check(memory, c, as_of))
                        for c in compiled.checks()}
    memory.close()

    load_demo(remote_store)
    started = time.perf_counter()
    remote = validate(remote_store, as_of=as_of, engine="sparql")
    elapsed = time.perf_counter() - started

    only_memory = findings(reference) - findings(remote)
    only_remote = findings(remote) - findings(reference)
    assert not only_memory and not only_remote, (
        f"memory only: {sorted(only_memory)}; Virtuoso only: {sorted(only_remote)}")
    assert remote.to_dict() == reference.to_dict()
    assert {(f.rule, f.focus, f.severity) for f in remote.findings} == expected_rows()
    assert len(remote.findings) == len(expected_rows()) == 42
    assert elapsed < 30, f"compiled validation on Virtuoso took {elapsed:.1f} s"

    # Check by check, including the checks that find nothing on the demo.
    differing = [c.key for c in compiled.checks()
                 if Counter((r.focus, r.value) for r in compiled.run_check(remote_store, c, as_of))
                 != per_check_memory[c.key]]
    assert not differing, f"checks answering differently on Virtuoso: {differing}"


def test_remote_form_differs_only_where_virtuoso_needs_it() -> None:
    """The memory form is untouched; the remote form has no `*` path and no MINUS copy."""
    for check in compiled.checks():
        assert check.remote_sparql
        remote = check.query(demo_as_of(), remote=True)
        assert "subClassOf>*" not in remote and "MINUS" not in remote, check.key
        assert check.query(demo_as_of()) == check.sparql.replace(
            compiled.AS_OF_SLOT, '"2026-06-30"^^<http://www.w3.org/2001/XMLSchema#date>'
        ).replace(compiled.FOCUS_SLOT, "")
