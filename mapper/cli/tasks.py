"""`aims tasks` and `aims tasks digest`: who must fix what by when, from the assessment."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mapper.cli.common import StoreOption, app, opened, parse_date, print_json

if TYPE_CHECKING:  # the assessment loads when a command runs, not for `aims --help`
    from mapper.runs import tasks as owner_tasks

tasks_app = typer.Typer(help="Owner tasks: every open finding, for the person it is routed to.",
                        no_args_is_help=False, invoke_without_command=True)
app.add_typer(tasks_app, name="tasks")


class TaskFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


class DigestFormat(StrEnum):
    text = "text"
    html = "html"
    json = "json"


AsOf = Annotated[str | None, typer.Option("--as-of", help="As of this date (YYYY-MM-DD); "
                                          "default today.", show_default=False)]
Sla = Annotated[str | None, typer.Option("--sla", help="Service levels in days, e.g. "
                                         "Violation=14,Warning=30,Info=90 (the default; "
                                         "$AIMS_TASK_SLA).", show_default=False)]
Log = Annotated[Path | None, typer.Option("--log", help="The task log (default: tasks.jsonl "
                                          "beside the store; $AIMS_TASK_LOG).",
                                          show_default=False)]
Person = Annotated[str | None, typer.Option("--person", help="Only this person's tasks.",
                                            show_default=False)]


def _load(store: str | None, as_of: str | None, sla: str | None, log: Path | None,
          ) -> tuple[list[owner_tasks.Task], object]:
    from mapper.rules.assessment import assess
    from mapper.runs import tasks as owner_tasks
    from mapper.runs.webhooks import default_db

    day = parse_date(as_of)
    levels = owner_tasks.parse_sla(sla)
    with opened(store) as opened_store:
        verdict = assess(opened_store, as_of=day)
        items = owner_tasks.tasks(verdict, log=log or owner_tasks.default_log(store),
                                  sla=levels, webhooks=default_db(store))
    return items, day


@tasks_app.callback()
def tasks_command(
    ctx: typer.Context,
    person: Person = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only tasks past their due "
                                          "date.")] = False,
    fmt: Annotated[TaskFormat, typer.Option("--format", help="text, json or csv.")
                   ] = TaskFormat.text,
    as_of: AsOf = None, sla: Sla = None, log: Log = None, store: StoreOption = None,
) -> None:
    """List the open tasks: each open finding, its person, due date (opened + service level
    of its severity) and whether it is overdue. Tasks open and close in the task log as the
    findings do.

    Example: aims tasks --person "Dana Reyes" --overdue --format csv
    """
    if ctx.invoked_subcommand is not None:
        return
    from mapper.runs import tasks as owner_tasks

    items, day = _load(store, as_of, sla, log)
    chosen = owner_tasks.select(items, person=person, overdue=overdue)
    if fmt is TaskFormat.json:
        print_json([t.to_dict() for t in chosen])
    elif fmt is TaskFormat.csv:
        sys.stdout.write(owner_tasks.to_csv(chosen))
    else:
        sys.stdout.write(owner_tasks.to_text(chosen, day))  # type: ignore[arg-type]


@tasks_app.command("digest")
def digest_command(
    person: Person = None,
    fmt: Annotated[DigestFormat, typer.Option("--format", help="text, html or json.")
                   ] = DigestFormat.text,
    as_of: AsOf = None, sla: Sla = None, log: Log = None, store: StoreOption = None,
) -> None:
    """One e-mail-ready digest per person (subject and body) of their open tasks.

    Example: aims tasks digest --person "Dana Reyes" --format html
    """
    from mapper.runs import tasks as owner_tasks

    items, day = _load(store, as_of, sla, log)
    mails = owner_tasks.digest(owner_tasks.select(items, person=person), day)  # type: ignore[arg-type]
    if fmt is DigestFormat.json:
        print_json(list(mails.values()))
        return
    for mail in mails.values():
        if fmt is DigestFormat.html:
            sys.stdout.write(mail["html"] + "\n")
        else:
            sys.stdout.write(f"Subject: {mail['subject']}\n\n{mail['text']}\n")
