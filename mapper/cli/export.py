"""`aims export`: the store's data written back as the AIMS workbook (the inverse of ingest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import Format, StoreOption, app, opened, print_json


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="The .xlsx workbook to write.")],
    mapping: Annotated[str, typer.Option(
        "--mapping", help="The workbook mapping to invert (name or .yaml).")] = "aims-workbook",
    fmt: Annotated[Format, typer.Option("--format", help="text or json")] = Format.text,
    store: StoreOption = None,
) -> None:
    """Write the store's data as the AIMS workbook: one sheet per register, IDs and IRIs kept.

    The sheets are those of `aims template`, filled by inverting the same mapping, so
    `aims ingest` of the written file gives the same records back. Nodes that no register
    holds are counted in the output ("left out").

    Example: aims ingest examples/meridian && aims export --out meridian.xlsx
    """
    from mapper.report.export import export_workbook

    with opened(store) as st:
        result = export_workbook(st, out, mapping=mapping)
    if fmt == Format.json:
        print_json(result.as_dict())
        return
    data = result.as_dict()
    filled = {name: n for name, n in data["sheets"].items() if n}
    typer.echo(f"wrote {out}: {data['rows']} rows in {len(filled)} of {len(data['sheets'])} "
               f"sheets ({', '.join(f'{k} {v}' for k, v in filled.items())})")
    if result.left_out:
        typer.echo("  left out (no register holds them): " + ", ".join(
            f"{n} {cls}" for cls, n in result.left_out.items()))
    for w in result.warnings:
        typer.echo(f"  warning: {w}")
