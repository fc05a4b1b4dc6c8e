"""JSON reader: an array of flat records, or an object holding one such array."""

from __future__ import annotations

import json
from typing import Any

from mapper.errors import InputError
from mapper.ingest.readers import Grid
from mapper.ingest.values import Cell


def parse_json(data: bytes, source: str, *, kind: str = "JSON") -> Any:
    """Decode JSON text; a bad file is an InputError naming its line and column.

    >>> parse_json(b'{"a": }', "x.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mapper.errors.InputError: x.json, line 1, column 7: invalid JSON (Expecting value)
    """
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text; {kind} must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
        ) from None


def _records(doc: Any, source: str) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
            del key
    raise InputError(f"{source}: expected an array of records or an object holding one")


def _cell(value: Any, source: str, number: int, key: str) -> Cell:
    if value is None or isinstance(value, str | int | float | bool):
        return value  # type: ignore[no-any-return]
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "; ".join("" if v is None else str(v) for v in value)
    raise InputError(f"{source}, record {number}, field {key!r}: nested objects are not "
                     "supported; flatten the record")


def read_json(data: bytes, source: str) -> Grid:
    """Records as a grid: row 1 is the union of the keys, record n is row n + 1... numbered n.

    >>> read_json(b'{"items": [{"a": 1}, {"a": 2, "b": "x"}]}', "x.json").rows
    [(0, ['a', 'b']), (1, [1, None]), (2, [2, 'x'])]
    """
    if not data.strip():
        raise InputError(f"{source}: the file is empty; nothing to load")
    records = _records(parse_json(data, source), source)
    if not records:
        raise InputError(f"{source}: no records; nothing to load")
    keys: dict[str, None] = {}
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputError(f"{source}, record {number}: not an object")
        keys.update(dict.fromkeys(record))
    header = list(keys)
    rows: list[tuple[int, list[Cell]]] = [(0, list(header))]
    for number, record in enumerate(records, start=1):
        rows.append((number, [_cell(record.get(k), source, number, k) for k in header]))
    return Grid(sheet=None, rows=rows, encoding="utf-8")
