"""`aims demo`: the demo organisation loaded, validated and traced in one command."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mapper import demo as demo_data
from mapper.cli.common import app

if TYPE_CHECKING:
    from mapper.rules.assessment import Assessment


def _print_verdict(verdict: Assessment) -> None:
    """The assessment's clause status, for the clauses with findings."""
    typer.secho("\nVerdict per clause", bold=True)
    for clause in verdict.clauses:
        if clause["status"] == "pass":
            continue
        rules = ", ".join(f"{r['rule']} ({r['findings']})" for r in clause["rules"]
                          if r["findings"])
        typer.echo(f"  {clause['clause']:<9} {clause['status'].upper():<5} {rules}")
    typer.echo("  (clauses not listed pass)")


def _print_people(verdict: Assessment) -> None:
    reasons = {id(f): verdict.routes.get(i) for i, f in enumerate(verdict.findings)}
    typer.secho("\nWho must fix what", bold=True)
    for person, items in verdict.by_person().items():
        typer.echo(f"  {person} ({len(items)})")
        for f in items:
            route = reasons[id(f)]
            why = f" (as {route.reason})" if route else ""
            typer.echo(f"    - [{f.rule}] {f.message}{why}")


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
    more per rule; the summary shows the verdict per clause, the findings grouped by the person
    responsible, one AI system traced from intake to monitoring, the audit pack and the
    assessment's summary. Exit code 0 (the findings are the point of the demo, not an error).

    Example: aims demo --folder /tmp/aims-demo
    """
    started = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    from mapper.ingest import ingest
    from mapper.questions import processes
    from mapper.report import build_report
    from mapper.rules.assessment import assess, summary_text
    from mapper.rules.stored import keep_current
    from mapper.store import open_store

    as_of = demo_data.as_of()
    typer.secho("AIMS Graph demo: Meridian Mutual Insurance", bold=True)
    typer.echo(f"store: {folder.resolve()} (fresh embedded store)")
    with keep_current(open_store(str(folder))) as store:
        batches = ingest(store, [demo_data.folder()], actor="aims demo")
        triples = sum(b.triples for b in batches)
        typer.echo(f"loaded {len(batches)} files, {triples} triples from {demo_data.folder()}")
        verdict = assess(store, as_of=as_of)
        state = "conforms" if verdict.report.conforms else "does NOT conform"
        typer.secho(f"\nvalidated as of {as_of}: {state}", bold=True)
        _print_verdict(verdict)
        _print_people(verdict)
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
        typer.secho("\nSummary", bold=True)
        typer.echo(summary_text(verdict.summary), nl=False)
    typer.echo(f"\ndone in {time.perf_counter() - started:.1f} s")
