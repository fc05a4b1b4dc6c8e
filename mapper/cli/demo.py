"""`aims demo`: the demo organisation loaded, validated and traced in one command."""

from __future__ import annotations

import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated

import typer

from mapper import demo as demo_data
from mapper.cli.common import app
from mapper.ingest import ingest
from mapper.questions import processes
from mapper.report import build_report
from mapper.rules.results import Report
from mapper.rules.validate import validate
from mapper.store import open_store


def _print_verdict(report: Report) -> None:
    by_clause: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in report.findings:
        for clause in finding.clause:
            by_clause[clause][finding.severity] += 1
    typer.secho("\nVerdict per clause", bold=True)
    for clause in sorted(by_clause, key=_clause_key):
        counts = by_clause[clause]
        parts = ", ".join(f"{n} {sev.lower()}{'s' if n > 1 else ''}" for sev, n in counts.items())
        mark = "FAIL" if counts.get("Violation") else "warn"
        typer.echo(f"  {clause:<9} {mark:<5} {parts}")
    typer.echo("  (clauses not listed have no findings)")


def _clause_key(notation: str) -> tuple[int, list[int]]:
    annex = notation.startswith("A.")
    numbers = [int(p) for p in notation.removeprefix("A.").split(".") if p.isdigit()]
    return (1 if annex else 0, numbers)


def _print_owners(report: Report) -> None:
    by_owner: dict[str, list[str]] = defaultdict(list)
    for finding in report.findings:
        by_owner[finding.owner or "(no owner recorded)"].append(
            f"[{finding.rule}] {finding.message}"
        )
    typer.secho("\nWho must fix what", bold=True)
    for owner in sorted(by_owner):
        items = by_owner[owner]
        typer.echo(f"  {owner} ({len(items)})")
        for item in items:
            typer.echo(f"    - {item}")


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option("--folder", help="Where to create the demo's embedded store.")
    ] = Path(".aims-demo"),
    system: Annotated[
        str, typer.Option("--system", help="The AI system to trace end to end.")
    ] = demo_data.TRACED_SYSTEM,
) -> None:
    """Load the demo organisation into a fresh store, validate it and trace one AI system.

    The organisation (Meridian Mutual Insurance, examples/meridian) has planted gaps, one or
    more per rule; the summary shows the verdict per clause, the findings grouped by accountable
    owner and one AI system traced from intake to monitoring. Exit code 0 (the findings are the
    point of the demo, not an error).

    Example: aims demo --folder /tmp/aims-demo
    """
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    as_of = demo_data.as_of()
    typer.secho("AIMS Graph demo: Meridian Mutual Insurance", bold=True)
    typer.echo(f"store: {folder.resolve()} (fresh embedded store)")
    with open_store(str(folder)) as store:
        batches = ingest(store, [demo_data.folder()], actor="aims demo")
        triples = sum(b.triples for b in batches)
        typer.echo(f"loaded {len(batches)} files, {triples} triples from {demo_data.folder()}")
        report = validate(store, as_of=as_of)
        counts = Counter(f.severity for f in report.findings)
        verdict = "conforms" if report.conforms else "does NOT conform"
        typer.secho(
            f"\nvalidated as of {as_of}: {verdict} "
            f"({counts.get('Violation', 0)} violations, {counts.get('Warning', 0)} warnings)",
            bold=True,
        )
        _print_verdict(report)
        _print_owners(report)
        typer.secho(f"\nTrace of {system}", bold=True)
        demo_data.print_trace(store, system, as_of)
        process_map = processes.build(store)
        problems = process_map.problems
        typer.secho("\nProcess map", bold=True)
        typer.echo(
            f"  {process_map.graph.number_of_nodes()} processes, "
            f"{process_map.graph.number_of_edges()} hand-offs, {len(problems)} problems "
            "(aims map --format mermaid|svg draws it)"
        )
        pack = build_report(store, out=folder / "audit-pack", as_of=as_of, systems=None)
        typer.secho("\nAudit pack", bold=True)
        typer.echo(f"  {pack.index}")
    typer.echo(f"\ndone in {time.perf_counter() - started:.1f} s")
