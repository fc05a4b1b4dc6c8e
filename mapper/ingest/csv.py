"""CSV reader: UTF-8, UTF-8 with BOM or cp1252 (detected and reported), comma, semicolon or tab.

Broken quoting, binary content and empty files are refused with one clear message.
"""

from __future__ import annotations

import csv
import io

from mapper.errors import InputError
from mapper.ingest.readers import Grid


def decode(data: bytes, source: str) -> tuple[str, str]:
    """Text and the encoding it was read with (utf-8, utf-8-sig or cp1252).

    >>> decode("caf\\u00e9".encode("cp1252"), "x.csv")
    ('café', 'cp1252')
    """
    if not data.strip():
        raise InputError(f"{source}: the file is empty; nothing to load")
    head = data[:8192]
    if head.startswith(b"PK\x03\x04"):
        raise InputError(f"{source}: this is a zip/Excel file, not CSV text; name it .xlsx")
    if b"\x00" in head:
        raise InputError(f"{source}: this is a binary file, not CSV text")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    for encoding in ("utf-8", "cp1252"):  # cp1252 is what older Excel exports are in
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            failed_at = exc.start
    raise InputError(
        f"{source}: not UTF-8 or cp1252 text (byte {failed_at}); save it as UTF-8 CSV"
    )


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(data: bytes, source: str) -> Grid:
    """Parse CSV bytes into a grid; row 1 is the first line.

    >>> read_csv(b"a,b\\n1,2\\n", "x.csv").rows
    [(1, ['a', 'b']), (2, ['1', '2'])]
    """
    text, encoding = decode(data, source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows: list[tuple[int, list[str]]] = []
    rownum = 0
    start_line = 1
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(
                f"{source}, line {start_line}: broken CSV ({exc}); check the quotes in the "
                "record that starts on this line"
            ) from None
        rownum += 1
        if any(c.strip() for c in cells):
            rows.append((rownum, list(cells)))
    if not rows:
        raise InputError(f"{source}: the file is empty; nothing to load")
    if any("\ufffd" in c for c in rows[0][1]) or not any(c.isprintable() for c in rows[0][1]):
        raise InputError(f"{source}: the first line is not readable text; is this a CSV file?")
    return Grid(sheet=None, rows=rows, encoding=encoding)  # type: ignore[arg-type]
