"""Ingest: files -> reader -> mapping -> triples with stable IRIs -> one named graph per batch.

`ingest(store, paths)` reads CSV, XLSX, JSON (tabular, through a YAML mapping) and Turtle,
N-Triples, JSON-LD, RDF/XML (as they are). A folder means every recognised file directly in it
(not recursive); other files such as README.md are skipped quietly.

All files are read and mapped first; if any has an invalid row (and `skip_invalid` is off) or
cannot be read, nothing is written and an InputError lists every problem. Then each file is
written as one batch in one transaction with its provenance (see batches.py): unchanged files
are left alone, a changed file replaces its earlier batch.

When validation findings are stored (`aims validate --store-findings`, mapper.rules.stored), each
write re-validates only what it can affect and keeps them current; `BatchResult.delta` holds it.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mapper.errors import InputError
from mapper.ingest import batches as B
from mapper.ingest.mapping import (
    Applier,
    Fit,
    Mapping,
    Rejected,
    Table,
    builtin_names,
    describe_columns,
    fit,
    load_mapping,
)
from mapper.ingest.readers import Grid
from mapper.store import Store

if TYPE_CHECKING:
    from mapper.rules.stored import Delta

__all__ = ["BatchResult", "IngestRejected", "ingest", "recognised", "TABULAR", "RDF_SUFFIXES"]

TABULAR = (".csv", ".tsv", ".xlsx", ".json")
RDF_SUFFIXES = (".ttl", ".turtle", ".nt", ".jsonld", ".json-ld", ".rdf", ".owl", ".xml")
PROGRESS_ROWS = 2000
_HEADER_SCAN = 10
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
    status: str = "loaded"  # loaded | unchanged | replaced
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
    data_lines: list[str]  # N-Quads lines without graph: "<s> <p> o"
    nquads: bytes | None  # RDF input, already in the placeholder graph
    rejected: list[Rejected]
    mapping_sha: str | None
    media: str
    sheet: str | None = None


_PLACEHOLDER = "urn:aims:batch:pending"


def _header_fit(table: Table, grid: Grid) -> tuple[Fit, int] | None:
    best: tuple[Fit, int] | None = None
    for pos, (_, cells) in enumerate(grid.rows[:_HEADER_SCAN]):
        f = fit(table, cells)
        enough = f.score >= min(2, len(table.columns))
        if f.ok and enough and (best is None or f.score > best[0].score):
            best = (f, pos)
    return best


def _closest(table: Table, grid: Grid) -> Fit:
    candidates = [fit(table, cells) for _, cells in grid.rows[:_HEADER_SCAN]] or [
        fit(table, [])]
    return max(candidates, key=lambda f: f.score)


def _found(grid: Grid) -> str:
    if not grid.rows:
        return "(no rows)"
    cells = max((cells for _, cells in grid.rows[:_HEADER_SCAN]),
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
        grid = max(grids, key=lambda g: len(g.rows))
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


def _progress(total: int, label: str, enabled: bool) -> tuple[Callable[[int], None],
                                                              Callable[[], None]]:
    if not enabled or total < PROGRESS_ROWS:
        return (lambda n: None), (lambda: None)
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=total)
    bar.start()
    return (lambda n: bar.update(task, advance=n)), bar.stop


def _map_grids(source: str, grids: list[Grid], mapping: Mapping, *, sheet: str | None,
               progress: bool) -> tuple[list[str], set[str], int, int, list[Rejected],
                                        list[str], list[str]]:
    """Apply the mapping to the grids: lines, shared lines, rows read/loaded, rejected,
    warnings, sheets used."""
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
        if not grid.rows or (sheet is None and grid.sheet is not None
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
        grid = max(grids, key=lambda g: len(g.rows))
        if not grid.rows:
            raise InputError(f"{source}: no data rows; nothing to load")
        raise _mismatch(source, mapping, grid)
    lines: list[str] = []
    shared: set[str] = set()
    read = loaded = 0
    rejected: list[Rejected] = []
    sheets: list[str] = []
    total = sum(len(g.rows) - pos - 1 for g, _, _, pos in plan)
    advance, stop = _progress(total, f"ingest {source}", progress)
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
            applier = Applier(mapping, table, hfit.index,
                              sheet=grid.sheet if not single else None)
            data_rows = grid.rows[pos + 1:]
            if not data_rows:
                if single:
                    raise InputError(f"{source}: a header but no data rows; nothing to load")
                continue
            if grid.sheet:
                sheets.append(grid.sheet)
            for i, (rownum, cells) in enumerate(data_rows):
                applier.add(rownum, cells)
                if i % 500 == 499:
                    advance(500)
            res = applier.finish()
            lines.extend(res.lines)
            shared |= res.shared
            read += res.rows_read - res.rows_skipped
            loaded += res.rows_loaded
            rejected.extend(res.rejected)
            warnings.extend(res.warnings(grid.sheet if not single else None))
    finally:
        stop()
    if read == 0 and loaded == 0 and not rejected:
        raise InputError(f"{source}: no data rows to load (all rows empty or skipped)")
    return lines, shared, read, loaded, rejected, warnings, sheets


def _prepare(path: Path, *, mapping_arg: str | Path | None, sheet: str | None,
             progress: bool) -> _Prepared:
    from mapper.ingest import rdf

    source = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    sha = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    base = BatchResult(batch="", graph="", source=source, path=str(path), sha256=sha,
                       format=suffix.lstrip("."), mapping=None, records=0, triples=0)
    fmt = rdf.FORMATS.get(suffix)
    if suffix == ".json" and rdf.looks_like_jsonld(data):
        fmt = rdf.FORMATS[".jsonld"]
    if fmt is not None:
        nquads, count, subjects = rdf.read_rdf(data, source, fmt, _PLACEHOLDER)
        base.records, base.triples = subjects, count  # records: distinct subjects
        base.format = rdf.MEDIA[fmt]
        if mapping_arg is not None:
            base.warnings.append("RDF input is loaded as it is; --mapping was not used")
        return _Prepared(base, [], nquads, [], None, rdf.MEDIA[fmt])
    grids: list[Grid]
    if suffix in (".csv", ".tsv"):
        from mapper.ingest.csv import read_csv

        grids = [read_csv(data, source)]
        media = f"text/csv; charset={grids[0].encoding}"
        base.encoding = grids[0].encoding
        if base.encoding == "cp1252":
            base.warnings.append("read as cp1252 (Windows) text, not UTF-8")
    elif suffix == ".xlsx":
        from mapper.ingest.xlsx import read_xlsx

        grids = read_xlsx(data, source)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif suffix == ".json":
        from mapper.ingest.json import read_json

        grids = [read_json(data, source)]
        media = "application/json"
    else:
        raise InputError(f"{source}: unknown file type {suffix!r}; ingest reads "
                         f"{', '.join(TABULAR + RDF_SUFFIXES)}")
    mapping = load_mapping(mapping_arg) if mapping_arg is not None else _choose_mapping(
        source, grids)
    base.mapping = mapping.name
    lines, shared, read, loaded, rejected, warnings, sheets = _map_grids(
        source, grids, mapping, sheet=sheet, progress=progress)
    base.warnings.extend(warnings)
    base.sheets = sheets
    base.rows_read = read
    base.records = loaded
    base.triples = len(lines) + len(shared)
    base.rejected = [r.as_dict() for r in rejected]
    lines.extend(sorted(shared))
    mapping_sha = hashlib.sha256(mapping.path.read_bytes()).hexdigest()
    return _Prepared(base, lines, None, rejected, mapping_sha, media, sheet)


def _abort(prepared: list[_Prepared]) -> None:
    problems: list[str] = []
    all_rejected: list[dict[str, Any]] = []
    for p in prepared:
        for r in p.rejected:
            problems.append(r.line(p.result.source))
            all_rejected.append({"source": p.result.source, **r.as_dict()})
    if not problems:
        return
    rows = len({(r["source"], r.get("sheet"), r["row"]) for r in all_rejected})
    shown = problems[:25]
    more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
    raise IngestRejected(
        f"{rows} invalid row(s); nothing was loaded (fix them, or use --skip-invalid to load "
        "the valid rows):\n  " + "\n  ".join(shown) + more,
        all_rejected,
    )


# --- writing ---------------------------------------------------------------------------------


def _commit(store: Store, p: _Prepared, *, actor: str, started: datetime) -> BatchResult:
    res = p.result
    source_key = res.source + (f"#{p.sheet}" if p.sheet else "")
    current = B.current_batch(store, source_key)
    if current is not None and current.sha256 == res.sha256 and current.mapping == res.mapping:
        res.batch, res.graph, res.status = current.id, current.graph, "unchanged"
        res.records, res.triples = current.records, current.triples
        return res
    batch_id = B.new_batch_id(store, source_key, res.sha256)
    graph = B.graph_of(batch_id)
    res.batch, res.graph = batch_id, graph
    ended = datetime.now(UTC)
    prov = B.provenance_lines(
        batch_id=batch_id, source=source_key, sha256=res.sha256, media=p.media,
        mapping=res.mapping, mapping_sha=p.mapping_sha, actor=actor, started=started,
        ended=ended, rows_read=res.rows_read or res.records, rows_loaded=res.records,
        rejected=p.rejected, triples=res.triples, replaces=current,
    )
    if p.nquads is not None:
        data = p.nquads.replace(f"<{_PLACEHOLDER}>".encode(), f"<{graph}>".encode())
    else:
        suffix = f" <{graph}> .\n"
        data = (suffix.join(p.data_lines) + suffix).encode("utf-8") if p.data_lines else b""
    tracked = B.findings_stored(store)
    old = list(store.quads(current.graph)) if tracked and current is not None else []
    pending = B.before_removal(store, old) if tracked else None
    store.load_nquads(data + "".join(prov).encode("utf-8"))
    if current is not None:
        store.drop_graph(current.graph)
        res.status, res.replaced = "replaced", current.id
    if tracked:
        res.delta = B.after_change(store, added=list(store.quads(graph)), pending=pending,
                                   removed=old)
    return res


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
    actor: str | None = None,
    progress: bool = False,
) -> list[BatchResult]:
    """Ingest files (or folders of files) into the store, one batch per file.

    `mapping` is a built-in mapping name or a YAML path; without it each tabular file gets the
    built-in mapping its columns fit. Invalid rows abort everything (nothing is written, an
    IngestRejected lists them) unless `skip_invalid`, which loads the valid rows and records
    the rejected ones in the provenance.

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
    started = datetime.now(UTC)
    files = expand_paths([paths] if isinstance(paths, str | Path) else paths)
    B.recover(store)
    prepared = [_prepare(f, mapping_arg=mapping, sheet=sheet, progress=progress)
                for f in files]
    if not skip_invalid:
        _abort(prepared)
    who = actor or default_actor()
    return [_commit(store, p, actor=who, started=started) for p in prepared]
