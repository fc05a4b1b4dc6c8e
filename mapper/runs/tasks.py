"""Owner tasks: every open finding of the assessment is a task for the person it is routed to.

Nothing is judged here: the open findings, their severities and their persons are the
assessment's (`assess(...).findings`, `.routes`). What this module adds is time:

- a task's identity is its finding's (rule, focus, path, value), hashed to a short id;
- the task log, a JSON-lines file beside the store (`<store folder>/tasks.jsonl`; memory and
  remote stores: `./.aims-tasks.jsonl`; `$AIMS_TASK_LOG` overrides), records when each task
  opened and closed. A file, not the store's meta graph: writing the meta graph would change
  the store's revision and throw away the cached assessment on every read, and the log is
  append-only history that an operator can read, rotate and back up on its own. Appends are
  whole lines under an exclusive lock (fcntl), so concurrent `aims` processes and the API
  cannot interleave half-lines;
- the log moves forward only: `sync` appends when the as-of date is not earlier than the last
  logged day, so judging an audit date in the past never rewrites the history;
- due date = the day the task opened + the service level of its severity (days; default
  Violation 14, Warning 30, Info 90; `--sla Violation=7,Warning=30` or `$AIMS_TASK_SLA`);
  overdue when the due date is before the as-of date;
- a task closes automatically (a `closed` line) when its finding is no longer open.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import html
import io
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mapper.errors import InputError
from mapper.rules.assessment import NO_ONE, Assessment
from mapper.rules.results import Finding
from mapper.store import beside_store

LOG_ENV = "AIMS_TASK_LOG"
SLA_ENV = "AIMS_TASK_SLA"
DEFAULT_SLA = {"Violation": 14, "Warning": 30, "Info": 90}


def default_log(store: str | None = None) -> Path:
    """Where the task log lives: $AIMS_TASK_LOG, else beside the embedded store.

    >>> default_log("memory").name
    '.aims-tasks.jsonl'
    """
    return beside_store(store, "tasks.jsonl", env=LOG_ENV)


def parse_sla(text: str | None) -> dict[str, int]:
    """Service levels from 'Violation=7,Warning=30' (missing severities keep the default).

    >>> parse_sla("Violation=7")["Violation"], parse_sla("Violation=7")["Info"]
    (7, 90)
    """
    sla = dict(DEFAULT_SLA)
    source = text if text is not None else os.environ.get(SLA_ENV)
    if not source:
        return sla
    for part in source.split(","):
        name, _, days = part.partition("=")
        name = name.strip().capitalize()
        if name not in sla or not days.strip().isdigit():
            raise InputError(f"bad service level {part.strip()!r}: write SEVERITY=DAYS, "
                             "e.g. Violation=14,Warning=30,Info=90")
        sla[name] = int(days)
    return sla


def task_id(f: Finding) -> str:
    """The finding's stable identity as a short id."""
    key = "|".join([f.rule, f.focus, f.path or "", f.value or ""])
    return "T-" + hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass
class Task:
    id: str
    person: str
    rule: str
    severity: str
    focus: str
    focus_label: str
    message: str
    opened: date
    due: date
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "person": self.person, "rule": self.rule,
                "severity": self.severity, "focus": self.focus,
                "focus_label": self.focus_label, "message": self.message,
                "opened": self.opened.isoformat(), "due": self.due.isoformat(),
                "overdue": self.overdue}


@contextmanager
def _locked(path: Path) -> Iterator[io.TextIOWrapper]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replay(lines: list[str], path: Path) -> tuple[dict[str, dict[str, Any]], date | None]:
    """The open tasks (id -> opened line) and the last logged day."""
    open_: dict[str, dict[str, Any]] = {}
    last: date | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            day = date.fromisoformat(entry["on"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: line {number} is not a task-log entry ({exc}); "
                             "remove or repair that line") from exc
        last = day if last is None or day > last else last
        if entry.get("event") == "opened":
            open_[entry["task"]] = entry
        elif entry.get("event") == "closed":
            open_.pop(entry["task"], None)
    return open_, last


def sync(verdict: Assessment, log: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Bring the log up to the assessment; the open entries and the lines appended."""
    current = {task_id(f): (i, f) for i, f in enumerate(verdict.findings)}
    with _locked(log) as handle:
        open_, last = _replay(handle.read().splitlines(), log)
        if last is not None and verdict.as_of < last:
            return open_, []  # the past: read the history, never rewrite it
        now = datetime.now(UTC).isoformat(timespec="seconds")
        added: list[dict[str, Any]] = []
        for tid, (i, f) in current.items():
            if tid not in open_:
                added.append({"event": "opened", "task": tid, "on": verdict.as_of.isoformat(),
                              "at": now, "rule": f.rule, "severity": f.severity,
                              "focus": f.focus, "person": verdict.person(i)})
        for tid, entry in open_.items():
            if tid not in current:
                added.append({"event": "closed", "task": tid, "on": verdict.as_of.isoformat(),
                              "at": now, "rule": entry.get("rule"), "focus": entry.get("focus"),
                              "person": entry.get("person")})
        if added:
            handle.seek(0, os.SEEK_END)
            handle.write("".join(json.dumps(a, sort_keys=True) + "\n" for a in added))
            handle.flush()
            os.fsync(handle.fileno())
    for a in added:
        if a["event"] == "opened":
            open_[a["task"]] = a
        else:
            open_.pop(a["task"], None)
    return open_, added


def tasks(verdict: Assessment, *, log: Path | None, sla: dict[str, int] | None = None,
          webhooks: Path | None = None) -> list[Task]:
    """The open tasks of the assessment, people by name, most urgent first. Tasks the log
    opens or closes now are queued as finding.opened / finding.closed webhook events (and an
    INV-01 task opening as attestation.due, webhooks.RULE_EVENTS)."""
    levels = sla or dict(DEFAULT_SLA)
    opened: dict[str, dict[str, Any]] = {}
    if log is not None:
        opened, added = sync(verdict, log)
        if webhooks is not None:
            from mapper.runs import webhooks as hooks

            for line in added:
                hooks.emit(webhooks, f"finding.{line['event']}", line)
                if line["event"] == "opened" and line.get("rule") in hooks.RULE_EVENTS:
                    hooks.emit(webhooks, hooks.RULE_EVENTS[line["rule"]], line)
    out = []
    for i, f in enumerate(verdict.findings):
        tid = task_id(f)
        entry = opened.get(tid)
        start = date.fromisoformat(entry["on"]) if entry else verdict.as_of
        if start > verdict.as_of:
            start = verdict.as_of
        due = start + timedelta(days=levels.get(f.severity, DEFAULT_SLA["Info"]))
        out.append(Task(id=tid, person=verdict.person(i), rule=f.rule, severity=f.severity,
                        focus=f.focus, focus_label=f.focus_label, message=f.message,
                        opened=start, due=due, overdue=due < verdict.as_of))
    return sorted(out, key=lambda t: (t.person == NO_ONE, t.person.lower(), t.due, t.id))


def history(log: Path, task: str | None = None) -> list[dict[str, Any]]:
    """The log's entries (of one task when given), oldest first."""
    if not log.exists():
        return []
    with _locked(log) as handle:
        lines = handle.read().splitlines()
    _replay(lines, log)  # one clear line for a damaged log
    entries = [json.loads(line) for line in lines if line.strip()]
    return [e for e in entries if task is None or e["task"] == task]


def select(items: list[Task], *, person: str | None = None, overdue: bool = False) -> list[Task]:
    wanted = person.strip().lower() if person else None
    return [t for t in items if (wanted is None or t.person.lower() == wanted)
            and (not overdue or t.overdue)]


def to_csv(items: list[Task]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = ["id", "person", "due", "overdue", "severity", "rule", "focus_label", "message",
              "opened", "focus"]
    writer.writerow(fields)
    for t in items:
        row = t.to_dict()
        writer.writerow([row[k] for k in fields])
    return out.getvalue()


def to_text(items: list[Task], as_of: date) -> str:
    if not items:
        return f"No open tasks as of {as_of.isoformat()}.\n"
    lines = [f"{len(items)} open tasks as of {as_of.isoformat()}"]
    person = None
    for t in items:
        if t.person != person:
            person = t.person
            lines.append(f"\n{person}")
        flag = " OVERDUE" if t.overdue else ""
        lines.append(f"  {t.id} due {t.due.isoformat()}{flag}  {t.severity:<9} {t.rule:<9} "
                     f"{t.message}")
    return "\n".join(lines) + "\n"


def digest(items: list[Task], as_of: date) -> dict[str, dict[str, Any]]:
    """One e-mail per person: subject, text body, HTML body."""
    per: dict[str, list[Task]] = defaultdict(list)
    for t in items:
        per[t.person].append(t)
    out = {}
    for person, own in per.items():
        late = sum(t.overdue for t in own)
        subject = (f"AIMS: {len(own)} open task(s) for {person} as of {as_of.isoformat()}"
                   + (f", {late} overdue" if late else ""))
        body = [f"Hello {person},", "",
                f"As of {as_of.isoformat()} the AIMS assessment routes {len(own)} open "
                "finding(s) to you. Each closes by itself when the record that fixes it is "
                "added.", ""]
        for t in own:
            flag = "OVERDUE, " if t.overdue else ""
            body.append(f"- [{flag}due {t.due.isoformat()}] {t.rule} ({t.severity}): "
                        f"{t.message}")
        rows = "".join(
            f"<tr><td>{html.escape(t.due.isoformat())}{' <b>overdue</b>' if t.overdue else ''}"
            f"</td><td>{html.escape(t.rule)}</td><td>{html.escape(t.severity)}</td>"
            f"<td>{html.escape(t.message)}</td></tr>" for t in own)
        page = (f"<html><body><p>Hello {html.escape(person)},</p><p>As of "
                f"{html.escape(as_of.isoformat())} the AIMS assessment routes {len(own)} open "
                "finding(s) to you.</p><table border=\"1\"><tr><th>due</th><th>rule</th>"
                f"<th>severity</th><th>what to fix</th></tr>{rows}</table></body></html>")
        out[person] = {"person": person, "subject": subject, "tasks": len(own),
                       "overdue": late, "text": "\n".join(body) + "\n", "html": page}
    return out
