"""What every tabular reader hands to the mapping: a grid of cells with row numbers."""

from __future__ import annotations

from dataclasses import dataclass

from mapper.ingest.values import Cell


@dataclass
class Grid:
    """One sheet (or the only table of a CSV/JSON file): rows as (row number, cells).

    Row numbers are what a user sees: in a CSV or a sheet the header is row 1 (or wherever it
    was found); in JSON the first record is record 1.
    """

    sheet: str | None
    rows: list[tuple[int, list[Cell]]]
    encoding: str | None = None
    hidden: bool = False
