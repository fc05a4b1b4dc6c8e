"""Settings of the API, read from the environment (AIMS_*) or given to create_app()."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mapper.apikeys import default_keys_file
from mapper.errors import InputError
from mapper.ingest.limits import Limits


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"${name}={raw!r} is not a number") from None
    if value <= 0:
        raise InputError(f"${name} must be positive, not {raw!r}")
    return value


@dataclass
class Settings:
    """What the app needs to know; every field has an AIMS_* variable (see from_env).

    >>> Settings(store="memory").auth
    True
    """

    store: str | None = None
    """Store location: a folder, 'memory' or a SPARQL endpoint URL ($AIMS_STORE)."""
    auth: bool = True
    """Require API keys; False only for a loopback development server (`--no-auth`)."""
    keys_file: Path | None = None
    """The API key file ($AIMS_API_KEYS); default beside the store (mapper.apikeys)."""
    max_body_bytes: int = 20 * 1024 * 1024
    """Largest request body accepted; larger ones get 413 before parsing."""
    sparql_timeout: float = 10.0
    """Seconds a /sparql query may run before its worker process is killed."""
    sparql_max_results: int = 10_000
    """Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) a /sparql answer may hold."""
    sparql_workers: int = 2
    """Worker processes running /sparql queries in parallel."""
    sparql_per_key: int = 1
    """/sparql queries one API key may have running or waiting at once; beyond it, 429."""
    sparql_queue: int = 8
    """/sparql queries that may wait for a free worker; beyond it, 503 `busy`."""
    sparql_memory_mb: int = 1024
    """Memory a /sparql worker may take for one query (address space on Linux, else RSS);
    a query past it is stopped with 503 `resource_limit`."""
    sparql_max_query: int = 100_000
    """Longest /sparql query text, in characters; longer: 400."""
    sparql_max_depth: int = 64
    """Deepest nesting of { } ( ) [ ] in a /sparql query; deeper: 400 (before parsing)."""
    lock_timeout: float = 120.0
    """Seconds a request waits for a running write (or, a write, for running reads): 503."""
    title: str = "AIMS Graph API"
    ingest_limits: Limits = field(default_factory=Limits)
    """What one upload may cost (rows, cells, line/value length, JSON nesting, a workbook's
    inflated size and ratio): AIMS_INGEST_MAX_* (mapper/ingest/limits.py); past one, 413."""

    @property
    def key_path(self) -> Path:
        """The API key file in force."""
        return self.keys_file or default_keys_file(self.store)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from AIMS_STORE, AIMS_API_KEYS, AIMS_MAX_BODY_BYTES, AIMS_SPARQL_TIMEOUT,
        AIMS_SPARQL_MAX_RESULTS, AIMS_SPARQL_WORKERS, AIMS_SPARQL_PER_KEY, AIMS_SPARQL_QUEUE,
        AIMS_SPARQL_MEMORY_MB, AIMS_SPARQL_MAX_QUERY, AIMS_SPARQL_MAX_DEPTH and
        AIMS_LOCK_TIMEOUT; keyword arguments win."""
        keys = os.environ.get("AIMS_API_KEYS")
        values: dict[str, object] = {
            "store": os.environ.get("AIMS_STORE") or None,
            "keys_file": Path(keys) if keys else None,
            "max_body_bytes": int(_env_number("AIMS_MAX_BODY_BYTES", cls.max_body_bytes)),
            "sparql_timeout": _env_number("AIMS_SPARQL_TIMEOUT", cls.sparql_timeout),
            "sparql_max_results": int(
                _env_number("AIMS_SPARQL_MAX_RESULTS", cls.sparql_max_results)
            ),
            "sparql_workers": int(_env_number("AIMS_SPARQL_WORKERS", cls.sparql_workers)),
            "sparql_per_key": int(_env_number("AIMS_SPARQL_PER_KEY", cls.sparql_per_key)),
            "sparql_queue": int(_env_number("AIMS_SPARQL_QUEUE", cls.sparql_queue)),
            "sparql_memory_mb": int(_env_number("AIMS_SPARQL_MEMORY_MB", cls.sparql_memory_mb)),
            "sparql_max_query": int(_env_number("AIMS_SPARQL_MAX_QUERY", cls.sparql_max_query)),
            "sparql_max_depth": int(_env_number("AIMS_SPARQL_MAX_DEPTH", cls.sparql_max_depth)),
            "lock_timeout": _env_number("AIMS_LOCK_TIMEOUT", cls.lock_timeout),
        }
        values["ingest_limits"] = Limits.from_env()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
