"""Typed literals whose text is not of their type: `"=cmd|' /C calc'!A0"^^xsd:integer`.

RDF parsers keep an ill-typed literal as it is written; SPARQL then compares it as nothing and
a CSV export treats it as a number. Ingest refuses it (or, with `--lenient`, loads it and says
so). The check covers the XSD types an inventory uses: the integer family, decimal, double and
float, boolean, date, dateTime, time, gYear and gYearMonth; other datatypes pass unchecked.

`timestamp` normalises a valid `xsd:dateTime` as tabular ingest does (values.parse_temporal): a
zoned one is written in UTC, a zone-less one takes the zone named by --timezone or is refused,
and midnight without a zone is the date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

XSD = "http://www.w3.org/2001/XMLSchema#"

_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_DOUBLE = re.compile(r"^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     r"|[+-]?INF|NaN)$")
_BOOLEAN = frozenset({"true", "false", "1", "0"})
_ZONE = r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_DATE = re.compile(r"^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})" + _ZONE + "$")
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?"
_DATETIME = re.compile(r"^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T(?:" + _TIME + ")" + _ZONE + "$")
_TIME_ONLY = re.compile(r"^(?:" + _TIME + ")" + _ZONE + "$")
_GYEAR = re.compile(r"^-?[0-9]{4,}" + _ZONE + "$")
_GYEARMONTH = re.compile(r"^-?[0-9]{4,}-(0[1-9]|1[0-2])" + _ZONE + "$")

_RANGES = {
    "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "long": (-(2**63), 2**63 - 1), "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1), "byte": (-128, 127),
    "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255), "integer": (None, None),
}
_NAMES = {"decimal": "a decimal number", "double": "a number", "float": "a number",
          "boolean": "true or false", "date": "a date (YYYY-MM-DD)",
          "dateTime": "a date and time (YYYY-MM-DDThh:mm:ss)", "dateTimeStamp":
          "a date and time with a time zone", "time": "a time (hh:mm:ss)",
          "gYear": "a year (YYYY)", "gYearMonth": "a year and month (YYYY-MM)"}


def _real_day(m: re.Match[str]) -> bool:
    try:
        date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return False
    return True


def problem(lexical: str, datatype: str) -> str | None:
    """Why `lexical` is not a value of `datatype` (a full IRI), or None when it is (or the
    datatype is not one checked here).

    >>> problem("42", XSD + "integer"), problem("4 2", XSD + "integer")
    (None, "'4 2' is not a whole number (xsd:integer)")
    >>> problem("2025-02-30", XSD + "date")
    "'2025-02-30' is not a date (YYYY-MM-DD) (xsd:date)"
    >>> problem("anything", "https://example.org/custom") is None
    True
    """
    if not datatype.startswith(XSD):
        return None
    name = datatype[len(XSD):]
    text = lexical.strip()  # XSD collapses whitespace for these types
    ok: bool
    if name in _RANGES:
        low, high = _RANGES[name]
        ok = bool(_INTEGER.match(text))
        if ok:
            number = int(text)
            ok = (low is None or number >= low) and (high is None or number <= high)
        if not ok:
            return f"{lexical!r} is not a whole number" + (
                f" in the range of xsd:{name}" if _INTEGER.match(text) else "") + \
                f" (xsd:{name})"
        return None
    if name == "decimal":
        ok = bool(_DECIMAL.match(text))
    elif name in ("double", "float"):
        ok = bool(_DOUBLE.match(text))
    elif name == "boolean":
        ok = text in _BOOLEAN
    elif name == "date":
        m = _DATE.match(text)
        ok = bool(m) and _real_day(m)  # type: ignore[arg-type]
    elif name in ("dateTime", "dateTimeStamp"):
        m = _DATETIME.match(text)
        ok = bool(m) and _real_day(m)  # type: ignore[arg-type]
        if ok and name == "dateTimeStamp":
            ok = text.endswith("Z") or bool(re.search(r"[+-]\d\d:\d\d$", text))
    elif name == "time":
        ok = bool(_TIME_ONLY.match(text))
    elif name == "gYear":
        ok = bool(_GYEAR.match(text))
    elif name == "gYearMonth":
        ok = bool(_GYEARMONTH.match(text))
    else:
        return None
    return None if ok else f"{lexical!r} is not {_NAMES[name]} (xsd:{name})"


class ZonelessTimestamp(ValueError):
    """An `xsd:dateTime` with a time of day and no time zone, and no zone named for it."""


def timestamp(lexical: str, zone: tzinfo | None = None) -> tuple[str, str]:
    """A valid `xsd:dateTime` lexical form as (lexical, datatype local name), normalised: with
    a zone, the instant in UTC (`...Z`); without one, in `zone` (then UTC), or, at midnight, the
    date. Raises ZonelessTimestamp for a time of day with no zone and no `zone`. Years Python
    cannot hold (before 1 or after 9999) are kept as written.

    >>> timestamp("2025-03-01T10:30:00+02:00")
    ('2025-03-01T08:30:00Z', 'dateTime')
    >>> timestamp("2025-03-01T00:00:00")
    ('2025-03-01', 'date')
    >>> timestamp("2025-03-01T10:30:00")
    Traceback (most recent call last):
    mapper.ingest.literals.ZonelessTimestamp: '2025-03-01T10:30:00' has a time but no time zone
    """
    text = lexical.strip()
    m = re.match(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
                 r"(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?$", text)
    if m is None or m[1] == "0000":
        return lexical, "dateTime"
    fraction = (m[7] or "").rstrip("0")
    micro = int((fraction + "000000")[:6])
    hour = int(m[4])
    stamp = datetime(int(m[1]), int(m[2]), int(m[3]), 0 if hour == 24 else hour, int(m[5]),
                     int(m[6]), micro)
    if hour == 24:  # 24:00:00 is the midnight that ends the day
        stamp += timedelta(days=1)
    if m[8] is None:
        if stamp.time() == datetime.min.time() and not fraction:
            return stamp.date().isoformat(), "date"
        if zone is None:
            raise ZonelessTimestamp(f"{lexical!r} has a time but no time zone")
        stamp = stamp.replace(tzinfo=zone)
    else:
        sign = 1 if m[8] == "Z" or m[8][0] == "+" else -1
        offset = timedelta() if m[8] == "Z" else timedelta(hours=int(m[8][1:3]),
                                                           minutes=int(m[8][4:6]))
        stamp = stamp.replace(tzinfo=UTC) - sign * offset
    utc = stamp.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"
    return text, "dateTime"
