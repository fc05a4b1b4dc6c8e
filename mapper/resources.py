"""The one place that finds and parses ontology/, shapes/ and queries/ (parsed once, cached).

In a checkout the folders sit at the top of the repository; an installed wheel carries them
inside the package as mapper/_data/ (see setup.py).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from mapper.errors import ResourceError

if TYPE_CHECKING:  # rdflib loads when a graph is parsed, not for a path
    from rdflib import Graph

_PACKAGE = Path(__file__).resolve().parent

ONTOLOGY_GRAPH = "urn:aims:graph:ontology"
"""Name of the store graph that holds ontology/ (classes, catalogue, alignments)."""


def data_dir(name: str) -> Path:
    """Path of a data folder (`ontology`, `shapes` or `queries`).

    >>> data_dir("ontology").joinpath("aims.ttl").is_file()
    True
    """
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        candidate = base / name
        if candidate.is_dir():
            return candidate
    raise ResourceError(f"data folder {name}/ not found next to {_PACKAGE}")


def _parse_folder(name: str, pattern: str) -> Graph:
    from rdflib import Graph

    graph = Graph()
    for path in sorted(data_dir(name).glob(pattern)):
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # a broken packaged file is a project bug: say which
            raise ResourceError(f"cannot parse {path}: {exc}") from exc
    return graph


@cache
def ontology() -> Graph:
    """The ontology, ISO/IEC 42001 catalogue and alignments as one rdflib graph (do not mutate).

    >>> from mapper.vocab import AIMS
    >>> from rdflib import OWL, RDF
    >>> (AIMS.AISystem, RDF.type, OWL.Class) in ontology()
    True
    """
    return _parse_folder("ontology", "*.ttl")


@cache
def shapes() -> Graph:
    """All SHACL shapes of shapes/ as one rdflib graph (do not mutate)."""
    return _parse_folder("shapes", "*.ttl")


def query_files() -> list[Path]:
    """The .rq files of queries/, sorted by name."""
    return sorted(data_dir("queries").glob("*.rq"))


@cache
def ontology_digest() -> str:
    """SHA-256 of the ontology's files (names and bytes): the same in every process, unlike a
    serialisation of the parsed graph (blank-node labels and set order vary per process)."""
    digest = hashlib.sha256()
    for path in sorted(data_dir("ontology").glob("*.ttl")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
