"""Export: the graph written back as a workbook, the inverse of a tabular ingest mapping.

`export_workbook(store, out)` writes the store's data as the `aims-workbook` (one sheet per
register, the same headers `aims template` writes), so that `aims ingest` of that file gives
the same graph back. Nothing here is written per register: each sheet is found by inverting
the register's table in the mapping YAML, which stays the one description of the workbook.

How a table is inverted:
- its rows are the nodes typed with a class the table's record node can produce (its class,
  or any class of its `class:` value map);
- a column read by a property becomes the property's values: an enumeration IRI its first
  spelling in the value map, a date its ISO form, a boolean yes/no, a catalogue term its
  notation, a reference the referenced node's ID (or its IRI when minting from the ID would
  not give that node back), several values joined with "; " where the column is split,
  each escaped so that ingest splits them back (`values.join_cell`: `\\;`, `\\n` ...);
- a column with `inverse: true` holds the nodes that link to the record (the records an
  evidence file is for);
- a column read by a node of the row (evidence locations, a review's minutes) follows the
  link, when that row gives the node back as it is (its IRI the minted one, nothing else
  said about it): evidence with its own IRI, hash or author is a row of the Evidence sheet
  instead; a column that keys another node (the scope of an exclusion) follows the link back;
- the IRI column carries the record's IRI whenever minting from its ID would give another one,
  so a graph whose IRIs were written by hand (the demo organisation's Turtle) keeps them.

Columns from a `template:` (generated labels) cannot be inverted and are not needed: ingest
writes them again. What the workbook cannot hold is reported: nodes no sheet holds by class
(`Export.left_out`), properties of a sheet's records that none of its columns writes
(`Export.left_out_properties`, "aims:fileHash on Release approvals": 3), and warnings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.term import Node as Term

from mapper.errors import InputError
from mapper.ingest import values as V
from mapper.ingest.mapping import PREFIXES, Mapping, Node, Prop, Table, load_mapping
from mapper.store import META_GRAPH, Store

__all__ = ["Export", "Sheet", "export_graph", "export_workbook", "read_cells", "write_workbook"]

README_SHEET = "README"


@dataclass
class Sheet:
    """One register as exported: its table, the header labels and the rows of cell texts."""

    table: Table
    header: list[str]
    rows: list[list[str | None]]


@dataclass
class Export:
    """What an export produced."""

    mapping: str
    sheets: list[Sheet]
    warnings: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # class -> nodes no sheet holds
    left_out_properties: dict[str, int] = field(default_factory=dict)  # "p on sheet" -> records
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape `aims export --format json` prints."""
        return {
            "path": self.path, "mapping": self.mapping,
            "sheets": {s.table.title: len(s.rows) for s in self.sheets},
            "rows": sum(len(s.rows) for s in self.sheets),
            "left_out": self.left_out, "left_out_properties": self.left_out_properties,
            "warnings": self.warnings,
        }


def _iri(term: str) -> URIRef:
    return URIRef(term[1:-1])


def _curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def _reads_back(text: str, nulls: frozenset[str]) -> bool:
    """Whether ingest reads a single-valued cell holding `text` as exactly `text`."""
    return (V.text(text) == text and not V.is_null(text, nulls)
            and not (text.startswith("[") and V.list_cell(text) is not None))


_READS_AS: dict[str, set[URIRef | None]] = {
    "string": {None, XSD.string}, "date": {XSD.date, XSD.dateTime}, "integer": {XSD.integer},
    "decimal": {XSD.decimal}, "boolean": {XSD.boolean}, "anyURI": {XSD.anyURI}}
"""Column type -> the datatypes ingest gives its values."""


def _retyped(prop: Prop, value: Term) -> str | None:
    """What a literal loses when a column of this type reads it back (its language tag or
    datatype), or None when it comes back as it is."""
    if not isinstance(value, Literal) or prop.map is not None or prop.ref is not None:
        return None
    if value.language:
        return f"language tag @{value.language}"
    reads_as = _READS_AS.get(prop.type)
    if reads_as is not None and value.datatype not in reads_as:
        return f"datatype {_curie(str(value.datatype))}"
    return None


def _sort_key(term: Term) -> tuple[int, str]:
    return (0 if isinstance(term, Literal) else 1, str(term))


class _Inverse:
    """The mapping read backwards over one graph."""

    def __init__(self, graph: Graph, mapping: Mapping) -> None:
        self.graph = graph
        self.mapping = mapping
        self.warnings: list[str] = []
        self.kind_table: dict[str, Table] = {}
        self.kind_classes: dict[str, set[URIRef]] = defaultdict(set)
        self.table_classes: dict[str, set[URIRef]] = {}
        for table in mapping.tables:
            first = table.nodes[0]
            classes = self._classes(first)
            self.table_classes[table.name] = classes
            self.kind_table.setdefault(first.kind, table)
            self.kind_classes[first.kind] |= classes
        for table in mapping.tables:
            for node in table.nodes:
                for prop in self._all_props(node):
                    if prop.ref and prop.ref_class:
                        self.kind_classes[prop.ref].add(_iri(prop.ref_class))
        self._inverse_maps: dict[str, dict[str, str]] = {}
        # kind -> predicates some column writes on its records from elsewhere: an inverse
        # column naming them, or a node of another table keyed by them (a scope's exclusions)
        self.written_elsewhere: dict[str, set[URIRef]] = defaultdict(set)
        for table in mapping.tables:
            for node in table.nodes:
                for prop in self._all_props(node):
                    if prop.inverse:
                        for kind in ([prop.ref] if prop.ref else list(self.kind_table)):
                            self.written_elsewhere[kind].add(_iri(prop.predicate))
                if node.key is not None:
                    self.written_elsewhere[node.kind] |= {
                        _iri(p.predicate) for p in self._all_props(node) if not p.inverse}
        self.unwritten: Counter[str] = Counter()
        self.retyped: Counter[tuple[str, str, str, str]] = Counter()
        self.covered: set[Term] = set()
        self.claimed: dict[URIRef, str] = {}  # node -> the sheet whose row it is
        self.inlined: set[Term] = set()  # sub-nodes written in their record's row

    # the mapping's pieces --------------------------------------------------------------------

    @staticmethod
    def _classes(node: Node) -> set[URIRef]:
        out = {_iri(c) for c in node.classes}
        if node.class_from is not None and node.class_from.map is not None:
            out |= {_iri(t) for _, t in node.class_from.map.entries if t.startswith("<")}
        return out

    @staticmethod
    def _all_props(node: Node) -> Iterable[Prop]:
        for prop in [*node.props, *([node.class_from] if node.class_from else [])]:
            while prop is not None:
                yield prop
                prop = prop.fallback  # type: ignore[assignment]

    def _inverse(self, prop: Prop) -> dict[str, str]:
        """Value map target (IRI text or plain text) -> the first spelling written for it."""
        assert prop.map is not None
        found = self._inverse_maps.get(prop.map.name)
        if found is None:
            found = {}
            for choice in prop.map.choices:  # the first spelling of each target in the YAML
                target = prop.map.lookup(choice)
                if target is not None:
                    found.setdefault(target.strip("<>"), choice)
            self._inverse_maps[prop.map.name] = found
        return found

    def mint(self, kind: str, ident: str) -> str:
        return self.mapping.base + kind + "/" + V.slug(ident)

    def ident(self, node: Term, kind: str) -> str | None:
        """The ID a workbook row uses for a node of this kind (its key column's value)."""
        table = self.kind_table.get(kind)
        if table is not None:
            key_column = table.keys[0][0][0]
            for prop in table.nodes[0].props:
                if prop.column == key_column and prop.map is None and prop.ref is None:
                    for value in sorted(self.graph.objects(node, _iri(prop.predicate)),
                                        key=_sort_key):
                        if isinstance(value, Literal):
                            return str(value)
            return None
        for value in sorted(self.graph.objects(node, URIRef(PREFIXES["rdfs"] + "label")),
                            key=_sort_key):
            return str(value)
        return None

    def ref_cell(self, node: Term, kind: str) -> str:
        """A reference as a cell: the ID when it mints this very node, else the IRI."""
        if not isinstance(node, URIRef):
            return str(node)
        if kind not in self.kind_table:
            self.covered.add(node)
        ident = self.ident(node, kind)
        if ident is not None and self.mint(kind, ident) == str(node):
            return ident
        return str(node)

    def _text(self, prop: Prop, value: Term) -> str:
        if prop.ref is not None:
            return self.ref_cell(value, prop.ref)
        if prop.map is not None:
            spelled = self._inverse(prop).get(str(value))
            if spelled is not None:
                return spelled
        if isinstance(value, Literal):
            if prop.type == "boolean":
                return "yes" if value.toPython() is True else "no"
            return str(value)
        if prop.type == "iri" and prop.prefix is not None:
            if prop.prefix == "":
                return _curie(str(value))
            namespace = PREFIXES.get(prop.prefix.rstrip(":"), "")
            if namespace and str(value).startswith(namespace):
                return str(value)[len(namespace):]
        return str(value)

    def _fits(self, prop: Prop, value: Term) -> bool:
        if prop.ref is not None:
            classes = self.kind_classes.get(prop.ref, set())
            return isinstance(value, URIRef) and any(
                t in classes for t in self.graph.objects(value, RDF.type))
        if prop.map is not None:
            return str(value) in self._inverse(prop)
        return isinstance(value, Literal) != (prop.type == "iri")

    # a row -----------------------------------------------------------------------------------

    def _inlined(self, table: Table, node: Node, subject: URIRef, x: Term,
                 link: URIRef) -> bool:
        """Whether a sub-node of a row (evidence written as a location in its record's row)
        comes back as it is from that row: its IRI is the one ingest mints for it, nothing
        but this link points at it, and it holds only what the node's properties write.
        Otherwise it is not written in the row but in the sheet of its own class."""
        if not isinstance(x, URIRef) or x in self.claimed:
            return False
        kind = table.nodes[0].kind
        ident = self.ident(subject, kind)
        base = (self.mint(node.kind, ident)
                if ident is not None and self.mint(kind, ident) == str(subject) else str(subject))
        if str(x) != base + (f"/{node.suffix}" if node.suffix else ""):
            return False
        if set(self.graph.subject_predicates(x)) != {(subject, link)}:
            return False
        written = {RDF.type} | {_iri(p.predicate) for p in node.props}
        return all(p in written for p in self.graph.predicates(x))

    def _nodes(self, table: Table, subject: URIRef) -> dict[str, list[Term]]:
        """The node of each of the table's nodes for one record (a row's other nodes)."""
        first = table.nodes[0]
        found: dict[str, list[Term]] = {first.id: [subject]}
        for node in table.nodes[1:]:
            subs: list[Term] = []
            if node.key is None:
                for other in table.nodes:
                    for prop in other.props:
                        if prop.node == node.id and other.id in found:
                            link = _iri(prop.predicate)
                            for x in found[other.id]:
                                subs.extend(y for y in self.graph.objects(x, link)
                                            if self._inlined(table, node, subject, y, link))
            else:
                for prop in node.props:
                    if prop.node is not None and prop.node in found:
                        for y in found[prop.node]:
                            subs.extend(self.graph.subjects(_iri(prop.predicate), y))
                if not subs:
                    key_column = node.key[0][0]
                    for prop in first.props:
                        if prop.column == key_column and prop.ref == node.kind:
                            subs.extend(self.graph.objects(subject, _iri(prop.predicate)))
            found[node.id] = sorted(set(subs), key=_sort_key)
            if node.key is None:
                self.covered.update(subs)
                self.inlined.update(subs)
        return found

    def _assign(self, node: Node, subject: Term) -> dict[int, list[Term]]:
        """Values of the node's column properties, each value given to one property (by the
        kind of node it refers to when several columns share a predicate)."""
        groups: dict[tuple[str, bool], list[Prop]] = defaultdict(list)
        for prop in node.props:
            if prop.column is not None:
                groups[prop.predicate, prop.inverse].append(prop)
        out: dict[int, list[Term]] = defaultdict(list)
        for (predicate, inverse), props in groups.items():
            found = (self.graph.subjects(_iri(predicate), subject) if inverse
                     else self.graph.objects(subject, _iri(predicate)))
            values = sorted(found, key=_sort_key)
            for value in values:
                chosen = next((p for p in props if self._fits(p, value)), props[0])
                out[id(chosen)].append(value)
        return out

    def row(self, table: Table, subject: URIRef) -> list[str | None]:
        nodes = self._nodes(table, subject)
        assigned: dict[int, list[Term]] = {}
        for node in table.nodes:
            for x in nodes.get(node.id, []):
                for key, values in self._assign(node, x).items():
                    assigned.setdefault(key, []).extend(values)
        cells: list[str | None] = []
        for column in table.columns.values():
            if column.name == table.iri_column:
                cells.append(None)  # filled below, once the ID is known
                continue
            cells.append(self._cell(table, column.name, nodes, assigned, subject))
        if table.iri_column is not None:
            position = list(table.columns).index(table.iri_column)
            ident = self.ident(subject, table.nodes[0].kind)
            if ident is None or self.mint(table.nodes[0].kind, ident) != str(subject):
                cells[position] = str(subject)
        return cells

    def _cell(self, table: Table, column: str, nodes: dict[str, list[Term]],
              assigned: dict[int, list[Term]], subject: URIRef) -> str | None:
        for node in table.nodes:
            xs = nodes.get(node.id, [])
            if not xs:
                continue
            if node.class_from is not None and node.class_from.column == column:
                spelled = self._inverse(node.class_from) if node.class_from.map else {}
                for x in xs:
                    for t in sorted(self.graph.objects(x, RDF.type), key=_sort_key):
                        if str(t) in spelled and f"<{t}>" not in node.classes:
                            return spelled[str(t)]
            for prop in node.props:
                if prop.column != column:
                    continue
                values = assigned.get(id(prop), [])
                if not values:
                    continue
                for value in values:
                    lost = _retyped(prop, value)
                    if lost is not None:
                        self.retyped[table.title, _curie(prop.predicate.strip("<>")),
                                     lost, prop.type] += 1
                texts = list(dict.fromkeys(self._text(prop, v) for v in values))
                if prop.split:  # escaped: a value holding the separator comes back whole
                    return V.join_cell(texts, prop.split, self.mapping.nulls)
                if not _reads_back(texts[0], self.mapping.nulls):
                    self.warnings.append(
                        f"{table.title}: the value {texts[0][:40]!r} of "
                        f"{_curie(prop.predicate.strip('<>'))} on {subject} reads back "
                        f"differently from column {table.columns[column].label!r} (spaces at "
                        "its ends, a carriage return, a placeholder or a JSON list)")
                if len(texts) > 1:
                    self.warnings.append(
                        f"{table.title}: {subject} has {len(texts)} values for "
                        f"{_curie(prop.predicate.strip('<>'))} but column "
                        f"{table.columns[column].label!r} takes one; kept {texts[0]!r}")
                return texts[0]
            if node.key is not None and node.key[0][0] == column:
                return self.ref_cell(xs[0], node.kind)
        return None

    # the whole graph -------------------------------------------------------------------------

    def sheets(self) -> list[Sheet]:
        claimed, inlined = self.claimed, self.inlined
        out = []
        for table in self.mapping.tables:
            classes = self.table_classes[table.name]
            subjects = {s for c in classes for s in self.graph.subjects(RDF.type, c)
                        if isinstance(s, URIRef)}
            rows = []
            for subject in sorted(subjects, key=str):
                if subject in inlined:
                    continue  # written in its record's row (a sub-node)
                if subject in claimed:
                    self.warnings.append(f"{subject} fits {claimed[subject]} and {table.title}; "
                                         f"written in {claimed[subject]} only")
                    continue
                claimed[subject] = table.title
                self.covered.add(subject)
                rows.append(self.row(table, subject))
                self._count_unwritten(table, subject)
            rows.sort(key=lambda r: tuple("" if c is None else c for c in r))
            out.append(Sheet(table=table, header=[c.label for c in table.columns.values()],
                             rows=rows))
        return out

    def _count_unwritten(self, table: Table, subject: URIRef) -> None:
        """Count the record's properties that no column of its sheet (nor an inverse or keyed
        column elsewhere) writes: they would not come back from the workbook."""
        first = table.nodes[0]
        written = {RDF.type, *self.written_elsewhere.get(first.kind, ())}
        written |= {_iri(p.predicate) for p in self._all_props(first) if not p.inverse}
        for predicate in set(self.graph.predicates(subject)) - written:
            self.unwritten[f"{_curie(str(predicate))} on {table.title}"] += 1

    def retyped_warnings(self) -> list[str]:
        """One warning per sheet, property and what its values lose in their column."""
        return [f"{sheet}: {n} value(s) of {pred} carry a {lost}, which the column does not "
                f"keep (it reads {kind} values)"
                for (sheet, pred, lost, kind), n in sorted(self.retyped.items())]

    def left_out(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for s, t in self.graph.subject_objects(RDF.type):
            if s not in self.covered and isinstance(t, URIRef):
                counts[_curie(str(t))] += 1
        return dict(sorted(counts.items()))


def export_graph(graph: Graph, mapping: Mapping | str | Path | None = None) -> Export:
    """The registers of a graph as sheets of cell texts (nothing written).

    >>> from rdflib import Graph
    >>> g = Graph().parse(data='''@prefix aims: <https://aims-graph.org/ns#> .
    ... <https://aims-graph.org/id/role/r-1> a aims:Role ; aims:identifier "R-1" ;
    ...     <http://www.w3.org/2000/01/rdf-schema#label> "Approver" ;
    ...     aims:roleKind aims:ApprovalAuthority .''', format="turtle")
    >>> sheet = next(s for s in export_graph(g).sheets if s.table.name == "roles")
    >>> dict(zip(sheet.header, sheet.rows[0]))["Role kinds"], sheet.rows[0][-1] is None
    ('approval authority', True)
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping or "aims-workbook")
    inverse = _Inverse(graph, mapping)
    sheets = inverse.sheets()
    return Export(mapping=mapping.name, sheets=sheets,
                  warnings=inverse.warnings + inverse.retyped_warnings(),
                  left_out=inverse.left_out(),
                  left_out_properties=dict(sorted(inverse.unwritten.items())))


def write_workbook(export: Export, out: Path) -> Path:
    """Write the sheets as an XLSX workbook (a README sheet first); returns the path."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = README_SHEET
    readme.append([f"AIMS Graph workbook ({export.mapping})"])
    readme["A1"].font = Font(bold=True, size=14)
    for line in [
        "Written by `aims export` from a graph; `aims ingest THIS-FILE.xlsx` loads it back.",
        "One sheet per register. IDs are the records' keys; a cell holding a full IRI "
        "(https://...) names that node directly.",
        "The IRI column keeps a record's own IRI where it was not minted from its ID.",
        "Several values in one cell are separated by ';'; inside a value, \\; is a ';', "
        "\\n a line break, \\\\ a backslash, \\s a space at its start or end. "
        "Dates: YYYY-MM-DD.",
    ]:
        readme.append([line])
    readme.column_dimensions["A"].width = 100
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for sheet in export.sheets:
        ws = book.create_sheet(sheet.table.title[:31])
        ws.append(sheet.header)
        for i, label in enumerate(sheet.header, start=1):
            cell = ws.cell(row=1, column=i)
            cell.font = bold
            cell.fill = fill
            ws.column_dimensions[get_column_letter(i)].width = max(14, len(label) + 2)
        for r, row in enumerate(sheet.rows, start=2):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                cell.data_type = "s"  # text stays text: a leading "=" is never a formula
        ws.freeze_panes = "A2"
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


def data_graph(store: Store) -> Graph:
    """The organisation's data: every data graph, without the ontology and the ingest
    provenance (which describe the store, not the AIMS)."""
    from mapper import resources
    from mapper.ingest.batches import PROVENANCE_GRAPH

    graph = Graph()
    skip = {resources.ONTOLOGY_GRAPH, PROVENANCE_GRAPH, META_GRAPH}
    for s, p, o, g in store.quads():
        if str(g) not in skip:
            graph.add((s, p, o))
    return graph


def export_workbook(store: Store, out: str | Path, *,
                    mapping: Mapping | str | Path | None = None) -> Export:
    """Write the store's data (all data graphs) as a workbook that `aims ingest` reads back.

    >>> import tempfile, pathlib
    >>> from mapper.store import open_store
    >>> result = export_workbook(open_store("memory"), pathlib.Path(tempfile.mkdtemp()) / "w.xlsx")
    >>> result.as_dict()["rows"], len(result.sheets) > 20
    (0, True)
    """
    path = Path(out)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path}: the workbook is written as .xlsx; name the file *.xlsx")
    result = export_graph(data_graph(store), mapping)
    write_workbook(result, path)
    result.path = str(path)
    return result


def read_cells(path: str | Path) -> dict[str, list[list[str | None]]]:
    """Every sheet of a workbook as rows of cell texts (trailing empty rows dropped), to
    compare two workbooks by content rather than by bytes."""
    import openpyxl

    book = openpyxl.load_workbook(Path(path), read_only=True, data_only=True)
    try:
        out: dict[str, list[list[str | None]]] = {}
        for ws in book.worksheets:
            rows = [[None if v is None else str(v) for v in row]
                    for row in ws.iter_rows(values_only=True)]
            while rows and all(v is None for v in rows[-1]):
                rows.pop()
            out[ws.title] = [r[:max((i + 1 for i, v in enumerate(r) if v is not None),
                                    default=0)] for r in rows]
        return out
    finally:
        book.close()
