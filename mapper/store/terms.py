"""rdflib terms <-> pyoxigraph terms, and rdflib terms as SPARQL text: how terms cross from the
store into the core, and how a bound value is written into a query."""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Identifier, Node

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


def from_ox(term: object) -> Identifier:
    """A pyoxigraph term as an rdflib term (plain strings stay plain, unlike xsd:string)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise TypeError(f"unexpected term {term!r}")


# --- terms as SPARQL text --------------------------------------------------------------------

_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
          "\f": "\\f"}
_TO_ESCAPE = re.compile('[\\\\"\n\r\t\b\f]')
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LANGUAGE = re.compile(r"[A-Za-z]+(?:-[A-Za-z0-9]+)*")


class TermError(ValueError):
    """A term that cannot be written into a SPARQL query (a blank node, an IRI with spaces...)."""


def sparql_string(text: str) -> str:
    """A string as a SPARQL short string literal: a quote, a backslash and the line and control
    characters SPARQL has escapes for are escaped; nothing else is (no long-string form, so
    no value can close or reopen the literal, whatever it ends with).

    >>> print(sparql_string('x\\n\\\\"'))
    "x\\n\\\\\\""
    """
    return '"' + _TO_ESCAPE.sub(lambda m: _ECHAR[m.group()], text) + '"'


def sparql_iri(iri: str) -> str:
    """An IRI as `<...>`; TermError for a character an IRI reference cannot hold.

    >>> sparql_iri("https://aims-graph.org/ns#Process")
    '<https://aims-graph.org/ns#Process>'
    """
    if _BAD_IRI.search(iri):
        raise TermError(f"not a valid IRI: {iri!r}")
    return f"<{iri}>"


def sparql_term(term: Node) -> str:
    """An IRI or literal as SPARQL text, escaped by this project's own rules (never rdflib's
    `n3()`, whose long-string form breaks on some values); TermError for anything else.

    >>> print(sparql_term(Literal("a\\nb", lang="en")))
    "a\\nb"@en
    >>> sparql_term(Literal(3))
    '"3"^^<http://www.w3.org/2001/XMLSchema#integer>'
    """
    if isinstance(term, URIRef):
        return sparql_iri(str(term))
    if isinstance(term, Literal):
        text = sparql_string(str(term))
        if term.language:
            if not _LANGUAGE.fullmatch(term.language):
                raise TermError(f"not a valid language tag: {term.language!r}")
            return f"{text}@{term.language}"
        if term.datatype is not None and str(term.datatype) != _XSD_STRING:
            return f"{text}^^{sparql_iri(str(term.datatype))}"
        return text
    raise TermError(f"only IRIs and literals can be written into a query, not {term!r}")
