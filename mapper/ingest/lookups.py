"""Lookups: a cell that names an existing node by one of its values (an incident naming an
inventoried system by its identifier) links to that node's IRI.

Mapping side (`lookup: {by: aims:identifier, class: aims:AISystem}` on a property): while rows
are mapped, which needs no store, each looked-up value becomes a placeholder IRI
(`urn:aims:lookup:N`) and is remembered with its first rows (`Wanted`). `resolve` runs in the
store when the files are committed, before anything is written: one query per (predicate,
class) finds the nodes, and the batch's N-Triples are rewritten with their IRIs. A value that
names no node, or several, rejects the file (nothing is written) unless the property says
`missing: warn`, which leaves the link out and names the value in a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mapper.ingest import values as V
from mapper.store import Store

PLACEHOLDER = "urn:aims:lookup:"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
SHOWN = 8


@dataclass
class Wanted:
    """One looked-up value: how to find it, where it was asked for."""

    number: int
    by: str  # predicate IRI
    cls: str | None  # class IRI (subclasses count), or None for any node
    value: str
    column: str
    missing: str  # error | warn
    rows: list[int] = field(default_factory=list)
    count: int = 0

    @property
    def term(self) -> str:
        return f"<{PLACEHOLDER}{self.number}>"

    def what(self) -> str:
        kind = _short(self.cls) if self.cls else "node"
        return f"{kind} with {_short(self.by)} {self.value!r}"


class Wants:
    """The values one file looks up, by (predicate, class, value)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str | None, str], Wanted] = {}

    def ask(self, by: str, cls: str | None, value: str, column: str, missing: str,
            row: int) -> str:
        """The placeholder term for a looked-up value (one per distinct value)."""
        key = (by, cls, value.strip())
        wanted = self.items.get(key)
        if wanted is None:
            wanted = Wanted(len(self.items), by, cls, value.strip(), column, missing)
            self.items[key] = wanted
        wanted.count += 1
        if len(wanted.rows) < SHOWN:
            wanted.rows.append(row)
        return wanted.term


def _short(iri: str) -> str:
    for prefix, ns in (("aims:", "https://aims-graph.org/ns#"),
                       ("rdfs:", "http://www.w3.org/2000/01/rdf-schema#")):
        if iri.startswith(ns):
            return prefix + iri[len(ns):]
    return f"<{iri}>"


def _subclasses(cls: str) -> set[str]:
    from rdflib import RDFS, URIRef

    from mapper.resources import ontology

    onto = ontology()
    out = {cls}
    todo = [URIRef(cls)]
    while todo:
        for sub in onto.subjects(RDFS.subClassOf, todo.pop()):
            if str(sub) not in out:
                out.add(str(sub))
                todo.append(URIRef(str(sub)))
    return out


def _index(store: Store, by: str, cls: str | None) -> dict[str, set[str]]:
    """value (exact, and in norm_key form) -> the nodes that have it."""
    if cls is None:
        sparql = f"SELECT DISTINCT ?s ?v WHERE {{ ?s <{by}> ?v }}"
    else:
        classes = " ".join(f"<{c}>" for c in sorted(_subclasses(cls)))
        sparql = (f"SELECT DISTINCT ?s ?v WHERE {{ ?s <{by}> ?v ; a ?t . "
                  f"VALUES ?t {{ {classes} }} }}")
    out: dict[str, set[str]] = {}
    for s, v in store.select_text(sparql):
        if s is None or v is None:
            continue
        out.setdefault(v.strip(), set()).add(s)
        out.setdefault("\x00" + V.norm_key(v), set()).add(s)
    return out


@dataclass
class Resolved:
    """What resolving one file's lookups gave."""

    problems: list[str] = field(default_factory=list)  # for missing: error
    warnings: list[str] = field(default_factory=list)
    dropped: int = 0


def resolve(store: Store, wants: Wants, triples: Path, source: str) -> Resolved:
    """Find the nodes in the store; rewrite `triples` with their IRIs (see the module)."""
    out = Resolved()
    if not wants.items:
        return out
    indexes: dict[tuple[str, str | None], dict[str, set[str]]] = {}
    found: dict[str, str] = {}
    left_out: list[Wanted] = []
    for wanted in wants.items.values():
        index = indexes.get((wanted.by, wanted.cls))
        if index is None:
            index = indexes[(wanted.by, wanted.cls)] = _index(store, wanted.by, wanted.cls)
        nodes = index.get(wanted.value) or index.get("\x00" + V.norm_key(wanted.value), set())
        if len(nodes) == 1:
            found[wanted.term] = f"<{next(iter(nodes))}>"
            continue
        rows = ", ".join(str(r) for r in wanted.rows) + (", ..." if wanted.count > SHOWN else "")
        why = ("no " + wanted.what() + " in the store" if not nodes else
               f"{len(nodes)} nodes match: {wanted.what()} ({', '.join(sorted(nodes)[:3])})")
        if wanted.missing == "warn":
            left_out.append(wanted)
            continue
        out.problems.append(f"{source}, row(s) {rows}, column {wanted.column}: value "
                            f"{wanted.value!r}: {why}; ingest the register that defines it "
                            "first, correct the value, or set `missing: warn` on the lookup")
    if left_out:
        shown = ", ".join(f"{w.value!r} ({w.count})" for w in left_out[:SHOWN])
        out.warnings.append(
            f"{left_out[0].column}: {sum(w.count for w in left_out)} value(s) name no single "
            f"{left_out[0].what().split(' with ')[0]} in the store, link left out: {shown}"
            + (f" and {len(left_out) - SHOWN} more" if len(left_out) > SHOWN else ""))
    if out.problems:
        return out
    out.dropped = _rewrite(triples, found)
    return out


def _rewrite(path: Path, found: dict[str, str]) -> int:
    """Replace placeholders in an N-Triples file; drop lines whose placeholder stays."""
    tmp = path.with_suffix(".resolved")
    dropped = 0
    seen: set[str] = set()
    with path.open("r", encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
        for line in src:
            if PLACEHOLDER not in line:
                dst.write(line)
                continue
            s, p, rest = line.split(" ", 2)
            term = rest[:-3] if rest.endswith(" .\n") else rest.rstrip(" .\n")
            resolved = f"{s} {p} {found[term]} .\n" if term in found else None
            if resolved is None or resolved in seen:  # two spellings of one node: one triple
                dropped += 1
                continue
            seen.add(resolved)
            dst.write(resolved)
    tmp.replace(path)
    return dropped


