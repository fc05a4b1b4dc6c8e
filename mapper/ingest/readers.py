"""What every tabular reader hands to the mapping: a grid of cells with row numbers, streamed.

A grid holds its first rows (`head`, where a header is looked for) and an iterator over the
rest, read once; so a 100,000-row sheet is never held whole. The readers count rows, cells and
literal length as the rows stream past and stop at the first bound passed (limits.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice

from mapper.ingest.limits import SHUTDOWN, Limits
from mapper.ingest.values import Cell

HEAD_ROWS = 10
"""Rows read before the mapping is chosen (a header is looked for among them)."""

Row = tuple[int, list[Cell]]


@dataclass
class Grid:
    """One sheet (or the only table of a CSV/JSON file): rows as (row number, cells).

    Row numbers are what a user sees: in a CSV or a sheet the header is row 1 (or wherever it
    was found); in JSON the first record is record 1. Only non-empty rows are handed over.

    >>> g = Grid.of(None, iter([(1, ["a"]), (2, ["1"]), (3, ["2"])]))
    >>> g.head[0], list(g.after(0))
    ((1, ['a']), [(2, ['1']), (3, ['2'])])
    """

    sheet: str | None
    head: list[Row]
    rest: Iterator[Row] = field(default_factory=lambda: iter(()))
    encoding: str | None = None
    hidden: bool = False

    @classmethod
    def of(cls, sheet: str | None, rows: Iterator[Row], **kw: object) -> Grid:
        """A grid over a row iterator: the first HEAD_ROWS rows are read now."""
        head = list(islice(rows, HEAD_ROWS))
        return cls(sheet=sheet, head=head, rest=rows, **kw)  # type: ignore[arg-type]

    def after(self, pos: int) -> Iterator[Row]:
        """The rows after the header at head position `pos` (the rest streams; read once)."""
        return chain(self.head[pos + 1:], self.rest)


class Counter:
    """Counts the rows and cells of one table as they stream and enforces the bounds.

    >>> c = Counter("x.csv", Limits(max_rows=2))
    >>> c.row(1, ["a"]); c.row(2, ["b"]); c.row(3, ["c"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mapper.ingest.limits.LimitExceeded: x.csv, row 3: more than 2 rows ...
    """

    def __init__(self, where: str, limits: Limits, *, unit: str = "row") -> None:
        self.where = where
        self.limits = limits
        self.unit = unit
        self.rows = 0
        self.cells = 0

    def row(self, number: int, cells: list[Cell]) -> None:
        self.rows += 1
        self.cells += len(cells)
        lim = self.limits
        if self.rows > lim.max_rows:
            raise lim.exceeded("max_rows", f"{self.where}, {self.unit} {number}",
                               f"more than {lim.max_rows:,} rows")
        if self.cells > lim.max_cells:
            raise lim.exceeded("max_cells", f"{self.where}, {self.unit} {number}",
                               f"more than {lim.max_cells:,} cells")
        for i, cell in enumerate(cells):
            if type(cell) is str and len(cell) > lim.max_literal:
                raise lim.exceeded("max_literal", f"{self.where}, {self.unit} {number}, "
                                   f"column {i + 1}",
                                   f"a value of {len(cell):,} characters")
        if self.rows % 1000 == 0:
            SHUTDOWN.check()
