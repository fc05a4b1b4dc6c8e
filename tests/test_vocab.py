"""mapper/vocab.py is the generated, closed mirror of ontology/ and must stay current."""

from __future__ import annotations

import pytest
from rdflib import RDF, URIRef

from mapper import resources, vocabgen
from mapper.vocab import AIMS, ISO, ISO_TERMS


def test_vocab_is_current() -> None:
    expected = vocabgen.render(resources.ontology())
    actual = vocabgen.target().read_text(encoding="utf-8")
    assert actual == expected, (
        "mapper/vocab.py is out of date with ontology/: run `python -m mapper.vocabgen`"
    )


def test_known_terms_resolve() -> None:
    assert AIMS.AISystem == URIRef("https://aims-graph.org/ns#AISystem")
    assert AIMS.accountableOwner == URIRef("https://aims-graph.org/ns#accountableOwner")
    assert "A.6.2.5" in ISO_TERMS and "clause-4.4" in ISO_TERMS
    assert ISO["clause-4.4"] == URIRef("https://aims-graph.org/iso42001#clause-4.4")


@pytest.mark.parametrize("name", ["AISystm", "Persons", "accountableowner", "RiskGateX"])
def test_misspelled_term_fails(name: str) -> None:
    with pytest.raises(AttributeError):
        getattr(AIMS, name)


def test_every_typed_aims_term_is_in_vocab() -> None:
    graph = resources.ontology()
    names = {
        str(s)[len(vocabgen.AIMS_NS):]
        for s in graph.subjects(RDF.type, None)
        if isinstance(s, URIRef) and str(s).startswith(vocabgen.AIMS_NS)
    }
    assert len(names) > 100
    for name in names:
        assert getattr(AIMS, name) == URIRef(vocabgen.AIMS_NS + name)
