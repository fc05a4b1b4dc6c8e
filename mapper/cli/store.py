"""`aims init`: create an empty embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import app, opened
from mapper.store import DEFAULT_PATH


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(help="Folder for the embedded store.", show_default=True)
    ] = Path(DEFAULT_PATH),
) -> None:
    """Create an empty embedded store (with the ontology loaded) and say where it is.

    Other commands open the store named by --store / $AIMS_STORE (default ./.aims) and create
    it on first use, so init is only needed to choose a place up front.

    Example: aims init ./.aims
    """
    with opened(str(path)) as store:
        graphs = [g for g in store.graphs() if not g.startswith("urn:aims:graph:")]
    typer.echo(f"store ready at {path.resolve()} ({len(graphs)} data batches)")
