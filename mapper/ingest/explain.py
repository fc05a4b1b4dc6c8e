"""`aims ingest --explain`: what a mapping would do with a file, writing nothing.

For each tabular file: the mapping and table chosen, which column feeds which properties (with
a few sample values), the columns left out, the declared columns no header matches, and the
values a value map does not know (by value, with counts). Then the dry run's own result (rows,
records, rejected, warnings) from `prepare`, which reads and maps without touching a store.
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from mapper.errors import MapperError
from mapper.ingest import RDF_SUFFIXES, expand_paths, prepare
from mapper.ingest.limits import Limits
from mapper.ingest.mapping import Prop, Table, fit, load_mapping
from mapper.ingest.readers import HEAD_ROWS, Grid
from mapper.ingest.values import is_null, split_cell, text

SAMPLES = 3
SCANNED = 20_000
"""Rows looked at for samples and unknown values (the dry run itself reads every row)."""


def _feeds(table: Table) -> dict[str, list[str]]:
    """Column -> what it feeds ("node.predicate"), from the mapping's nodes."""
    out: dict[str, list[str]] = {}

    def add(column: str | None, what: str) -> None:
        if column:
            out.setdefault(column, []).append(what)

    def visit(prop: Prop, node: str) -> None:
        pred = _short(prop.predicate)
        # inverse: the cell's nodes link to the row's node
        add(prop.column, f"(the cell's nodes) {pred} {node}" if prop.inverse else f"{node} {pred}")
        if prop.template:
            for part in prop.template.split("{")[1:]:
                add(part.split("}", 1)[0], f"{node} {pred} (template)")
        if prop.fallback is not None:
            visit(prop.fallback, node)

    for node in table.nodes:
        for prop in node.props:
            visit(prop, node.id)
        if node.class_from is not None:
            add(node.class_from.column, f"{node.id} class")
        for cond in node.when:
            add(cond.column, f"{node.id} (condition)")
        for column, _ in node.key or []:
            add(column, f"{node.id} key")
    for alt in table.keys:
        for column, _ in alt:
            add(column, "record key")
    return out


def _short(predicate: str) -> str:
    iri = predicate.strip("<>")
    for prefix, ns in (("aims:", "https://aims-graph.org/ns#"),
                       ("rdfs:", "http://www.w3.org/2000/01/rdf-schema#"),
                       ("rdf:", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")):
        if iri.startswith(ns):
            return prefix + iri[len(ns):]
    return iri


def _grids(path: Path, limits: Limits, stack: ExitStack) -> list[Grid]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        from mapper.ingest.csv import open_csv

        return [stack.enter_context(open_csv(path, path.name, limits))]
    if suffix == ".xlsx":
        from mapper.ingest.xlsx import open_xlsx

        return list(stack.enter_context(open_xlsx(path, path.name, limits)))
    from mapper.ingest.json import read_json

    return [read_json(path.read_bytes(), path.name, limits)]


def _explain_grid(grid: Grid, table: Table, mapping_nulls: frozenset[str]) -> dict[str, Any]:
    best = max(((fit(table, cells), pos) for pos, (_, cells) in enumerate(grid.head[:HEAD_ROWS])),
               key=lambda f: f[0].score)
    hfit, pos = best
    header = grid.head[pos][1]
    feeds = _feeds(table)
    samples: dict[str, list[str]] = {c: [] for c in hfit.index}
    unknown: dict[str, Counter[str]] = {}
    mapped = {p.column: p for n in table.nodes for p in n.props if p.column and p.map}
    for i, (_, cells) in enumerate(grid.after(pos)):
        if i >= SCANNED:
            break
        for column, at in hfit.index.items():
            value = text(cells[at]) if at < len(cells) else None
            if is_null(value, mapping_nulls):
                continue
            assert value is not None
            if len(samples[column]) < SAMPLES and value not in samples[column]:
                samples[column].append(value[:80])
            prop = mapped.get(column)
            if prop is not None and prop.map is not None and prop.map.lookup(value) is None:
                pieces = split_cell(value, prop.split) if prop.split else [value]
                for piece in pieces:
                    if piece.strip() and prop.map.lookup(piece) is None:
                        unknown.setdefault(column, Counter())[piece.strip()[:80]] += 1
    columns = []
    for name, at in sorted(hfit.index.items(), key=lambda kv: kv[1]):
        columns.append({"column": name, "header": " ".join(str(header[at]).split()),
                        "position": at + 1, "feeds": feeds.get(name, []),
                        "samples": samples.get(name, [])})
    declared_missing = [table.columns[c].label for c in table.columns if c not in hfit.index]
    return {
        "sheet": grid.sheet, "table": table.name, "header_row": grid.head[pos][0],
        "columns": columns,
        "left_out": [" ".join(u.split()) for u in hfit.unused if u],
        "not_found": declared_missing,
        "unknown_values": {c: dict(n.most_common(20)) for c, n in unknown.items()},
    }


def explain(paths: list[str | Path] | str | Path, *, mapping: str | Path | None = None,
            sheet: str | None = None, scope: str | None = None,
            timezone: str | None = None) -> list[dict[str, Any]]:
    """A dry run of ingest over the files: what each column feeds and what the run would load.

    Nothing is written anywhere but a temporary folder, removed before this returns.
    """
    limits = Limits.from_env()
    files = expand_paths([paths] if isinstance(paths, str | Path) else paths)
    out: list[dict[str, Any]] = []
    for path in files:
        entry: dict[str, Any] = {"source": path.name}
        try:
            with prepare(path, mapping=mapping, sheet=sheet, skip_invalid=True, scope=scope,
                         timezone=timezone, limits=limits) as prep:
                res = prep.prepared[0].result
        except MapperError as exc:  # the dry run's own refusal is part of the explanation
            entry["error"] = str(exc)
            out.append(entry)
            continue
        entry.update({"mapping": res.mapping, "format": res.format, "encoding": res.encoding,
                      "rows_read": res.rows_read, "records": res.records,
                      "triples": res.triples, "rejected": res.rejected,
                      "warnings": res.warnings, "tables": []})
        if path.suffix.lower() in RDF_SUFFIXES or res.mapping is None:
            entry["note"] = "RDF input is loaded as it is; no mapping applies"
            out.append(entry)
            continue
        loaded = load_mapping(res.mapping if mapping is None else mapping)
        with ExitStack() as stack:
            for grid in _grids(path, limits, stack):
                if not grid.head or (sheet is not None and grid.sheet != sheet):
                    continue
                table = max(loaded.tables, key=lambda t: max(
                    (fit(t, c).score for _, c in grid.head[:HEAD_ROWS]), default=0))
                entry["tables"].append(_explain_grid(grid, table, loaded.nulls))
        out.append(entry)
    return out


def render(entries: list[dict[str, Any]]) -> str:
    """The text form of an explanation."""
    lines: list[str] = []
    for e in entries:
        if "error" in e:
            lines.append(f"{e['source']}: would be refused: {e['error']}")
            continue
        lines.append(f"{e['source']}: mapping {e.get('mapping')}, {e['rows_read']} rows -> "
                     f"{e['records']} records, {e['triples']} triples, "
                     f"{len(e['rejected'])} rejected (dry run; nothing written)")
        for t in e.get("tables", []):
            where = f" [sheet {t['sheet']}]" if t["sheet"] else ""
            lines.append(f"  table {t['table']}{where}, header row {t['header_row']}:")
            for c in t["columns"]:
                feeds = ", ".join(c["feeds"]) or "(read, feeds nothing)"
                shown = "; ".join(c["samples"])
                lines.append(f"    {c['position']:>3} {c['header'][:50]!r} = {c['column']} -> "
                             f"{feeds}" + (f"   e.g. {shown}" if shown else ""))
            if t["left_out"]:
                lines.append("    left out (no mapping column): "
                             + "; ".join(h[:60] for h in t["left_out"]))
            if t["not_found"]:
                missing = t["not_found"]
                lines.append(f"    {len(missing)} declared column(s) no header matches: "
                             + "; ".join(m[:40] for m in missing[:8])
                             + ("; ..." if len(missing) > 8 else ""))
            for column, values in t["unknown_values"].items():
                shown = ", ".join(f"{v!r} x{n}" for v, n in values.items())
                lines.append(f"    unknown values of {column}: {shown}")
        for w in e["warnings"]:
            lines.append(f"  warning: {w}")
    return "\n".join(lines)
