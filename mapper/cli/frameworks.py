"""`aims soa` (and the other framework commands): the auditor's outputs over the assessment."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import (
    StoreOption,
    TableFormat,
    app,
    opened,
    parse_date,
    print_json,
    print_table,
)
from mapper.errors import InputError

frameworks_app = typer.Typer(
    help="Other frameworks (NIST AI RMF 1.0, EU AI Act) and the SSSOM crosswalks to ISO/IEC "
         "42001.\n\nExample: aims frameworks load && aims gaps --framework nist-ai-rmf",
    no_args_is_help=True,
)
app.add_typer(frameworks_app, name="frameworks")


@frameworks_app.command("load")
def frameworks_load(
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format.")] = (
        TableFormat.table),
    store: StoreOption = None,
) -> None:
    """Load the framework schemes (ontology/frameworks/*.ttl) and every SSSOM mapping set
    (ontology/frameworks/mappings/*.sssom.tsv) into the store graph urn:aims:graph:frameworks,
    replacing what was there: each mapping becomes an edge and an owl:Axiom with its
    justification and source.

    Example: aims frameworks load
    """
    from mapper.frameworks import crosswalk

    with opened(store) as st:
        loaded = crosswalk.load(st)
    if fmt is TableFormat.json:
        print_json(loaded)
        return
    print_table(["file", "mappings"], [[k, v] for k, v in loaded.items() if k != "triples"],
                fmt=fmt.value, title=f"Loaded {loaded['triples']} triples into "
                                     f"{crosswalk.GRAPH}")


@frameworks_app.command("list")
def frameworks_list(
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format.")] = (
        TableFormat.table),
    store: StoreOption = None,
) -> None:
    """The crosswalks in the store: mappings per mapping set, framework, mapping type and
    justification.

    Example: aims frameworks list --format json
    """
    from mapper.frameworks import crosswalk

    with opened(store) as st:
        rows = crosswalk.counts(st)
    columns = ["set_title", "scheme", "predicate", "justification", "mappings"]
    short = [[r["set_title"], r["scheme"].rsplit("#", 1)[-1], "skos:" + r["predicate"]
              .rsplit("#", 1)[-1], (r["justification"] or "").rsplit("/", 1)[-1], r["mappings"]]
             for r in rows]
    if fmt is TableFormat.json:
        print_json([dict(zip(columns, row, strict=True)) for row in short])
        return
    print_table(columns, short, fmt=fmt.value, title="Crosswalk mappings in the store")


def print_coverage(name: str, day: object, fmt: str, store: str | None) -> None:
    """`aims gaps --framework NAME`: the coverage table, exit 1 when a requirement is a gap."""
    from datetime import date

    from mapper.frameworks import crosswalk

    assert isinstance(day, date)
    with opened(store) as st:
        cov = crosswalk.coverage(st, name, as_of=day)
    if fmt == "json":
        print_json(cov.to_dict())
    else:
        print_table(crosswalk.COLUMNS, cov.rows(), fmt=fmt,
                    title=f"{cov.framework.title}: coverage as of {day}")
        if fmt == "table":
            c = cov.counts
            sys.stdout.write(
                f"{c['requirements']} requirements: {c['covered']} covered, "
                f"{c['partly covered']} partly covered, {c['informed']} informed only "
                f"(relatedMatch), {c['gap']} gaps, {c['not mapped']} not mapped.\n")
    if cov.has_gaps:
        raise typer.Exit(1)


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


def export_oscal(fmt: str, out: Path, as_of: str | None, store: str | None) -> None:
    """`aims export --format oscal-assessment-results|oscal-poam`."""
    from mapper.frameworks import oscal

    day = parse_date(as_of)
    with opened(store) as st:
        if fmt == "oscal-assessment-results":
            model = oscal.assessment_results(st, as_of=day)
            what = f"{len(model.results[0].findings or [])} findings, " \
                   f"{len(model.back_matter.resources) if model.back_matter else 0} evidence " \
                   "resources"
        elif fmt == "oscal-poam":
            model = oscal.poam(st, as_of=day)
            what = f"{len(model.poam_items)} POA&M items"
        else:
            raise InputError(f"--format {fmt!r}: use oscal-assessment-results or oscal-poam")
    oscal.write(model, out)
    typer.echo(f"wrote {out}: OSCAL {fmt.removeprefix('oscal-')} as of {day}, {what}")


class TrendFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@app.command("trend")
def trend_command(
    start: Annotated[str, typer.Option("--from", help="First as-of date (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last as-of date (YYYY-MM-DD).")],
    every: Annotated[str, typer.Option("--every", help="month or quarter.")] = "month",
    fmt: Annotated[TrendFormat, typer.Option("--format", help="Output format.")] = (
        TrendFormat.text),
    store: StoreOption = None,
) -> None:
    """Compliance over time: the findings at each as-of date from --from to --to (the compiled
    engine, one run per date) per severity, rule family and clause, and the corrective actions
    opened, closed and verified in each period (continual improvement, clause 10).

    Example: aims trend --from 2025-07-31 --to 2026-06-30 --every month
    """
    from mapper.frameworks import trend

    with opened(store) as st:
        points = trend.trend(st, start=parse_date(start, option="--from"),
                             end=parse_date(end, option="--to"), every=every)
    if fmt is TrendFormat.json:
        print_json([p.to_dict() for p in points])
        return
    print_table(trend.TREND_COLUMNS, trend.trend_rows(points),
                fmt="csv" if fmt is TrendFormat.csv else "table",
                title=f"Findings and corrective actions, every {every}")


@app.command("diff")
def diff_command(
    as_of: Annotated[str, typer.Option("--as-of", help="The audit date (YYYY-MM-DD).")],
    against: Annotated[str, typer.Option("--against", help="The earlier date to compare with.")],
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format.")] = (
        TableFormat.table),
    store: StoreOption = None,
) -> None:
    """Findings opened, closed and unchanged between two audit dates (rule, focus node, path).

    Example: aims diff --as-of 2026-06-30 --against 2025-12-31
    """
    from mapper.frameworks import trend

    with opened(store) as st:
        d = trend.diff(st, as_of=parse_date(as_of), against=parse_date(against,
                                                                        option="--against"))
    if fmt is TableFormat.json:
        print_json(d.to_dict())
        return
    rows = [[kind, f.rule, f.severity, f.focus_label, f.message]
            for kind, fs in (("opened", d.opened), ("closed", d.closed),
                             ("unchanged", d.unchanged)) for f in fs]
    print_table(["change", "rule", "severity", "focus", "message"], rows, fmt=fmt.value,
                title=f"Findings as of {d.as_of} against {d.against}")
    if fmt is TableFormat.table:
        sys.stdout.write(f"{len(d.opened)} opened, {len(d.closed)} closed, "
                         f"{len(d.unchanged)} unchanged.\n")


@app.command("sample")
def sample_command(
    n: Annotated[int, typer.Option("--n", help="Sample size.")] = 25,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same sample).")
                    ] = 42,
    weight: Annotated[str, typer.Option("--weight", help="risk or none.")] = "risk",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Assessment date; today.")
                     ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format.")] = (
        TableFormat.table),
    store: StoreOption = None,
) -> None:
    """A reproducible, risk-weighted sample of in-scope AI systems for an internal-audit
    walkthrough, with the method stated; `aims report --sample N` traces them in the pack.

    Example: aims sample --n 25 --seed 7 --weight risk --as-of 2026-06-30
    """
    from mapper.frameworks import sample

    with opened(store) as st:
        drawn = sample.draw(st, as_of=parse_date(as_of), n=n, seed=seed, weight=weight)
    if fmt is TableFormat.json:
        print_json(drawn.to_dict())
        return
    print_table(["identifier", "label", "owner", "high_risk", "failing_gates", "weight"],
                [[c["identifier"], c["label"], c["owner"], c["high_risk"],
                  ", ".join(c["failing_gates"]), c["weight"]] for c in drawn.chosen],
                fmt=fmt.value, title="Audit sample")
    if fmt is TableFormat.table:
        sys.stdout.write("Method: " + drawn.method + "\n")
