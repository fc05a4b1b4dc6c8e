"""`aims report`: write the audit pack (index.html, assessment.json, findings.json/.csv,
graph.ttl) into a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import StoreOption, app, opened, parse_date
from mapper.errors import InputError


def _systems(value: str | None) -> list[str] | None:
    if value is None:
        return None
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise InputError("--systems is empty; give identifiers separated by commas, "
                         "e.g. --systems SYS-CLAIMS-TRIAGE,SYS-UW-PRICING")
    return keys


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the pack into "
                                      "(created when missing; files in it are replaced).")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Judge the AIMS on this date, YYYY-MM-DD (default: today).")] = None,
    systems: Annotated[str | None, typer.Option(
        "--systems", help="AI systems to trace end to end: identifiers, IRIs or labels "
        "separated by commas (default: the three highest-risk deployed ones).")] = None,
    sample: Annotated[int | None, typer.Option(
        "--sample", help="Trace a reproducible risk-weighted sample of N in-scope systems "
        "(`aims sample`) as the pack's internal-audit walkthrough.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --sample draw.")] = 42,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="Also print the pack to index.pdf with headless Chromium.")] = False,
    store: StoreOption = None,
) -> None:
    """Write the audit pack: one self-contained index.html an auditor opens, prints and archives.

    The folder gets index.html (inline CSS and SVG, no script, no network fetch, laid out for
    A4), assessment.json (the assessment the pack renders: summary, per-system gates, clauses,
    Clause 4.4 scorecard, routed findings), findings.json (as `aims validate --format json`),
    findings.csv and graph.ttl, the exact data the pack was built from; its SHA-256 is printed
    in the pack. Prints the path of index.html. Exit 0 when the pack is written (the findings
    are its content, see findings.json), 2 for bad input.

    Example: aims report --out audit-pack --as-of 2026-06-30 --systems SYS-CLAIMS-TRIAGE
    Example: aims report --out walkthrough --as-of 2026-06-30 --sample 5 --seed 7
    """
    from mapper.report import build_report, print_pdf

    judged = parse_date(as_of)
    keys = _systems(systems)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder")
    with opened(store) as opened_store:
        walkthrough = None
        if sample is not None:
            from mapper.frameworks.sample import draw

            if keys:
                raise InputError("give --systems or --sample, not both")
            drawn = draw(opened_store, as_of=judged, n=sample, seed=seed)
            keys = [c["system"] for c in drawn.chosen] or None
            walkthrough = drawn.method
        result = build_report(opened_store, out=out, as_of=judged, systems=keys,
                              walkthrough=walkthrough)
    if pdf:
        result.pdf = print_pdf(result.index, out / "index.pdf")
        typer.echo(str(result.pdf), err=True)
    typer.echo(str(result.index))
