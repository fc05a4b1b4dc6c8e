"""`aims init`: create an empty store (with the ontology loaded) and say where it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import StoreOption, app, opened


@app.command()
def init(
    path: Annotated[
        str | None,
        typer.Argument(help="Folder for the embedded store (default: --store / $AIMS_STORE, "
                            "else ./.aims).", show_default=False),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Create an empty store (with the ontology loaded) and say where it is.

    The store is PATH when given, else the one named by --store / $AIMS_STORE like every other
    command (default ./.aims). Other commands create the store on first use, so init is only
    needed to choose a place up front or to check that a remote endpoint answers.

    Example: aims init ./.aims
    """
    from mapper.store import store_location

    where = store_location(path or store)
    with opened(where) as opened_store:
        graphs = [g for g in opened_store.graphs() if not g.startswith("urn:aims:graph:")]
        shown = str(Path(where).resolve()) if opened_store.kind == "embedded" else where
    typer.echo(f"store ready at {shown} ({len(graphs)} data batches)")
