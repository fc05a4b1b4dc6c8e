"""`aims query`, `aims trace`, `aims gaps` and `aims map`: the auditor's questions."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import (
    Format,
    StoreOption,
    TableFormat,
    app,
    opened,
    parse_date,
    print_json,
    print_table,
)
from mapper.errors import InputError


@app.command("query")
def query_command(
    name: Annotated[str | None, typer.Argument(help="Name of a query in queries/.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as NAME=VALUE (repeatable)."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Run your own read-only .rq file instead.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the named queries.")] = False,
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format.")] = (
        TableFormat.table
    ),
    store: StoreOption = None,
) -> None:
    """Run a named query (or your own read-only SPARQL file) and print the rows.

    Example: aims query overdue-corrective-actions --param as_of=2026-06-30 --format csv
    """
    from mapper.questions import queries

    if list_:
        rows = [
            [q.name, q.summary,
             ", ".join(f"{p.name}:{p.type}{'!' if p.required else ''}"
                       + (f"={p.default}" if p.default else "") for p in q.params)]
            for q in queries.catalogue().values()
        ]
        print_table(["name", "summary", "params"], rows, fmt=fmt.value,
                    title="Named queries (! = required)")
        return
    if (name is None) == (file is None):
        raise InputError("give a query NAME or --file FILE (or --list); see `aims query --help`")
    named = queries.load_user_query(file) if file is not None else queries.get(name or "")
    params = queries.parse_param_options(param)
    with opened(store) as st:
        result = queries.run(st, named, params)
    if result.kind == "ask":
        if fmt is TableFormat.json:
            print_json({"boolean": result.boolean})
        else:
            sys.stdout.write(("true" if result.boolean else "false") + "\n")
        return
    if result.kind == "graph":
        assert result.graph is not None
        sys.stdout.write(result.graph.serialize(format="turtle"))
        return
    if fmt is TableFormat.json:
        print_json(queries.result_dicts(result))
        return
    columns, rows = queries.result_table(result)
    print_table(columns, rows, fmt=fmt.value, title=f"{named.name} ({len(rows)} rows)")


@app.command("trace")
def trace_command(
    system: Annotated[str, typer.Argument(help="The system's identifier, IRI or label.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge on this date (YYYY-MM-DD); today.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    store: StoreOption = None,
) -> None:
    """Trace one AI system end to end: its timeline of records and every missing link.

    Example: aims trace SYS-CLAIMS-TRIAGE --as-of 2026-06-30
    """
    from mapper.questions import trace

    day = parse_date(as_of) if as_of else None
    with opened(store) as st:
        result = trace.trace_system(st, system, as_of=day)
    if fmt is Format.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(trace.render_text(result))


@app.command("gaps")
def gaps_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge on this date (YYYY-MM-DD); today.")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format.")] = (
        TableFormat.table
    ),
    framework: Annotated[
        str | None, typer.Option(
            "--framework", help="Coverage of another framework through the crosswalks: "
            "nist-ai-rmf or eu-ai-act (after `aims frameworks load`).")
    ] = None,
    store: StoreOption = None,
) -> None:
    """The gap report: per clause and Annex A control the rules that serve it and their status
    (pass / warn / fail), then per in-scope AI system each gate's status (pass, not reached, or
    the findings that fail it), the order violations and supplier checks, and the assessment's
    summary (the same as `aims validate` and the audit pack print). Exit 1 when anything is
    missing. --format json has both views and the summary; csv has the per-system matrix.

    With --framework, the coverage of that framework's requirements instead: per requirement
    its mappings to ISO/IEC 42001 (with the mapping type: an exactMatch or closeMatch covers,
    a broad/narrowMatch covers in part, a relatedMatch only informs), the state of each mapped
    clause or control, and the open findings behind them.

    Example: aims gaps --as-of 2026-06-30 --format json
    Example: aims gaps --framework nist-ai-rmf --as-of 2026-06-30
    """
    from mapper.questions import trace
    from mapper.rules.assessment import summary_text

    day = parse_date(as_of)
    if framework is not None:
        from mapper.cli.frameworks import print_coverage

        print_coverage(framework, day, fmt.value, store)
        return
    with opened(store) as st:
        report = trace.gap_report(st, as_of=day)
    if fmt is TableFormat.json:
        print_json(report.to_dict())
    else:
        if fmt is TableFormat.table:  # CSV carries the per-system matrix only (one header)
            columns, rows = trace.clause_table(report)
            print_table(columns, rows, fmt=fmt.value,
                        title=f"Rules per clause and Annex A control as of {report.as_of}")
            sys.stdout.write("\n")
        columns, rows = trace.gap_table(report)
        print_table(columns, rows, fmt=fmt.value, title=f"Gaps as of {report.as_of}")
        if fmt is TableFormat.table:
            sys.stdout.write("\n" + summary_text(report.summary))
    if report.has_gaps:
        raise typer.Exit(1)


class MapFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    json = "json"


@app.command("map")
def map_command(
    fmt: Annotated[MapFormat, typer.Option("--format", help="Output format.")] = (
        MapFormat.mermaid
    ),
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
    store: StoreOption = None,
) -> None:
    """The process map: processes with owners, hand-offs with records, problems in red.

    Example: aims map --format svg --out process-map.svg
    """
    from mapper.questions import processes

    with opened(store) as st:
        pm = processes.build(st)
    if fmt is MapFormat.json:
        import json

        body = json.dumps(processes.to_json(pm), indent=2, ensure_ascii=False) + "\n"
    elif fmt is MapFormat.dot:
        body = processes.to_dot(pm)
    elif fmt is MapFormat.svg:
        body = processes.to_svg(pm)
    else:
        body = processes.to_mermaid(pm)
    if out is None:
        sys.stdout.write(body)
        return
    try:
        out.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out} ({pm.graph.number_of_nodes()} processes, "
               f"{pm.graph.number_of_edges()} hand-offs, {len(pm.problems)} problems)",
               err=True)
