"""Declarative mappings: YAML files that turn rows of a table into triples.

A mapping names its tables (one per register), each table its columns (with the header
spellings that identify them), the key that mints the record's IRI, and the nodes every row
gives: class, condition and properties (from a column with a datatype or a value map, a
constant, a link to another node of the same row, or a reference minted from a key). The
format is documented in mapper/ingest/mappings/README.md; no Python is written per format.
Two additions used by the workbook round trip (mapper/export.py): a top-level `iri_column:
{label: IRI}` gives every table an optional column with the record's own IRI (a row then needs
its ID or its IRI), and any key or reference cell written as an IRI (https://..., urn:...)
names that node instead of minting one; a property may say `else: {...}` (another property
spec, e.g. a label template) for rows where its column is empty.

Rows become N-Triples lines directly (no rdflib term per triple), written to a spool on disk
as they come (Spool): memory holds the record keys seen, never the rows, and a duplicated key is
found in the same pass and reported once for its whole group.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from mapper.errors import InputError, NotFound
from mapper.ingest import values as V
from mapper.ingest.conflicts import single_valued
from mapper.ingest.lookups import Wants
from mapper.vocab import AIMS, ISO_TERMS

MAPPINGS_DIR = Path(__file__).with_name("mappings")
DEFAULT_BASE = "https://aims-graph.org/id/"

PREFIXES = {
    "aims": "https://aims-graph.org/ns#",
    "iso": "https://aims-graph.org/iso42001#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
}
XSD = PREFIXES["xsd"]
RDF_TYPE = "<" + PREFIXES["rdf"] + "type>"
RDFS_LABEL = "<" + PREFIXES["rdfs"] + "label>"
SKOS_ALT = "<" + PREFIXES["skos"] + "altLabel>"
TYPES = ("string", "date", "integer", "decimal", "boolean", "anyURI", "iri")
_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
_BAD_IRI = re.compile(r"[<>\"{}|^`\\\x00-\x20]")
_ABSOLUTE = re.compile(r"^(?:https?://|urn:)[^\s]+$", re.IGNORECASE)
IRI_COLUMN = "iri"  # the name of the optional own-IRI column a mapping adds to every table


def absolute_iri(value: str) -> str | None:
    """The value as an IRI when it is written as one (http(s)://... or urn:...), else None.

    A reference or key cell holding an IRI names that node directly instead of minting one
    from an ID, so a workbook can carry IRIs minted elsewhere (e.g. an exported Turtle graph).

    >>> absolute_iri("https://meridian.example/aims/p-oliver-grant"), absolute_iri("E-1017")
    ('https://meridian.example/aims/p-oliver-grant', None)
    """
    value = value.strip()
    if _ABSOLUTE.match(value) and not _BAD_IRI.search(value):
        return value
    return None


def zone_of(name: str) -> tzinfo:
    """A time zone by IANA name (Europe/Paris, America/New_York, UTC).

    >>> zone_of("UTC").key
    'UTC'
    """
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--timezone {name}: not a time zone name; write an IANA name such "
                         "as Europe/Paris, America/New_York or UTC") from None


class MappingError(InputError):
    """A mapping file that cannot be used (bad YAML, unknown term, unknown column)."""


def expand(curie: str, *, where: str) -> str:
    """A CURIE (aims:HighRisk) or <IRI> as a full IRI; aims: and iso: terms must exist.

    >>> expand("aims:HighRisk", where="test")
    'https://aims-graph.org/ns#HighRisk'
    """
    curie = curie.strip()
    if curie.startswith("<") and curie.endswith(">"):
        iri = curie[1:-1]
    elif curie.startswith(("http://", "https://", "urn:")):
        iri = curie
    else:
        prefix, sep, local = curie.partition(":")
        if not sep or prefix not in PREFIXES:
            raise MappingError(
                f"{where}: {curie!r} is not a known term; write prefix:name with one of "
                f"{', '.join(sorted(PREFIXES))}"
            )
        if prefix == "aims":
            try:
                getattr(AIMS, local)
            except AttributeError:
                raise MappingError(f"{where}: aims:{local} is not in the ontology") from None
        if prefix == "iso" and local not in ISO_TERMS:
            raise MappingError(f"{where}: iso:{local} is not in the ISO/IEC 42001 catalogue")
        iri = PREFIXES[prefix] + local
    if _BAD_IRI.search(iri):
        raise MappingError(f"{where}: {curie!r} is not a valid IRI")
    return iri


def literal(lexical: str, datatype: str | None = None) -> str:
    """An N-Triples literal.

    >>> literal('say "hi"\\n'), literal("2025-01-01", "date")
    ('"say \\\\"hi\\\\"\\\\n"', '"2025-01-01"^^<http://www.w3.org/2001/XMLSchema#date>')
    """
    out = '"' + lexical.translate(_ESCAPE) + '"'
    return out if datatype is None or datatype == "string" else f"{out}^^<{XSD}{datatype}>"


# --- the parsed mapping ----------------------------------------------------------------------


@dataclass
class ValueMap:
    """Enumeration values (in `norm_key` form) -> target (IRI or plain text)."""

    name: str
    entries: list[tuple[str, str]]
    match: str = "prefix"  # or "exact"
    choices: list[str] = field(default_factory=list)  # one spelling per target, for templates
    unknown: str = "error"  # or "warn" / "ignore" / "keep" (the value itself)

    def lookup(self, raw: str) -> str | None:
        key = V.norm_key(raw)
        for k, target in self.entries:
            if key == k:
                return target
        if self.match == "prefix":
            for k, target in self.entries:  # longest first, see _value_map
                if key.startswith(k) and not key[len(k)].isalnum():
                    return target
        return None

    def allowed(self) -> str:
        keys = sorted({k for k, _ in self.entries})
        shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
        return f"one of: {shown}"


@dataclass
class Condition:
    column: str
    map: ValueMap | None = None
    within: frozenset[str] | None = None
    not_within: frozenset[str] | None = None
    absent: bool = False


@dataclass
class Prop:
    predicate: str  # "<iri>"
    column: str | None = None
    constant: str | None = None  # an N-Triples term
    template: str | None = None  # text with {column} placeholders
    node: str | None = None
    ref: str | None = None  # kind of the referenced node
    ref_class: str | None = None
    ref_label: bool = False
    type: str = "string"
    map: ValueMap | None = None
    split: str | None = None
    required: bool = False
    invalid: str = "error"  # or "warn"
    partial: bool = False
    prefix: str | None = None  # for type iri: a CURIE prefix such as "iso:"
    fallback: Prop | None = None  # `else:` used when this one gives no value
    lookup_by: str | None = None  # `lookup: {by, class}`: an existing node's IRI (lookups.py)
    lookup_class: str | None = None
    lookup_missing: str = "error"  # or "warn"
    inverse: bool = False  # the cell's node is the subject, the row's node the object


@dataclass
class Node:
    id: str
    kind: str
    key: list[tuple[str, bool]] | None  # None = the table key
    suffix: str | None
    classes: list[str]  # "<iri>"
    class_from: Prop | None
    when: list[Condition]
    props: list[Prop]


@dataclass
class Column:
    name: str
    headers: list[str]  # norm_header forms, the name and the aliases included
    required: bool = False
    occurrence: int = 1  # which of several columns with the same header (duplicates)
    heads: list[str] = field(default_factory=list)  # the headers without a trailing tail
    label: str = ""  # the header a template writes
    allowed: list[str] = field(default_factory=list)  # for a template's validation list
    note: str = ""


@dataclass
class Table:
    name: str
    sheets: list[str]
    columns: dict[str, Column]
    keys: list[list[tuple[str, bool]]]  # alternatives of (column, optional)
    nodes: list[Node]
    duplicates: str = "reject"  # or "merge"
    skip: list[Condition] = field(default_factory=list)
    skip_reason: str = "skipped by the mapping"
    title: str = ""
    iri_column: str | None = None  # a column holding the record's own IRI (optional)
    lookups: tuple[dict[tuple[str, int], str], dict[str, list[str]]] = field(
        init=False, repr=False, compare=False)
    scoped_by: str | None = None
    """The column naming the organisation a key is unique within (e.g. agency): a row
    without it is scoped by the mapping's or the command line's `scope`, or refused when its
    key could collide (see `could_collide`)."""

    def __post_init__(self) -> None:
        self.lookups = _lookups(self)

    def key_text(self) -> str:
        return " or ".join(
            "(" + ", ".join(c + ("?" if opt else "") for c, opt in alt) + ")"
            for alt in self.keys
        )


@dataclass
class Mapping:
    """A loaded mapping: what `ingest` applies to tabular input."""

    name: str
    title: str
    description: str
    base: str
    date_order: str
    nulls: frozenset[str]
    tables: list[Table]
    path: Path
    scope: str | None = None
    """The organisation the file's keys are unique within (mapping `scope:`)."""
    timezone: str | None = None
    """The zone of timestamps written without one (mapping `timezone:`)."""
    strict: bool = False
    """A declared column that matches no header is an error (mapping `strict: true`), not a
    warning."""


# --- loading ---------------------------------------------------------------------------------


def builtin_names() -> list[str]:
    """Names of the mappings shipped in mapper/ingest/mappings/.

    >>> "omb-ai-inventory-2025" in builtin_names()
    True
    """
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml"))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A mapping by built-in name or by path to a YAML file.

    >>> load_mapping("aims-workbook").tables[0].name
    'organisation'
    """
    text_name = str(name_or_path)
    path = Path(text_name)
    if not (text_name.endswith((".yaml", ".yml")) or path.is_file()):
        candidate = MAPPINGS_DIR / f"{text_name}.yaml"
        if not candidate.is_file():
            raise NotFound(
                f"no mapping named {text_name!r}; built in: {', '.join(builtin_names())} "
                "(or give a path to a .yaml file)"
            )
        path = candidate
    if not path.is_file():
        raise NotFound(f"mapping file {path} not found")
    return _load_cached(path.resolve())


@cache
def _load_cached(path: Path) -> Mapping:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (safe)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping is a YAML mapping with name, tables, ...")
    return _Builder(path, data).build()


class _Builder:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self.maps: dict[str, ValueMap] = {}
        self.base = str(data.get("base", DEFAULT_BASE))
        self.nulls = V.NULL_TEXTS | frozenset(V.norm_key(str(n)) for n in data.get("nulls", []))
        self.iri_spec = data.get("iri_column")
        if self.iri_spec is not None and not isinstance(self.iri_spec, dict):
            raise self.fail("'iri_column' is a column spec such as {label: IRI}")

    def where(self, *parts: object) -> str:
        return f"{self.path.name}: " + " > ".join(str(p) for p in parts)

    def fail(self, message: str) -> MappingError:
        return MappingError(f"mapping {self.path.name}: {message}")

    def build(self) -> Mapping:
        name = self.data.get("name")
        if not isinstance(name, str):
            raise self.fail("needs a 'name'")
        order = str(self.data.get("dates", "DMY")).upper()
        if order not in ("DMY", "MDY"):
            raise self.fail("'dates' must be DMY or MDY")
        for map_name, spec in (self.data.get("values") or {}).items():
            self.maps[map_name] = self._value_map(map_name, spec)
        tables_data = self.data.get("tables")
        if not isinstance(tables_data, list) or not tables_data:
            raise self.fail("needs a list of 'tables'")
        tables = [self._table(t) for t in tables_data]
        return Mapping(
            name=name, title=str(self.data.get("title", name)),
            description=str(self.data.get("description", "")), base=self.base,
            date_order=order, nulls=self.nulls, tables=tables, path=self.path,
            scope=str(self.data["scope"]) if self.data.get("scope") else None,
            timezone=self._zone(self.data.get("timezone")),
            strict=bool(self.data.get("strict", False)),
        )

    def _zone(self, name: Any) -> str | None:
        if name is None:
            return None
        try:
            zone_of(str(name))
        except InputError:
            raise self.fail(f"timezone {name!r} is not a time zone name (e.g. Europe/Paris, "
                            "UTC)") from None
        return str(name)

    def _value_map(self, name: str, spec: Any) -> ValueMap:
        if isinstance(spec, dict) and "map" in spec:
            entries_data, match = spec["map"], spec.get("match", "prefix")
            unknown = spec.get("unknown", "error")
        else:
            entries_data, match, unknown = spec, "prefix", "error"
        if not isinstance(entries_data, dict):
            raise self.fail(f"value map {name!r} must map values to terms")
        if match not in ("prefix", "exact") or unknown not in ("error", "warn", "ignore", "keep"):
            raise self.fail(
                f"value map {name!r}: match is prefix|exact, unknown error|warn|ignore|keep")
        entries: list[tuple[str, str]] = []
        first: dict[str, str] = {}
        for raw, target in entries_data.items():
            if isinstance(raw, bool):  # YAML reads a bare yes/no key as a boolean
                raw = "yes" if raw else "no"
            entries.append((V.norm_key(str(raw)), self._target(str(target), name)))
            first.setdefault(str(target), str(raw))
        choices = list(first.values())
        entries.sort(key=lambda e: -len(e[0]))
        return ValueMap(name=name, entries=entries, match=match, unknown=unknown,
                        choices=choices)

    def _target(self, target: str, where: str) -> str:
        prefix = target.split(":", 1)[0]
        if ":" in target and (prefix in PREFIXES or target.startswith("<")):
            return "<" + expand(target, where=self.where("values", where)) + ">"
        return target

    def _map_ref(self, spec: Any, where: str) -> ValueMap | None:
        if spec is None:
            return None
        if isinstance(spec, str):
            if spec not in self.maps:
                raise self.fail(f"{where}: no value map named {spec!r} under 'values'")
            return self.maps[spec]
        return self._value_map(where, spec)

    def _columns(self, tname: str, spec: Any) -> dict[str, Column]:
        if not isinstance(spec, dict) or not spec:
            raise self.fail(f"table {tname!r} needs 'columns'")
        out: dict[str, Column] = {}
        for cname, cspec in spec.items():
            cspec = cspec or {}
            if isinstance(cspec, str):
                cspec = {"headers": [cspec]}
            if not isinstance(cspec, dict):
                raise self.fail(f"table {tname!r} column {cname!r}: give its headers, "
                                "e.g. {headers: [Name], aliases: [Title]}")
            headers = [str(h) for h in cspec.get("headers", [])]
            aliases = [str(h) for h in cspec.get("aliases", [])]
            label = str(cspec.get("label") or (headers[0] if headers else cname))
            normed = list(dict.fromkeys(V.norm_header(h)
                                        for h in [cname, label, *headers, *aliases]))
            occurrence = cspec.get("occurrence", 1)
            if not isinstance(occurrence, int) or isinstance(occurrence, bool) or occurrence < 1:
                raise self.fail(f"table {tname!r} column {cname!r}: occurrence is 1, 2, ... "
                                "(the n-th column with that header)")
            out[cname] = Column(
                name=cname, headers=normed, required=bool(cspec.get("required", False)),
                occurrence=occurrence,
                heads=list(dict.fromkeys(head for h in [label, *headers, *aliases]
                                         for head in V.header_heads(h))),
                label=label, allowed=[str(a) for a in cspec.get("allowed", [])],
                note=str(cspec.get("note", "")),
            )
        return out

    def _key(self, spec: Any, columns: dict[str, Column], where: str) -> list[tuple[str, bool]]:
        if not isinstance(spec, list) or not spec:
            raise self.fail(f"{where}: key must be a list of columns")
        out = []
        for part in spec:
            name = str(part).rstrip("?")
            if name not in columns:
                raise self.fail(f"{where}: key column {name!r} is not under 'columns'")
            out.append((name, str(part).endswith("?")))
        return out

    def _condition(self, spec: Any, columns: dict[str, Column], where: str) -> Condition:
        if not isinstance(spec, dict) or "column" not in spec:
            raise self.fail(f"{where}: a condition needs 'column'")
        col = str(spec["column"])
        if col not in columns:
            raise self.fail(f"{where}: column {col!r} is not under 'columns'")
        vmap = self._map_ref(spec.get("map"), where)

        def norm(items: Any) -> frozenset[str] | None:
            if items is None:
                return None
            return frozenset(self._target(str(i), where) if vmap else V.norm_key(str(i))
                             for i in items)

        return Condition(column=col, map=vmap, within=norm(spec.get("in")),
                         not_within=norm(spec.get("not_in")), absent=bool(spec.get("absent")))

    def _conditions(self, spec: Any, columns: dict[str, Column], where: str) -> list[Condition]:
        if spec is None:
            return []
        items = spec if isinstance(spec, list) else [spec]
        return [self._condition(s, columns, where) for s in items]

    def _prop(self, pred: str, spec: Any, columns: dict[str, Column], where: str) -> Prop:
        predicate = "<" + expand(pred, where=where) + ">"
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict):
            raise self.fail(f"{where}: a property is a column name or a mapping")
        prop = Prop(predicate=predicate)
        kinds = [k for k in ("column", "value", "node", "template") if k in spec]
        if len(kinds) != 1:
            raise self.fail(f"{where}: give exactly one of column, value, node, template")
        if "template" in spec:
            prop.template = str(spec["template"])
            for name in re.findall(r"{(\w+)}", prop.template):
                if name not in columns:
                    raise self.fail(f"{where}: template names unknown column {name!r}")
        if "column" in spec:
            prop.column = str(spec["column"])
            if prop.column not in columns:
                raise self.fail(f"{where}: column {prop.column!r} is not under 'columns'")
        if "node" in spec:
            prop.node = str(spec["node"])
        prop.type = str(spec.get("type", "string"))
        if prop.type not in TYPES:
            raise self.fail(f"{where}: type must be one of {', '.join(TYPES)}")
        if "value" in spec:
            value = spec["value"]
            if isinstance(value, bool):
                prop.constant = literal("true" if value else "false", "boolean")
            elif isinstance(value, int):
                prop.constant = literal(str(value), "integer")
            elif prop.type == "iri" or (isinstance(value, str) and ":" in value
                                        and value.split(":", 1)[0] in PREFIXES):
                prop.constant = "<" + expand(str(value), where=where) + ">"
            else:
                prop.constant = literal(str(value), prop.type)
        prop.map = self._map_ref(spec.get("map"), where)
        if "ref" in spec:
            prop.ref = str(spec["ref"])
            if spec.get("ref_class"):
                prop.ref_class = "<" + expand(str(spec["ref_class"]), where=where) + ">"
            prop.ref_label = bool(spec.get("ref_label", False))
        prop.split = spec.get("split")
        prop.required = bool(spec.get("required", False))
        prop.invalid = str(spec.get("invalid", "error"))
        prop.partial = bool(spec.get("partial", False))
        if "prefix" in spec:
            prop.prefix = str(spec["prefix"] or "")
        if prop.invalid not in ("error", "warn"):
            raise self.fail(f"{where}: invalid must be error or warn")
        if "else" in spec:
            prop.fallback = self._prop(pred, spec["else"], columns, f"{where} > else")
        prop.inverse = bool(spec.get("inverse", False))
        if prop.inverse and (prop.column is None or "lookup" in spec or prop.map is not None
                             or (prop.ref is None and prop.type != "iri")):
            raise self.fail(f"{where}: inverse: true links the nodes a column names to the "
                            "row's node: give it a column with ref: KIND or type: iri")
        if "lookup" in spec:
            look = spec["lookup"]
            if not isinstance(look, dict) or "by" not in look or prop.column is None:
                raise self.fail(f"{where}: lookup is {{by: PREDICATE, class: CLASS}} on a "
                                "column property")
            if prop.ref is not None or prop.map is not None or prop.type != "string":
                raise self.fail(f"{where}: lookup cannot be combined with ref, map or type")
            prop.lookup_by = expand(str(look["by"]), where=where)
            if look.get("class"):
                prop.lookup_class = expand(str(look["class"]), where=where)
            prop.lookup_missing = str(look.get("missing", "error"))
            if prop.lookup_missing not in ("error", "warn"):
                raise self.fail(f"{where}: lookup missing must be error or warn")
        return prop

    def _table(self, spec: Any) -> Table:
        if not isinstance(spec, dict) or "name" not in spec:
            raise self.fail("each table needs a 'name'")
        tname = str(spec["name"])
        columns = self._columns(tname, spec.get("columns"))
        iri_column = None
        if self.iri_spec is not None and spec.get("iri_column", True) is not False:
            if IRI_COLUMN in columns:
                raise self.fail(f"table {tname!r}: column {IRI_COLUMN!r} is reserved for "
                                "the record's own IRI (iri_column)")
            columns.update(self._columns(tname, {IRI_COLUMN: self.iri_spec}))
            iri_column = IRI_COLUMN
        key_spec = spec.get("key")
        alternatives = key_spec if key_spec and isinstance(key_spec[0], list) else [key_spec]
        keys = [self._key(k, columns, f"table {tname} key") for k in alternatives]
        if iri_column is not None:
            keys.append([(iri_column, False)])  # a row with no ID but its own IRI
        nodes_data = spec.get("nodes")
        if not isinstance(nodes_data, list) or not nodes_data:
            raise self.fail(f"table {tname!r} needs 'nodes'")
        nodes = []
        for i, nspec in enumerate(nodes_data):
            where = self.where("table " + tname, f"node {nspec.get('id', i)}")
            node_key = nspec.get("key")
            classes = nspec.get("class", [])
            class_from = None
            if isinstance(classes, dict):
                class_from = self._prop("rdf:type", classes, columns, where)
                classes = [classes["default"]] if classes.get("default") else []
            elif isinstance(classes, str):
                classes = [classes]
            props: list[Prop] = []
            for pred, pspec in (nspec.get("props") or {}).items():
                for one in pspec if isinstance(pspec, list) else [pspec]:
                    props.append(self._prop(str(pred), one, columns, f"{where} > {pred}"))
            nodes.append(Node(
                id=str(nspec.get("id", nspec.get("kind", i))), kind=str(nspec["kind"]),
                key=self._key(node_key, columns, where) if node_key else None,
                suffix=nspec.get("suffix"),
                classes=["<" + expand(str(c), where=where) + ">" for c in classes],
                class_from=class_from,
                when=self._conditions(nspec.get("when"), columns, where), props=props,
            ))
        ids = {n.id for n in nodes}
        for n in nodes:
            for p in n.props:
                if p.node and p.node not in ids:
                    raise self.fail(f"table {tname}: node {p.node!r} is not defined")
        scoped_by = spec.get("scoped_by")
        if scoped_by is not None and str(scoped_by) not in columns:
            raise self.fail(f"table {tname}: scoped_by {scoped_by!r} is not under 'columns'")
        duplicates = str(spec.get("duplicates", "reject"))
        if duplicates not in ("reject", "merge"):
            raise self.fail(f"table {tname}: duplicates must be reject or merge")
        return Table(
            name=tname, sheets=[str(s) for s in spec.get("sheets", [tname])], columns=columns,
            keys=keys, nodes=nodes, duplicates=duplicates,
            skip=self._conditions(spec.get("skip"), columns, f"table {tname} skip"),
            skip_reason=str(spec.get("skip_reason", "skipped by the mapping")),
            title=str(spec.get("title", tname)), iri_column=iri_column,
            scoped_by=str(scoped_by) if scoped_by is not None else None,
        )


# --- matching a header row -------------------------------------------------------------------


@dataclass
class Fit:
    """How a header row fits a table: column -> cell index, what is missing, what is unused,
    which columns were matched without a header's tail (header -> column)."""

    table: Table
    index: dict[str, int]
    missing: list[str]
    unused: list[str]
    by_head: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        if self.missing:
            return False
        return any(all(c in self.index for c, opt in alt if not opt) for alt in self.table.keys)

    @property
    def score(self) -> int:
        return len(self.index)

    def absent(self) -> list[Column]:
        """Declared columns that matched no header (the own-IRI column is optional)."""
        return [c for c in self.table.columns.values()
                if c.name not in self.index and c.name != self.table.iri_column]


def _lookups(table: Table) -> tuple[dict[tuple[str, int], str], dict[str, list[str]]]:
    """(header form, occurrence) -> column, and header-without-tail form -> columns."""
    exact: dict[tuple[str, int], str] = {}
    heads: dict[str, list[str]] = {}
    for col in table.columns.values():
        for h in col.headers:
            exact.setdefault((h, col.occurrence), col.name)
            if col.occurrence == 1:
                heads.setdefault(h, []).append(col.name)
        if col.occurrence == 1:
            for head in col.heads:
                heads.setdefault(head, []).append(col.name)
    return exact, heads


def fit(table: Table, header: list[Any]) -> Fit:
    """Match a header row (cells) against a table's columns.

    A header matches a column when its `norm_header` form is one of the column's (case,
    spacing and punctuation aside); the n-th of several equal headers matches the column of
    that `occurrence`. Headers left over then match, one to one, a column whose header is the
    same once a trailing tail is cut from either ("... use case? Practice: ..."), when that
    is not ambiguous.
    """
    exact, heads = table.lookups
    index: dict[str, int] = {}
    seen: dict[str, int] = {}
    left: list[tuple[int, str, str]] = []
    for i, cell in enumerate(header):
        label = V.text(cell)
        if label is None:
            continue
        form = V.norm_header(label)
        seen[form] = n = seen.get(form, 0) + 1
        name = exact.get((form, n))
        if name is None or name in index:
            left.append((i, label, form))
            continue
        index[name] = i
    unused: list[str] = []
    by_head: dict[str, str] = {}
    for i, label, form in left:
        names = {n for key in [form, *V.header_heads(label)] for n in heads.get(key, [])
                 if n not in index}
        if len(names) != 1:
            unused.append(label)
            continue
        name = names.pop()
        index[name] = i
        by_head[label] = name
    missing = [c.name for c in table.columns.values() if c.required and c.name not in index]
    return Fit(table=table, index=index, missing=missing, unused=unused, by_head=by_head)


def describe_columns(table: Table) -> str:
    """The expected columns of a table, for error messages (required first)."""
    cols = sorted(table.columns.values(), key=lambda c: not c.required)
    shown = [c.label + (" (required)" if c.required else "") for c in cols[:15]]
    return "; ".join(shown) + ("; ..." if len(cols) > 15 else "")


# --- applying a table to rows ----------------------------------------------------------------


@dataclass
class Rejected:
    """One problem with one row, or with a group of rows (`count` > 1: the rows sharing a
    duplicated key, reported once: the first row, how many, and the first few in `rows`)."""

    row: int
    column: str
    value: str
    reason: str
    sheet: str | None = None
    count: int = 1
    rows: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "column": self.column, "value": self.value,
                               "reason": self.reason}
        if self.count > 1:
            out["count"] = self.count
            out["rows"] = self.rows
        if self.sheet:
            out["sheet"] = self.sheet
        return out

    def line(self, source: str) -> str:
        where = f"{source}" + (f" [{self.sheet}]" if self.sheet else "")
        value = f" value {self.value!r}:" if self.value else ""
        return f"{where}, row {self.row}, column {self.column}:{value} {self.reason}"


_OPTIONAL_PART = re.compile(r"\[([^\[\]]*{\w+}[^\[\]]*)\]")
_PLACEHOLDER = re.compile(r"{(\w+)}")


def fill_template(template: str, value: Any) -> str:
    """A template filled from `value(column)`: a part in square brackets that names a column
    vanishes when any column it names is empty; brackets without a column stay as written.

    >>> row = {"basis": None, "register": "R-7"}.get
    >>> fill_template("[Legal basis: {basis}. ]Register: {register} [x]", row)
    'Register: R-7 [x]'
    """
    def part(m: re.Match[str]) -> str:
        names = _PLACEHOLDER.findall(m[1])
        return m[1] if all(value(n) for n in names) else ""

    text = _OPTIONAL_PART.sub(part, template)
    return " ".join(_PLACEHOLDER.sub(lambda m: value(m[1]) or "", text).split())


def rejected_rows(rejected: Iterable[Rejected]) -> int:
    """How many rows a list of problems covers (a row with two problems counts once).

    >>> rejected_rows([Rejected(2, "a", "", "x"), Rejected(2, "b", "", "y"),
    ...                Rejected(3, "id", "k", "dup", count=4, rows=[3, 5, 6, 9])])
    5
    """
    single: set[tuple[str | None, int]] = set()
    grouped = 0
    for r in rejected:
        if r.count > 1:
            grouped += r.count
        else:
            single.add((r.sheet, r.row))
    return len(single) + grouped


SHOWN_ROWS = 8
"""Rows named in one report line (a warning or a duplicate group); the rest are counted."""


@dataclass
class _Note:
    count: int = 0
    rows: list[int] = field(default_factory=list)


@dataclass
class TableResult:
    """What applying a table to its rows produced (the lines went to the spool)."""

    rows_read: int = 0
    rows_loaded: int = 0
    rows_skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    notes: dict[tuple[str, str], _Note] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    """The row each loaded record came from (record IRI -> first row)."""
    unscoped: list[tuple[int, str]] = field(default_factory=list)
    """Rows whose key could collide with another organisation's and that nothing scopes."""
    unknown: dict[str, Counter[str]] = field(default_factory=dict)
    """Column -> the values its value map does not know (left out), with their counts."""

    def note(self, column: str, message: str, row: int) -> None:
        note = self.notes.setdefault((column, message), _Note())
        note.count += 1
        if len(note.rows) <= SHOWN_ROWS:
            note.rows.append(row)

    def warnings(self, sheet: str | None = None) -> list[str]:
        out = []
        prefix = f"[{sheet}] " if sheet else ""
        for (column, message), note in self.notes.items():
            rows = note.rows
            shown = ", ".join(str(r) for r in rows[:SHOWN_ROWS]) + (
                ", ..." if note.count > SHOWN_ROWS else "")
            col = f"{column}: " if column else ""
            out.append(f"{prefix}{col}{note.count} row(s) {message} (rows {shown})")
        for column, counts in self.unknown.items():
            shown = ", ".join(f"{v!r} ({n})" for v, n in counts.most_common(SHOWN_ROWS))
            more = f" and {len(counts) - SHOWN_ROWS} more" if len(counts) > SHOWN_ROWS else ""
            out.append(f"{prefix}{column}: {counts.total()} value(s) the mapping does not know, "
                       f"left out: {shown}{more}")
        return out


class Spool:
    """The lines rows give, on disk until duplicate keys are known; then the batch's
    N-Triples. Memory stays with the keys seen, not with the rows.

    >>> import io, tempfile, pathlib
    >>> spool = Spool(pathlib.Path(tempfile.mkdtemp()))
    >>> a = spool.add(["<urn:a> <urn:p> 1", "\\x00<urn:o> <urn:q> 2"])
    >>> b = spool.add(["<urn:b> <urn:p> 1", "\\x00<urn:o> <urn:q> 2"])
    >>> spool.drop.add(b)
    >>> out = io.BytesIO(); spool.finish(out), out.getvalue().decode().splitlines()
    (2, ['<urn:a> <urn:p> 1 .', '<urn:o> <urn:q> 2 .'])
    """

    def __init__(self, folder: Path) -> None:
        self._file = (folder / "rows.spool").open("w+", encoding="utf-8", newline="\n")
        self.seq = 0
        self.drop: set[int] = set()
        """Rows given up after they were spooled (their key turned out duplicated)."""
        self.merge: set[int] = set()
        """Rows whose lines may repeat another row's (a merged key): deduplicated."""
        self.wants = Wants()
        """Values looked up in the store when the batch is committed (lookups.py)."""
        self.row_of: list[int] = [0]
        """The source row of each spooled row (by spool number)."""
        self.inner: list[tuple[str, str, str, int, str, int]] = []
        """Conflicts within the file: rows merged on one key that give a single-valued
        property two values (subject, predicate, first value, its row, other value, its
        row)."""

    def add(self, lines: Iterable[str], row: int = 0) -> int:
        """Spool one row's lines ("<s> <p> o", shared ones prefixed with NUL); its number."""
        self.seq += 1
        self.row_of.append(row)
        prefix = f"{self.seq} "
        self._file.writelines(prefix + line + "\n" for line in lines)
        return self.seq

    def finish(self, out: Any) -> int:
        """Write the kept lines as N-Triples to `out` (binary); the number of triples."""
        self._file.seek(0)
        seen: set[str] = set()
        single: dict[tuple[str, str], tuple[str, int]] = {}
        count = 0
        drop, merge = self.drop, self.merge
        buffer: list[str] = []
        for entry in self._file:
            number, _, line = entry.partition(" ")
            seq = int(number)
            if seq in drop:
                continue
            if line.startswith("\x00"):
                line = line[1:]
                if line in seen:
                    continue
                seen.add(line)
            elif seq in merge:
                if line in seen:
                    continue
                seen.add(line)
                self._single(line, seq, single)
            buffer.append(line[:-1] + " .\n")
            count += 1
            if len(buffer) >= 10_000:
                out.write("".join(buffer).encode("utf-8"))
                buffer = []
        out.write("".join(buffer).encode("utf-8"))
        self._file.close()
        return count

    def _single(self, line: str, seq: int, single: dict[tuple[str, str], tuple[str, int]]
                ) -> None:
        """Note a merged row's second value for a single-valued property (a conflict)."""
        s, p, o = line[:-1].split(" ", 2)
        if not single_valued(p[1:-1]):
            return
        first = single.setdefault((s, p), (o, seq))
        if first[0] != o:
            self.inner.append((s, p, first[0], self.row_of[first[1]], o, self.row_of[seq]))

    def close(self) -> None:
        self._file.close()


class _RowError(Exception):
    def __init__(self, column: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


class Applier:
    """Applies one table of a mapping to rows given as lists of cells."""

    def __init__(self, mapping: Mapping, table: Table, index: dict[str, int], spool: Spool,
                 *, sheet: str | None = None, lenient: bool = False,
                 scope: str | None = None, timezone: str | None = None,
                 as_of: date | None = None) -> None:
        self.mapping = mapping
        self.scope = scope or mapping.scope
        zone_name = timezone or mapping.timezone
        self.zone = zone_of(zone_name) if zone_name else None
        self.as_of = as_of or date.today()
        self._ref_labels: dict[str, str] = {}
        """The first spelling of each named entity (its label); other spellings are kept as
        skos:altLabel."""
        self.table = table
        self.index = index
        self.sheet = sheet
        self.spool = spool
        self.lenient = lenient
        self.result = TableResult()
        self._keys: dict[str, tuple[int, int] | _Group] = {}
        """The record IRI of every row loaded so far: (row, spool number), or the group of
        rows sharing it once a second one came."""
        self._extra: list[str] = []

    # values -------------------------------------------------------------------------------

    def _raw(self, row: list[V.Cell], column: str) -> V.Cell:
        i = self.index.get(column)
        return row[i] if i is not None and i < len(row) else None

    def _text(self, row: list[V.Cell], column: str) -> str | None:
        value = V.text(self._raw(row, column))
        return None if V.is_null(value, self.mapping.nulls) else value

    def _mint(self, kind: str, parts: Iterable[str], suffix: str | None = None) -> str:
        parts = list(parts)
        own = absolute_iri(parts[0]) if len(parts) == 1 else None
        iri = own or self.mapping.base + kind + "/" + V.slug("-".join(parts))
        return f"<{iri}/{suffix}>" if suffix else f"<{iri}>"

    def _check(self, cond: Condition, row: list[V.Cell]) -> bool:
        value = self._text(row, cond.column)
        if cond.absent:
            return value is None
        if value is None:
            return False
        if cond.map is not None:
            target = cond.map.lookup(value)
            if target is None:
                return False
            value = target
        else:
            value = V.norm_key(value)
        if cond.within is not None and value not in cond.within:
            return False
        return not (cond.not_within is not None and value in cond.not_within)

    def _terms(self, prop: Prop, row: list[V.Cell], rownum: int,
               nodes: dict[str, str]) -> list[str]:
        found = self._terms_of(prop, row, rownum, nodes)
        if not found and prop.fallback is not None:
            return self._terms(prop.fallback, row, rownum, nodes)
        return found

    def _terms_of(self, prop: Prop, row: list[V.Cell], rownum: int,
                  nodes: dict[str, str]) -> list[str]:
        if prop.constant is not None:
            return [prop.constant]
        if prop.template is not None:
            filled = fill_template(prop.template, lambda name: self._text(row, name))
            return [literal(filled)] if filled else []
        if prop.node is not None:
            return [nodes[prop.node]] if prop.node in nodes else []
        assert prop.column is not None
        raw = self._raw(row, prop.column)
        value = V.text(raw)
        if V.is_null(value, self.mapping.nulls):
            if prop.required:
                raise _RowError(prop.column, "", "a value is required here")
            return []
        assert value is not None
        pieces: list[V.Cell] = [value if isinstance(raw, str) else raw]  # texts come clean
        listed = V.list_cell(value) if value.startswith("[") else None
        if listed is not None:  # a JSON array: one value per item
            pieces = [p for p in listed if not V.is_null(p, self.mapping.nulls)]
            if not pieces and prop.required:
                raise _RowError(prop.column, value, "a value is required here")
        elif prop.split:
            pieces = list(V.split_cell(value, prop.split, self.mapping.nulls))
        out = []
        for piece in pieces:
            term = self._term(prop, piece, rownum)
            if term is not None:
                out.append(term)
        return out

    def _term(self, prop: Prop, raw: V.Cell, rownum: int) -> str | None:
        assert prop.column is not None
        # a text is already clean (a split piece keeps the spaces its escapes give it)
        value = raw if isinstance(raw, str) else (V.text(raw) or "")
        if prop.lookup_by is not None:
            return self.spool.wants.ask(prop.lookup_by, prop.lookup_class, value, prop.column,
                                        prop.lookup_missing, rownum)
        kept = False
        if prop.map is not None:
            target = prop.map.lookup(value)
            if target is None and prop.map.unknown == "keep":
                target, kept = value, True
            if target is None:
                if prop.map.unknown == "error":
                    raise _RowError(prop.column, value,
                                    f"unknown value; expected {prop.map.allowed()}")
                if prop.map.unknown == "warn":
                    self.result.unknown.setdefault(prop.column, Counter())[value[:80]] += 1
                return None
            if target.startswith("<") and not kept:
                return target
            if prop.ref is None and not (kept and prop.type != "string"):
                return literal(target, prop.type)
            value = target
        if prop.ref is not None:
            iri = self._mint(prop.ref, [value])
            if prop.ref_class:
                self._extra.append(f"\x00{iri} {RDF_TYPE} {prop.ref_class}")
            if prop.ref_label and absolute_iri(value) is None:
                first = self._ref_labels.setdefault(iri, value)
                if first == value:
                    self._extra.append(f"\x00{iri} {RDFS_LABEL} {literal(value)}")
                else:  # another spelling of the same name
                    self._extra.append(f"\x00{iri} {SKOS_ALT} {literal(value)}")
            return iri
        try:
            if prop.type == "date":
                when, partial = V.parse_temporal(raw, order=self.mapping.date_order,
                                                 partial=prop.partial, zone=self.zone)
                day = when.date() if isinstance(when, datetime) else when
                why = V.implausible(day, self.as_of)
                if why is not None:
                    self.result.note(prop.column, f"value {value!r} {why}; left out", rownum)
                    return None
                if partial:
                    self.result.note(prop.column, "gave only a month, quarter or year; the first "
                                     "day was used", rownum)
                if isinstance(when, datetime):  # a timestamp keeps its time, in UTC
                    stamp = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
                    return literal(stamp, "dateTime")
                return literal(day.isoformat(), "date")
            if prop.type == "integer":
                return literal(str(V.parse_int(raw)), "integer")
            if prop.type == "decimal":
                return literal(format(V.parse_decimal(raw), "f"), "decimal")
            if prop.type == "boolean":
                return literal("true" if V.parse_bool(raw) else "false", "boolean")
            if prop.type == "iri" and prop.prefix is not None:
                try:
                    return "<" + expand(prop.prefix + value.strip(), where="value") + ">"
                except MappingError as exc:
                    raise ValueError(str(exc).split(": ", 1)[-1]) from None
            if prop.type == "iri":
                if _BAD_IRI.search(value) or ":" not in value:
                    raise ValueError(f"{value!r} is not an IRI")
                return f"<{value}>"
        except ValueError as exc:
            if prop.invalid == "warn":
                self.result.note(prop.column, f"were not a valid {prop.type}; left out", rownum)
                return None
            if self.lenient and prop.type in ("date", "integer", "decimal", "boolean"):
                self.result.note(prop.column, f"were not a valid {prop.type}; loaded as text "
                                 "(--lenient)", rownum)
                return literal(value)
            expected = V.DATE_FORMS if prop.type == "date" else f"a {prop.type}"
            reason = str(exc) if prop.type == "date" else f"{exc}; expected {expected}"
            raise _RowError(prop.column, value, reason) from None
        return literal(value, prop.type)

    # rows ---------------------------------------------------------------------------------

    def _key(self, row: list[V.Cell], key: list[tuple[str, bool]]) -> list[str] | None:
        parts = []
        for column, optional in key:
            value = self._text(row, column)
            if value is None:
                if optional:
                    continue
                return None
            parts.append(value)
        return parts or None

    def add(self, rownum: int, row: list[V.Cell]) -> None:
        """Map one row; problems are collected, never raised."""
        self.result.rows_read += 1
        table = self.table
        if any(self._check(c, row) for c in table.skip):
            self.result.rows_skipped += 1
            self.result.note("", table.skip_reason, rownum)
            return
        key = None
        for alt_no, alt in enumerate(table.keys):
            key = self._key(row, alt)
            if key is not None:
                if alt_no > 0 and alt != [(table.iri_column, False)]:
                    first = ", ".join(c for c, opt in table.keys[0] if not opt)
                    self.result.note(first, "had no value; their IRIs were minted from "
                                     + ", ".join(c for c, _ in alt), rownum)
                break
        if key is None:
            cols = ", ".join(c for c, opt in table.keys[0] if not opt)
            self._reject(rownum, cols, "", f"blank key: {table.key_text()} must have a value")
            return
        if table.scoped_by is not None and self._text(row, table.scoped_by) is None:
            if self.scope is not None:
                key = [self.scope, *key]
            elif could_collide(key):
                self.result.unscoped.append((rownum, "-".join(key)))
        errors: list[_RowError] = []
        self._extra = []
        lines = self._extra
        nodes: dict[str, str] = {}
        own = self._text(row, table.iri_column) if table.iri_column else None
        if own is not None and absolute_iri(own) is None:
            self._reject(rownum, table.iri_column or "", own,
                         "not an IRI; write a full IRI (https://... or urn:...) or leave it "
                         "blank to mint one from the ID")
            return
        for node in table.nodes:
            if node.when and not all(self._check(c, row) for c in node.when):
                continue
            parts = key if node.key is None else self._key(row, node.key)
            if parts is None:
                continue
            if own is not None and node.key is None:
                parts = [own.strip()]
            nodes[node.id] = self._mint(node.kind, parts, node.suffix)
        primary = nodes.get(table.nodes[0].id)
        known = self._keys.get(primary) if primary is not None else None
        if known is not None and table.duplicates == "reject":
            # refused with its group whatever else it holds: the rest need not be mapped
            self._remember(primary, known, rownum, None)  # type: ignore[arg-type]
            return
        for node in table.nodes:
            subject = nodes.get(node.id)
            if subject is None:
                continue
            sink = lines if node.key is None else None
            out: list[str] = []
            classes = list(node.classes)
            if node.class_from is not None:
                try:
                    found = self._terms(node.class_from, row, rownum, nodes)
                except _RowError as exc:
                    errors.append(exc)
                    found = []
                if found:
                    classes = found
            out.extend(f"{subject} {RDF_TYPE} {c}" for c in classes)
            for prop in node.props:
                try:
                    terms = self._terms(prop, row, rownum, nodes)
                except _RowError as exc:
                    errors.append(exc)
                    continue
                if prop.inverse:
                    out.extend(f"{t} {prop.predicate} {subject}" for t in terms)
                else:
                    out.extend(f"{subject} {prop.predicate} {t}" for t in terms)
            if sink is not None:
                sink.extend(out)
            else:
                lines.extend("\x00" + line for line in out)  # shared: deduplicated later
        if errors:
            for e in errors:
                self._reject(rownum, e.column, e.value, e.reason)
            return
        assert primary is not None
        seq = self.spool.add(dict.fromkeys(lines), rownum)
        if known is None:
            self._keys[primary] = (rownum, seq)
        else:
            self._remember(primary, known, rownum, seq)

    def _remember(self, primary: str, known: tuple[int, int] | _Group, rownum: int,
                  seq: int | None) -> None:
        """Another row with a key seen before: start or grow its group."""
        if not isinstance(known, _Group):
            known = _Group(first=known[0], seqs=[known[1]], rows=[known[0]])
            self._keys[primary] = known
        known.add(rownum, seq)

    def _reject(self, rownum: int, column: str, value: str, reason: str) -> None:
        self.result.rejected.append(Rejected(rownum, column, value, reason, self.sheet))

    def finish(self) -> TableResult:
        """Resolve duplicated keys (one report per group) and hand over the counts."""
        result = self.result
        key_cols = ", ".join(c for c, _ in self.table.keys[0])
        reject = self.table.duplicates == "reject"
        for iri, entry in self._keys.items():
            if not isinstance(entry, _Group):
                result.rows_loaded += 1
                result.rows[iri] = entry[0]
                continue
            if reject:
                self.spool.drop.update(entry.seqs)
                shown = ", ".join(str(r) for r in entry.rows[:SHOWN_ROWS]) + (
                    ", ..." if entry.count > SHOWN_ROWS else "")
                result.rejected.append(Rejected(
                    entry.first, key_cols, iri.strip("<>").rsplit("/", 1)[-1],
                    f"duplicate key: {entry.count} rows share it (rows {shown}); none of "
                    "them was loaded: give each record its own key",
                    self.sheet, count=entry.count, rows=entry.rows[:SHOWN_ROWS]))
                continue
            self.spool.merge.update(entry.seqs)
            result.rows_loaded += entry.count
            result.rows[iri] = entry.first
            for row in entry.rows[1:2]:
                result.note(key_cols, "repeated an earlier key; merged as the mapping says", row)
        result.rejected.sort(key=lambda r: r.row)
        self._keys.clear()
        return result


@dataclass
class _Group:
    """Rows sharing one record key: the first, how many, a few row numbers, spool numbers."""

    first: int
    seqs: list[int]
    rows: list[int]
    count: int = 1

    def add(self, row: int, seq: int | None) -> None:
        self.count += 1
        if seq is not None:
            self.seqs.append(seq)
        if len(self.rows) <= SHOWN_ROWS:
            self.rows.append(row)


_GENERIC_ID = re.compile(
    r"^(?:(?:ai|uc|id|no|nr|item|row|rec|record|case|use ?case|sys|system|entry|ref)"
    r"[\s#._-]*)?\d+[a-z]?$", re.IGNORECASE)


def could_collide(key: Iterable[str]) -> bool:
    """True when a key is unique only inside one file: every part a number or a generic
    numbered id ("35", "AI-001", "UC 7"); a key naming its organisation ("DOJ-0357") or a
    name is taken as it is.

    >>> could_collide(["35"]), could_collide(["AI-001"]), could_collide(["DOJ-0357"])
    (True, True, False)
    """
    parts = [p.strip() for p in key]
    return bool(parts) and all(_GENERIC_ID.match(p) for p in parts)


def apply_rows(applier: Applier, rows: Iterable[tuple[int, list[V.Cell]]]) -> TableResult:
    """Feed rows to an applier and finish it."""
    for rownum, row in rows:
        applier.add(rownum, row)
    return applier.finish()
