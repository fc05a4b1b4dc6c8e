"""The Typer app, shared options and output helpers used by every command module."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mapper.errors import InputError
from mapper.tabular import csv_text

if TYPE_CHECKING:  # the store (pyoxigraph, rdflib) loads when a command opens one
    from mapper.store import Store

app = typer.Typer(
    name="aims",
    help=(
        "AIMS Graph: model an ISO/IEC 42001 AI management system as a knowledge graph, "
        "check it against the Clause 4.4 completeness rules, and trace AI systems end to end.\n\n"
        "Exit codes: 0 ok / conforms, 1 non-conformities found, 2 bad input or usage.\n\n"
        "Example: aims ingest examples/meridian && aims validate --as-of 2026-06-30"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="AIMS_STORE",
        help="Store: a folder (embedded, default ./.aims), 'memory', or a SPARQL endpoint URL.",
        show_default=False,
    ),
]


WAIT_DEFAULT = 120.0
"""Seconds a command waits for an on-disk store another aims process holds."""
_wait = {"seconds": WAIT_DEFAULT}


@app.callback()
def _root(
    wait: Annotated[float, typer.Option(
        "--wait", envvar="AIMS_WAIT", metavar="SECONDS", min=0,
        help="Wait up to this long for an on-disk store another aims process holds (an "
             "ingest, `aims serve`); 0 fails at once. Example: aims --wait 10 ingest data/")
    ] = WAIT_DEFAULT,
) -> None:
    """AIMS Graph command line."""
    _wait["seconds"] = wait


class Format(StrEnum):
    text = "text"
    json = "json"


class TableFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def parse_date(value: str | None, *, option: str = "--as-of") -> date:
    """A YYYY-MM-DD option value, today when absent."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None


@contextmanager
def opened(location: str | None) -> Iterator[Store]:
    """Open the store named on the command line / $AIMS_STORE and close it afterwards; its
    committed changes keep the stored findings current (mapper.rules.stored.keep_current)."""
    from mapper.rules.stored import keep_current  # the rules load only when a store opens
    from mapper.store import open_store, store_location

    store = keep_current(open_store(store_location(location), wait=_wait["seconds"]))
    try:
        yield store
    finally:
        store.close()


def print_json(data: Any) -> None:
    """JSON for machines on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


PIPE_WIDTH = 100
"""Columns a table takes when stdout is not a terminal and $COLUMNS is not set."""


def table_width() -> int:
    """The width tables fit: $COLUMNS, else the terminal's, else PIPE_WIDTH in a pipe."""
    import os
    import shutil

    raw = os.environ.get("COLUMNS", "")
    if raw.isdigit() and int(raw) >= 40:
        return int(raw)
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)
    return PIPE_WIDTH


def _is_identifier(values: list[str]) -> bool:
    """A column of single tokens (ids, IRIs, hashes, numbers): never broken inside one."""
    return all(not any(c.isspace() for c in v) for v in values)


_FIX = re.compile(r"(?:^|[.;:] |\()((?:Use|use|Pass|pass|Write|write|Save|save|Add|add|Give|give|"
                  r"Fix|fix|Name|name|Set|set|Run|run) .*?)\)?:?\.?$")
_WHERE = re.compile(r"^(?P<file>[^\s:][^:\n]*?\.[A-Za-z0-9]{1,6})(?: \[sheet [^\]]*\])?"
                    r"(?:, (?:row|line) (?P<row>\d+))?(?:, column (?P<column>[^:]+))?: ")


def error_object(exc: Exception) -> dict[str, Any]:
    """The JSON shape of an error for `--format json`: {"error": {"message", "file", "row",
    "column", "fix", "code"}} (the parts the message does not name are null).

    >>> e = error_object(InputError("a.csv, row 3, column id: blank key; give it a value"))
    >>> [e["error"][k] for k in ("file", "row", "column", "fix")]
    ['a.csv', 3, 'id', 'give it a value']
    """
    message = str(exc)
    first = message.splitlines()[0] if message else ""
    where = _WHERE.match(first)
    rejected = getattr(exc, "rejected", None)
    file = where["file"] if where else None
    row = int(where["row"]) if where and where["row"] else None
    column = where["column"] if where and where["column"] else None
    if rejected:  # invalid rows: the first one, all of them in "rejected"
        top = rejected[0]
        file, row, column = top.get("source", file), top.get("row"), top.get("column")
    fix = _FIX.search(first)
    body: dict[str, Any] = {
        "message": message, "code": getattr(exc, "code", "error"), "file": file, "row": row,
        "column": column, "fix": fix[1] if fix else None,
    }
    if rejected:
        body["rejected"] = rejected
    return {"error": body}


@contextmanager
def json_errors(enabled: bool) -> Iterator[None]:
    """Under `--format json`, a MapperError becomes an error object on stdout with exit 2 (the
    same code as the text form); otherwise errors go on as they are."""
    from mapper.errors import MapperError

    try:
        yield
    except MapperError as exc:
        if not enabled:
            raise
        print_json(error_object(exc))
        raise typer.Exit(2) from None


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, fmt: str = "table",
    title: str | None = None,
) -> None:
    """Rows as a table on a terminal (plain text in a pipe), JSON objects or CSV.

    The table fits table_width(): a column of identifiers (no spaces in any value) keeps its
    longest value whole on one line, and text columns wrap between words. When the
    identifiers alone do not fit, each row is printed as a block of `column: value` lines
    instead, so no identifier is ever cut. `COLUMNS=200 aims ...` gives a wider table.
    """
    if fmt == "json":
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
        return
    if fmt == "csv":
        sys.stdout.write(csv_text(columns, rows, lineterminator="\n"))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    width = table_width()
    console = Console(width=width, highlight=False, soft_wrap=False)
    kinds = []  # (identifier column?, its minimum width)
    for i, column in enumerate(columns):
        values = [r[i] for r in cells if r[i]]
        if _is_identifier(values):
            kinds.append((True, max([len(column), *(len(v) for v in values)])))
        else:  # wide enough for its longest word, so words wrap whole
            words = [w for v in [column, *values] for w in v.split()]
            kinds.append((False, max(len(w) for w in words)))
    widths = _fit(kinds, cells, width - 2 * (len(columns) - 1))
    if widths is None:
        _print_blocks(console, columns, cells, title)
        return
    table = Table(title=title, box=None, pad_edge=False, padding=(0, 1),
                  title_justify="left", header_style="bold underline")
    for column, (ident, _), size in zip(columns, kinds, widths, strict=True):
        table.add_column(column, no_wrap=ident, width=size, overflow="fold")
    for row in cells:
        table.add_row(*(Text(v) for v in row))
    console.print(table)


def _fit(kinds: list[tuple[bool, int]], cells: list[list[str]], room: int
         ) -> list[int] | None:
    """Content widths: identifier columns their longest value, text columns their natural
    width, shrunk (never below their longest word) in proportion until all fit in `room`;
    None when even the minimums do not fit."""
    natural = [least if ident else max([least, *(len(r[i]) for r in cells)])
               for i, (ident, least) in enumerate(kinds)]
    if sum(natural) <= room:
        return natural
    floor = [least for _, least in kinds]
    if sum(floor) > room:
        return None
    spare = room - sum(floor)
    stretch = [n - f for n, f in zip(natural, floor, strict=True)]
    total = sum(stretch) or 1
    widths = [f + spare * s // total for f, s in zip(floor, stretch, strict=True)]
    return widths


def _print_blocks(console: Any, columns: Sequence[str], cells: list[list[str]],
                  title: str | None) -> None:
    """The narrow layout: one block per row, `column: value` lines, values wrapped at words."""
    from rich.text import Text

    if title:
        console.print(Text(title, style="bold"))
    label = max(len(c) for c in columns) + 1
    for n, row in enumerate(cells):
        if n:
            console.print()
        for column, value in zip(columns, row, strict=True):
            if value:
                line = Text(f"{column + ':':<{label}} ", style="bold")
                line.append(value)
                console.print(line, overflow="fold")
