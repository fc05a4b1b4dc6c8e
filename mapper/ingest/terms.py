"""Terms in the aims: namespace that the ontology does not define (a misspelt predicate such as
aims:bussinessOwner), with the closest defined term by edit distance as the suggestion.

Used by the RDF reader (such input is refused, or with --lenient loaded with a warning) and
by `aims ontology check` (undefined terms already in a store). The defined terms are those of
mapper/vocab.py, which is generated from the ontology (and checked against it by its tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from mapper.vocab import AIMS

NS = str(AIMS)
"""https://aims-graph.org/ns#"""


@cache
def defined() -> frozenset[str]:
    """The local names the ontology defines (classes, properties, individuals)."""
    return frozenset(AIMS.__annotations__)


def distance(a: str, b: str) -> int:
    """Levenshtein edit distance (insertions, deletions, substitutions; case counts).

    >>> distance("bussinessOwner", "businessOwner"), distance("a", "a")
    (1, 0)
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@cache
def suggest(local: str) -> str | None:
    """The defined term closest to `local` (case aside first), if close enough to be meant.

    >>> suggest("bussinessOwner"), suggest("aisystem"), suggest("completelyDifferent")
    ('businessOwner', 'AISystem', None)
    """
    return closest(local, defined())


def closest(local: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `local` by edit distance (case aside first, then with case:
    aims:lifecyclestage is the property lifecycleStage, not the class LifecycleStage), if close
    enough to be meant; None otherwise.

    >>> closest("dueDat", ["dueDate", "label"]), closest("x", ["label"])
    ('dueDate', None)
    """
    low = local.lower()
    ordered = sorted(candidates)
    if not ordered:
        return None
    best = min(ordered, key=lambda t: (distance(low, t.lower()), distance(local, t)))
    limit = max(2, len(local) // 4)
    return best if distance(low, best.lower()) <= limit else None


def undefined(iri: str) -> str | None:
    """The local name of an aims: IRI the ontology does not define, else None.

    >>> undefined(NS + "bussinessOwner"), undefined(NS + "businessOwner"), undefined("urn:x")
    ('bussinessOwner', None, None)
    """
    if not iri.startswith(NS):
        return None
    local = iri[len(NS):]
    return None if local in defined() else local


def describe(local: str, count: int | None = None) -> str:
    """aims:X (did you mean aims:Y?), used N times."""
    near = suggest(local)
    hint = f" (did you mean aims:{near}?)" if near else ""
    used = f", used {count} time(s)" if count is not None else ""
    return f"aims:{local}{hint}{used}"


def scan(iris: Iterable[str]) -> dict[str, int]:
    """Undefined aims: local names among the IRIs, with how often each occurs."""
    out: dict[str, int] = {}
    for iri in iris:
        local = undefined(iri)
        if local is not None:
            out[local] = out.get(local, 0) + 1
    return out
