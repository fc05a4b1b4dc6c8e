"""The store: one contract, three backends chosen by one factory (`open_store`).

- embedded (default): a persistent pyoxigraph (RocksDB) store in a folder, `./.aims/` unless told
  otherwise (mapper.store.embedded); every write is one transaction.
- memory: pyoxigraph in memory, for tests and one-shot runs (`AIMS_STORE=memory`).
- remote: any SPARQL 1.1 Query + Update endpoint (`AIMS_STORE=http://host/sparql`),
  mapper.store.remote.

The contract (mapper.store.contract) imports no implementation; this module is the only place
that chooses one. mapper.store.sparql parses, binds and writes SPARQL on its parse tree.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mapper.store.contract import (
    FINDINGS_GRAPH,
    META_GRAPH,
    Quad,
    QueryResult,
    Store,
)
from mapper.store.embedded import OxigraphStore
from mapper.store.sparql import bind_values
from mapper.store.terms import from_ox, to_ox

__all__ = ["DEFAULT_PATH", "FINDINGS_GRAPH", "META_GRAPH", "OxigraphStore", "Quad", "QueryResult",
           "Store", "beside_store", "bind_values", "from_ox", "open_store", "store_location",
           "to_ox"]

DEFAULT_PATH = ".aims"

_REMOTE = re.compile(r"^https?://", re.IGNORECASE)


def store_location(location: str | None = None) -> str:
    """The store named by the argument, else $AIMS_STORE, else ./.aims."""
    return location or os.environ.get("AIMS_STORE") or DEFAULT_PATH


def beside_store(store: str | None, name: str, *, env: str) -> Path:
    """A file that belongs with a store: $`env` when set, else `<store folder>/<name>`; a
    memory or remote store has no folder, so the file is `./.aims-<name>`.

    >>> beside_store("memory", "tasks.jsonl", env="AIMS_NO_SUCH_VARIABLE").name
    '.aims-tasks.jsonl'
    """
    if os.environ.get(env):
        return Path(os.environ[env])
    where = store_location(store)
    if where == "memory" or _REMOTE.match(where):
        return Path(f".aims-{name}")
    return Path(where) / name


def open_store(location: str | None = None, *, wait: float = 0) -> Store:
    """Open (creating on first use) the store named by `location` / $AIMS_STORE.

    `memory` gives an in-memory store, an http(s) URL a remote SPARQL endpoint, anything else
    a folder for the embedded store; `wait` seconds are waited for an embedded store another
    process holds.

    >>> store = open_store("memory")
    >>> store.kind, store.query("ASK { ?s a <http://www.w3.org/2002/07/owl#Class> }").boolean
    ('memory', True)
    """
    where = store_location(location)
    if where == "memory":
        return OxigraphStore(None)
    if _REMOTE.match(where):
        from mapper.store.remote import RemoteStore

        return RemoteStore.from_settings(where)
    return OxigraphStore(Path(where), wait=wait)
