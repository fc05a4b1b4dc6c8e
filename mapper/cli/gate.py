"""`aims gate`: may an AI system pass a gate? Exit 0 allow, 1 deny, 2 error (for pipelines)."""

from __future__ import annotations

from typing import Annotated

import typer

from mapper.cli.common import Format, StoreOption, app, opened, parse_date, print_json

GATES = ("intake", "risk", "release", "post-release")
"""mapper.rules.catalogue.GATES, written out so that `aims --help` does not load the catalogue
(and rdflib); tests/test_startup.py checks the two agree."""


@app.command("gate")
def gate_command(
    system: Annotated[str, typer.Argument(help="The AI system: identifier, IRI or unique label.")],
    gate: Annotated[str, typer.Option("--gate", help=f"One of: {', '.join(GATES)}.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge as of this date (YYYY-MM-DD); default today.",
                     show_default=False),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
    store: StoreOption = None,
) -> None:
    """Decide whether SYSTEM may pass a gate, from the assessment.

    allow when the gate's status is pass or warn; deny when it fails or is not reached yet
    (the system's stage has not arrived at the gate), with the records to add. Exit 0 on
    allow, 1 on deny, 2 on bad input (unknown system or gate, system not in scope).

    Example: aims gate SYS-CS-ASSISTANT --gate release --as-of 2026-06-30 --format json
    """
    from mapper.runs import gates, webhooks

    day = parse_date(as_of)
    name = gates.check_gate(gate)
    with opened(store) as opened_store:
        decision = gates.decide(opened_store, system, name, as_of=day)
    if not decision.allowed:
        webhooks.emit(webhooks.default_db(store), "gate.denied", decision.to_dict())
    if fmt is Format.json:
        print_json(decision.to_dict())
    else:
        typer.echo(decision.to_text(), nl=False)
    raise typer.Exit(0 if decision.allowed else 1)
