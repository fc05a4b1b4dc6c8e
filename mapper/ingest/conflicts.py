"""Identity across batches: records that land on nodes other batches already describe.

A batch's record that another (current) batch already describes is *merged*; when the two give
different values for a single-valued property (a label, stage, status, owner, purpose, agency or
a date) that is a *conflict*, reported with both sources and rows and handled as the caller asks:
`fail` (nothing written), `warn` (both values kept, each conflict reported) or `replace` (the
new value replaces the other batch's).

Rows: each batch records in the provenance graph the row every record came from
(`<batch-graph/row/N> dcterms:subject <record>`), so a later conflict can name the earlier row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mapper.store import Store

PROVENANCE_GRAPH = "urn:aims:graph:provenance"
BATCH_PREFIX = "urn:aims:batch:"
DCT_SUBJECT = "http://purl.org/dc/terms/subject"
DCT_SOURCE = "http://purl.org/dc/terms/source"
_AIMS = "https://aims-graph.org/ns#"
SINGLE_VALUED = frozenset(
    ["http://www.w3.org/2000/01/rdf-schema#label"]
    + [_AIMS + p for p in ("lifecycleStage", "status", "owner", "purpose", "agency",
                           "riskLevel", "businessOwner")]
)
"""Predicates a record has one value of; any aims:...Date predicate is single-valued too."""
MODES = ("fail", "warn", "replace")
_CHUNK = 400
_LINE = re.compile(r'^(<[^>]*>) <([^>]*)> (.*) \.$')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\r": "\r", "\\t": "\t"}


def single_valued(predicate: str) -> bool:
    """True for a predicate whose second value would be a contradiction.

    >>> single_valued("https://aims-graph.org/ns#deploymentDate"), single_valued(_AIMS + "supplier")
    (True, False)
    """
    return predicate in SINGLE_VALUED or (predicate.startswith(_AIMS)
                                          and predicate.endswith("Date"))


def lexical(term: str) -> str:
    """The text of an N-Triples term: an IRI without brackets, a literal's lexical form."""
    if term.startswith("<"):
        return term[1:-1]
    if term.startswith('"'):
        body = term[1:term.rindex('"')]
        return re.sub(r'\\[\\"nrt]', lambda m: _UNESCAPE[m[0]], body)
    return term


@dataclass
class Conflict:
    """One property of one record with two values from two batches."""

    subject: str
    predicate: str
    value: str
    source: str
    row: int | None
    other_value: str
    other_source: str
    other_row: int | None
    other_graph: str

    def line(self) -> str:
        here = f"{self.source}" + (f" row {self.row}" if self.row else "")
        there = f"{self.other_source}" + (f" row {self.other_row}" if self.other_row else "")
        prop = self.predicate.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        return (f"conflict on {self.subject} {prop}: {self.value!r} ({here}) vs "
                f"{self.other_value!r} ({there})")

    def as_dict(self) -> dict[str, object]:
        return {"subject": self.subject, "property": self.predicate, "value": self.value,
                "source": self.source, "row": self.row, "other_value": self.other_value,
                "other_source": self.other_source, "other_row": self.other_row}


@dataclass
class Overlap:
    merged: int
    conflicts: list[Conflict]
    owners: list[dict[str, object]] = field(default_factory=list)
    """The other batches that describe this batch's records: source, batch graph, how many
    records (most first)."""


def _read(triples: Path) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
    subjects: set[str] = set()
    values: dict[tuple[str, str], set[str]] = {}
    with triples.open("r", encoding="utf-8") as f:
        for line in f:
            m = _LINE.match(line.rstrip("\n"))
            if m is None:
                continue
            s, p, o = m.groups()
            subjects.add(s)
            if single_valued(p):
                values.setdefault((s, p), set()).add(lexical(o))
    return subjects, values


def _other_graphs(store: Store, exclude: Iterable[str]) -> list[str]:
    """The batch graphs but the excluded ones, from the store's list of graphs (a query for
    the graphs that hold a triple read every quad: 19 ms a write at 1,000 systems)."""
    skip = set(exclude)
    return [g for g in store.graphs() if g.startswith(BATCH_PREFIX) and g not in skip]


def find(store: Store, triples: Path, *, source: str, rows: dict[str, int],
         exclude: Iterable[str]) -> Overlap:
    """The records of a spooled batch that other batches describe, and their conflicts."""
    graphs = _other_graphs(store, exclude)
    if not graphs:
        return Overlap(0, [])
    subjects, values = _read(triples)
    graph_list = " ".join(f"<{g}>" for g in graphs)
    merged: set[str] = set()
    by_graph: dict[str, set[str]] = {}
    found: list[tuple[str, str, str, str]] = []
    ordered = sorted(subjects)
    for i in range(0, len(ordered), _CHUNK):
        chunk = " ".join(s for s in ordered[i:i + _CHUNK] if s.startswith("<"))
        if not chunk:
            continue
        result = store.select_text(
            f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {chunk} }} GRAPH ?g {{ ?s ?p ?o }} "
            f"FILTER(?g IN ({', '.join(graph_list.split())})) }}")
        for s, p, o, g in result:
            assert s is not None and p is not None and g is not None
            merged.add(s)
            by_graph.setdefault(g, set()).add(f"<{s}>")
            if single_valued(p):
                found.append((f"<{s}>", p, o or "", g))
    conflicts: list[Conflict] = []
    for s, p, o, g in found:
        if rows and s not in rows:  # shared nodes (a supplier) may be spelt differently
            continue
        mine = values.get((s, p))
        if mine and o not in mine:
            conflicts.append(Conflict(
                subject=s[1:-1], predicate=p, value=sorted(mine)[0], source=source,
                row=rows.get(s), other_value=o, other_source=g, other_row=None,
                other_graph=g))
    if conflicts:
        _name_others(store, conflicts)
    records = {s for s in rows} if rows else subjects
    owned = {g: len(found_here & records) for g, found_here in by_graph.items()}
    names = _sources(store, [g for g, n in owned.items() if n]) if any(owned.values()) else {}
    owners: list[dict[str, object]] = [
        {"source": names.get(g, g), "graph": g, "records": n}
        for g, n in sorted(owned.items(), key=lambda item: (-item[1], item[0])) if n]
    return Overlap(len({f"<{s}>" for s in merged} & records), conflicts, owners)


def _sources(store: Store, graphs: list[str]) -> dict[str, str]:
    """Batch graph -> the source name its provenance records."""
    values = " ".join(f"<{g}>" for g in sorted(graphs))
    names: dict[str, str] = {}
    for g, src in store.select_text(
            f"SELECT ?g ?src WHERE {{ VALUES ?g {{ {values} }} GRAPH <{PROVENANCE_GRAPH}> "
            f"{{ ?g <{DCT_SOURCE}> ?src }} }}"):
        if g is not None and src is not None:
            names[g] = src
    return names


def _name_others(store: Store, conflicts: list[Conflict]) -> None:
    """Fill in the other batch's source name and row from the provenance graph."""
    names = _sources(store, sorted({c.other_graph for c in conflicts}))
    subjects = " ".join(sorted({f"<{c.subject}>" for c in conflicts}))
    row_of: dict[tuple[str, str], int] = {}
    for node, s in store.select_text(
            f"SELECT ?n ?s WHERE {{ VALUES ?s {{ {subjects} }} GRAPH <{PROVENANCE_GRAPH}> "
            f"{{ ?n <{DCT_SUBJECT}> ?s }} }}"):
        if node is None or s is None or "/row/" not in node:
            continue
        graph, _, number = node.rpartition("/row/")
        if number.isdigit():
            row_of[(graph, s)] = int(number)
    for c in conflicts:
        c.other_source = names.get(c.other_graph) or c.other_graph
        c.other_row = row_of.get((c.other_graph, c.subject))


def row_lines(graph: str, rows: dict[str, int]) -> list[str]:
    """N-Quads lines (provenance graph) recording the row each record of a batch came from."""
    return [f"<{graph}/row/{n}> <{DCT_SUBJECT}> {iri} <{PROVENANCE_GRAPH}> .\n"
            for iri, n in rows.items()]


def replace_update(conflicts: list[Conflict]) -> str | None:
    """A SPARQL update removing the other batches' values that conflicts replace."""
    if not conflicts:
        return None
    parts = []
    for s, p, g in sorted({(c.subject, c.predicate, c.other_graph) for c in conflicts}):
        parts.append(f"DELETE WHERE {{ GRAPH <{g}> {{ <{s}> <{p}> ?o }} }}")
    return " ;\n".join(parts)
