"""`aims soa` (and the other framework commands): the auditor's outputs over the assessment."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import StoreOption, app, opened, parse_date, print_json, print_table
from mapper.errors import InputError


class SoaFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


@app.command("soa")
def soa_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Read the SoA on this date (YYYY-MM-DD); today.")
    ] = None,
    fmt: Annotated[SoaFormat, typer.Option("--format", help="Output format.")] = SoaFormat.text,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (required for xlsx).")
                   ] = None,
    store: StoreOption = None,
) -> None:
    """The Statement of Applicability (ISO/IEC 42001 6.1.3 d): the 38 Annex A controls with the
    current decision (applicable, excluded or undecided), justification, who decided and when,
    what implements each control, what makes it applicable, its latest evidence, and its status
    from the SOA rules (fail / warn / pass). Exit 1 when a line fails.

    Example: aims soa --as-of 2026-06-30 --format csv > soa.csv
    """
    from mapper.frameworks import soa as soa_module

    day = parse_date(as_of)
    with opened(store) as st:
        soa = soa_module.build(st, as_of=day)
    if fmt is SoaFormat.xlsx:
        if out is None:
            raise InputError("--format xlsx needs --out FILE.xlsx")
        soa_module.to_xlsx(soa, out)
        typer.echo(f"wrote {out}: {len(soa.lines)} controls", err=True)
    elif fmt is SoaFormat.json:
        print_json(soa.to_dict())
    else:
        short = ["control", "title", "decision", "implemented_by", "latest_evidence_date",
                 "status"]
        keep = [soa_module.COLUMNS.index(c) for c in short]
        print_table(soa_module.COLUMNS if fmt is SoaFormat.csv else short,
                    soa.rows() if fmt is SoaFormat.csv else [
                        [r[i] for i in keep] for r in soa.rows()],
                    fmt="csv" if fmt is SoaFormat.csv else "table",
                    title=f"Statement of Applicability as of {day}")
        if fmt is SoaFormat.text:
            c = soa.counts
            sys.stdout.write(
                f"{c['controls']} controls: {c['applicable']} applicable, {c['excluded']} "
                f"excluded, {c['undecided']} undecided; status {c['pass']} pass, "
                f"{c['warn']} warn, {c['fail']} fail.\n")
    if soa.counts["fail"]:
        raise typer.Exit(1)
