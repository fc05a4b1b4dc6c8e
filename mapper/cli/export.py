"""`aims export`: the store's data written back as the AIMS workbook (the inverse of ingest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import Format, StoreOption, app, opened, print_json
from mapper.errors import InputError


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="The .xlsx workbook to write.")],
    mapping: Annotated[str, typer.Option(
        "--mapping", help="The workbook mapping to invert (name or .yaml).")] = "aims-workbook",
    fmt: Annotated[str, typer.Option(
        "--format", help="text or json (the workbook), oscal-assessment-results or "
        "oscal-poam (an OSCAL JSON file as of --as-of)")] = "text",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="For the OSCAL formats: the assessment date (YYYY-MM-DD); today.")] = None,
    store: StoreOption = None,
) -> None:
    """Write the store's data as the AIMS workbook: one sheet per register, IDs and IRIs kept.

    The sheets are those of `aims template`, filled by inverting the same mapping, so
    `aims ingest` of the written file gives the same records back. Nodes that no register
    holds, and properties of a register's records that none of its columns holds, are
    counted in the output ("left out").

    --format oscal-assessment-results writes the findings as OSCAL findings and observations,
    the evidence files as back-matter resources (location, SHA-256), the as-of date as the
    result's period; --format oscal-poam writes open corrective actions and open findings as
    POA&M items with owners and due dates. Both are built with compliance-trestle's models.

    Example: aims ingest examples/meridian && aims export --out meridian.xlsx
    Example: aims export --format oscal-poam --as-of 2026-06-30 --out poam.json
    """
    if fmt.startswith("oscal-"):
        from mapper.cli.frameworks import export_oscal

        export_oscal(fmt, out, as_of, store)
        return
    if fmt not in ("text", "json"):
        raise InputError(f"--format {fmt!r}: use text, json, oscal-assessment-results or "
                         "oscal-poam")
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
    if result.left_out_properties:
        typer.echo("  left out (no column holds them), records with: " + ", ".join(
            f"{what} {n}" for what, n in result.left_out_properties.items()))
    for w in result.warnings:
        typer.echo(f"  warning: {w}")
