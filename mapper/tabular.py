"""Every CSV and TSV the project writes goes through here: cells a spreadsheet would run as a
formula are neutralised.

A spreadsheet opening a CSV or TSV file runs a cell that starts with `=`, `+`, `-` or `@` (and,
in some, a tab or carriage return before one) as a formula: `=cmd|' /C calc'!A0` starts a
program (OWASP, "CSV Injection"). Such a cell gets a leading `'`, which spreadsheets show as
text. The decision looks at the text only, never at a datatype: a literal typed as a number
whose text is a formula is neutralised like any other text, and a real number such as `-5` or
`+1.5e3` (its whole text a number) is left alone.

Users: the API's /sparql CSV and TSV results and named-query CSV (api/), the CLI's
`--format csv` tables (mapper/cli/common.py) and the audit pack's findings.csv
(mapper/report/).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

TRIGGERS = frozenset("=+-@\t\r\n")
"""First characters (after any leading spaces) that make a spreadsheet read a formula."""

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TSV_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def cell_text(value: Any) -> str:
    """The text of a cell: '' for None, str() otherwise.

    >>> cell_text(None), cell_text(3)
    ('', '3')
    """
    return "" if value is None else str(value)


def neutralise(text: str) -> str:
    """`text`, with a leading `'` when a spreadsheet would run it as a formula.

    >>> print(neutralise("=cmd|' /C calc'!A0"), neutralise("  @SUM(A1)"), neutralise("-5"))
    '=cmd|' /C calc'!A0 '  @SUM(A1) -5
    >>> neutralise("+1.5e3"), neutralise("-1+1"), neutralise("plain")
    ('+1.5e3', "'-1+1", 'plain')
    """
    first = text.lstrip(" ")[:1]
    if first in TRIGGERS and first and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_cell(value: Any) -> str:
    """A cell's text, neutralised (see `neutralise`).

    >>> safe_cell("=HYPERLINK(1)"), safe_cell(None), safe_cell(-2)
    ("'=HYPERLINK(1)", '', '-2')
    """
    return neutralise(cell_text(value))


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
             lineterminator: str = "\r\n") -> str:
    """A CSV document (RFC 4180 quoting) with every cell, the header too, neutralised.

    >>> csv_text(["a", "b"], [["=1+1", 2]], lineterminator="\\n")
    "a,b\\n'=1+1,2\\n"
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def tsv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
             lineterminator: str = "\n") -> str:
    """A TSV document: cells neutralised, tabs and line breaks inside a cell written as
    `\\t`, `\\n`, `\\r` (TSV has no quoting), so every line is one row.

    >>> tsv_text(["?x"], [["a\\tb"], ["@x"]])
    "?x\\na\\\\tb\\n'@x\\n"
    """
    lines = ["\t".join(safe_cell(h).translate(_TSV_ESCAPES) for h in header)]
    lines.extend("\t".join(safe_cell(v).translate(_TSV_ESCAPES) for v in row) for row in rows)
    return lineterminator.join(lines) + lineterminator


__all__ = ["TRIGGERS", "cell_text", "csv_text", "neutralise", "safe_cell", "tsv_text"]
