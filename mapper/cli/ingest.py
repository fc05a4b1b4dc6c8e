"""`aims ingest`, `aims batches` and `aims template`: get files into the store and manage batches.

`aims ingest --format json` prints a JSON list with one object per file:
{"batch", "records", "triples", "rejected": [{row, column, value, reason}], "warnings": [...],
 "status": loaded|unchanged|replaced, "source", "sha256", "mapping", "encoding",
 "merged": records other batches also describe, "conflicts": how many single-valued
 properties another batch gives another value, "conflict_details": [...], ...}.
"""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mapper.cli.common import (
    Format,
    StoreOption,
    TableFormat,
    app,
    json_errors,
    opened,
    print_json,
    print_table,
)
from mapper.errors import InputError


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (all recognised files "
                                                "directly in a folder; not recursive).")],
    mapping: Annotated[str | None, typer.Option(
        "--mapping", help="Built-in mapping name (omb-ai-inventory-2025, omb-cots-2025, "
        "procurement-list, "
        "aims-workbook) or a mapping .yaml file; default: the built-in one the columns fit."
    )] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet to read.")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Load the valid rows; record rejected ones in the provenance. "
        "Of several files, one that fits no mapping (or cannot be read) is reported as "
        "rejected and the others load."
    )] = False,
    lenient: Annotated[bool, typer.Option(
        "--lenient", help="Load a typed value that is not of its type (a number that is not "
        "a number, a date that is not a date), or an RDF term in the aims: namespace that the "
        "ontology does not define, as written, with a warning, instead of refusing."
    )] = False,
    actor: Annotated[str | None, typer.Option(
        "--actor", help="Who ingests (recorded as prov:wasAssociatedWith); default: login name."
    )] = None,
    scope: Annotated[str | None, typer.Option(
        "--scope", help="The organisation whose file this is (e.g. DOL): scopes ids that are "
        "unique only inside one organisation's file when no agency column does."
    )] = None,
    on_conflict: Annotated[str, typer.Option(
        "--on-conflict", help="A record another batch gives a different label, stage, date, "
        "owner ...: fail (load nothing), warn (keep both, report) or replace (the new value "
        "wins)."
    )] = "warn",
    timezone: Annotated[str | None, typer.Option(
        "--timezone", help="IANA zone (e.g. America/New_York) of timestamps written without "
        "one, in tables and as xsd:dateTime in RDF; they become xsd:dateTime in UTC. Without "
        "it such a timestamp is refused."
    )] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Dry run: print which column feeds what, the columns left out, "
        "sample and unknown values, and what would load; write nothing."
    )] = False,
    fmt: Annotated[Format, typer.Option("--format", help="text or json")] = Format.text,
    store: StoreOption = None,
) -> None:
    """Load CSV, XLSX, JSON, Turtle, N-Triples, JSON-LD or RDF/XML files, one batch per file.

    Tabular files go through a YAML mapping; RDF files are loaded as they are. Any invalid row
    aborts everything (exit 2, nothing written) unless --skip-invalid. Re-ingesting an unchanged
    file changes nothing; a changed file replaces its earlier batch. Every input is held to the
    limits AIMS_INGEST_MAX_ROWS, _CELLS, _LINE, _LITERAL, _DEPTH, _UNZIPPED and _RATIO (see the
    README); past one, exit 2 with a line naming the file, the row and the limit.

    Example: aims ingest examples/meridian && aims ingest inventory.xlsx --skip-invalid
    """
    from mapper.frameworks.oscal import is_catalog, load_catalog  # OSCAL catalogs: frameworks
    from mapper.ingest import commit, prepare
    from mapper.ingest.limits import SHUTDOWN

    if explain:
        from mapper.ingest.explain import explain as explain_files
        from mapper.ingest.explain import render

        with json_errors(fmt == Format.json):
            told = explain_files(list(paths), mapping=mapping, sheet=sheet, scope=scope,
                                 timezone=timezone)
        if fmt == Format.json:
            print_json(told)
        else:
            typer.echo(render(told))
        return

    def stop(signum: int, frame: object) -> None:
        # stop at the next row or chunk, leaving nothing half-written (exit 2); a second
        # SIGTERM ends the process at once
        SHUTDOWN.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, stop)
    catalogs = [p for p in paths if is_catalog(p)]
    rest = [p for p in paths if p not in catalogs]
    results: list[Any] = []
    if catalogs:
        with opened(store) as st:
            for path in catalogs:
                done = load_catalog(st, path)
                typer.echo(f"loaded: {path} as OSCAL catalog -> framework scheme "
                           f"{done['scheme']} ({done['concepts']} controls and groups) in "
                           f"{done['graph']}", err=True)
    if rest:
        # read, map and check everything before the store is opened (and locked)
        with json_errors(fmt == Format.json), \
                prepare(rest, mapping=mapping, sheet=sheet, skip_invalid=skip_invalid,
                        lenient=lenient, progress=sys.stderr.isatty(), scope=scope,
                        timezone=timezone) as preparation, \
                opened(store) as st:
            results = commit(st, preparation, actor=actor, on_conflict=on_conflict)
    if fmt == Format.json:
        print_json([r.as_dict() for r in results])
        return
    for r in results:
        if r.status == "rejected":  # a whole file refused under --skip-invalid
            typer.echo(f"rejected: {r.source}: {r.rejected[0]['reason']}")
            continue
        extra = f", {len(r.rejected)} rejected row(s)" if r.rejected else ""
        enc = f", encoding {r.encoding}" if r.encoding and r.encoding != "utf-8" else ""
        via = f" with {r.mapping}" if r.mapping else ""
        replaced = f" (replaces {r.replaced})" if r.replaced else ""
        merged = (f", {r.merged} merged with other batches" if r.merged else "") + (
            f", {len(r.conflicts)} conflict(s)" if r.conflicts else "")
        typer.echo(f"{r.status}: {r.source}{via} -> batch {r.batch}{replaced}: "
                   f"{r.records} records, {r.triples} triples{extra}{merged}{enc}")
        for w in r.warnings:
            typer.echo(f"  warning: {w}")
        for rej in r.rejected[:20]:
            sheet_name = f" [{rej['sheet']}]" if rej.get("sheet") else ""
            typer.echo(f"  rejected{sheet_name} row {rej['row']}, {rej['column']}: "
                       f"{rej['reason']}" + (f" ({rej['value']!r})" if rej["value"] else ""))
        if len(r.rejected) > 20:
            typer.echo(f"  ... {len(r.rejected) - 20} more rejected (see --format json)")


@app.command()
def batches(
    action: Annotated[str | None, typer.Argument(help="'drop' to undo a batch.")] = None,
    batch_id: Annotated[str | None, typer.Argument(help="The batch to drop.")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table, json or csv")] = (
        TableFormat.table),
    store: StoreOption = None,
) -> None:
    """List ingested batches (source, hash, rows, status), or drop one with `drop ID`.

    Dropping removes the batch's triples and records the drop in the provenance; an earlier
    version it replaced is not restored.

    Example: aims batches --format json && aims batches drop inventory-csv-1a2b3c4d
    """
    from mapper.ingest.batches import drop_batch, list_batches

    with opened(store) as st:
        if action is None:
            rows = list_batches(st)
            if fmt == TableFormat.json:
                print_json([b.as_dict() for b in rows])
                return
            if fmt == TableFormat.csv:
                print_table(
                    ["batch", "source", "sha256", "status", "records", "rejected", "triples",
                     "mapping", "actor", "time"],
                    [[b.id, b.source, b.sha256, b.status, b.records, b.rejected, b.triples,
                      b.mapping, b.actor, b.time] for b in rows], fmt="csv")
                return
            # the short hash and the minute fit 100 columns; json/csv have them whole and the
            # mapping each batch went through
            print_table(
                ["batch", "source", "sha256", "status", "counts", "by", "ingested"],
                [[b.id, b.source, b.sha256[:12], b.status,
                  f"{b.records} records, {b.rejected} rejected, {b.triples} triples",
                  b.actor or "",
                  b.time[:16].replace("T", " ")] for b in rows],
                fmt=fmt.value, title="Batches (ingested: UTC)",
            )
            return
        if action != "drop" or not batch_id:
            raise InputError("usage: aims batches [drop BATCH_ID]")
        dropped = drop_batch(st, batch_id, when=datetime.now(UTC))
    typer.echo(f"dropped batch {dropped.id} ({dropped.source}, {dropped.triples} triples)")


@app.command()
def template(
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write.")] = Path(
        "aims-workbook.xlsx"),
    mapping: Annotated[str, typer.Option("--mapping", help="Mapping to write (name or "
                                         ".yaml).")] = "aims-workbook",
) -> None:
    """Write the empty AIMS workbook: one sheet per register, headers, allowed values, README.

    Example: aims template --out aims-workbook.xlsx
    """
    from mapper.ingest.mapping import load_mapping
    from mapper.ingest.template import write_template

    if out.suffix.lower() != ".xlsx":
        raise InputError(f"--out {out}: the template is an .xlsx workbook; end the name in .xlsx")
    path = write_template(out, load_mapping(mapping))
    typer.echo(f"wrote {path}")
