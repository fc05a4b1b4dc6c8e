"""`aims ontology`: OWL consistency of the model plus data (HermiT), and the list of terms."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mapper import resources
from mapper.cli.common import Format, StoreOption, TableFormat, app, opened, print_json, print_table
from mapper.errors import InputError

if TYPE_CHECKING:  # rdflib loads when a command runs, not for `aims --help`
    from rdflib import Graph

ontology_app = typer.Typer(
    name="ontology",
    help=(
        "Check the ontology plus data for OWL consistency (HermiT) and list the model's terms.\n\n"
        "Example: aims ontology check --store .aims"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ontology_app, name="ontology")

_AIMS = "https://aims-graph.org/ns#"


def _read_turtle(files: list[Path]) -> Graph:
    from rdflib import Graph

    graph = Graph()
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: no such file; give Turtle files or use --store")
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several parser types; name the file and cause
            raise InputError(f"{path}: not valid Turtle ({exc}); fix the file and retry") from exc
    return graph


@ontology_app.command("check")
def check_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Turtle files to check instead of the store's data.",
            show_default=False, metavar="FILE...",
        ),
    ] = None,
    store: StoreOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Check the ontology plus the store's data (or the given Turtle files) with HermiT.

    Prints "consistent (N individuals, M axioms)" and exits 0, or names each individual that
    makes the graph inconsistent and exits 1. Terms in the aims: namespace that the ontology
    does not define (a misspelt predicate loaded with --lenient) are named with the closest
    defined term and also exit 1.

    Example: aims ontology check examples/meridian/*.ttl
    """
    from rdflib import URIRef

    from mapper import reasoning  # owlready2 loads only when this command runs
    from mapper.ingest import terms

    if files:
        data = _read_turtle(files)
    else:
        with opened(store) as opened_store:
            data = opened_store.to_graph()
    result = reasoning.check(data)
    undefined = terms.scan(str(t) for triple in data for t in triple if isinstance(t, URIRef))
    if fmt == Format.json:
        print_json({
            "consistent": result.consistent,
            "undefined_terms": [{"term": "aims:" + k, "count": n,
                                 "did_you_mean": ("aims:" + near) if (near := terms.suggest(k))
                                 else None} for k, n in sorted(undefined.items())],
            "individuals": result.individuals,
            "axioms": result.axioms,
            "seconds": round(result.seconds, 2),
            "offenders": [
                {
                    "individual": str(o.individual),
                    "label": o.label,
                    "classes": [str(c) for c in o.classes],
                    "reason": o.reason,
                }
                for o in result.offenders
            ],
        })
    elif result.consistent:
        typer.echo(result.summary())
    else:
        if not result.offenders:
            typer.echo(result.summary())
        for offender in result.offenders:
            typer.echo(f"inconsistent: {offender.name} {offender.reason}")
    if fmt != Format.json:
        for local, count in sorted(undefined.items()):
            typer.echo(f"undefined: {terms.describe(local, count)} is not a term of the "
                       "ontology")
    if not result.consistent or undefined:
        raise typer.Exit(1)


@ontology_app.command("terms")
def terms_command(
    fmt: Annotated[
        TableFormat, typer.Option("--format", help="table, json or csv.")
    ] = TableFormat.table,
) -> None:
    """List the classes and properties of the AIMS model with their labels and definitions.

    Example: aims ontology terms --format json
    """
    from rdflib import OWL, RDF, RDFS, URIRef
    from rdflib.namespace import SKOS

    graph = resources.ontology()
    kinds = {OWL.Class: "class", OWL.ObjectProperty: "object property",
             OWL.DatatypeProperty: "datatype property"}
    rows: list[tuple[str, str, str, str]] = []
    for kind_iri, kind in kinds.items():
        for term in sorted(graph.subjects(RDF.type, kind_iri), key=str):
            if not isinstance(term, URIRef) or not str(term).startswith(_AIMS):
                continue
            label = graph.value(term, RDFS.label)
            definition = graph.value(term, SKOS.definition)
            rows.append((
                "aims:" + str(term)[len(_AIMS):], kind,
                "" if label is None else str(label),
                "" if definition is None else str(definition),
            ))
    print_table(["term", "kind", "label", "definition"], rows, fmt=fmt.value,
                title="AIMS Graph terms")
