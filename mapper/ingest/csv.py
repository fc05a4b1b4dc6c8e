"""CSV reader: UTF-8, UTF-8 with BOM or cp1252 (detected and reported), comma, semicolon or tab.

The file is streamed: one pass checks the encoding, the second parses it line by line, each
physical line held to `max_line` characters and the table to its row/cell/literal bounds, so a
file without line ends or with a million columns is refused without being held. Broken
quoting, binary content and empty files are refused with one clear message.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mapper.errors import InputError
from mapper.ingest.limits import Limits
from mapper.ingest.readers import Counter, Grid, Row

_CHUNK = 1 << 20


def decode(data: bytes, source: str) -> tuple[str, str]:
    """Text and the encoding it was read with (utf-8, utf-8-sig or cp1252).

    >>> decode("caf\\u00e9".encode("cp1252"), "x.csv")
    ('café', 'cp1252')
    """
    _refuse_binary(data[:8192], source, empty=not data.strip())
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


def _refuse_binary(head: bytes, source: str, *, empty: bool) -> None:
    if empty:
        raise InputError(f"{source}: the file is empty; nothing to load")
    if head.startswith(b"PK\x03\x04"):
        raise InputError(f"{source}: this is a zip/Excel file, not CSV text; name it .xlsx")
    if b"\x00" in head:
        raise InputError(f"{source}: this is a binary file, not CSV text")


def sniff_encoding(path: Path, source: str) -> str:
    """utf-8-sig, utf-8 or cp1252, found in one streaming pass over the file."""
    with path.open("rb") as f:
        head = f.read(8192)
        _refuse_binary(head, source, empty=not head.strip() and not f.read(1))
        if head.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        while chunk := f.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                failed_at = offset + exc.start
                break
            offset += len(chunk)
        else:
            try:
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError as exc:
                failed_at = offset + exc.start
        f.seek(0)
        sample = f.read(_SAMPLE)
        for encoding in dict.fromkeys([detect(sample), "cp1252"]):
            f.seek(0)
            try:
                while chunk := f.read(_CHUNK):
                    chunk.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
            return encoding
        raise InputError(f"{source}: not UTF-8 text (byte {failed_at}), and no other "
                         "encoding reads it whole; save it as UTF-8 CSV")
    raise AssertionError("unreachable")


_SAMPLE = 4 << 20
_WESTERN = {"latin_1", "iso8859_1", "iso8859_15", "ascii"}


def detect(sample: bytes) -> str:
    """The encoding charset-normalizer finds for text that is not UTF-8 (cp1252 when it finds
    none, or a Latin-1 family member, whose printable characters cp1252 reads the same).

    >>> detect("Caf\u00e9 cr\u00e8me \u00a4 co\u00fbt, na\u00efve".encode("cp1252"))
    'cp1252'
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample))
    if not matches:
        return "cp1252"
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= least]
    if any("cp1252" in m.could_be_from_charset for m in tied):  # Excel's own, on a tie
        return "cp1252"
    encoding = codecs.lookup(tied[0].encoding).name.replace("-", "_")
    return "cp1252" if encoding in _WESTERN else encoding


def _delimiter(first: str) -> str:
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Lines:
    """Physical lines of a text stream, each held to `max_line` characters."""

    def __init__(self, stream: io.TextIOBase, source: str, limits: Limits) -> None:
        self.stream = stream
        self.source = source
        self.limits = limits
        self.number = 0
        self.first = self._next_line()

    def _next_line(self) -> str:
        line = self.stream.readline(self.limits.max_line + 1)
        if line:
            self.number += 1
            if len(line) > self.limits.max_line:
                raise self.limits.exceeded(
                    "max_line", f"{self.source}, line {self.number}",
                    f"a line longer than {self.limits.max_line:,} characters")
        return line

    def __iter__(self) -> Iterator[str]:
        if self.first:
            yield self.first
        while line := self._next_line():
            yield line


def _rows(text: io.TextIOBase, source: str, limits: Limits) -> Iterator[Row]:
    lines = _Lines(text, source, limits)
    csv.field_size_limit(limits.max_literal)  # a quoted value may span lines: bound it too
    reader = csv.reader(iter(lines), delimiter=_delimiter(lines.first), strict=True)
    counter = Counter(source, limits, unit="line")
    rownum = 0
    first = True
    while True:
        start_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise limits.exceeded(
                    "max_literal", f"{source}, line {start_line}",
                    f"a value longer than {limits.max_literal:,} characters") from None
            raise InputError(
                f"{source}, line {start_line}: broken CSV ({exc}); check the quotes in the "
                "record that starts on this line"
            ) from None
        except UnicodeDecodeError:
            raise InputError(f"{source}, line {start_line}: not {text.encoding} text after "
                             "all; save it as UTF-8 CSV") from None
        rownum += 1
        counter.row(start_line, cells)  # type: ignore[arg-type]
        if any(c.strip() for c in cells):
            if first:
                if any("\ufffd" in c for c in cells) or not any(c.isprintable() for c in cells):
                    raise InputError(f"{source}: the first line is not readable text; is this "
                                     "a CSV file?")
                first = False
            yield rownum, list(cells)  # type: ignore[misc]


@contextmanager
def open_csv(path: Path, source: str, limits: Limits) -> Iterator[Grid]:
    """The file as a streamed grid (row 1 is the first line), open while the block runs.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_bytes(b"a,b\\n1,2\\n")
    >>> with open_csv(p, "x.csv", Limits()) as grid:
    ...     grid.head
    [(1, ['a', 'b']), (2, ['1', '2'])]
    """
    encoding = sniff_encoding(path, source)
    with path.open(encoding=encoding, newline="") as text:
        grid = Grid.of(None, _rows(text, source, limits), encoding=encoding)
        if not grid.head:
            raise InputError(f"{source}: the file is empty; nothing to load")
        yield grid


def read_csv(data: bytes, source: str, limits: Limits | None = None) -> Grid:
    """Parse CSV bytes into a grid whose rows are all read (for small inputs and tests).

    >>> read_csv(b"a,b\\n1,2\\n", "x.csv").head
    [(1, ['a', 'b']), (2, ['1', '2'])]
    """
    text, encoding = decode(data, source)
    rows = list(_rows(io.StringIO(text, newline=""), source, limits or Limits()))
    if not rows:
        raise InputError(f"{source}: the file is empty; nothing to load")
    return Grid(sheet=None, head=rows, encoding=encoding)
