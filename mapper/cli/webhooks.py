"""`aims webhooks add/list/remove/deliveries/deliver`: signed event deliveries (mapper.runs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from mapper.cli.common import Format, StoreOption, app, print_json
from mapper.runs import webhooks as hooks

webhooks_app = typer.Typer(help="Webhooks: subscribe receivers to AIMS events.",
                           no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")

Db = Annotated[Path | None, typer.Option("--db", help="The webhook database (default: "
                                         "webhooks.sqlite beside the store; $AIMS_WEBHOOKS).",
                                         show_default=False)]
Fmt = Annotated[Format, typer.Option("--format", help="text or json.")]


def _path(db: Path | None, store: str | None) -> Path:
    return db or hooks.default_db(store)


@webhooks_app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="The receiver, e.g. https://hooks.example/aims.")],
    events: Annotated[str, typer.Option("--events", help=f"Comma-separated: "
                                        f"{','.join(hooks.EVENTS)}.")],
    secret: Annotated[str | None, typer.Option("--secret", help="The HMAC secret (default: "
                                               "generated, printed once).",
                                               show_default=False)] = None,
    fmt: Fmt = Format.text, db: Db = None, store: StoreOption = None,
) -> None:
    """Subscribe a receiver to events.

    Example: aims webhooks add https://hooks.example/aims --events finding.opened,gate.denied
    """
    sub = hooks.add(_path(db, store), url, hooks.parse_events(events), secret)
    if fmt is Format.json:
        print_json(sub)
    else:
        typer.echo(f"{sub['id']} {sub['url']} {','.join(sub['events'])}\nsecret: {sub['secret']}")


@webhooks_app.command("list")
def list_command(fmt: Fmt = Format.text, db: Db = None, store: StoreOption = None) -> None:
    """The subscriptions (secrets are not shown).

    Example: aims webhooks list --format json
    """
    subs = hooks.subscriptions(_path(db, store))
    if fmt is Format.json:
        print_json(subs)
        return
    for s in subs:
        typer.echo(f"{s['id']} {s['url']} {','.join(s['events'])}")


@webhooks_app.command("remove")
def remove_command(sub_id: Annotated[str, typer.Argument(help="The subscription id.")],
                   db: Db = None, store: StoreOption = None) -> None:
    """Remove a subscription; its pending deliveries are cancelled.

    Example: aims webhooks remove wh-1a2b3c4d
    """
    hooks.remove(_path(db, store), sub_id)
    typer.echo(f"removed {sub_id}")


@webhooks_app.command("deliveries")
def deliveries_command(fmt: Fmt = Format.text, db: Db = None, store: StoreOption = None
                       ) -> None:
    """The delivery log: each delivery, its status and every attempt's status code.

    Example: aims webhooks deliveries --format json
    """
    log = hooks.deliveries(_path(db, store))
    if fmt is Format.json:
        print_json(log)
        return
    for d in log:
        codes = " ".join(str(a["status_code"] or a["error"]) for a in d["attempts"]) or "-"
        typer.echo(f"{d['id']} {d['event']:<15} {d['status']:<10} {d['url']}  attempts: {codes}")


@webhooks_app.command("deliver")
def deliver_command(
    loop: Annotated[bool, typer.Option("--loop", help="Keep delivering (every second) until "
                                       "stopped.")] = False,
    db: Db = None, store: StoreOption = None,
) -> None:
    """Send every due delivery from the outbox (the worker; run it with --loop as a service).

    Example: aims webhooks deliver --loop
    """
    path = _path(db, store)
    while True:
        for a in hooks.deliver_due(path):
            typer.echo(f"{a['delivery']} attempt {a['attempt']}: "
                       f"{a['status_code'] or a['error']} -> {a['status']}", )
        if not loop:
            return
        time.sleep(1)
