"""`aims serve` (the REST API under uvicorn) and `aims apikey create|list|revoke`.

SIGTERM (or Ctrl-C) stops the server within about ten seconds even during a long ingest: the
signal sets mapper.ingest.limits.SHUTDOWN, which a running ingest checks between rows and
between the chunks it writes; it then gives up whole (its partial graph is dropped, the upload
is answered 503) and uvicorn's graceful shutdown finishes. The store is checked on start
(`batches.recover`), so a batch a hard kill interrupted is gone before the first request.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from mapper.apikeys import ROLES, KeyRing, default_keys_file
from mapper.cli.common import Format, StoreOption, app, print_json, print_table
from mapper.errors import InputError

apikey_app = typer.Typer(
    name="apikey", no_args_is_help=True, rich_markup_mode=None,
    help="Manage the API keys of `aims serve` (stored hashed beside the store).\n\n"
    "Example: aims apikey create --role reader --name auditor-2026",
)
app.add_typer(apikey_app, name="apikey")

KeysFileOption = Annotated[
    Path | None,
    typer.Option("--keys-file", envvar="AIMS_API_KEYS", show_default=False,
                 help="The API key file (default: <store folder>/apikeys.json)."),
]


def _ring(store: str | None, keys_file: Path | None) -> KeyRing:
    return KeyRing(keys_file or default_keys_file(store))


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1).

    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("localhost")
    (True, False, True)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    store: StoreOption = None,
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless you mean it.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_auth: Annotated[bool, typer.Option(
        "--no-auth", help="Serve without API keys (loopback only, for development).")] = False,
    keys_file: KeysFileOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the REST API and the read-only SPARQL endpoint (OpenAPI at /docs).

    Limits come from the environment: AIMS_MAX_BODY_BYTES (default 20 MiB),
    AIMS_SPARQL_TIMEOUT (10 s), AIMS_SPARQL_MAX_RESULTS (10000), AIMS_SPARQL_WORKERS (2),
    AIMS_LOCK_TIMEOUT (120 s), and what one upload may cost: AIMS_INGEST_MAX_ROWS, _CELLS,
    _LINE, _LITERAL, _DEPTH, _UNZIPPED, _RATIO (README "Ingest limits"; past one: 413).

    Example: aims apikey create --role contributor --name ci && aims serve --port 8000
    """
    import uvicorn

    from api.app import create_app
    from api.settings import Settings
    from mapper.ingest.batches import recover
    from mapper.store import open_store

    if no_auth and not is_loopback(host):
        raise InputError(f"--no-auth is refused on the non-loopback address {host}; "
                         "bind 127.0.0.1 or use API keys")
    settings = Settings.from_env(store=store, keys_file=keys_file, auth=not no_auth)
    if no_auth:
        typer.secho("warning: serving WITHOUT authentication (--no-auth): anyone on this "
                    "machine can read and change the store", err=True, fg="yellow")
    elif not settings.key_path.exists():
        typer.secho(f"note: no API keys yet ({settings.key_path}); create one with "
                    "`aims apikey create --role admin --name NAME`", err=True)
    opened = open_store(settings.store)  # a locked or unreachable store: one line, exit 2
    try:
        recover(opened)
        config = uvicorn.Config(create_app(settings, store=opened), host=host, port=port,
                                log_level=log_level, timeout_graceful_shutdown=GRACE)
        _StoppingServer(config).run()
    finally:
        opened.close()


GRACE = 6
"""Seconds uvicorn waits for running requests on shutdown (an ingest stops well before)."""


def _StoppingServer(config: Any) -> Any:  # noqa: N802 - stands for the class it builds
    """uvicorn's server, also telling running ingests to stop when a signal stops it."""
    import uvicorn

    from mapper.ingest.limits import SHUTDOWN

    class StoppingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            SHUTDOWN.set()  # a running ingest gives up whole at its next check
            super().handle_exit(sig, frame)

    return StoppingServer(config)


@apikey_app.command("create")
def apikey_create(
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option(help="A name to list and revoke the key by.")],
    store: StoreOption = None,
    keys_file: KeysFileOption = None,
) -> None:
    """Create a key and print it once (only its hash is stored).

    Example: aims apikey create --role contributor --name ticketing
    """
    key = _ring(store, keys_file).create(name=name, role=role)
    typer.echo(key)
    typer.secho("store this key now: it cannot be shown again", err=True)


@apikey_app.command("list")
def apikey_list(
    store: StoreOption = None,
    keys_file: KeysFileOption = None,
    format: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """List the keys: name, role, creation time, first characters.

    Example: aims apikey list --format json
    """
    keys = _ring(store, keys_file).entries()
    rows = [(k.name, k.role, k.created, k.hint) for k in keys]
    columns = ("name", "role", "created", "key")
    if format == Format.json:
        print_json([dict(zip(columns, row, strict=True)) for row in rows])
    else:
        print_table(columns, rows, title="API keys")


@apikey_app.command("revoke")
def apikey_revoke(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    store: StoreOption = None,
    keys_file: KeysFileOption = None,
) -> None:
    """Delete a key; a running server refuses it from the next request on.

    Example: aims apikey revoke ticketing
    """
    _ring(store, keys_file).revoke(name)
    typer.echo(f"revoked {name}")
