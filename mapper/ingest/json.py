"""JSON reader: an array of records, or an object holding one such array.

A record's nested objects and lists are flattened into columns named by their path: a field
of a nested object is `meta.organisatie`, the values of a field across a list of objects are
one list cell `items[].name` (a JSON-array cell: one value per item), and a list of plain
values is one list cell under its own name.

The nesting is checked before the decoder (which recurses) sees the text; records, cells and
value length are held to the limits like any table.
"""

from __future__ import annotations

import json
from typing import Any

from mapper.errors import InputError
from mapper.ingest.limits import Limits, check_json_depth
from mapper.ingest.readers import Counter, Grid
from mapper.ingest.values import Cell


def parse_json(data: bytes, source: str, *, kind: str = "JSON",
               limits: Limits | None = None) -> Any:
    """Decode JSON text; a bad file is an InputError naming its line and column.

    >>> parse_json(b'{"a": }', "x.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mapper.errors.InputError: x.json, line 1, column 7: invalid JSON (Expecting value)
    """
    check_json_depth(data, source, limits or Limits())
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text; {kind} must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
        ) from None
    except RecursionError:  # only when the depth limit is raised past Python's own
        raise InputError(f"{source}: JSON nested too deep to decode") from None


def _records(doc: Any, source: str) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
            del key
    raise InputError(f"{source}: expected an array of records or an object holding one")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flatten(value: Any, path: str, out: dict[str, Any], source: str, number: int) -> None:
    """The columns of one field: `path` itself, or the paths below it (see the module)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{path}.{key}" if path else str(key), out, source, number)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items: dict[str, list[Any]] = {}
        for item in value:
            flat: dict[str, Any] = {}
            _flatten(item, "", flat, source, number)
            for key, inner in flat.items():
                items.setdefault(key, []).extend(
                    inner if isinstance(inner, _Listed) else [inner])
        for key, values in items.items():
            out[f"{path}[].{key}"] = _Listed(v for v in values if v is not None)
    elif isinstance(value, list):
        if not all(_scalar(v) for v in value):
            raise InputError(f"{source}, record {number}, field {path!r}: a list mixing "
                             "objects and lists with values cannot be read as columns")
        out[path] = "; ".join("" if v is None else str(v) for v in value)
    else:
        out[path] = value


class _Listed(list[Any]):
    """The values of one field across a list of objects (a `name[].field` column)."""


def _cell(value: Any) -> Cell:
    if isinstance(value, _Listed):
        return json.dumps(list(value), ensure_ascii=False) if value else None
    return value  # type: ignore[no-any-return]


def read_json(data: bytes, source: str, limits: Limits | None = None) -> Grid:
    """Records as a grid: row 1 is the union of the keys, record n is row n + 1... numbered n.

    >>> read_json(b'{"items": [{"a": 1}, {"a": 2, "b": "x"}]}', "x.json").head
    [(0, ['a', 'b']), (1, [1, None]), (2, [2, 'x'])]
    """
    limits = limits or Limits()
    if not data.strip():
        raise InputError(f"{source}: the file is empty; nothing to load")
    records = _records(parse_json(data, source, limits=limits), source)
    if not records:
        raise InputError(f"{source}: no records; nothing to load")
    if len(records) > limits.max_rows:
        raise limits.exceeded("max_rows", f"{source}, record {limits.max_rows + 1}",
                              f"more than {limits.max_rows:,} records")
    keys: dict[str, None] = {}
    flat: list[dict[str, Any]] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputError(f"{source}, record {number}: not an object")
        one: dict[str, Any] = {}
        _flatten(record, "", one, source, number)
        keys.update(dict.fromkeys(one))
        flat.append(one)
    header = list(keys)
    counter = Counter(source, limits, unit="record")

    def rows() -> Any:
        yield 0, list(header)
        for number, record in enumerate(flat, start=1):
            cells = [_cell(record.get(k)) for k in header]
            counter.row(number, cells)
            yield number, cells

    return Grid.of(None, rows(), encoding="utf-8")
