"""`aims validate` and `aims rules`: check the AIMS against the rule catalogue."""

from __future__ import annotations

import sys
from collections import defaultdict
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from mapper.cli.common import Format, StoreOption, app, opened, parse_date, print_json, print_table

if TYPE_CHECKING:
    from mapper.rules.assessment import Assessment
    from mapper.rules.results import Finding


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    turtle = "turtle"


class Engine(StrEnum):
    auto = "auto"
    sparql = "sparql"
    pyshacl = "pyshacl"


@app.command("validate")
def validate_command(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge the AIMS as of this date (YYYY-MM-DD); default today.",
                     show_default=False),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", help="Only this rule id (repeatable), e.g. GATE-03.",
                     show_default=False),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option("--system", help="Only what concerns this AI system (identifier or "
                     "IRI); the summary then counts that system alone.",
                     show_default=False),
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="text, json or turtle (sh:ValidationReport).")
    ] = ReportFormat.text,
    engine: Annotated[
        Engine, typer.Option("--engine", help="auto (= sparql: the rules compiled to SPARQL, run "
                             "in the store) or pyshacl (the reference); same report.")
    ] = Engine.auto,
    store_findings: Annotated[
        bool, typer.Option("--store-findings", help="Run every rule in full (compiled engine) "
                           "and store the findings in the store; from then on each ingest and "
                           "batch drop re-validates only what it changed and keeps them "
                           "current, and validate (auto/sparql) answers from them without a "
                           "full run. Run it again to recompute them from scratch.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Check the AIMS against the Clause 4.4 completeness rules.

    Exit 0 when no Violation is found, 1 when there is one, 2 for bad input. When findings are
    stored (--store-findings), auto/sparql answer from them; the report is the same.

    Example: aims validate --as-of 2026-06-30 --system SYS-CLAIMS-TRIAGE --format json

    Example: aims validate --as-of 2026-06-30 --store-findings
    """
    from mapper.rules import stored as findings
    from mapper.rules.assessment import assess
    from mapper.rules.results import find_system
    from mapper.rules.validate import validate

    day = parse_date(as_of)
    with opened(store) as opened_store:
        if store_findings:
            findings.refresh(opened_store, as_of=day)
        scope = str(find_system(opened_store, system)) if system else None  # named once
        report = validate(opened_store, as_of=day, rules=rule or None, system=scope,
                          engine=engine.value)
        verdict = assess(opened_store, as_of=day, rules=rule or None, report=report,
                         system=scope)
    if fmt is ReportFormat.json:
        print_json(verdict.validation_dict())
    elif fmt is ReportFormat.turtle:
        sys.stdout.write(report.to_turtle())
    else:
        sys.stdout.write(render_text(verdict))
    raise typer.Exit(0 if report.conforms else 1)


def _line(f: Finding) -> str:
    return f"  {f.severity:<9} {f.rule:<9} {f.message}"


def render_text(verdict: Assessment) -> str:
    """The report for people: totals, findings by clause, who must fix what, the summary."""
    from mapper.rules.assessment import summary_text

    report = verdict.report
    counts = report.summary["by_severity"]
    state = "conforms" if report.conforms else "does NOT conform"
    out = [
        f"AIMS validation as of {report.as_of.isoformat()}: {state} "
        f"({counts['Violation']} violations, {counts['Warning']} warnings, "
        f"{counts['Info']} infos)",
    ]
    if not report.findings:
        out.append("No findings: every rule is met.")
        return "\n".join(out) + "\n"
    by_clause: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        for clause in f.clause:
            by_clause[clause].append(f)
    out.append("")
    out.append("Findings by clause")
    for clause in report.summary["by_clause"]:
        items = by_clause[clause]
        out.append(f"Clause {clause} ({len(items)})")
        out.extend(_line(f) for f in items)
    reasons = {id(f): verdict.routes.get(i) for i, f in enumerate(report.findings)}
    out.append("")
    out.append("Who must fix what")
    for name, items in verdict.by_person().items():
        violations = sum(1 for f in items if f.severity == "Violation")
        out.append(f"{name} ({len(items)}: {violations} violations)")
        for f in items:
            route = reasons[id(f)]
            out.append(_line(f) + (f" [as {route.reason}]" if route else ""))
    out.append("")
    return "\n".join(out) + "\n" + summary_text(verdict.summary)


@app.command("rules")
def rules_command(
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
    store: StoreOption = None,
) -> None:
    """List the rule catalogue (id, clauses, severity, description), read from the shapes.

    The catalogue comes from shapes/, not from a store; --store is accepted like everywhere.

    Example: aims rules --format json
    """
    from mapper.rules.catalogue import rules

    del store
    catalogue = rules()
    if fmt is Format.json:
        print_json([r.to_dict() for r in catalogue])
        return
    print_table(
        ["id", "clause", "severity", "description"],
        [[r.id, ", ".join(r.clauses), r.severity, r.description] for r in catalogue],
        title="AIMS Graph rules",
    )
