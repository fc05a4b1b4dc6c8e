"""XLSX reader (openpyxl, read-only, cached values): every sheet as a grid."""

from __future__ import annotations

import io
import warnings
import zipfile

from mapper.errors import InputError
from mapper.ingest.readers import Grid
from mapper.ingest.values import Cell


def read_xlsx(data: bytes, source: str) -> list[Grid]:
    """All sheets of a workbook, in workbook order (hidden ones flagged)."""
    import openpyxl

    if not data:
        raise InputError(f"{source}: the file is empty; nothing to load")
    if not data.startswith(b"PK\x03\x04"):
        raise InputError(f"{source}: not an Excel .xlsx workbook (an .xls or a renamed file?)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{source}: cannot read the workbook ({exc})") from None
    grids = []
    try:
        for sheet in book.worksheets:
            warnings.filterwarnings("ignore", module="openpyxl")
            rows: list[tuple[int, list[Cell]]] = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = list(values)
                if any(c is not None and str(c).strip() for c in cells):
                    rows.append((number, cells))  # type: ignore[arg-type]
            grids.append(Grid(sheet=sheet.title, rows=rows,
                              hidden=getattr(sheet, "sheet_state", "visible") != "visible"))
    finally:
        book.close()
    return grids
