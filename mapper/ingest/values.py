"""Cell values: text clean-up, key normalisation, slugs, dates, numbers and yes/no.

Everything a mapping says about normalisation is carried out here, so that a CSV cell, an
Excel cell and a JSON value with the same meaning give the same RDF term.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache

Cell = str | int | float | bool | datetime | date | None
"""A raw value as a reader hands it over."""

_NULL_WORDS = ("", "n/a", "na", "n.a.", "none", "null", "nil", "-", "--", "---", "\u2014",
               "#n/a", "#name?", "#value!", "#ref!", "#div/0!", "#null!", "#num!",
               "[blank]", "blank", "(blank)", "<blank>", "unknown", "not known", "tbd", "tba",
               "to be determined", "not applicable", "not available", "?", "[]", "{}",
               '[""]', "none identified", "no value")
"""The built-in placeholders: a cell holding one of them has no value. A mapping adds its own
under `nulls:`."""

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u00a0": " "})
_OPTION = re.compile(r"^(?:[a-z]\)\s*)+")
_SPACE = re.compile(r"\s+")
_SLUG = re.compile(r"[^a-z0-9]+")


NULL_TEXTS: frozenset[str] = frozenset()
"""Cell texts that mean "no value" (blank, N/A, None, Excel errors), in `norm_key` form."""


def text(value: Cell) -> str | None:
    """A cell as clean text (trimmed, line ends unified), None when empty.

    >>> text("  a\\r\\nb "), text(34.0), text(None), text("   ")
    ('a\\nb', '34', None, None)
    """
    if value is None:
        return None
    if type(value) is str and "\r" not in value and "\u00a0" not in value:
        return value.strip() or None
    if isinstance(value, bool):
        out = "true" if value else "false"
    elif isinstance(value, float):
        out = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, datetime):
        out = value.isoformat(sep=" ")
    else:
        out = str(value)
    out = out.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").strip()
    return out or None


@lru_cache(maxsize=200_000)
def norm_key(value: str) -> str:
    """The comparison form of an enumeration value or header: case, spacing, dashes, quotes
    and leading option letters ("b) ") do not matter.

    >>> norm_key("b)  Pilot \u2013 The use case ")
    'pilot - the use case'
    """
    out = unicodedata.normalize("NFKC", value).translate(_DASHES).translate(_QUOTES).lower()
    out = _SPACE.sub(" ", out).strip()
    out = _OPTION.sub("", out)
    return out.strip(" .;:")


@lru_cache(maxsize=20_000)
def norm_header(value: str) -> str:
    """The comparison form of a column header: case, spacing and punctuation (underscores,
    slashes, brackets, stray symbols such as a mis-decoded "¤") do not matter.

    >>> norm_header("Use_Case  ID ") == norm_header("use case id") == norm_header("Use-Case ID:")
    True
    """
    return _PUNCT.sub(" ", norm_key(value)).strip()


_PUNCT = re.compile(r"[\W_]+")
_TAIL_CUT = re.compile(r"\?|:|\s\(|\s\[|\s-\s|\.\s")
TAIL_WORDS = 3
"""A header matched without its tail keeps at least this many words."""


def header_heads(value: str) -> list[str]:
    """The header without a trailing tail, in `norm_header` form: the text before each "?",
    ":", " (", " [", " - " or ". " that keeps at least TAIL_WORDS words (a question header
    without its "Practice: ..." tail).

    >>> header_heads("Has testing been done? Practice: Complete AI Impact Assessment")
    ['has testing been done', 'has testing been done practice']
    """
    text = norm_key(value)
    out: list[str] = []
    for m in _TAIL_CUT.finditer(text):
        head = norm_header(text[:m.start()])
        if len(head.split()) >= TAIL_WORDS and head not in out and head != norm_header(text):
            out.append(head)
    return out


NULL_TEXTS = frozenset(norm_key(w) for w in _NULL_WORDS)


def is_null(value: str | None, nulls: frozenset[str] = NULL_TEXTS) -> bool:
    """True when a cell text means "no value" (blank, N/A, None, an Excel error ...)."""
    if value is None:
        return True
    return len(value) < 40 and norm_key(value) in nulls


@lru_cache(maxsize=200_000)
def slug(value: str) -> str:
    """A stable IRI segment for a key: lower-case ASCII words joined by '-'.

    Text with no ASCII letters or digits falls back to a hash, so a key never mints an empty
    segment.

    >>> slug("DOJ-0357"), slug("  Microsoft 365 Copilot (GCC) "), slug("Ärzte & Co")
    ('doj-0357', 'microsoft-365-copilot-gcc', 'arzte-co')
    """
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    out = _SLUG.sub("-", ascii_text.lower()).strip("-")
    if not out:
        out = "h" + hashlib.sha1(value.encode("utf-8")).hexdigest()[:16]
    return out


# --- dates -----------------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                  r"(?:Z|[+-]\d{2}:?\d{2})?)?$", re.IGNORECASE)
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})"
                      r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]m)?)?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[ -]([a-z]+)\.?,?[ -](\d{4})$")
_MONTH_DAY = re.compile(r"^([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})$")
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?[ -](\d{2}|\d{4})$")
_NUM_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.-](\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(?:q([1-4])[ -/]?(\d{4})|(\d{4})[ -/]?q([1-4]))$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)

DATE_FORMS = "YYYY-MM-DD (or a date the spreadsheet knows as a date)"


class DateProblem(ValueError):
    """A cell that is not a date; the message says why."""


def _year(text_year: str) -> int:
    year = int(text_year)
    return year + 2000 if len(text_year) == 2 else year


def _make(year: int, month: int, day: int, original: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if not 1 <= month <= 12:
            raise DateProblem(f"{original!r} has no month {month}") from None
        last = calendar.monthrange(year, month)[1]
        raise DateProblem(
            f"{original!r} is not a real date ({calendar.month_name[month]} {year} has "
            f"{last} days)"
        ) from None


def _month(name: str, original: str) -> int:
    if name not in _MONTHS:
        raise DateProblem(f"{original!r} is not a date (unknown month {name!r})")
    return _MONTHS[name]


def parse_date(value: Cell, *, order: str = "DMY", partial: bool = False) -> tuple[date, bool]:
    """A cell as a date, and whether it was only a month, quarter or year (the first day is
    used, and only when `partial` allows it). `order` ("DMY" or "MDY") reads 01/02/2025.

    >>> parse_date("2025-03-01 00:00:00")[0], parse_date(45678)[0], parse_date("3 March 2025")[0]
    (datetime.date(2025, 3, 1), datetime.date(2025, 1, 21), datetime.date(2025, 3, 3))
    >>> parse_date("10/1/2023", order="MDY")[0], parse_date("Jul-25", partial=True)
    (datetime.date(2023, 10, 1), (datetime.date(2025, 7, 1), True))
    >>> parse_date("31/02/2025")
    Traceback (most recent call last):
    mapper.ingest.values.DateProblem: '31/02/2025' is not a real date (February 2025 has 28 days)
    """
    if isinstance(value, datetime):
        return value.date(), False
    if isinstance(value, date):
        return value, False
    if isinstance(value, bool) or value is None:
        raise DateProblem(f"{value!r} is not a date")
    if isinstance(value, int | float):
        if partial and isinstance(value, int) and 1000 <= value <= 2999:
            return date(value, 1, 1), True
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH + timedelta(days=int(value)), False
        raise DateProblem(f"{value!r} is not a date")
    original = value.strip()
    s = norm_key(original)
    if m := _ISO.match(s):
        return _make(int(m[1]), int(m[2]), int(m[3]), original), False
    if m := _YMD_SLASH.match(s):
        return _make(int(m[1]), int(m[2]), int(m[3]), original), False
    if m := _NUMERIC.match(s):
        first, second, year = int(m[1]), int(m[2]), _year(m[3])
        day, month = (first, second) if order == "DMY" else (second, first)
        return _make(year, month, day, original), False
    if m := _DAY_MONTH.match(s):
        return _make(int(m[3]), _month(m[2], original), int(m[1]), original), False
    if m := _MONTH_DAY.match(s):
        return _make(int(m[3]), _month(m[1], original), int(m[2]), original), False
    if _SERIAL.match(s):
        return _EXCEL_EPOCH + timedelta(days=int(float(s))), False
    if partial:
        if m := _MONTH_YEAR.match(s):
            return _make(_year(m[2]), _month(m[1], original), 1, original), True
        if m := _NUM_MONTH_YEAR.match(s):
            return _make(int(m[2]), int(m[1]), 1, original), True
        if m := _YEAR_MONTH.match(s):
            return _make(int(m[1]), int(m[2]), 1, original), True
        if m := _YEAR.match(s):
            return date(int(m[1]), 1, 1), True
        if m := _QUARTER.match(s):
            q_text, y_text = (m[1], m[2]) if m[1] else (m[4], m[3])
            return date(int(y_text), 3 * int(q_text) - 2, 1), True
    raise DateProblem(f"{original!r} is not a date (write {DATE_FORMS})")


# --- other datatypes -------------------------------------------------------------------------

_TRUE = frozenset({"yes", "y", "true", "t", "1", "x", "\u2713", "ja", "oui"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})


def parse_bool(value: Cell) -> bool:
    """yes/no in its usual spellings.

    >>> parse_bool("Yes "), parse_bool("N"), parse_bool(False)
    (True, False, False)
    """
    if isinstance(value, bool):
        return value
    key = norm_key(text(value) or "")
    if key in _TRUE or key.startswith("yes ") or key.startswith("yes,"):
        return True
    if key in _FALSE or key.startswith("no ") or key.startswith("no,"):
        return False
    raise ValueError(f"{text(value)!r} is not yes or no")


def parse_int(value: Cell) -> int:
    """A whole number (1, "1", 1.0, "1,000")."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    s = (text(value) or "").replace(",", "").replace(" ", "")
    try:
        return int(s)
    except ValueError:
        try:
            number = Decimal(s)
        except InvalidOperation:
            raise ValueError(f"{text(value)!r} is not a whole number") from None
        if number == number.to_integral_value():
            return int(number)
        raise ValueError(f"{text(value)!r} is not a whole number") from None


def parse_decimal(value: Cell) -> Decimal:
    """A decimal number ("0.25", 0.25, "1,000.5")."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    s = (text(value) or "").replace(",", "").replace(" ", "")
    try:
        return Decimal(s)
    except InvalidOperation:
        raise ValueError(f"{text(value)!r} is not a number") from None


# --- timestamps, plausibility and list cells ----------------------------------------------------

_TIMESTAMP = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                        r"(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
EARLIEST_YEAR = 1950
LATEST_YEARS = 5


def parse_temporal(value: Cell, *, order: str = "DMY", partial: bool = False,
                   zone: tzinfo | None = None) -> tuple[date | datetime, bool]:
    """A cell as a date, or as a UTC datetime when it has a time of day.

    A timestamp with a zone becomes a datetime in UTC; one without a zone needs `zone` (the
    mapping's `timezone:` or --timezone) or is refused; midnight without a zone is a date.

    >>> parse_temporal("2025-03-01T10:30:00+02:00")[0]
    datetime.datetime(2025, 3, 1, 8, 30, tzinfo=datetime.timezone.utc)
    >>> parse_temporal("2025-03-01 00:00:00")[0]
    datetime.date(2025, 3, 1)
    >>> parse_temporal("2025-03-01 10:30")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mapper.ingest.values.DateProblem: '2025-03-01 10:30' has a time but no time zone; ...
    """
    stamp: datetime | None = None
    original = text(value) or ""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str) and (m := _TIMESTAMP.match(value.strip())):
        try:
            stamp = datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            stamp = None
        if stamp is None or (m[1] is None and stamp.time() == datetime.min.time()):
            return parse_date(value, order=order, partial=partial)
    if stamp is None:
        return parse_date(value, order=order, partial=partial)
    if stamp.tzinfo is None:
        if stamp.time() == datetime.min.time() or stamp.year < EARLIEST_YEAR:
            return stamp.date(), False  # a day, or an implausible one the caller reports
        if zone is None:
            raise DateProblem(
                f"{original!r} has a time but no time zone; name the zone with --timezone "
                "(e.g. --timezone America/New_York) or `timezone:` in the mapping")
        stamp = stamp.replace(tzinfo=zone)
    return stamp.astimezone(UTC), False


def implausible(day: date, as_of: date) -> str | None:
    """Why a date cannot be meant (an Excel time-only cell, before 1950, far in the future).

    >>> implausible(date(1899, 12, 31), date(2025, 1, 1))
    'is a time of day, not a date (an Excel time-only cell)'
    >>> as_of = date(2025, 1, 1)
    >>> implausible(date(1905, 4, 1), as_of), implausible(date(2024, 4, 1), as_of)
    ('is before 1950, not a plausible date', None)
    """
    if date(1899, 12, 30) <= day <= date(1900, 1, 1):
        return "is a time of day, not a date (an Excel time-only cell)"
    if day.year < EARLIEST_YEAR:
        return f"is before {EARLIEST_YEAR}, not a plausible date"
    try:
        latest = as_of.replace(year=as_of.year + LATEST_YEARS)
    except ValueError:  # 29 February
        latest = as_of.replace(year=as_of.year + LATEST_YEARS, day=28)
    if day > latest:
        return f"is more than {LATEST_YEARS} years after {as_of.isoformat()}, not plausible"
    return None


def list_cell(value: str) -> list[str] | None:
    """The items of a cell written as a JSON array of texts, else None.

    >>> list_cell('["navya", "keolis-north-america"]'), list_cell("[blank]"), list_cell("[]")
    (['navya', 'keolis-north-america'], None, [])
    """
    v = value.strip()
    if not (v.startswith("[") and v.endswith("]")):
        return None
    try:
        items = json.loads(v)
    except ValueError:
        return None
    if not isinstance(items, list) or any(isinstance(i, dict | list) for i in items):
        return None
    return [t for t in (text(i) for i in items) if t is not None]


# --- cells of several values: the one escaping that export joins with and ingest splits by ---

ESCAPE = "\\"
"""Starts an escape in a cell of several values (`split:`); a backslash that starts none of
the escapes below is kept as typed."""
_ESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t", "s": " "}
_UNICODE = re.compile(r"u([0-9a-fA-F]{4})")


def _escape_at(value: str, at: int, sep: str) -> tuple[str, int] | None:
    """The character an escape starting at `value[at]` (a backslash) stands for, and where
    the escape ends; None when no escape starts there."""
    nxt = at + 1
    if value.startswith(sep, nxt):
        return sep, nxt + len(sep)
    if nxt < len(value) and value[nxt] in _ESCAPES:
        return _ESCAPES[value[nxt]], nxt + 1
    match = _UNICODE.match(value, nxt)
    if match:
        return chr(int(match[1], 16)), match.end()
    return None


def escape_piece(value: str, sep: str, nulls: frozenset[str] = NULL_TEXTS) -> str:
    r"""One value written for a cell of several values separated by `sep`, so that
    `split_cell` gives exactly it back: the backslash, the separator, line breaks and tabs are
    escaped; so are a space at either end (`\s`, a cell's pieces are trimmed), a no-break
    space, and the first character of a value that would read as a placeholder ("none", "-")
    or start a JSON list ("[") (`\uXXXX`).

    >>> print(escape_piece("a;b\\c\nd ", ";"), escape_piece("none", ";"), escape_piece("=1", ";"))
    a\;b\\c\nd\s \u006eone =1
    """
    out = []
    for i, char in enumerate(value):
        if char == ESCAPE:
            out.append(ESCAPE + ESCAPE)
        elif value.startswith(sep, i) and sep:
            out.append(ESCAPE + char)  # the separator's first character escaped
        elif char == "\n":
            out.append(ESCAPE + "n")
        elif char == "\r":
            out.append(ESCAPE + "r")
        elif char == "\t":
            out.append(ESCAPE + "t")
        elif char == " ":
            out.append(ESCAPE + "s" if i in (0, len(value) - 1) else char)
        elif char.isspace() or (i == 0 and (char == "[" or is_null(value, nulls))):
            out.append(f"{ESCAPE}u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def join_cell(values: list[str], sep: str, nulls: frozenset[str] = NULL_TEXTS) -> str:
    """Several values as one cell: each escaped (`escape_piece`), joined by `sep` and a space.

    >>> join_cell(["a; b", "c"], ";"), split_cell(join_cell(["a; b", "c"], ";"), ";")
    ('a\\\\; b; c', ['a; b', 'c'])
    """
    return (sep + " ").join(escape_piece(v, sep, nulls) for v in values)


def unescape(value: str, sep: str) -> str:
    r"""A piece of a multi-value cell with its escapes replaced (see `escape_piece`).

    >>> unescape(r"a\;b\\c\nd\s", ";"), unescape(r"C:\Users", ";")
    ('a;b\\c\nd ', 'C:\\Users')
    """
    if ESCAPE not in value:
        return value
    out, at = [], 0
    while at < len(value):
        found = _escape_at(value, at, sep) if value[at] == ESCAPE else None
        if found is None:
            out.append(value[at])
            at += 1
        else:
            out.append(found[0])
            at = found[1]
    return "".join(out)


def split_cell(value: str, sep: str, nulls: frozenset[str] = NULL_TEXTS) -> list[str]:
    r"""The values of a cell of several values: split at each `sep` that is not escaped, each
    piece trimmed, placeholders dropped, then unescaped (the inverse of `join_cell`).

    >>> split_cell("a; n/a ;b\\; c", ";"), split_cell(r"\u006eone; \sx\s", ";")
    (['a', 'b; c'], ['none', ' x '])
    """
    if ESCAPE not in value:
        return [p for p in (s.strip() for s in value.split(sep)) if not is_null(p, nulls)]
    raw, start, at = [], 0, 0
    while at < len(value):
        if value.startswith(sep, at):
            raw.append(value[start:at])
            at += len(sep)
            start = at
        elif value[at] == ESCAPE:
            found = _escape_at(value, at, sep)
            at = found[1] if found is not None else at + 1
        else:
            at += 1
    raw.append(value[start:])
    return [unescape(p, sep) for p in (s.strip() for s in raw) if not is_null(p, nulls)]


_ENTITY = re.compile(r"[\W_]+")


def entity_key(value: str) -> str:
    """The key of a named entity (a supplier): case, spacing and punctuation do not matter.

    >>> entity_key("Microsoft, Inc.") == entity_key("MICROSOFT  INC") == entity_key("microsoft inc")
    True
    """
    return _ENTITY.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()
