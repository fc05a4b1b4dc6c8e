"""The `aims` command: parse -> one mapper call -> print.

Each command group lives in its own module (commands register themselves on `app`); this module
owns the app, the shared options and the one place where a MapperError becomes one line on
stderr and exit code 2.
"""

from __future__ import annotations

import sys

import typer

# Importing a command module registers its commands on `app`.
from mapper.cli import (  # noqa: E402,F401  (registration side effect)
    demo,
    export,
    frameworks,
    gate,
    ingest,
    ontology,
    query,
    report,
    serve,
    store,
    tasks,
    validate,
    webhooks,
)
from mapper.cli.common import app
from mapper.errors import MapperError


def main() -> None:
    """Entry point of the `aims` script: a MapperError is one line on stderr and exit 2."""
    try:
        app()  # standalone: click reports usage errors itself, with exit code 2
    except MapperError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(2)
