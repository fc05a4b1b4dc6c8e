"""Ingest: files -> reader -> mapping -> triples with stable IRIs -> one named graph per batch.

`ingest(store, paths)` reads CSV, XLSX, JSON (tabular, through a YAML mapping) and Turtle,
N-Triples, JSON-LD, RDF/XML (as they are). A folder means every recognised file directly in it
(not recursive); other files such as README.md are skipped quietly.

Two steps, so that a server holds its write lock only for the second: `prepare` reads, maps
and checks every file without touching the store, streaming rows and spooling the triples to
a temporary folder, each input held to the bounds of limits.py; if any file has an invalid row
(and `skip_invalid` is off) or cannot be read, an InputError lists every problem and the store
is never touched; with `skip_invalid`, a file of several that cannot be loaded at all (it fits
no mapping, it is not valid RDF) is reported with status "rejected" and the others load.
`commit` then writes each file as one batch with its provenance (see batches.py):
unchanged files are left alone, a changed file replaces its earlier batch. A batch
of up to ONE_TRANSACTION triples is one transaction; a larger one, into a store that can
`flush()` between writes, is loaded in chunks and made real by its provenance, written last
(a crash in between leaves a graph without provenance, which `batches.recover` removes; a
shutdown (limits.SHUTDOWN) removes it at once).

Each batch is committed once, through the store's one change path (`Store.changing`); its
consumers react after the write. When validation findings are stored (`aims validate
--store-findings`) and the store has the findings keeper attached (the CLI, API and demo attach
it; `mapper.rules.stored.keep_current(store)` in a program), each write re-validates only what
it can affect and keeps them current; `BatchResult.delta` holds that re-validation.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mapper.errors import InputError
from mapper.ingest import batches as B
from mapper.ingest.conflicts import MODES, Conflict, lexical, replace_update, row_lines
from mapper.ingest.conflicts import find as find_overlap
from mapper.ingest.limits import SHUTDOWN, IngestCancelled, LimitExceeded, Limits
from mapper.ingest.lookups import Wants
from mapper.ingest.lookups import resolve as resolve_lookups
from mapper.ingest.mapping import (
    Applier,
    Fit,
    Mapping,
    MappingError,
    Rejected,
    Spool,
    Table,
    builtin_names,
    describe_columns,
    fit,
    load_mapping,
    rejected_rows,
    zone_of,
)
from mapper.ingest.readers import HEAD_ROWS, Grid
from mapper.store import Store

if TYPE_CHECKING:
    from mapper.rules.stored import Delta

__all__ = ["BatchResult", "IngestRejected", "IngestCancelled", "LimitExceeded", "Limits",
           "Preparation", "commit", "ingest", "prepare", "recognised", "TABULAR",
           "RDF_SUFFIXES"]

TABULAR = (".csv", ".tsv", ".xlsx", ".json")
RDF_SUFFIXES = (".ttl", ".turtle", ".nt", ".jsonld", ".json-ld", ".rdf", ".owl", ".xml")
PROGRESS_BYTES = 256 * 1024
_HEADER_SCAN = HEAD_ROWS
ONE_TRANSACTION = 150_000
"""A batch of up to this many triples is written in one transaction with its provenance."""
CHUNK = 25_000
"""Triples per transaction of a larger batch (its memory stays with the chunk)."""
_QUIET_SHEETS = {"readme", "read me", "instructions", "lists", "allowed values", "about"}


@dataclass
class BatchResult:
    """What one ingested file gave."""

    batch: str
    graph: str
    source: str
    path: str
    sha256: str
    format: str
    mapping: str | None
    records: int
    triples: int
    rows_read: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None
    sheets: list[str] = field(default_factory=list)
    status: str = "loaded"  # loaded | unchanged | replaced | rejected (a whole file refused
    # under --skip-invalid in a multi-file ingest: `rejected` holds the reason, row 0)
    merged: int = 0
    """Records that land on a node another batch already describes."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """Single-valued properties given another value by another batch (see conflicts.py)."""
    merged_with: list[dict[str, Any]] = field(default_factory=list)
    """The other batches that already describe this batch's records (source, graph,
    records): this batch adds facts to nodes they own."""
    replaced: str | None = None
    delta: Delta | None = field(default=None, repr=False, compare=False)
    """The incremental re-validation this batch caused (only when findings are stored)."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape `aims ingest --format json` prints for one file."""
        return {
            "batch": self.batch, "records": self.records, "triples": self.triples,
            "rejected": self.rejected, "warnings": self.warnings, "status": self.status,
            "source": self.source, "sha256": self.sha256, "format": self.format,
            "mapping": self.mapping, "encoding": self.encoding, "sheets": self.sheets,
            "rows_read": self.rows_read, "replaced": self.replaced, "graph": self.graph,
            "merged": self.merged, "merged_with": self.merged_with,
            "conflicts": len(self.conflicts),
            "conflict_details": self.conflicts,
        }


class IngestRejected(InputError):
    """Invalid rows aborted the batch; `rejected` lists them all."""

    def __init__(self, message: str, rejected: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.rejected = rejected


def recognised(path: Path) -> bool:
    """True for a file name ingest knows how to read."""
    name = path.name.lower()
    return not name.startswith((".", "~$")) and name.endswith(TABULAR + RDF_SUFFIXES)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the recognised files directly inside folders named (sorted)."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and recognised(p))
            if not found:
                raise InputError(f"{path}: no file ingest can read in this folder "
                                 f"({', '.join(TABULAR + RDF_SUFFIXES)})")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not out:
        raise InputError("no files to ingest")
    return out


# --- preparing one file ----------------------------------------------------------------------


@dataclass
class _Prepared:
    result: BatchResult
    triples: Path  # the batch's N-Triples, spooled
    rejected: list[Rejected]
    mapping_sha: str | None
    media: str
    sheet: str | None = None
    rows: dict[str, int] = field(default_factory=dict)  # record IRI -> source row
    wants: Wants = field(default_factory=Wants)  # values looked up when committed
    inner: list[Conflict] = field(default_factory=list)  # conflicts within the file


def _header_fit(table: Table, grid: Grid) -> tuple[Fit, int] | None:
    best: tuple[Fit, int] | None = None
    for pos, (_, cells) in enumerate(grid.head[:_HEADER_SCAN]):
        f = fit(table, cells)
        enough = f.score >= min(2, len(table.columns))
        if f.ok and enough and (best is None or f.score > best[0].score):
            best = (f, pos)
    return best


def _closest(table: Table, grid: Grid) -> Fit:
    candidates = [fit(table, cells) for _, cells in grid.head[:_HEADER_SCAN]] or [
        fit(table, [])]
    return max(candidates, key=lambda f: f.score)


def _found(grid: Grid) -> str:
    if not grid.head:
        return "(no rows)"
    cells = max((cells for _, cells in grid.head[:_HEADER_SCAN]),
                key=lambda c: sum(1 for x in c if x is not None and str(x).strip()))
    labels = [" ".join(str(c).split()) for c in cells if c is not None and str(c).strip()]
    return "; ".join(labels[:20]) + ("; ..." if len(labels) > 20 else "")


def _mismatch(source: str, mapping: Mapping, grid: Grid) -> InputError:
    table = max(mapping.tables, key=lambda t: _closest(t, grid).score)
    closest = _closest(table, grid)
    missing = closest.missing or [c for alt in table.keys[:1] for c, opt in alt
                                  if not opt and c not in closest.index]
    labels = [table.columns[m].label for m in missing]
    where = f"{source}" + (f" [sheet {grid.sheet}]" if grid.sheet else "")
    return InputError(
        f"{where}: the columns do not match mapping {mapping.name!r} (table {table.name}): "
        f"missing {', '.join(repr(label) for label in labels)}. Expected columns: "
        f"{describe_columns(table)}. Found: {_found(grid)}. Use --mapping with a mapping "
        "that names these columns."
    )


def _choose_mapping(source: str, grids: list[Grid]) -> Mapping:
    best: tuple[int, Mapping] | None = None
    for name in builtin_names():
        mapping = load_mapping(name)
        score = 0
        for grid in grids:
            fits = [_header_fit(t, grid) for t in mapping.tables]
            score += max((f[0].score for f in fits if f), default=0)
        if score and (best is None or score > best[0]):
            best = (score, mapping)
    if best is None:
        grid = max(grids, key=lambda g: len(g.head))
        needs = []
        for name in builtin_names():
            m = load_mapping(name)
            table = max(m.tables, key=lambda t: _closest(t, grid).score)
            required = [c.label for c in table.columns.values() if c.required]
            needs.append(f"{name} (e.g. table {table.name!r} needs {', '.join(required)})")
        raise InputError(
            f"{source}: no built-in mapping fits its columns. Found: {_found(grid)}. Built-in "
            f"mappings: {'; '.join(needs)}. Write a mapping YAML for these columns and pass "
            "--mapping FILE.yaml"
        )
    return best[1]


def _progress(size: int, label: str, enabled: bool) -> tuple[Callable[[int], None],
                                                             Callable[[], None]]:
    """A progress bar on stderr for a large file (rows counted; the total is not known)."""
    if not enabled or size < PROGRESS_BYTES:
        return (lambda n: None), (lambda: None)
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=None)
    bar.start()
    return (lambda n: bar.update(task, advance=n)), bar.stop


@dataclass
class _Mapped:
    triples: int
    read: int
    loaded: int
    rejected: list[Rejected]
    warnings: list[str]
    sheets: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    wants: Wants = field(default_factory=Wants)
    inner: list[Conflict] = field(default_factory=list)


def _map_grids(source: str, grids: list[Grid], mapping: Mapping, out: Path, *,
               sheet: str | None, lenient: bool, size: int, progress: bool,
               scope: str | None = None, timezone: str | None = None) -> _Mapped:
    """Apply the mapping to the grids, streaming their rows; the triples go to `out`."""
    if sheet is not None:
        names = [g.sheet for g in grids]
        chosen = [g for g in grids if g.sheet == sheet]
        if not chosen:
            raise InputError(f"{source}: no sheet named {sheet!r}; sheets: "
                             f"{', '.join(str(n) for n in names)}")
        grids = chosen
    single = len(mapping.tables) == 1
    plan: list[tuple[Grid, Table, Fit, int]] = []
    warnings: list[str] = []
    used_tables: set[str] = set()
    for grid in grids:
        if not grid.head or (sheet is None and grid.sheet is not None
                             and grid.sheet.strip().lower() in _QUIET_SHEETS):
            continue
        options = []
        for table in mapping.tables:
            found = _header_fit(table, grid)
            if found:
                named = grid.sheet is not None and any(
                    grid.sheet.strip().lower() == s.lower() for s in table.sheets)
                options.append((named, found[0].score, table, found))
        if not options:
            if grid.sheet is None or sheet is not None:
                raise _mismatch(source, mapping, grid)
            if grid.sheet.strip().lower() not in _QUIET_SHEETS and not grid.hidden:
                warnings.append(f"sheet {grid.sheet!r} matches no table of {mapping.name}; "
                                "skipped")
            continue
        options.sort(key=lambda o: (o[0], o[1]), reverse=True)
        _, _, table, (hfit, pos) = options[0]
        if table.name in used_tables:
            warnings.append(f"sheet {grid.sheet!r}: table {table.name} was already read from "
                            "an earlier sheet; skipped")
            continue
        used_tables.add(table.name)
        plan.append((grid, table, hfit, pos))
        if single:
            break
    if not plan:
        grid = max(grids, key=lambda g: len(g.head))
        if not grid.head:
            raise InputError(f"{source}: no data rows; nothing to load")
        raise _mismatch(source, mapping, grid)
    read = loaded = 0
    rows: dict[str, int] = {}
    rejected: list[Rejected] = []
    sheets: list[str] = []
    spool = Spool(out.parent)
    advance, stop = _progress(size, f"ingest {source}", progress)
    try:
        for grid, table, hfit, pos in plan:
            unknown = [u for u in hfit.unused if u]
            if unknown:
                shown = "; ".join(" ".join(u.split())[:60] for u in unknown[:8])
                warnings.append(
                    (f"[{grid.sheet}] " if grid.sheet and not single else "")
                    + f"{len(unknown)} column(s) not in mapping {mapping.name}, not loaded: "
                    + shown + ("; ..." if len(unknown) > 8 else "")
                )
            absent = hfit.absent()
            if absent:
                where = f"[{grid.sheet}] " if grid.sheet and not single else ""
                labels = [repr(c.label) for c in absent]
                if mapping.strict:
                    raise InputError(
                        f"{source}: {where}mapping {mapping.name!r} is strict and "
                        f"{len(labels)} declared column(s) match no header: "
                        f"{', '.join(labels[:12])}{', ...' if len(labels) > 12 else ''}; "
                        "rename the header, add its spelling to the column's aliases, or "
                        "drop `strict: true`")
                warnings.append(
                    f"{where}{len(labels)} column(s) of mapping {mapping.name} match no "
                    f"header, nothing read from them: {'; '.join(labels[:12])}"
                    + ("; ..." if len(labels) > 12 else ""))
            applier = Applier(mapping, table, hfit.index, spool, lenient=lenient,
                              sheet=grid.sheet if not single else None, scope=scope,
                              timezone=timezone)
            any_rows = False
            for i, (rownum, cells) in enumerate(grid.after(pos)):
                any_rows = True
                applier.add(rownum, cells)
                if i % 500 == 499:
                    advance(500)
            if not any_rows:
                if single:
                    raise InputError(f"{source}: a header but no data rows; nothing to load")
                continue
            if grid.sheet:
                sheets.append(grid.sheet)
            res = applier.finish()
            if res.unscoped:
                raise _unscoped(source, mapping, table, res.unscoped)
            rows.update(res.rows)
            read += res.rows_read - res.rows_skipped
            loaded += res.rows_loaded
            rejected.extend(res.rejected)
            warnings.extend(res.warnings(grid.sheet if not single else None))
        if read == 0 and loaded == 0 and not rejected:
            raise InputError(f"{source}: no data rows to load (all rows empty or skipped)")
        with out.open("wb") as sink:
            triples = spool.finish(sink)
    finally:
        stop()
        spool.close()
    inner = [Conflict(subject=s[1:-1], predicate=p[1:-1], value=lexical(o2), source=source,
                      row=row2, other_value=lexical(o1), other_source=source, other_row=row1,
                      other_graph="")
             for s, p, o1, row1, o2, row2 in spool.inner]
    return _Mapped(triples, read, loaded, rejected, warnings, sheets, rows, spool.wants, inner)


def _unscoped(source: str, mapping: Mapping, table: Table, rows: list[tuple[int, str]]
              ) -> InputError:
    shown = ", ".join(f"row {r} ({k!r})" for r, k in rows[:5]) + (
        f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    col = table.columns[table.scoped_by or ""].label if table.scoped_by else "agency"
    return InputError(
        f"{source}: the keys of mapping {mapping.name!r} (table {table.name}, key "
        f"{table.key_text()}) are unique only inside one organisation's file, and no "
        f"{col!r} column scopes them: {shown}; another organisation's file would mint the same "
        f"IRIs, so nothing was loaded. Pass --scope ORGANISATION (e.g. --scope DOL), add an "
        f"{col!r} column, or set `scope:` in the mapping"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _prepare(path: Path, folder: Path, *, mapping_arg: str | Path | None, sheet: str | None,
             lenient: bool, limits: Limits, progress: bool, scope: str | None = None,
             timezone: str | None = None) -> _Prepared:
    from mapper.ingest import rdf

    source = path.name
    try:
        sha = _sha256(path)
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    base = BatchResult(batch="", graph="", source=source, path=str(path), sha256=sha,
                       format=suffix.lstrip("."), mapping=None, records=0, triples=0)
    out = folder / "batch.nt"
    fmt = rdf.FORMATS.get(suffix)
    data: bytes | None = None
    if suffix in (".json",) + tuple(rdf.FORMATS):
        data = path.read_bytes()  # RDF and JSON parsers take the whole text
        if suffix == ".json" and rdf.looks_like_jsonld(data, limits):
            fmt = rdf.FORMATS[".jsonld"]
    if fmt is not None:
        assert data is not None
        with out.open("wb") as sink:
            read = rdf.read_rdf(data, source, fmt, sink, limits=limits, lenient=lenient,
                                zone=zone_of(timezone) if timezone else None)
        base.records, base.triples = read.subjects, read.triples  # records: distinct subjects
        base.format = rdf.MEDIA[fmt]
        base.warnings.extend(read.warnings)
        if mapping_arg is not None:
            base.warnings.append("RDF input is loaded as it is; --mapping was not used")
        return _Prepared(base, out, [], None, rdf.MEDIA[fmt])
    with ExitStack() as stack:
        grids: list[Grid]
        if suffix in (".csv", ".tsv"):
            from mapper.ingest.csv import open_csv

            grids = [stack.enter_context(open_csv(path, source, limits))]
            media = f"text/csv; charset={grids[0].encoding}"
            base.encoding = grids[0].encoding
            if base.encoding not in ("utf-8", "utf-8-sig"):
                base.warnings.append(f"read as {base.encoding} text, not UTF-8 (detected with "
                                     "charset-normalizer)")
        elif suffix == ".xlsx":
            from mapper.ingest.xlsx import open_xlsx

            grids = stack.enter_context(open_xlsx(path, source, limits))
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        elif suffix == ".json":
            from mapper.ingest.json import read_json

            assert data is not None
            grids = [read_json(data, source, limits)]
            media = "application/json"
        else:
            raise InputError(f"{source}: unknown file type {suffix!r}; ingest reads "
                             f"{', '.join(TABULAR + RDF_SUFFIXES)}")
        mapping = load_mapping(mapping_arg) if mapping_arg is not None else _choose_mapping(
            source, grids)
        base.mapping = mapping.name
        mapped = _map_grids(source, grids, mapping, out, sheet=sheet, lenient=lenient,
                            size=size, progress=progress, scope=scope, timezone=timezone)
    base.warnings.extend(mapped.warnings)
    base.sheets = mapped.sheets
    base.rows_read = mapped.read
    base.records = mapped.loaded
    base.triples = mapped.triples
    base.rejected = [r.as_dict() for r in mapped.rejected]
    mapping_sha = hashlib.sha256(mapping.path.read_bytes()).hexdigest()
    return _Prepared(base, out, mapped.rejected, mapping_sha, media, sheet, mapped.rows,
                     mapped.wants, mapped.inner)


def _refused(path: Path, folder: Path, reason: str) -> _Prepared:
    """A file of a multi-file ingest that cannot be loaded at all (it fits no mapping, it is
    not valid RDF ...): reported as rejected under --skip-invalid, never committed."""
    result = BatchResult(batch="", graph="", source=path.name, path=str(path), sha256="",
                         format=path.suffix.lower().lstrip("."), mapping=None, records=0,
                         triples=0, status="rejected",
                         rejected=[{"row": 0, "column": "", "value": "", "reason": reason}])
    return _Prepared(result, folder / "batch.nt", [], None, "")


def _abort(prepared: list[_Prepared]) -> None:
    problems: list[str] = []
    all_rejected: list[dict[str, Any]] = []
    rows = 0
    for p in prepared:
        rows += rejected_rows(p.rejected)
        for r in p.rejected:
            if len(problems) <= 25:
                problems.append(r.line(p.result.source))
            all_rejected.append({"source": p.result.source, **r.as_dict()})
    if not all_rejected:
        return
    shown = problems[:25]
    more = (f"\n  ... and {len(all_rejected) - 25} more" if len(all_rejected) > 25 else "")
    raise IngestRejected(
        f"{rows} invalid row(s); nothing was loaded (fix them, or use --skip-invalid to load "
        "the valid rows):\n  " + "\n  ".join(shown) + more,
        all_rejected,
    )


class Preparation:
    """Files read, mapped and checked, their triples spooled in a temporary folder; nothing
    written to any store. `commit` writes them; `close` removes the folder."""

    def __init__(self, prepared: list[_Prepared], folder: Path, started: datetime) -> None:
        self.prepared = prepared
        self.folder = folder
        self.started = started

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Preparation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare(
    paths: Sequence[str | Path] | str | Path,
    *,
    mapping: str | Path | None = None,
    sheet: str | None = None,
    skip_invalid: bool = False,
    lenient: bool = False,
    limits: Limits | None = None,
    progress: bool = False,
    scope: str | None = None,
    timezone: str | None = None,
) -> Preparation:
    """Read, map and check files without touching a store (see `ingest` for the options).

    Raises IngestRejected for invalid rows (unless `skip_invalid`), LimitExceeded for an input
    past a bound, InputError for anything else; the temporary folder is then already gone.
    """
    started = datetime.now(UTC)
    files = expand_paths([paths] if isinstance(paths, str | Path) else paths)
    limits = limits or Limits.from_env()
    if timezone is not None:
        zone_of(timezone)  # a bad name is refused before any file is read
    folder = Path(tempfile.mkdtemp(prefix="aims-ingest-"))
    try:
        prepared = []
        refused: list[str] = []
        for i, f in enumerate(files):
            sub = folder / str(i)
            sub.mkdir()
            try:
                prepared.append(_prepare(f, sub, mapping_arg=mapping, sheet=sheet,
                                         lenient=lenient, limits=limits, progress=progress,
                                         scope=scope, timezone=timezone))
            except (LimitExceeded, IngestCancelled, MappingError):
                raise  # a bound, a shutdown or a bad mapping concerns every file
            except InputError as exc:
                if not (skip_invalid and len(files) > 1):
                    raise
                prepared.append(_refused(f, sub, str(exc)))
                refused.append(str(exc))
        if refused and len(refused) == len(files):
            raise InputError("no file could be loaded; nothing was loaded:\n  "
                             + "\n  ".join(refused))
        if not skip_invalid:
            _abort(prepared)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Preparation(prepared, folder, started)


# --- writing ---------------------------------------------------------------------------------


def _nquads(lines: Iterable[bytes], graph: str) -> bytes:
    suffix = f" <{graph}> .\n".encode()
    return b"".join(line[:-3] + suffix for line in lines if line.strip())


def _chunks(path: Path, size: int) -> Iterator[list[bytes]]:
    with path.open("rb") as f:
        chunk: list[bytes] = []
        for line in f:
            chunk.append(line)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _flusher(store: Store) -> Callable[[], None] | None:
    """The store's `flush()`, which writes its memory tables out, if it has one.

    A large batch is written in chunks only into a store that can flush between them: without
    it, RocksDB's memory tables grow with the batch all the same (about 1 GB at 100,000 rows),
    and a manual flush after many large transactions was seen to hang in
    WaitForFlushMemTables. Other stores get the one transaction they always had.
    """
    flush = getattr(store, "flush", None)
    return flush if callable(flush) else None


def _source_key(p: _Prepared) -> str:
    return p.result.source + (f"#{p.sheet}" if p.sheet else "")


def _unchanged(current: B.BatchInfo | None, res: BatchResult) -> bool:
    return (current is not None and current.sha256 == res.sha256
            and current.mapping == res.mapping)


def _overlap(store: Store, p: _Prepared, on_conflict: str) -> list[Conflict]:
    """Count the records other batches describe; report (or refuse) their conflicts."""
    res = p.result
    current = B.current_batch(store, _source_key(p))
    if _unchanged(current, res):
        return []
    found = find_overlap(store, p.triples, source=res.source, rows=p.rows,
                         exclude=[current.graph] if current else [])
    res.merged = found.merged
    res.merged_with = found.owners
    res.conflicts = [c.as_dict() for c in [*p.inner, *found.conflicts]]
    if p.inner and on_conflict != "fail":
        res.warnings.append(f"{len(p.inner)} conflict(s) within the file (rows merged on one "
                            "key; both values kept):")
        res.warnings.extend("  " + c.line() for c in p.inner[:20])
    if found.owners:
        shown = ", ".join(f"{o['records']} described by {o['source']}" for o in found.owners[:5])
        line = (f"{found.merged} record(s) add facts to nodes other batches already describe: "
                f"{shown}" + (" ..." if len(found.owners) > 5 else ""))
        if line not in res.warnings:  # --on-conflict fail looks twice
            res.warnings.append(line)
    if found.conflicts and on_conflict != "fail":
        verb = "replaced" if on_conflict == "replace" else "kept both values"
        res.warnings.append(f"{len(found.conflicts)} conflict(s) with other batches ({verb}; "
                            "--on-conflict fail|warn|replace):")
        res.warnings.extend("  " + c.line() for c in found.conflicts[:20])
        if len(found.conflicts) > 20:
            res.warnings.append(f"  ... and {len(found.conflicts) - 20} more "
                                "(see conflict_details in --format json)")
    return found.conflicts


def _commit(store: Store, p: _Prepared, *, actor: str, started: datetime,
            replace: list[Conflict] | None = None) -> BatchResult:
    res = p.result
    source_key = _source_key(p)
    current = B.current_batch(store, source_key)
    if _unchanged(current, res):
        assert current is not None
        res.batch, res.graph, res.status = current.id, current.graph, "unchanged"
        res.records, res.triples = current.records, current.triples
        return res
    batch_id = B.new_batch_id(store, source_key, res.sha256)
    graph = B.graph_of(batch_id)
    res.batch, res.graph = batch_id, graph
    ended = datetime.now(UTC)
    prov = "".join(B.provenance_lines(
        batch_id=batch_id, source=source_key, sha256=res.sha256, media=p.media,
        mapping=res.mapping, mapping_sha=p.mapping_sha, actor=actor, started=started,
        ended=ended, rows_read=res.rows_read or res.records, rows_loaded=res.records,
        rejected=p.rejected, triples=res.triples, replaces=current,
    ) + row_lines(graph, p.rows)).encode("utf-8")
    SHUTDOWN.check()
    touched = sorted({c.other_graph for c in replace or []})
    # the one change path: its consumers (the stored findings) react once, after the write
    flush = _flusher(store)
    with store.changing(added=[graph, *touched],
                        removed=[current.graph] if current else []) as change:
        update = replace_update(replace or [])
        if update is not None:
            store.update(update)
        if res.triples <= ONE_TRANSACTION or flush is None:
            with p.triples.open("rb") as f:
                store.load_nquads(_nquads(f, graph) + prov)
        else:
            try:
                for chunk in _chunks(p.triples, CHUNK):
                    SHUTDOWN.check()
                    store.load_nquads(_nquads(chunk, graph))
                    flush()
                SHUTDOWN.check()
                store.load_nquads(prov)  # the batch exists from here on
            except BaseException:
                store.drop_graph(graph)  # abandoned whole
                raise
        if current is not None:
            store.drop_graph(current.graph)
            res.status, res.replaced = "replaced", current.id
    res.delta = change.results.get("findings")
    return res


def commit(store: Store, preparation: Preparation, *, actor: str | None = None,
           on_conflict: str = "warn") -> list[BatchResult]:
    """Write prepared files into the store, one batch each (the only step that needs a
    server's write lock).

    Before anything is written, each file's records are compared with what other batches
    say about the same nodes (conflicts.py): `on_conflict` "fail" refuses every file when one
    conflicts, "warn" (default) keeps both values and reports each conflict, "replace" lets
    the new value replace the other batch's.
    """
    if on_conflict not in MODES:
        raise InputError(f"--on-conflict {on_conflict}: use one of {', '.join(MODES)}")
    B.recover(store)
    who = actor or default_actor()
    _lookups(store, preparation)
    if on_conflict == "fail":  # refuse before anything is written
        _refuse([c for p in preparation.prepared if p.result.status != "rejected"
                 for c in [*p.inner, *_overlap(store, p, on_conflict)]], [])
    results: list[BatchResult] = []
    for p in preparation.prepared:
        if p.result.status == "rejected":  # fits no mapping (--skip-invalid): not written
            results.append(p.result)
            continue
        found = _overlap(store, p, on_conflict)  # sees the files written before it
        if on_conflict == "fail" and found:
            _refuse(found, results)
        results.append(_commit(store, p, actor=who, started=preparation.started,
                               replace=found if on_conflict == "replace" else None))
    return results


def _lookups(store: Store, preparation: Preparation) -> None:
    """Resolve every file's lookups in the store before anything is written (lookups.py)."""
    problems: list[str] = []
    for p in preparation.prepared:
        if not p.wants.items or p.result.status != "loaded":  # nothing to look up / refused
            continue
        done = resolve_lookups(store, p.wants, p.triples, p.result.source)
        problems.extend(done.problems)
        p.result.warnings.extend(done.warnings)
        p.result.triples -= done.dropped
        p.wants = Wants()  # resolved: a second commit of the same preparation has none
    if problems:
        raise InputError(f"{len(problems)} looked-up value(s) name no single node; nothing "
                         "was loaded:\n  " + "\n  ".join(problems[:25])
                         + (f"\n  ... and {len(problems) - 25} more" if len(problems) > 25
                            else ""))


def _refuse(conflicts: list[Conflict], written: list[BatchResult]) -> None:
    if not conflicts:
        return
    lines = [c.line() for c in conflicts]
    done = (f"only {', '.join(r.source for r in written)} loaded" if written
            else "nothing was loaded")
    raise InputError(
        f"{len(lines)} conflict(s) with other batches; {done} (fix the sources, or use "
        "--on-conflict warn|replace):\n  " + "\n  ".join(lines[:25])
        + (f"\n  ... and {len(lines) - 25} more" if len(lines) > 25 else ""))


def default_actor() -> str:
    """The actor recorded when none is given: $AIMS_ACTOR, else the login name."""
    try:
        return os.environ.get("AIMS_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def ingest(
    store: Store,
    paths: Sequence[str | Path] | str | Path,
    *,
    mapping: str | Path | None = None,
    sheet: str | None = None,
    skip_invalid: bool = False,
    lenient: bool = False,
    actor: str | None = None,
    limits: Limits | None = None,
    progress: bool = False,
    scope: str | None = None,
    on_conflict: str = "warn",
    timezone: str | None = None,
) -> list[BatchResult]:
    """Ingest files (or folders of files) into the store, one batch per file.

    `mapping` is a built-in mapping name or a YAML path; without it each tabular file gets the
    built-in mapping its columns fit. Invalid rows abort everything (nothing is written, an
    IngestRejected lists them) unless `skip_invalid`, which loads the valid rows and records
    the rejected ones in the provenance. A typed value that is not of its type (a number that
    is not a number, a date that is not a date) is refused like any invalid value; with
    `lenient` it is loaded as written (tabular: as text) and a warning counts it. `limits`
    (default: Limits.from_env()) bounds what each input may cost. `scope` names the
    organisation whose file this is, for keys unique only inside one organisation's file (a
    file whose numeric ids no agency column scopes is refused without it); `on_conflict` see
    `commit`. `timezone` (an IANA name) is the zone of timestamps written without one; a
    timestamp with a time and no zone is refused without it (or the mapping's `timezone:`).

    >>> from mapper.store import open_store
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.ttl").write_text('<urn:x:a> <urn:x:p> "1" .')
    >>> store = open_store("memory")
    >>> [(r.status, r.triples) for r in ingest(store, folder)]
    [('loaded', 1)]
    >>> [r.status for r in ingest(store, folder / "a.ttl")]
    ['unchanged']
    """
    with prepare(paths, mapping=mapping, sheet=sheet, skip_invalid=skip_invalid,
                 lenient=lenient, limits=limits, progress=progress, scope=scope,
                 timezone=timezone) as preparation:
        return commit(store, preparation, actor=actor, on_conflict=on_conflict)
