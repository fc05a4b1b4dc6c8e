"""XLSX reader (openpyxl, read-only, cached values): every sheet as a streamed grid.

Before openpyxl opens anything, the zip's directory is checked: the parts together may inflate
to at most `max_unzipped` bytes and no large part may inflate more than `max_ratio` times
(Python's zipfile holds each part to the size its directory declares: a part that inflates
further fails its checksum). Rows are then streamed from the sheet XML and counted here: the
sheet's declared `<dimension>` is ignored, so a sheet that lies about its size cannot make the
reader pad or skip rows.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mapper.errors import InputError
from mapper.ingest.limits import _RATIO_FLOOR, Limits
from mapper.ingest.readers import Counter, Grid, Row
from mapper.ingest.values import Cell


def check_zip(path: Path, source: str, limits: Limits) -> None:
    """Refuse a workbook whose parts would inflate past the limits (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{source}: cannot read the workbook ({exc})") from None
    total = 0
    for part in parts:
        total += part.file_size
        if total > limits.max_unzipped:
            raise limits.exceeded(
                "max_unzipped", f"{source} [{part.filename}]",
                f"the workbook's parts inflate to more than {limits.max_unzipped:,} bytes")
        if part.file_size > _RATIO_FLOOR and (
                part.file_size > limits.max_ratio * max(part.compress_size, 1)):
            ratio = part.file_size / max(part.compress_size, 1)
            raise limits.exceeded(
                "max_ratio", f"{source} [{part.filename}]",
                f"a part that inflates {ratio:,.0f} times ({part.compress_size:,} to "
                f"{part.file_size:,} bytes), the mark of a zip bomb")


def _rows(sheet: Any, source: str, limits: Limits) -> Iterator[Row]:
    sheet.reset_dimensions()  # never trust the declared <dimension>: count the rows here
    counter = Counter(f"{source} [sheet {sheet.title}]", limits)
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells: list[Cell] = list(values)
            counter.row(number, cells)
            if any(c is not None and str(c).strip() for c in cells):
                yield number, cells
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{source} [sheet {sheet.title}]: cannot read the sheet ({exc})") \
            from None


@contextmanager
def open_xlsx(path: Path, source: str, limits: Limits) -> Iterator[list[Grid]]:
    """All sheets of a workbook, in workbook order (hidden ones flagged), open while the
    block runs; each grid streams its rows from the sheet XML."""
    import openpyxl

    with path.open("rb") as f:
        head = f.read(4)
    if not head:
        raise InputError(f"{source}: the file is empty; nothing to load")
    if head != b"PK\x03\x04":
        raise InputError(f"{source}: not an Excel .xlsx workbook (an .xls or a renamed file?)")
    check_zip(path, source, limits)
    warnings.filterwarnings("ignore", module="openpyxl")  # data validation, styles ...
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{source}: cannot read the workbook ({exc})") from None
    try:
        yield [Grid.of(sheet.title, _rows(sheet, source, limits),
                       hidden=getattr(sheet, "sheet_state", "visible") != "visible")
               for sheet in book.worksheets]
    finally:
        book.close()


def read_xlsx(data: bytes, source: str, limits: Limits | None = None) -> list[Grid]:
    """All sheets of workbook bytes with every row read (for small inputs and tests)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aims-xlsx-") as folder:
        path = Path(folder) / "book.xlsx"
        path.write_bytes(data)
        with open_xlsx(path, source, limits or Limits()) as grids:
            return [Grid(sheet=g.sheet, head=[*g.head, *g.rest], hidden=g.hidden)
                    for g in grids]
