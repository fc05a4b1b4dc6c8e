"""Compliance over time: findings at a series of as-of dates, and the difference of two dates.

`trend` runs the compiled engine once per date (the same rules, the same store, only the as-of
date changes) and counts the findings per clause, per rule family and per severity; beside them,
per period (the days after the previous date up to this one), the corrective actions opened
(aims:recordDate), closed (aims:closureDate) and verified (closed in the period with an
aims:verification; the ontology records no verification date). `diff` compares the findings of
two dates on (rule, focus node, path): opened, closed and unchanged.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from mapper.errors import InputError
from mapper.questions import queries
from mapper.questions.queries import text
from mapper.rules.results import Finding
from mapper.rules.validate import validate
from mapper.store import Store

STEPS = {"month": 1, "quarter": 3}


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's last day).

    >>> months_before(date(2026, 6, 30), 9), months_before(date(2026, 5, 31), 3)
    (datetime.date(2025, 9, 30), datetime.date(2026, 2, 28))
    """
    month0 = day.year * 12 + day.month - 1 - months
    year, month = month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def dates(start: date, end: date, every: str) -> list[date]:
    """start, start + 1 step, ... up to end (inclusive); a day past a month's end is clamped."""
    if every not in STEPS:
        raise InputError(f"--every {every!r}: use month or quarter")
    if end < start:
        raise InputError(f"--to {end} is before --from {start}: swap them")
    out, k = [], 0
    while True:
        month0 = start.month - 1 + k * STEPS[every]
        year, month = start.year + month0 // 12, month0 % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        current = date(year, month, day)
        if current > end:
            break
        out.append(current)
        k += 1
        if len(out) > 400:
            raise InputError("more than 400 dates: widen --every or shorten the range")
    return out


@dataclass
class Point:
    """The findings at one as-of date and the corrective-action events of its period."""

    as_of: date
    period_start: date | None
    findings: int
    by_severity: dict[str, int]
    by_clause: dict[str, int]
    by_family: dict[str, int]
    actions: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(),
                "period_start": self.period_start.isoformat() if self.period_start else None,
                "findings": self.findings, "by_severity": self.by_severity,
                "by_clause": self.by_clause, "by_family": self.by_family,
                "corrective_actions": self.actions}


def _family(rule: str) -> str:
    return rule.split("-")[0]


def _counts(findings: list[Finding]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    severity = Counter(f.severity for f in findings)
    clause = Counter(c for f in findings for c in f.clause)
    family = Counter(_family(f.rule) for f in findings)
    return dict(sorted(severity.items())), dict(sorted(clause.items())), dict(
        sorted(family.items()))


def trend(store: Store, *, start: date, end: date, every: str = "month") -> list[Point]:
    """One point per date (compiled engine), with the corrective actions of each period."""
    events = queries.result_dicts(queries.run(store, "corrective-action-events"))
    points: list[Point] = []
    previous: date | None = None
    for day in dates(start, end, every):
        report = validate(store, as_of=day, engine="sparql")
        severity, clause, family = _counts(report.findings)

        def within(value: Any, lo: date | None = previous, hi: date = day) -> bool:
            if not value:
                return False
            when = date.fromisoformat(str(value))
            return when <= hi and (lo is None or when > lo)

        actions = {
            "opened": sum(1 for e in events if within(e["opened"])),
            "closed": sum(1 for e in events if within(e["closed"])),
            "verified": sum(1 for e in events if within(e["closed"]) and e["verified"]),
            "open_at_date": sum(1 for e in events if e["opened"]
                                and date.fromisoformat(str(e["opened"])) <= day
                                and not (e["closed"] and date.fromisoformat(str(e["closed"]))
                                         <= day)),
        }
        points.append(Point(day, previous + timedelta(days=1) if previous else None,
                            len(report.findings), severity, clause, family, actions))
        previous = day
    return points


TREND_COLUMNS = ["as_of", "findings", "violations", "warnings", "by_family",
                 "ca_opened", "ca_closed", "ca_verified", "ca_open"]


def trend_rows(points: list[Point]) -> list[list[Any]]:
    return [[p.as_of.isoformat(), p.findings, p.by_severity.get("Violation", 0),
             p.by_severity.get("Warning", 0),
             " ".join(f"{k}:{v}" for k, v in p.by_family.items()),
             p.actions["opened"], p.actions["closed"], p.actions["verified"],
             p.actions["open_at_date"]] for p in points]


def _key(f: Finding) -> tuple[str, str, str]:
    return (f.rule, f.focus, f.path or "")


@dataclass
class Diff:
    as_of: date
    against: date
    opened: list[Finding]
    closed: list[Finding]
    unchanged: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        def brief(fs: list[Finding]) -> list[dict[str, Any]]:
            return [{"rule": f.rule, "focus": f.focus, "focus_label": f.focus_label,
                     "severity": f.severity, "message": f.message} for f in fs]
        return {"as_of": self.as_of.isoformat(), "against": self.against.isoformat(),
                "counts": {"opened": len(self.opened), "closed": len(self.closed),
                           "unchanged": len(self.unchanged)},
                "opened": brief(self.opened), "closed": brief(self.closed),
                "unchanged": brief(self.unchanged)}


def diff(store: Store, *, as_of: date, against: date) -> Diff:
    """Findings at `as_of` compared with those at `against` (the earlier audit, usually)."""
    now = {_key(f): f for f in validate(store, as_of=as_of, engine="sparql").findings}
    then = {_key(f): f for f in validate(store, as_of=against, engine="sparql").findings}
    order = sorted
    return Diff(as_of, against,
                opened=[now[k] for k in order(now.keys() - then.keys())],
                closed=[then[k] for k in order(then.keys() - now.keys())],
                unchanged=[now[k] for k in order(now.keys() & then.keys())])


__all__ = ["Diff", "Point", "dates", "diff", "text", "trend", "trend_rows"]
