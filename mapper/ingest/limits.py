"""What one input may cost: bounds checked while a file is read, before the work grows.

Every reader counts as it goes (rows, cells, line and literal length, JSON nesting, the
inflated size of a workbook's zip parts) and stops at the first bound passed with a
`LimitExceeded` naming the file, the place, the limit and the variable that raises it. The
defaults are far above any real inventory (the OMB 2025 inventory: 3,611 rows, 37 columns,
longest cell 3,028 characters, longest line 4,674, workbook parts up to 6.5 MB inflated at a
ratio of at most 9; OSCAL JSON nests 12 deep), so only a hostile or broken file meets them.

Settings come from the environment (read when an ingest starts), one variable per bound:

    AIMS_INGEST_MAX_ROWS          rows of one sheet, CSV or JSON array     200000
    AIMS_INGEST_MAX_CELLS         cells of one sheet or CSV                5000000
    AIMS_INGEST_MAX_LINE          characters of one CSV line               1000000
    AIMS_INGEST_MAX_LITERAL       characters of one cell or RDF literal    100000
    AIMS_INGEST_MAX_DEPTH         nesting of JSON / JSON-LD                64
    AIMS_INGEST_MAX_UNZIPPED      inflated bytes of a workbook (all parts) 268435456 (256 MiB)
    AIMS_INGEST_MAX_RATIO         inflated / compressed size of one part   100
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, fields

from mapper.errors import InputError

__all__ = ["Limits", "LimitExceeded", "IngestCancelled", "Cancel", "json_depth",
           "check_json_depth"]

_RATIO_FLOOR = 1024 * 1024
"""Parts inflating to less than this are not held to the ratio (tiny XML compresses well)."""


class LimitExceeded(InputError):
    """An input passed one of the bounds of `Limits` (CLI exit 2, HTTP 413)."""

    code = "too_large"

    def __init__(self, message: str, *, limit: str, ref: str | None = None) -> None:
        super().__init__(message, ref=ref)
        self.limit = limit


class IngestCancelled(InputError):
    """The ingest was stopped (the server is shutting down); nothing of it was kept."""

    code = "cancelled"


@dataclass(frozen=True)
class Limits:
    """The bounds one ingest holds its inputs to; `Limits.from_env()` reads AIMS_INGEST_MAX_*.

    >>> Limits().max_rows, Limits(max_rows=10).max_rows
    (200000, 10)
    """

    max_rows: int = 200_000
    """Rows of one sheet, CSV file or JSON array (AIMS_INGEST_MAX_ROWS)."""
    max_cells: int = 5_000_000
    """Cells of one sheet or CSV file, empty ones included (AIMS_INGEST_MAX_CELLS)."""
    max_line: int = 1_000_000
    """Characters of one physical CSV line (AIMS_INGEST_MAX_LINE)."""
    max_literal: int = 100_000
    """Characters of one cell, JSON value or RDF literal (AIMS_INGEST_MAX_LITERAL)."""
    max_depth: int = 64
    """Nesting of arrays and objects in JSON and JSON-LD (AIMS_INGEST_MAX_DEPTH)."""
    max_unzipped: int = 256 * 1024 * 1024
    """Inflated bytes of all parts of a workbook together (AIMS_INGEST_MAX_UNZIPPED)."""
    max_ratio: int = 100
    """Inflated / compressed size of one workbook part above 1 MiB (AIMS_INGEST_MAX_RATIO)."""

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of a field.

        >>> Limits.variable("max_rows")
        'AIMS_INGEST_MAX_ROWS'
        """
        return "AIMS_INGEST_" + name.upper()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The limits, each taken from its AIMS_INGEST_MAX_* variable when set.

        >>> Limits.from_env({"AIMS_INGEST_MAX_DEPTH": "8"}).max_depth
        8
        """
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            name = cls.variable(f.name)
            raw = env.get(name, "").strip().replace("_", "")
            if not raw:
                continue
            if not raw.isdigit() or int(raw) <= 0:
                raise InputError(f"${name}={env[name]!r} must be a whole number above 0")
            values[f.name] = int(raw)
        return cls(**values)

    def exceeded(self, name: str, where: str, what: str) -> LimitExceeded:
        """The error for passing limit `name` at `where` (a file, with line/row when known)."""
        value = getattr(self, name)
        return LimitExceeded(
            f"{where}: {what} (the limit is {value:,}; a file this large is refused before "
            f"it can exhaust the server; raise ${self.variable(name)} if it is genuine)",
            limit=name,
        )


# --- JSON nesting ------------------------------------------------------------------------------

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def json_depth(data: bytes, stop_at: int | None = None) -> tuple[int, int]:
    """The deepest nesting of arrays/objects in JSON bytes, and the line where it is reached
    (or where it first passes `stop_at`). Strings are skipped; no recursion, no decoding.

    >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
    (3, 1)
    """
    deepest = depth = where = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
                if stop_at is not None and depth > stop_at:
                    break
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest, data.count(b"\n", 0, where) + 1


def check_json_depth(data: bytes, source: str, limits: Limits) -> None:
    """Refuse JSON nested deeper than `limits.max_depth` before any recursive parser sees it.

    >>> check_json_depth(b"[" * 70 + b"]" * 70, "x.json", Limits())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mapper.ingest.limits.LimitExceeded: x.json, line 1: JSON nested more than 64 deep ...
    """
    deepest, line = json_depth(data, stop_at=limits.max_depth)
    if deepest > limits.max_depth:
        raise limits.exceeded("max_depth", f"{source}, line {line}",
                              f"JSON nested more than {limits.max_depth} deep")


# --- stopping a running ingest -----------------------------------------------------------------


class Cancel:
    """A flag a server sets on shutdown; a running ingest checks it between rows and chunks and
    gives up whole (IngestCancelled) instead of running on past the shutdown.

    >>> c = Cancel(); c.check(); c.set(); c.is_set()
    True
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def clear(self) -> None:
        self._event.clear()

    def check(self) -> None:
        if self._event.is_set():
            raise IngestCancelled("the ingest was stopped because the server is shutting "
                                  "down; nothing of it was loaded: send it again")


SHUTDOWN = Cancel()
"""Set by `aims serve` when it receives SIGTERM/SIGINT; every ingest in the process checks it."""
