"""OWL consistency checks with owlready2 and HermiT (the only module that imports owlready2).

`check(data)` loads ontology/*.ttl (model, ISO/IEC 42001 catalogue, alignments) plus a data
graph into a fresh owlready2 World (through an N-Triples temp file), runs HermiT and returns a
`Consistency` result. HermiT only says *whether* the whole is inconsistent, so on inconsistency
this module finds *who*:

1. a fast structural pass over the data: every individual's asserted types, plus the types that
   `rdfs:domain` / `rdfs:range` of the properties it uses imply, closed under `rdfs:subClassOf`,
   are checked against `owl:disjointWith` / `owl:AllDisjointClasses` (this names the clash, e.g.
   "typed both aims:Person and aims:Team");
2. if that finds nothing (the clash comes from cardinality, datatypes, functional properties...),
   the individuals are bisected with HermiT until a minimal inconsistent set remains, and then
   that set's statements are bisected to the few triples that cause it.

What HermiT sees: the logical triples only. Annotations carry no logical meaning in OWL, so
`rdfs:label`/`rdfs:comment`, every `skos:` statement (the catalogue's notations, labels and
hierarchy, the alignments' exact/close matches), `dcterms:` statements and the values of
properties the ontology declares as `owl:AnnotationProperty` are left out: fewer triples for
owlready2 to load and no non-DL SKOS statements for HermiT to trip on (the catalogue concepts
stay as individuals typed `skos:Concept`). HermiT runs with `--ignoreUnsupportedDatatypes`,
because `xsd:date` (the model's date type) is not in the OWL 2 datatype map: values of unsupported
datatypes are then not checked against their ranges (the SHACL rules check dates).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from mapper import resources
from mapper.errors import MapperError

JAVA_MEMORY_MB = 1024
"""Heap given to HermiT's JVM."""

Triple = tuple[Node, Node, Node]
T = TypeVar("T")

_SCHEMA_TYPES = {
    OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
    RDF.Property, OWL.Ontology, OWL.FunctionalProperty, OWL.TransitiveProperty,
    OWL.SymmetricProperty, OWL.InverseFunctionalProperty, OWL.Restriction,
    OWL.AllDisjointClasses, RDFS.Datatype,
}


@dataclass(frozen=True)
class Offender:
    """An individual that makes the graph inconsistent, and why."""

    individual: Node
    label: str | None
    classes: tuple[URIRef, ...] = ()
    """The two disjoint classes it is typed with (empty when found by bisection)."""
    reason: str = ""
    triples: tuple[Triple, ...] = ()
    """The statements that together cause the inconsistency (bisection only)."""

    @property
    def name(self) -> str:
        """`label <iri>`, or just the IRI when there is no label."""
        iri = _short(self.individual)
        return f"{self.label} <{iri}>" if self.label else iri


@dataclass
class Consistency:
    """The verdict of one HermiT run (plus the explanation when inconsistent)."""

    consistent: bool
    individuals: int
    axioms: int
    offenders: list[Offender] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people: `consistent (N individuals, M axioms)` or what clashes."""
        if self.consistent:
            return f"consistent ({self.individuals} individuals, {self.axioms} axioms)"
        if not self.offenders:
            return "inconsistent: the ontology itself is inconsistent (no data needed)"
        return "inconsistent: " + "; ".join(o.name + " " + o.reason for o in self.offenders)


# --- running HermiT -------------------------------------------------------------------------


def hermit_consistent(graph: Graph) -> bool:
    """Whether HermiT finds `graph` consistent (loaded into a fresh owlready2 World).

    >>> from rdflib import Graph
    >>> hermit_consistent(Graph().parse(data='''
    ...   @prefix owl: <http://www.w3.org/2002/07/owl#> .
    ...   <urn:A> a owl:Class ; owl:disjointWith <urn:B> . <urn:B> a owl:Class .
    ...   <urn:x> a <urn:A>, <urn:B> .''', format="turtle"))
    False
    """
    import owlready2
    from owlready2 import (
        OwlReadyInconsistentOntologyError,
        OwlReadyJavaError,
        OwlReadyOntologyParsingError,
        World,
        sync_reasoner_hermit,
    )

    owlready2.reasoning.JAVA_MEMORY = JAVA_MEMORY_MB
    graph = logical(graph)
    handle, path = tempfile.mkstemp(suffix=".nt", prefix="aims-owl-")
    world = World()
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(graph.serialize(format="nt", encoding="utf-8"))
        with open(path, "rb") as source:
            try:
                world.get_ontology("urn:aims:consistency-check").load(
                    fileobj=source, format="ntriples"
                )
            except OwlReadyOntologyParsingError as exc:
                raise MapperError(f"owlready2 cannot load the graph for reasoning: {exc}") from exc
        try:
            sync_reasoner_hermit(
                world, infer_property_values=False, debug=0, ignore_unsupported_datatypes=True
            )
        except OwlReadyInconsistentOntologyError:
            return False
        except (OwlReadyJavaError, OSError) as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise MapperError(
                f"the OWL reasoner (HermiT on Java) could not run: {first}; "
                "check that `java -version` works"
            ) from exc
        return True
    finally:
        world.close()
        os.unlink(path)


_ANNOTATION_NAMESPACES = (
    "http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/",
    "http://purl.org/dc/elements/1.1/",
)
_ANNOTATIONS = {RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.versionInfo}


def logical(graph: Graph) -> Graph:
    """`graph` without annotation triples (they carry no meaning for a reasoner).

    >>> from rdflib import Graph
    >>> g = Graph().parse(data='''@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
    ...   <urn:c> a skos:Concept ; skos:notation "4.4" ; skos:broader <urn:d> .''', format="turtle")
    >>> len(logical(g))
    1
    """
    declared = set(graph.subjects(RDF.type, OWL.AnnotationProperty))
    out = Graph()
    for s, p, o in graph:
        if p in _ANNOTATIONS or p in declared or str(p).startswith(_ANNOTATION_NAMESPACES):
            continue
        out.add((s, p, o))
    return out


def _with_ontology(triples: Iterable[Triple], ontology: Graph) -> Graph:
    graph = Graph()
    for t in ontology:
        graph.add(t)
    for t in triples:
        graph.add(t)
    return graph


# --- the public check ---------------------------------------------------------------------


def check(data: Graph, *, ontology: Graph | None = None) -> Consistency:
    """Check `data` plus the ontology with HermiT; name the offenders when inconsistent.

    >>> from rdflib import Graph
    >>> check(Graph()).consistent
    True
    """
    onto = ontology if ontology is not None else resources.ontology()
    start = time.monotonic()
    individuals = _individuals(data, onto)
    # An ill-typed literal ("maybe"^^xsd:integer) is inconsistent in OWL by itself, and
    # owlready2 cannot even load it: report those directly and reason over the rest.
    ill_typed = [t for t in data if isinstance(t[2], Literal) and t[2].ill_typed]
    clean = data
    if ill_typed:
        clean = Graph()
        for t in data:
            if t not in ill_typed:
                clean.add(t)
    merged = _with_ontology(clean, onto)
    consistent = hermit_consistent(merged)
    result = Consistency(
        consistent=consistent and not ill_typed, individuals=len(individuals),
        axioms=len(logical(merged)) + len(ill_typed),
    )
    schema = onto + data
    result.offenders = [_ill_typed(t, schema) for t in ill_typed]
    if not consistent:
        result.offenders += explain(clean, ontology=onto)
    result.seconds = time.monotonic() - start
    return result


def _ill_typed(triple: Triple, schema: Graph) -> Offender:
    value = triple[2]
    datatype = value.datatype if isinstance(value, Literal) else None
    return Offender(
        triple[0], _label(triple[0], schema), (),
        f"has a value that is not a valid {_short(datatype or '')}: {_triple_text(triple)}",
        (triple,),
    )


def explain(data: Graph, *, ontology: Graph | None = None) -> list[Offender]:
    """Who makes `data` + ontology inconsistent: disjoint types first, else HermiT bisection."""
    onto = ontology if ontology is not None else resources.ontology()
    clashes = disjointness_clashes(data, onto)
    if clashes:
        return clashes
    if not _ontology_consistent(onto):
        return []  # the ontology alone is inconsistent
    return _bisect(data, onto)


_ONTOLOGY_VERDICTS: dict[int, tuple[int, bool]] = {}


def _ontology_consistent(onto: Graph) -> bool:
    """HermiT's verdict on the ontology alone, remembered per graph object and size."""
    known = _ONTOLOGY_VERDICTS.get(id(onto))
    if known is None or known[0] != len(onto):
        known = (len(onto), hermit_consistent(onto))
        _ONTOLOGY_VERDICTS[id(onto)] = known
    return known[1]


# --- pass 1: types against disjointness ----------------------------------------------------


def disjointness_clashes(data: Graph, ontology: Graph) -> list[Offender]:
    """Individuals whose asserted or domain/range-implied types include two disjoint classes.

    >>> from rdflib import Graph
    >>> from mapper.resources import ontology
    >>> data = Graph().parse(data='''@prefix aims: <https://aims-graph.org/ns#> .
    ...   aims:x a aims:Person, aims:Team .''', format="turtle")
    >>> [o.reason for o in disjointness_clashes(data, ontology())]
    ['is typed both aims:Person and aims:Team (disjoint)']
    """
    schema = ontology + data
    supers = _superclasses(schema)
    disjoint = _disjoint_pairs(schema)
    if not disjoint:
        return []
    domains, ranges = _domains_ranges(schema)
    # individual -> {class: why}
    types: dict[Node, dict[URIRef, str]] = defaultdict(dict)
    for s, p, o in data:
        if p == RDF.type and isinstance(o, URIRef) and o not in _SCHEMA_TYPES:
            types[s][o] = "asserted"  # an asserted type beats one implied by a domain/range
            continue
        for cls in domains.get(p, ()):
            types[s].setdefault(cls, f"domain of {_short(p)}")
        if not isinstance(o, Literal):
            for cls in ranges.get(p, ()):
                types[o].setdefault(cls, f"range of {_short(p)}")
    offenders: list[Offender] = []
    for individual, base in sorted(types.items(), key=lambda kv: str(kv[0])):
        origin: dict[URIRef, URIRef] = {}
        for cls in sorted(base, key=lambda c: (base[c] != "asserted", str(c))):
            for sup in supers.get(cls, {cls}):
                origin.setdefault(sup, cls)
        for a, b in sorted(disjoint, key=lambda pair: (str(pair[0]), str(pair[1]))):
            if a in origin and b in origin and origin[a] != origin[b]:
                ta, tb = sorted((origin[a], origin[b]), key=str)
                why = [f"{_short(t)} by {base[t]}" for t in (ta, tb) if base[t] != "asserted"]
                reason = f"is typed both {_short(ta)} and {_short(tb)} (disjoint"
                reason += (": " + "; ".join(why) + ")") if why else ")"
                offenders.append(
                    Offender(individual, _label(individual, schema), (ta, tb), reason)
                )
                break
    return offenders


def _superclasses(graph: Graph) -> dict[URIRef, set[URIRef]]:
    direct: dict[URIRef, set[URIRef]] = defaultdict(set)
    for s, o in graph.subject_objects(RDFS.subClassOf):
        if isinstance(s, URIRef) and isinstance(o, URIRef):
            direct[s].add(o)
    for s, o in graph.subject_objects(OWL.equivalentClass):
        if isinstance(s, URIRef) and isinstance(o, URIRef):
            direct[s].add(o)
            direct[o].add(s)
    closure: dict[URIRef, set[URIRef]] = {}
    for cls in list(direct):
        seen = {cls}
        todo = [cls]
        while todo:
            for parent in direct.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        closure[cls] = seen
    return closure


def _disjoint_pairs(graph: Graph) -> set[tuple[URIRef, URIRef]]:
    pairs: set[tuple[URIRef, URIRef]] = set()
    for a, b in graph.subject_objects(OWL.disjointWith):
        if isinstance(a, URIRef) and isinstance(b, URIRef):
            pairs.add((a, b))
    for node in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        for members in graph.objects(node, OWL.members):
            classes = [c for c in graph.items(members) if isinstance(c, URIRef)]
            pairs.update((a, b) for i, a in enumerate(classes) for b in classes[i + 1:])
    return pairs


def _domains_ranges(graph: Graph) -> tuple[dict[Node, set[URIRef]], dict[Node, set[URIRef]]]:
    parents: dict[Node, set[Node]] = defaultdict(set)
    for s, o in graph.subject_objects(RDFS.subPropertyOf):
        parents[s].add(o)
    own_domain: dict[Node, set[URIRef]] = defaultdict(set)
    own_range: dict[Node, set[URIRef]] = defaultdict(set)
    for p, c in graph.subject_objects(RDFS.domain):
        if isinstance(c, URIRef):
            own_domain[p].add(c)
    for p, c in graph.subject_objects(RDFS.range):
        # only object-property ranges type their values; datatype ranges are not classes
        if isinstance(c, URIRef) and (c, RDF.type, RDFS.Datatype) not in graph \
                and not str(c).startswith(str(_XSD)) and c != RDFS.Literal and c != OWL.Class:
            own_range[p].add(c)
    domains: dict[Node, set[URIRef]] = {}
    ranges: dict[Node, set[URIRef]] = {}
    for prop in set(own_domain) | set(own_range) | set(parents):
        seen = {prop}
        todo = [prop]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        domains[prop] = set().union(*(own_domain.get(p, set()) for p in seen))
        ranges[prop] = set().union(*(own_range.get(p, set()) for p in seen))
    return domains, ranges


_XSD = URIRef("http://www.w3.org/2001/XMLSchema#")


# --- pass 2: bisection with HermiT -----------------------------------------------------------


def _bisect(data: Graph, onto: Graph) -> list[Offender]:
    groups = _triples_by_individual(data)
    keys = sorted(groups, key=str)

    def consistent(selected: Sequence[Node]) -> bool:
        return hermit_consistent(_with_ontology(_chain(groups[k] for k in selected), onto))

    culprits = _minimise(keys, consistent)
    if not culprits:
        return []
    statements = Graph()
    for t in _chain(groups[k] for k in culprits):
        statements.add(t)
    triples = sorted(logical(statements))  # annotations cannot be the cause
    core = _minimise(triples, lambda ts: hermit_consistent(_with_ontology(ts, onto)))
    text = "; ".join(_triple_text(t) for t in core)
    schema = onto + data
    return [
        Offender(
            k, _label(k, schema), (),
            f"makes the data inconsistent with the ontology through: {text}",
            tuple(t for t in core if t[0] == k or _owned_by(t, k, groups)),
        )
        for k in culprits
    ]


def _minimise(
    items: Sequence[T], consistent: Callable[[Sequence[T]], bool], fixed: Sequence[T] = ()
) -> list[T]:
    """A small subset of `items` that, with `fixed`, is inconsistent (items+fixed must be)."""
    if len(items) <= 1:
        return list(items)
    half = len(items) // 2
    first, second = items[:half], items[half:]
    if not consistent([*fixed, *first]):
        return _minimise(first, consistent, fixed)
    if not consistent([*fixed, *second]):
        return _minimise(second, consistent, fixed)
    kept_first = _minimise(first, consistent, [*fixed, *second])
    kept_second = _minimise(second, consistent, [*fixed, *kept_first])
    return [*kept_first, *kept_second]


def _triples_by_individual(data: Graph) -> dict[Node, list[Triple]]:
    """Triples grouped by their IRI subject; blank-node descriptions go with who points at them."""
    groups: dict[Node, list[Triple]] = defaultdict(list)
    owner: dict[Node, Node] = {}
    for s, _p, o in data:
        if isinstance(o, BNode) and not isinstance(s, BNode):
            owner.setdefault(o, s)
    for s, p, o in data:
        key = s
        seen: set[Node] = set()
        while isinstance(key, BNode) and key in owner and key not in seen:
            seen.add(key)
            key = owner[key]
        groups[key].append((s, p, o))
    return groups


def _owned_by(triple: Triple, key: Node, groups: dict[Node, list[Triple]]) -> bool:
    return triple in groups.get(key, ())


def _chain(lists: Iterable[list[Triple]]) -> Iterable[Triple]:
    for triples in lists:
        yield from triples


# --- helpers ---------------------------------------------------------------------------------


def _individuals(data: Graph, onto: Graph) -> set[Node]:
    schema = onto + data
    found: set[Node] = set()
    for s, o in data.subject_objects(RDF.type):
        if o in _SCHEMA_TYPES or (s, RDF.type, OWL.Class) in schema:
            continue
        found.add(s)
    return found


_PREFIXES = {
    "https://aims-graph.org/ns#": "aims:",
    "https://aims-graph.org/iso42001#": "iso:",
    "http://www.w3.org/2002/07/owl#": "owl:",
    "http://www.w3.org/2000/01/rdf-schema#": "rdfs:",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf:",
    "http://www.w3.org/2001/XMLSchema#": "xsd:",
}


def _short(term: Node | str) -> str:
    text = str(term)
    for ns, prefix in _PREFIXES.items():
        if text.startswith(ns):
            return prefix + text[len(ns):]
    return text


def _label(node: Node, graph: Graph) -> str | None:
    value = graph.value(node, RDFS.label)  # type: ignore[arg-type]
    return str(value) if value is not None else None


def _triple_text(triple: Triple) -> str:
    s, p, o = triple
    obj = f'"{o}"' + (f"^^{_short(o.datatype)}" if o.datatype else "") \
        if isinstance(o, Literal) else _short(o)
    return f"{_short(s)} {_short(p)} {obj}"
