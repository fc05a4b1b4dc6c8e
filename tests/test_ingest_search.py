"""search-labels finds ingested records by part of a label or identifier; an exact identifier
given to trace wins over partial matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapper.errors import InputError
from mapper.ingest import ingest
from mapper.questions import queries
from mapper.questions.trace import find_system
from mapper.store import open_store


def _store(tmp: Path) -> object:
    a = tmp / "a.csv"
    a.write_text("Use Case ID,Use Case Name,Stage of Development\n35,ABC.DocChat,Deployed\n"
                 "350,Contact Centre Chatbot service,Pilot\n", encoding="utf-8")
    b = tmp / "b.csv"
    b.write_text("Use Case ID,Use Case Name,Stage of Development\n35,Fraud model,Pilot\n",
                 encoding="utf-8")
    store = open_store("memory")
    ingest(store, a, scope="DOL")
    ingest(store, b, scope="OPM")
    return store


def _labels(store, text: str) -> set[str]:
    rows = queries.result_dicts(queries.run(store, "search-labels", {"text": text}))
    return {r["label"] for r in rows}


def test_search_labels_is_a_case_insensitive_substring_match(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert _labels(store, "DocChat") == {"ABC.DocChat"}
    assert _labels(store, "chatbot") == {"Contact Centre Chatbot service"}
    assert _labels(store, "350") == {"Contact Centre Chatbot service"}
    assert _labels(store, "HighRisk") == set()  # ontology terms are left out


def test_an_exact_identifier_wins_over_partial_matches(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert find_system(store, "350")["label"] == "Contact Centre Chatbot service"
    assert find_system(store, "dol-35")["label"] == "ABC.DocChat"
    assert find_system(store, "OPM-35")["label"] == "Fraud model"
    with pytest.raises(InputError, match=r"matches 2 AI systems: dol-35 .*opm-35"):
        find_system(store, "35")  # two agencies' "35": the scoped keys tell them apart
